"""Backups: ``backup``, ``backupRegion`` (S3 family), ``backupLocation`` (Azure), ``backupRetentionDays``.

A backup must survive a lost region, so on AWS, Exoscale and Azure it lives in another region, zone or location
than the stores; on AWS it is filled by replication, which needs versioning on the stores.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from divio_storage_infra.core.regions import AWS_REGIONS, AZURE_LOCATIONS, EXOSCALE_ZONES
from divio_storage_infra.core.validation.placement import Placement
from divio_storage_infra.core.validation.problems import Collector

_REGION_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
_SETTINGS = ("backupRegion", "backupLocation", "backupRetentionDays")


def read_backup(c: Collector, cloud: str, where: Placement) -> None:
    """Read the backup keys and check them against the cloud, the placement and versioning; problems go to ``c``."""
    on = c.boolean("backup")
    region, location = c.string("backupRegion"), c.string("backupLocation")
    c.integer("backupRetentionDays")
    if not on:
        for name in _SETTINGS:
            if c.given(name):
                c.bad(name, c.raw[name], "only applies with backup: true")
        return
    if cloud == "aws":
        _elsewhere(c, "backupRegion", region, where.region, AWS_REGIONS, "an AWS region")
        if c.values.get("versioning") is False:
            c.bad("versioning", False, "backup: true on aws replicates each store, which needs versioning: true")
    elif cloud == "exoscale":
        _elsewhere(c, "backupRegion", region, where.region, EXOSCALE_ZONES, "an Exoscale zone")
    elif cloud == "azure":
        _elsewhere(c, "backupLocation", location, where.location, AZURE_LOCATIONS, "an Azure location")
    elif region is not None and not _REGION_RE.fullmatch(region):
        c.bad("backupRegion", region, "expected the provider's region name (lowercase letters, digits, hyphens)")


def _elsewhere(c: Collector, name: str, value: str | None, live: str | None, known: Collection[str], what: str) -> None:
    if value is None:
        c.missing(name, f"with backup: true, {what} other than the stores' own ({live})")
    elif value not in known:
        c.bad(name, value, f"expected {what}")
    elif value == live:
        c.bad(name, value, f"is the stores' own; a backup must survive a lost region: name {what} other than {live}")
