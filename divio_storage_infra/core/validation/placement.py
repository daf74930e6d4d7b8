"""Where the storage lives: ``region`` (S3 family), ``endpoint`` (generic S3-compatible), ``location`` (Azure)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import NamedTuple

from divio_storage_infra.core.dsn import DsnError, s3_dsn
from divio_storage_infra.core.regions import AWS_REGIONS, AZURE_LOCATIONS, EXOSCALE_ZONES
from divio_storage_infra.core.rules import check_endpoint
from divio_storage_infra.core.validation.collector import Collector

_S3_REGION_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")


class Placement(NamedTuple):
    """The placement keys as read (None where not given)."""

    region: str | None
    endpoint: str | None
    location: str | None


def placement(c: Collector, cloud: str) -> Placement:
    """Read region, endpoint and location, and check the ones ``cloud`` needs."""
    where = Placement(c.string("region"), c.string("endpoint"), c.string("location"))
    CHECKS[cloud](c, where)
    return where


def _aws(c: Collector, where: Placement) -> None:
    region = where.region
    if region is None:
        c.bad("region", None, "it is required for cloud aws, e.g. eu-central-1")
    elif region not in AWS_REGIONS:
        close = difflib.get_close_matches(region, sorted(AWS_REGIONS), n=1)
        c.bad("region", region, "expected an AWS region" + (f"; did you mean {close[0]!r}?" if close else ""))


def _exoscale(c: Collector, where: Placement) -> None:
    if where.region is None or where.region not in EXOSCALE_ZONES:
        c.bad("region", where.region, f"expected an Exoscale zone: {', '.join(sorted(EXOSCALE_ZONES))}")


def _s3_compatible(c: Collector, where: Placement) -> None:
    region, endpoint = where.region, where.endpoint
    if region is None or not _S3_REGION_RE.match(region):
        c.bad("region", region, "expected the provider's region name (lowercase letters, digits, hyphens)")
    if endpoint is None:
        c.bad("endpoint", None, "it is required for cloud s3-compatible: the provider's host[:port]")
    elif why := check_endpoint(endpoint):
        c.bad("endpoint", endpoint, why)
    else:
        _check_dsn_endpoint(c, endpoint)


def _azure(c: Collector, where: Placement) -> None:
    location = where.location
    if location is None or location not in AZURE_LOCATIONS:
        close = difflib.get_close_matches(location or "", sorted(AZURE_LOCATIONS), n=1)
        c.bad(
            "location",
            location,
            "expected an Azure location name such as switzerlandnorth"
            + (f"; did you mean {close[0]!r}?" if close else ""),
        )


def _check_dsn_endpoint(c: Collector, endpoint: str) -> None:
    """The endpoint must survive the DSN: django-storage-url reads bucket and endpoint from the host alone."""
    try:
        s3_dsn(bucket="probe-bucket", endpoint_host=endpoint)
    except DsnError as error:
        for problem in error.problems:
            c.bad("endpoint", endpoint, problem.allowed)


CHECKS: dict[str, Callable[[Collector, Placement], None]] = {
    "aws": _aws,
    "exoscale": _exoscale,
    "s3-compatible": _s3_compatible,
    "azure": _azure,
}
"""Each cloud's placement check (a new cloud adds its own)."""
