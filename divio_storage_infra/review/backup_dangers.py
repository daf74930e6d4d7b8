"""What makes a website's backups weaker, in a plan diff: backups turned off, retention shortened, deletes that
reach the backup. Opening a backup store is found by the public-access checks like any store's opening.

Each function reads one resource diff and yields sentences; :mod:`.danger` files them under ``protection-off``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from divio_storage_infra.review.model import ResourceDiff

BACKUP_COMPONENTS = frozenset({"divio:storage:S3MediaBackup", "divio:storage:AzureMediaBackup"})
OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
BACKUP_TAG = ("media-store", "backup")


def _get(value: Any, *keys: str | int) -> Any:
    for key in keys:
        if isinstance(key, int):
            value = value[key] if isinstance(value, list) and len(value) > key else None
        else:
            value = value.get(key) if isinstance(value, dict) else None
    return value


def _days(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def backup_weakened(item: ResourceDiff) -> Iterator[str]:
    """Sentences for each way ``item`` weakens a backup (none for other resources)."""
    base, head, resource = item.base, item.head, item.current
    removed = item.action == "remove"
    if resource.type in BACKUP_COMPONENTS and removed:
        yield "backups turned off: the website's backup (its buckets or account) leaves the stack"
    tags = resource.inputs.get("tags")
    if removed and isinstance(tags, dict) and tags.get(BACKUP_TAG[0]) == BACKUP_TAG[1]:
        yield "a backup store is removed: the store it backs up is no longer backed up"
    if base is None:
        return
    if resource.type == OBJECT_LOCK:
        yield from _retention(
            _days(_get(base.inputs, "rule", "defaultRetention", "days")),
            _days(_get(head.inputs, "rule", "defaultRetention", "days")) if head else None,
            "Object Lock default retention",
        )
    elif resource.type == BLOB_SERVICE and _get(base.inputs, "restorePolicy", "enabled") is True:
        enabled = _get(head.inputs, "restorePolicy", "enabled") if head else None
        after = _days(_get(head.inputs, "restorePolicy", "days")) if head and enabled is True else None
        yield from _retention(_days(_get(base.inputs, "restorePolicy", "days")), after, "point-in-time restore window")
    elif resource.type == REPLICATION:
        if removed:
            yield "replication into the backup removed: new objects are no longer backed up"
            return
        before = _get(base.inputs, "rules", 0, "deleteMarkerReplication", "status")
        after = _get(head.inputs, "rules", 0, "deleteMarkerReplication", "status") if head else None
        if before != "Enabled" and after == "Enabled":
            yield "delete markers now replicate: deleting an object in the store deletes it from its backup"


def _retention(before: float | None, after: float | None, what: str) -> Iterator[str]:
    if before is None:
        return
    if after is None:
        yield f"backup retention removed: {what} was {before:g} days"
    elif after < before:
        yield f"backup retention shortened: {what} {before:g} -> {after:g} days"
