"""Per-website media storage as Pulumi components, and the storage DSN a Django app reads.

The public API of the pure core is importable from here and never loads Pulumi or a cloud SDK, so the app side and
a plain ``import divio_storage_infra`` stay light. The Pulumi components live in ``divio_storage_infra.components``.
"""

from divio_storage_infra.core.app_settings import app_settings, storages_settings
from divio_storage_infra.core.dsn import DsnError, ParsedDsn, parse_dsn
from divio_storage_infra.core.errors import Problem, SpecError
from divio_storage_infra.core.spec import StorageSpec

__all__ = [
    "DsnError",
    "ParsedDsn",
    "Problem",
    "SpecError",
    "StorageSpec",
    "app_settings",
    "parse_dsn",
    "storages_settings",
]
