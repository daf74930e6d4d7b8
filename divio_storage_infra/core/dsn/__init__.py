"""Format and parse storage DSNs (the contract is in docs/dsn.md). Pure Python, no Pulumi import.

The parser reads a DSN the way django-storage-url (Divio's parser) does, including its quirks in splitting the
bucket from the endpoint host, so what it reports is what the app will see. The formatters only return DSNs that
django-storage-url reads back as meant: anything else raises :class:`DsnError` instead of exporting a DSN that
would silently point the app at the wrong bucket, endpoint or region.

One module per scheme (``s3``, ``azure``); ``parts`` splits any DSN first, ``parsed`` is the result of either.
"""

from divio_storage_infra.core.dsn.azure import AZURE_PARAMS, azure_dsn
from divio_storage_infra.core.dsn.errors import DsnError
from divio_storage_infra.core.dsn.mask import MASK, mask_dsn
from divio_storage_infra.core.dsn.media import (
    AZURE_BLOB_HOST,
    DEFAULT_ACL,
    DSU_DEFAULT_ACL,
    azure_media_url,
    s3_media_url,
)
from divio_storage_infra.core.dsn.parse import parse_dsn
from divio_storage_infra.core.dsn.parsed import ParsedDsn
from divio_storage_infra.core.dsn.s3 import ADDRESSING_STYLES, CANNED_ACLS, S3_PARAMS, s3_dsn

__all__ = [
    "ADDRESSING_STYLES",
    "AZURE_BLOB_HOST",
    "AZURE_PARAMS",
    "CANNED_ACLS",
    "DEFAULT_ACL",
    "DSU_DEFAULT_ACL",
    "MASK",
    "S3_PARAMS",
    "DsnError",
    "ParsedDsn",
    "azure_dsn",
    "azure_media_url",
    "mask_dsn",
    "parse_dsn",
    "s3_dsn",
    "s3_media_url",
]
