"""Rules for backups (``backup: true``): backup stores keep what they hold; replication never carries deletes
into a backup.

A backup store is a bucket or storage account tagged ``media-store=backup`` (the components set it). It is never
tagged public, so the public-access rules (``s3-block-public-access``, ``s3-public-read-only``,
``azure-public-blob-scope`` ...) already refuse any way of opening it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from divio_storage_policy.azure import ACCOUNTS, BLOB_SERVICES
from divio_storage_policy.model import (
    STORE_TAG,
    UNKNOWN,
    Resource,
    Violation,
    children,
    of_types,
    shown,
    violation,
)
from divio_storage_policy.s3 import BUCKETS

BACKUP = "backup"
OBJECT_LOCKS = ("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",)
REPLICATIONS = ("aws:s3/bucketReplicationConfig:BucketReplicationConfig",)
DEFAULT_MIN_RETENTION_DAYS = 7


def _backups(resources: Sequence[Resource], types: Sequence[str]) -> list[Resource]:
    return [r for r in of_types(resources, types) if r.tag(STORE_TAG) == BACKUP]


def _min_days(config: Mapping[str, Any]) -> int:
    value = config.get("minBackupRetentionDays", DEFAULT_MIN_RETENTION_DAYS)
    return value if isinstance(value, int) and not isinstance(value, bool) else DEFAULT_MIN_RETENTION_DAYS


def backup_retention(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Violation]:
    """AWS backup buckets lock objects by default for at least ``minBackupRetentionDays``; backup accounts keep
    a point-in-time restore window at least that long."""
    least = _min_days(config)
    for bucket in _backups(resources, BUCKETS):
        if bucket.provider is not None and bucket.provider.props.get("endpoints"):
            continue  # S3-compatible providers: no Object Lock declared (docs/backup.md)
        locks = list(children(OBJECT_LOCKS, resources, bucket, BUCKETS, key="bucket", owner_key="bucket"))
        days = [lock.get("rule", "defaultRetention", "days") for lock in locks]
        if UNKNOWN in days:
            continue
        if not any(isinstance(d, int | float) and d >= least for d in days):
            yield violation(
                bucket,
                "object lock default retention",
                f"is {shown(days[0] if days else None)} days, less than {least}",
                f"declare an Object Lock configuration with a default retention of at least {least} days",
            )
    for account in _backups(resources, ACCOUNTS):
        for service in children(
            BLOB_SERVICES, resources, account, ACCOUNTS, key="accountName", owner_key="accountName"
        ):
            enabled, days = service.get("restorePolicy", "enabled"), service.get("restorePolicy", "days")
            if UNKNOWN in (enabled, days):
                continue
            if enabled is not True or not isinstance(days, int | float) or days < least:
                yield violation(
                    service,
                    "restorePolicy",
                    f"keeps {shown(days)} days (enabled: {shown(enabled)}), less than {least}",
                    f"enable point-in-time restore for at least {least} days",
                )


def replication_keeps_deletes_out(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Violation]:
    """Replication rules never replicate delete markers: a delete in a store must not reach its backup."""
    for replication in of_types(resources, REPLICATIONS):
        rules = replication.get("rules")
        if rules is UNKNOWN or not isinstance(rules, Sequence):
            continue
        for index, rule in enumerate(rules):
            status = rule.get("deleteMarkerReplication", {}).get("status") if isinstance(rule, Mapping) else None
            if status not in ("Disabled", UNKNOWN):
                yield violation(
                    replication,
                    f"rules[{index}].deleteMarkerReplication.status",
                    f"is {shown(status)}, so deleting an object in the store deletes it from its backup too",
                    'set deleteMarkerReplication.status "Disabled"',
                )
