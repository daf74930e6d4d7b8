"""The side of a backup or restore for a DSN: an S3 bucket or an Azure container, by the DSN's scheme."""

from __future__ import annotations

import threading

from divio_storage_infra.backup.azure import AzureSide
from divio_storage_infra.backup.connection import Connection
from divio_storage_infra.backup.objects import Side
from divio_storage_infra.backup.s3 import S3Side
from divio_storage_infra.core.dsn import ParsedDsn


def side(parsed: ParsedDsn, connection: Connection, stop: threading.Event) -> Side:
    """The side for a DSN's scheme; ``stop`` ends a large object's upload between parts."""
    if parsed.scheme == "az":
        return AzureSide(parsed, connection, stop)
    return S3Side(parsed, connection, stop)
