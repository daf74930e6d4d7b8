"""How backup and restore reach stores: a ParsedDsn and the copy's knobs mapped onto the shared client factories.

CA bundle, proxies, retries (``Retry-After``, dropped keep-alive connections) and the words for TLS failures are
:mod:`divio_storage_infra.connection`'s, as for ``check`` and ``bench``. What a bulk copy adds: a pool as large
as the parallel copies, 8 MiB parts, a generous wait for the next bytes (a large part may take a while to be
stored), no per-request parameter validation, no checksums beyond Content-MD5, no ``Expect: 100-continue``.

Everything a side is built from (:class:`Connection`, its :class:`~divio_storage_infra.connection.ConnectionSettings`
and the ParsedDsn) is plain frozen data: a worker process can rebuild its sides from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from divio_storage_infra.connection import (
    ConnectionSettings,
    Retrying,
    container_client,
    s3_client,
    settings_from_environment,
)
from divio_storage_infra.core.dsn import ParsedDsn

DEFAULT_WORKERS = 16
"""Objects copied in parallel by default (``--workers``)."""
PART_SIZE = 8 * 1024 * 1024
"""Bytes per part of a large object (S3 multipart part, Azure block): the memory one copy holds at a time."""
CONNECT_TIMEOUT = 10.0
"""Seconds backup and restore wait for a connection and its TLS handshake."""
READ_TIMEOUT = 60.0
"""Seconds backup and restore wait for the next bytes of an answer: storing an 8 MiB part may take a while."""
POOL_SPARE = 4
"""Connections kept beyond one per parallel copy (listings run beside the copies)."""


def backup_settings(ca_bundle: str | None = None, environ: Mapping[str, str] | None = None) -> ConnectionSettings:
    """The shared connection settings from ``--ca-bundle`` and the environment (CA variables, proxies; default:
    ``os.environ``), with backup's timeouts; raises ConnectionSettingsError for an unusable CA bundle."""
    return settings_from_environment(
        ca_bundle=ca_bundle, connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT, environ=environ
    )


_DEFAULT_SETTINGS = ConnectionSettings(connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT)


@dataclass(frozen=True)
class Connection:
    """How a copy reaches its stores: the shared ``settings`` (CA bundle, proxies, timeouts, attempts), parallel
    copies and the bytes of one part.

    The default settings trust the SDKs' own CAs and read proxies when a client is made; a command builds them
    with :func:`backup_settings`.
    """

    settings: ConnectionSettings = field(default_factory=lambda: _DEFAULT_SETTINGS)
    workers: int = DEFAULT_WORKERS
    part_size: int = PART_SIZE


def s3_side_client(parsed: ParsedDsn, connection: Connection) -> Any:
    """A boto3 S3 client for the DSN's endpoint and key pair (the environment's chain without one)."""
    endpoint = parsed.effective_endpoint_url
    return s3_client(
        connection.settings,
        Retrying(connection.settings),
        endpoint_url=endpoint,
        proxy_url=endpoint,
        region=parsed.region or "us-east-1",
        access_key_id=parsed.access_key_id,
        secret_access_key=parsed.secret,
        # Emulators on loopback have no virtual-hosted names.
        addressing_style="path" if parsed.endpoint_url else (parsed.addressing_style or "auto"),
        signature_version=parsed.auth or "s3v4",
        max_pool_connections=connection.workers + POOL_SPARE,
        # Every parameter is built by this package, never taken from input as is; validating them costs CPU on
        # every request (a tenth of a small copy's).
        parameter_validation=False,
        # Content-MD5 is what copies are verified with; CRC trailers are not understood by every S3-compatible
        # provider.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        expect_continue=False,
    )


def azure_side_client(parsed: ParsedDsn, connection: Connection) -> Any:
    """An azure-storage-blob ContainerClient for the DSN's container, with its account key or SAS."""
    credential: Any = None
    if parsed.account_key is not None:
        credential = {"account_name": str(parsed.account), "account_key": parsed.account_key}
    elif parsed.sas_token is not None:
        credential = parsed.sas_token
    return container_client(
        connection.settings,
        Retrying(connection.settings),
        endpoint=parsed.effective_endpoint_url.rstrip("/"),
        container=str(parsed.container),
        credential=credential,
        pool=connection.workers + POOL_SPARE,
        part_size=connection.part_size,
    )
