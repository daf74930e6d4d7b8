"""Where the storage lives: ``region`` (S3 family), ``endpoint`` (generic S3-compatible), ``location`` (Azure)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import NamedTuple

from divio_storage_infra.core.clouds import CloudCapabilities
from divio_storage_infra.core.dsn import DsnError, s3_dsn
from divio_storage_infra.core.regions import AWS_REGIONS, AZURE_LOCATIONS, EXOSCALE_ZONES
from divio_storage_infra.core.rules import check_endpoint
from divio_storage_infra.core.validation.problems import Collector

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
        c.missing("region", "for cloud aws, an AWS region such as eu-central-1")
    elif region not in AWS_REGIONS:
        close = difflib.get_close_matches(region, sorted(AWS_REGIONS), n=1)
        c.bad("region", region, "expected an AWS region" + (f"; did you mean {close[0]!r}?" if close else ""))


def _exoscale(c: Collector, where: Placement) -> None:
    if where.region is None:
        c.missing("region", f"for cloud exoscale, an Exoscale zone: {', '.join(sorted(EXOSCALE_ZONES))}")
    elif where.region not in EXOSCALE_ZONES:
        c.bad("region", where.region, f"expected an Exoscale zone: {', '.join(sorted(EXOSCALE_ZONES))}")


def _s3_compatible(c: Collector, where: Placement) -> None:
    region, endpoint = where.region, where.endpoint
    if region is None:
        c.missing("region", "for cloud s3-compatible, the provider's region name (lowercase letters, digits, hyphens)")
    elif not _S3_REGION_RE.fullmatch(region):
        c.bad("region", region, "expected the provider's region name (lowercase letters, digits, hyphens)")
    if endpoint is None:
        c.missing("endpoint", "for cloud s3-compatible, the provider's host[:port]")
    elif why := check_endpoint(endpoint):
        c.bad("endpoint", endpoint, why)


def _azure(c: Collector, where: Placement) -> None:
    location = where.location
    if location is None:
        c.missing("location", "for cloud azure, an Azure location name such as switzerlandnorth")
    elif location not in AZURE_LOCATIONS:
        close = difflib.get_close_matches(location, sorted(AZURE_LOCATIONS), n=1)
        c.bad(
            "location",
            location,
            "expected an Azure location name such as switzerlandnorth"
            + (f"; did you mean {close[0]!r}?" if close else ""),
        )


_PROBE_BUCKET = "probe-bucket"
_PLACEMENT_KEYS = ("region", "endpoint", "location", "bucketName", "privateBucketName", "mediaDomain")


def check_dsn(
    c: Collector,
    caps: CloudCapabilities,
    where: Placement,
    *,
    bucket_name: str | None,
    private_bucket_name: str | None,
    media_domain: str | None,
) -> None:
    """The DSNs the S3 component will export must be ones django-storage-url reads back as meant.

    They are rendered here with placeholders, exactly as the component renders them (endpoint host, region,
    addressing style, ACL, explicit bucket names, media domain), so a DSN that would fail later fails now, on the
    config key to change: ``endpoint`` for a generic provider, else ``region``; ``bucketName``; ``mediaDomain``.
    """
    if caps.family != "s3" or where.region is None or any(p.field in _PLACEMENT_KEYS for p in c.problems):
        return
    place_key = "endpoint" if where.endpoint is not None else "region"
    place_value = where.endpoint if where.endpoint is not None else where.region
    try:
        endpoint_host = caps.endpoint_host(where.region, where.endpoint)
    except ValueError as error:
        c.bad(place_key, place_value, str(error))
        return
    # First the endpoint and region alone (with a plain placeholder bucket), then each explicit bucket name.
    stores = [("", _PROBE_BUCKET), ("bucketName", bucket_name), ("privateBucketName", private_bucket_name)]
    for bucket_key, name in stores:
        if name is None:
            continue
        public = bucket_key != "privateBucketName"
        try:
            s3_dsn(
                bucket=name,
                endpoint_host=endpoint_host,
                region=where.region if caps.region_in_dsn else None,
                path_style=caps.path_style,
                custom_domain=media_domain if public else None,
                signed_urls=not public,
                acl=caps.object_acl(public=public),
            )
        except DsnError as error:
            for problem in error.problems:
                if problem.field == "custom_domain":
                    c.bad("mediaDomain", media_domain, problem.allowed)
                elif bucket_key:
                    c.bad(bucket_key, name, f"the app's DSN would be misread: {problem.allowed}")
                else:
                    c.bad(place_key, place_value, f"the app's DSN would be misread: {problem.allowed}")
            return


CHECKS: dict[str, Callable[[Collector, Placement], None]] = {
    "aws": _aws,
    "exoscale": _exoscale,
    "s3-compatible": _s3_compatible,
    "azure": _azure,
}
"""Each cloud's placement check (a new cloud adds its own)."""
