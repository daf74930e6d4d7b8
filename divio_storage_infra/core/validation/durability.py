"""What keeps stored objects recoverable and accountable: versioning defaults, lifecycle rules and access logs.

Pure Python. :func:`read_durability` validates the spec keys of this idea (called once from the spec's build);
:func:`lifecycle_rules` and :func:`access_log_prefix` are what the S3 component declares from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from divio_storage_infra.core.clouds import CLOUDS, S3_PROVIDERS
from divio_storage_infra.core.configkeys import key
from divio_storage_infra.core.rules import check_bucket_name

# Why versioning stays off by default where it does (the plan's notes and the spec's errors say the same).
_VERSIONING_OFF_WHY: dict[str, str] = {
    "exoscale": "the provider has no lifecycle rules to expire old versions, which would be kept (and billed) forever",
    "azure": "blob soft delete already keeps overwritten and deleted blobs for blobSoftDeleteDays",
}


class Reader(Protocol):
    """The spec's value reader: typed reads of raw config keys that collect problems instead of raising."""

    raw: Mapping[str, Any]

    def bad(self, key: str, value: object, allowed: str) -> None:
        """Record one problem with ``key``."""

    def boolean(self, key: str) -> bool:
        """``key`` as a boolean, or its default."""

    def integer(self, key: str) -> int:
        """``key`` as a whole number within its bounds, or its default."""

    def string(self, key: str) -> str | None:
        """``key`` as a string, or its default."""


@dataclass(frozen=True)
class Durability:
    """The validated durability settings of one spec."""

    versioning: bool
    noncurrent_version_expiration_days: int
    abort_incomplete_multipart_upload_days: int
    access_log_bucket: str | None


def versioning_default(cloud: str) -> bool:
    """Versioning is on by default where the provider can also expire old versions (S3 family), else off."""
    return bool(key("versioning").default_for(CLOUDS[cloud]))


def versioning_off_why(cloud: str) -> str | None:
    """Why versioning is off by default on ``cloud`` (None where it is on by default)."""
    return None if versioning_default(cloud) else _VERSIONING_OFF_WHY.get(cloud, "the provider cannot expire them")


def read_durability(c: Reader, cloud: str) -> Durability:
    """Read and check ``versioning``, ``noncurrentVersionExpirationDays``, ``abortIncompleteMultipartUploadDays``
    and ``accessLogBucket`` for ``cloud``; problems go to ``c``."""
    raw = c.raw
    provider = S3_PROVIDERS.get(cloud)
    versioning = c.boolean("versioning")
    noncurrent = c.integer("noncurrentVersionExpirationDays")
    if "noncurrentVersionExpirationDays" in raw and not versioning:
        why = (
            "only applies with versioning: true; remove it or turn versioning on"
            if "versioning" in raw
            else f"only applies with versioning, which is off by default on {cloud} ({versioning_off_why(cloud)}); "
            "remove it or set versioning: true"
        )
        c.bad("noncurrentVersionExpirationDays", raw["noncurrentVersionExpirationDays"], why)
    abort_days = c.integer("abortIncompleteMultipartUploadDays")
    log_bucket = c.string("accessLogBucket")
    if log_bucket is not None:
        if problem := check_bucket_name(log_bucket):
            c.bad("accessLogBucket", log_bucket, problem)
        own = [raw.get(k) for k in ("bucketName", "privateBucketName")]
        if log_bucket in own:
            c.bad("accessLogBucket", log_bucket, "must be another bucket than the website's own (logs would log)")
    if provider is not None:
        name = provider.name
        if versioning and not provider.versioning:
            c.bad("versioning", True, f"{name} has no bucket versioning; remove versioning")
        if versioning and not provider.lifecycle and "noncurrentVersionExpirationDays" in raw:
            c.bad(
                "noncurrentVersionExpirationDays",
                raw["noncurrentVersionExpirationDays"],
                f"{name} has no lifecycle rules, so old versions cannot expire; remove it (the plan notes that "
                "old versions are kept)",
            )
    return Durability(
        versioning=versioning,
        noncurrent_version_expiration_days=noncurrent,
        abort_incomplete_multipart_upload_days=abort_days,
        access_log_bucket=log_bucket,
    )


@dataclass(frozen=True)
class LifecycleRule:
    """One S3 lifecycle rule over the whole bucket; ``None`` fields are not part of the rule."""

    id: str
    abort_incomplete_multipart_upload_days: int | None = None
    noncurrent_version_expiration_days: int | None = None
    expired_object_delete_marker: bool | None = None


def lifecycle_rules(*, versioning: bool, noncurrent_days: int, abort_days: int) -> list[LifecycleRule]:
    """The rules of a bucket's one lifecycle configuration (S3 keeps one per bucket), in a fixed order.

    Incomplete multipart uploads are hidden but billed, so they are always aborted after ``abort_days``; with
    versioning, old versions expire after ``noncurrent_days`` and delete markers left without versions go too.
    """
    rules = [LifecycleRule(id="abort-incomplete-multipart-uploads", abort_incomplete_multipart_upload_days=abort_days)]
    if versioning:
        rules.append(LifecycleRule(id="expire-noncurrent-versions", noncurrent_version_expiration_days=noncurrent_days))
        rules.append(LifecycleRule(id="remove-expired-delete-markers", expired_object_delete_marker=True))
    return rules


def access_log_prefix(website: str, environment: str, role: str) -> str:
    """Where one store's access logs go in the shared log bucket: ``<website>/<environment>/<role>/``.

    Website and environment slugs contain no ``/``, so no two stores share a prefix.
    """
    return f"{website}/{environment}/{role}/"
