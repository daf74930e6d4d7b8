"""The one place where backup and restore build their SDK clients: CA bundle, proxies, retries and time bounds.

The CA bundle comes from ``--ca-bundle``, else ``AWS_CA_BUNDLE``, ``REQUESTS_CA_BUNDLE`` or ``SSL_CERT_FILE`` (the
first set); proxies from ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY``, which both SDKs read themselves.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from divio_storage_infra.core.dsn import ParsedDsn

CA_ENV: tuple[str, ...] = ("AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
DEFAULT_WORKERS = 16
MAX_DEFAULT_PROCESSES = 4
"""The most worker processes copies are spread over by default (more CPUs than this rarely help one store)."""
PART_SIZE = 8 * 1024 * 1024
"""Bytes per part of a large object (S3 multipart part, Azure block): the memory one copy holds at a time."""


@dataclass(frozen=True)
class Connection:
    """How to reach stores: CA bundle path (None: the system's), seconds per request, attempts, parallel copies
    (``workers``) and the processes they are spread over (``processes``; 1: threads of this process only)."""

    ca_bundle: str | None = None
    timeout: float = 60.0
    attempts: int = 5
    workers: int = DEFAULT_WORKERS
    part_size: int = PART_SIZE
    processes: int = 1


def default_processes() -> int:
    """Processes copies are spread over by default: the CPUs this process may run on, at most
    :data:`MAX_DEFAULT_PROCESSES`."""
    return max(1, min(len(os.sched_getaffinity(0)), MAX_DEFAULT_PROCESSES))


def ca_bundle(option: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The CA bundle to trust: the option, else the first of :data:`CA_ENV` that is set, else None."""
    if option:
        return option
    env = os.environ if environ is None else environ
    return next((env[name] for name in CA_ENV if env.get(name)), None)


@functools.cache
def _session() -> Any:
    """One boto3 session per process: its loader reads the S3 model and endpoint rules once for every client."""
    import boto3

    return boto3.session.Session()


def s3_client(parsed: ParsedDsn, connection: Connection) -> Any:
    """A boto3 S3 client for the DSN's endpoint and key pair (the environment's chain without one)."""
    from botocore import handlers
    from botocore.config import Config

    config = Config(
        connect_timeout=connection.timeout,
        read_timeout=connection.timeout,
        # Standard mode backs off on throttling and 5xx answers.
        retries={"total_max_attempts": connection.attempts, "mode": "standard"},
        # Emulators on loopback have no virtual-hosted names.
        s3={"addressing_style": "path" if parsed.endpoint_url else (parsed.addressing_style or "auto")},
        signature_version=parsed.auth or "s3v4",
        max_pool_connections=connection.workers + 4,
        # Content-MD5 is what we verify with; CRC trailers are not understood by every S3-compatible provider.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        # Every parameter is built by this package, never taken from input as is; validating them costs CPU on
        # every request (a tenth of a small copy's).
        parameter_validation=False,
    )
    # Credentials are per client (passed below), so sharing the session shares no key between stores.
    client = _session().client(
        "s3",
        endpoint_url=parsed.effective_endpoint_url,
        region_name=parsed.region or "us-east-1",
        aws_access_key_id=parsed.access_key_id,
        aws_secret_access_key=parsed.secret,
        config=config,
        verify=ca_bundle(None) if connection.ca_bundle is None else connection.ca_bundle,
    )
    # "Expect: 100-continue" makes each upload wait up to a second for a server that never answers it (SeaweedFS
    # and others); a refused upload costs at most one part (8 MiB) of bandwidth without it.
    client.meta.events.unregister("before-call.s3", handlers.add_expect_header)
    return client


def azure_container(parsed: ParsedDsn, connection: Connection) -> Any:
    """An azure-storage-blob ContainerClient for the DSN's container, with its account key or SAS."""
    from azure.storage.blob import ContainerClient

    credential: Any = None
    if parsed.account_key is not None:
        credential = {"account_name": str(parsed.account), "account_key": parsed.account_key}
    elif parsed.sas_token is not None:
        credential = parsed.sas_token
    bundle = connection.ca_bundle or ca_bundle(None)
    return ContainerClient(
        parsed.effective_endpoint_url.rstrip("/"),
        str(parsed.container),
        credential=credential,
        connection_timeout=connection.timeout,
        read_timeout=connection.timeout,
        retry_total=connection.attempts - 1,
        connection_verify=bundle if bundle else True,
        max_single_put_size=PART_SIZE,
        max_block_size=PART_SIZE,
        max_chunk_get_size=PART_SIZE,
        max_single_get_size=PART_SIZE,
    )
