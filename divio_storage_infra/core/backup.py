"""What a website's backups are: their settings, names, the markers that tie a backup to its store, and policies.

Pure: no Pulumi, no SDK. S3 replication keeps object keys, so each store (public, private) gets a backup bucket of
its own; on Azure one backup account holds a container per store. A backup store carries markers (bucket tags on
S3, container metadata on Azure) naming the store it belongs to, so ``divio-storage restore`` can refuse DSNs handed
over in the wrong places before it copies anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from divio_storage_infra.core.naming import _fit, short_hash
from divio_storage_infra.core.policies import VERSION, PolicyDocument, bucket_arn, deny_insecure_transport
from divio_storage_infra.core.rules import check_account_name, check_bucket_name
from divio_storage_infra.core.spec import StorageSpec

StoreRole = Literal["public", "private"]

DEFAULT_RETENTION_DAYS = 35
"""Days a backup keeps what it holds (S3 Object Lock default retention, Azure point-in-time window)."""
RETENTION_MIN_DAYS = 1
RETENTION_MAX_DAYS = 3650

OF_TAG = "divio-backup-of"
"""Tag (S3) or metadata key (Azure) of a backup store: the live bucket (or ``<account>/<container>``) it backs up."""
ROLE_TAG = "divio-backup-role"
"""Tag (S3) or metadata key (Azure) of a backup store: ``public`` or ``private``, the role of the store it backs up."""
# Azure metadata names must be C# identifiers: no hyphens.
AZURE_OF_KEY = "divio_backup_of"
AZURE_ROLE_KEY = "divio_backup_role"

BACKUP_CONTAINERS: dict[StoreRole, str] = {"public": "public-media-backup", "private": "private-media-backup"}
"""Azure: the backup account's container for each store."""

# What S3 replication needs on the source (read versions, their ACLs and tags) and on the target (replicate).
_REPLICATION_SOURCE_BUCKET = ("s3:GetReplicationConfiguration", "s3:ListBucket")
_REPLICATION_SOURCE_OBJECTS = (
    "s3:GetObjectVersionForReplication",
    "s3:GetObjectVersionAcl",
    "s3:GetObjectVersionTagging",
)
_REPLICATION_TARGET_OBJECTS = ("s3:ReplicateObject", "s3:ReplicateTags")


@dataclass(frozen=True)
class BackupSettings:
    """A website's backup: where it lives and how long it keeps what it holds.

    ``region``: S3 clouds, the backup region (AWS region, Exoscale zone); ``location``: Azure location;
    ``retention_days``: object-lock default retention / point-in-time restore window, default 35 days.
    """

    region: str | None = None
    location: str | None = None
    retention_days: int = DEFAULT_RETENTION_DAYS


def settings_of(spec: StorageSpec) -> BackupSettings | None:
    """The spec's backup settings (``backup: true``), or None without backups."""
    if not spec.backup:
        return None
    return BackupSettings(
        region=spec.backup_region, location=spec.backup_location, retention_days=spec.backup_retention_days
    )


def role_of(store: str) -> StoreRole:
    """The role of a live store by its naming role (``media`` is the public store, ``private`` the private one)."""
    return "public" if store == "media" else "private"


def backup_bucket_name(spec: StorageSpec, store: str) -> str:
    """The backup bucket of the ``store`` (``media`` or ``private``) bucket: ``<website>-<env>-<store>-bak-<hash>``.

    The hash covers the live bucket's own name, so an overridden live name gets its own backup name too.
    """
    from divio_storage_infra.core.naming import bucket_name

    live = bucket_name(spec, store)
    name = _fit(f"{spec.website}-{spec.environment}-{store}-bak", short_hash("backup", live), 63)
    if why := check_bucket_name(name):  # pragma: no cover - the parts are validated slugs
        raise ValueError(f"backup bucket name {name!r}: {why}")
    return name


def backup_account_name(spec: StorageSpec) -> str:
    """Azure: the backup storage account (3-24 lowercase letters and digits), distinct from the live account."""
    readable = (spec.website + spec.environment).replace("-", "")
    name = _fit(readable + "bk", short_hash("azure-backup", spec.website, spec.environment), 24, sep="")
    if why := check_account_name(name):  # pragma: no cover - letters and digits only
        raise ValueError(f"backup account name {name!r}: {why}")
    return name


def backup_marks(of: str, role: StoreRole) -> dict[str, str]:
    """The markers of a backup store: which live store (bucket, or ``<account>/<container>``) and which role."""
    return {OF_TAG: of, ROLE_TAG: role}


def backup_bucket_policy(bucket: str, region: str) -> PolicyDocument:
    """TLS-only, and nobody deletes object versions or loosens the bucket's protection through a policy change.

    Grants nothing: the replication role and the platform's own credentials bring their rights.
    """
    arn = bucket_arn(bucket, region)
    return {
        "Version": VERSION,
        "Statement": [
            deny_insecure_transport(arn),
            {
                "Sid": "DenyBypassingObjectLock",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:BypassGovernanceRetention",
                "Resource": f"{arn}/*",
            },
        ],
    }


def replication_trust_policy() -> PolicyDocument:
    """Who may assume the replication role: the S3 service only."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def replication_policy(pairs: list[tuple[str, str]], region: str, backup_region: str) -> PolicyDocument:
    """Least privilege for replicating each ``(source, backup)`` bucket pair: read the sources, write the backups.

    Raises ValueError for no pairs.
    """
    if not pairs:
        raise ValueError("a replication policy needs at least one bucket pair")
    sources = [bucket_arn(source, region) for source, _ in pairs]
    targets = [bucket_arn(backup, backup_region) for _, backup in pairs]
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ReadSourceBuckets",
            "Effect": "Allow",
            "Action": list(_REPLICATION_SOURCE_BUCKET),
            "Resource": sources,
        },
        {
            "Sid": "ReadSourceVersions",
            "Effect": "Allow",
            "Action": list(_REPLICATION_SOURCE_OBJECTS),
            "Resource": [f"{arn}/*" for arn in sources],
        },
        {
            "Sid": "WriteBackups",
            "Effect": "Allow",
            "Action": list(_REPLICATION_TARGET_OBJECTS),
            "Resource": [f"{arn}/*" for arn in targets],
        },
    ]
    return {"Version": VERSION, "Statement": statements}
