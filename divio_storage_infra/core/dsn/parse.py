"""Reading a DSN: split it into parts, then let its scheme's module read them."""

from __future__ import annotations

from collections.abc import Callable

from divio_storage_infra.core.dsn.azure import parse_azure
from divio_storage_infra.core.dsn.parsed import ParsedDsn
from divio_storage_infra.core.dsn.parts import DsnParts, split_dsn
from divio_storage_infra.core.dsn.s3 import parse_s3

SCHEMES: dict[str, Callable[[DsnParts], ParsedDsn]] = {"s3": parse_s3, "az": parse_azure}
"""Each DSN scheme and the function that reads its parts."""


def parse_dsn(dsn: str) -> ParsedDsn:
    """Read an ``s3://`` or ``az://`` DSN as django-storage-url does, honouring ``endpoint_url``.

    Raises DsnError (field, masked value, what is allowed) for malformed input, including input on which
    django-storage-url would crash or that it would read into something unusable.
    """
    parts = split_dsn(dsn, tuple(SCHEMES))
    return SCHEMES[parts.scheme](parts)
