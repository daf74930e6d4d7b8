"""Per-website media storage as Pulumi components, and the storage DSN a Django app reads.

The public API is importable from here and loads neither Pulumi, a cloud SDK nor Django, so the app side and a plain
``import divio_storage_infra`` stay light: the spec and DSN parser of the pure core, and the app side's settings
builders (``divio_storage_infra.app``). The Pulumi components live in ``divio_storage_infra.components``.
"""

from divio_storage_infra.app import app_settings, storages_settings
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
