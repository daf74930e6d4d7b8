"""One boto3 session per process for every S3 client the package makes, with the fast timestamp parser.

Creating a session reads the service models and endpoint rules again (about 50 ms); one session serves every
client of the process. Credentials are passed per client, so sharing it shares no key between stores. Sessions are
not safe to create clients from in several threads at once: :func:`new_client` takes a lock.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from divio_storage_infra.connection.timestamps import parse_timestamp

_CREATING = threading.Lock()


@functools.cache
def boto3_session() -> Any:
    """The process's boto3 session; its answers' timestamps are read by :func:`.timestamps.parse_timestamp`."""
    import boto3
    import botocore.session

    core = botocore.session.get_session()
    core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_timestamp)
    return boto3.session.Session(botocore_session=core)


def new_client(service: str, **options: Any) -> Any:
    """A boto3 client for ``service`` from :func:`boto3_session` (``options`` as ``Session.client`` takes them)."""
    session = boto3_session()
    with _CREATING:
        return session.client(service, **options)
