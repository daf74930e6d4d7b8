"""One capability table per cloud, which the spec, the components, the DSN layer and the CLI read.

Adding a cloud: a module here with its :class:`CloudCapabilities`, its name in :data:`CloudName` and
:data:`CLOUDS`, and its region check in ``core/validation/placement.py`` (see docs/architecture.md).
"""

from __future__ import annotations

from divio_storage_infra.core.clouds.aws import AWS
from divio_storage_infra.core.clouds.azure import AZURE
from divio_storage_infra.core.clouds.base import CloudCapabilities, CloudName, Credentials
from divio_storage_infra.core.clouds.exoscale import EXOSCALE
from divio_storage_infra.core.clouds.s3_compatible import S3_COMPATIBLE

CLOUDS: dict[str, CloudCapabilities] = {c.name: c for c in (AWS, EXOSCALE, S3_COMPATIBLE, AZURE)}
"""Every cloud by name, in the order error messages list them (and DSN hosts are matched)."""
S3_CLOUDS: frozenset[str] = frozenset(name for name, c in CLOUDS.items() if c.family == "s3")
"""The clouds the S3 component serves."""
S3_PROVIDERS: dict[str, CloudCapabilities] = {name: c for name, c in CLOUDS.items() if c.family == "s3"}
"""The S3 family's tables by name."""


def capabilities(cloud: str) -> CloudCapabilities:
    """The table of ``cloud``; KeyError for a name that is not a cloud (the spec has refused it before)."""
    return CLOUDS[cloud]


def cloud_for_dsn(scheme: str, endpoint_host: str) -> str:
    """A best guess at the cloud a DSN points at, from its scheme and endpoint host (``host[:port]``)."""
    host = endpoint_host.partition(":")[0]
    for name, c in CLOUDS.items():
        if c.dsn_scheme == scheme and (not c.dsn_host_suffixes or host.endswith(c.dsn_host_suffixes)):
            return name
    raise ValueError(f"no cloud serves DSN scheme {scheme!r}")


__all__ = [
    "CLOUDS",
    "S3_CLOUDS",
    "S3_PROVIDERS",
    "CloudCapabilities",
    "CloudName",
    "Credentials",
    "capabilities",
    "cloud_for_dsn",
]
