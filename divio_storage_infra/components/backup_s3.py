"""The backups of an S3 website: one backup bucket per store, each marked with the store it belongs to.

AWS: each backup bucket lives in ``backupRegion``, versioned, every public access block on, TLS-only, S3 Object
Lock in governance mode with the retention as its default, and is the replication target of its store (delete
markers not replicated) through a least-privilege replication role. Exoscale and S3-compatible providers have no
replication: the same buckets (with what the provider supports) are filled by ``divio-storage backup``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from divio_storage_infra.core import policies
from divio_storage_infra.core.backup import (
    BackupSettings,
    backup_bucket_name,
    backup_bucket_policy,
    backup_marks,
    replication_policy,
    replication_trust_policy,
    role_of,
    settings_of,
)
from divio_storage_infra.core.clouds import capabilities
from divio_storage_infra.core.dsn import s3_dsn
from divio_storage_infra.core.spec import StorageSpec

TYPE = "divio:storage:S3MediaBackup"
REPLICATING_CLOUDS = frozenset({"aws"})
"""Clouds whose provider replicates a bucket into another by itself (and supports Object Lock)."""


@dataclass
class LiveStore:
    """A live bucket as the backup needs it: its role (``media``/``private``), name, resource and configuration."""

    role: str
    name: str
    bucket: pulumi.Resource
    config: list[pulumi.Resource] = field(default_factory=list)


@dataclass
class S3MediaBackupArgs:
    """Inputs of :class:`S3MediaBackup`: the spec, the backup settings, the live stores, provider and credentials."""

    spec: StorageSpec
    settings: BackupSettings
    stores: list[LiveStore]
    provider: pulumi.ProviderResource | None = None
    """The pulumi-aws provider of the backup region (S3-compatible clouds); AWS names the region on each resource."""
    credentials: tuple[pulumi.Input[str] | None, pulumi.Input[str] | None] = (None, None)
    """The key pair the backup DSNs carry (the platform's own, never the app's IAM user); none: the platform's role."""


class S3MediaBackup(pulumi.ComponentResource):
    """The backup buckets of one S3 website; outputs ``backup_storage_dsn`` / ``private_backup_storage_dsn``.

    Both DSNs are Pulumi secrets for the platform's tools (``divio-storage backup`` / ``restore``), never the app.
    """

    if TYPE_CHECKING:
        backup_storage_dsn: pulumi.Output[str] | None
        private_backup_storage_dsn: pulumi.Output[str] | None

    def __init__(self, name: str, args: S3MediaBackupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        spec, settings = args.spec, args.settings
        super().__init__(
            TYPE, name, None, pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=spec.protect))
        )
        self._spec, self._settings, self._prefix = spec, settings, name
        self._caps = capabilities(spec.cloud)
        self._region = settings.region or spec.region or ""
        self._replicates = spec.cloud in REPLICATING_CLOUDS
        self._provider = args.provider
        self._resource_region = self._region if self._caps.region_on_resources else None
        backups = {store.role: self._backup_bucket(store) for store in args.stores}
        if self._replicates:
            self._replication(args.stores, backups)
        key_id, secret = args.credentials
        self.backup_storage_dsn = self._dsn("media", backups, key_id, secret)
        self.private_backup_storage_dsn = self._dsn("private", backups, key_id, secret)
        self.register_outputs(
            {
                "backup_storage_dsn": self.backup_storage_dsn,
                "private_backup_storage_dsn": self.private_backup_storage_dsn,
            }
        )

    def _opts(self, after: list[pulumi.Resource] | None = None, **kwargs: Any) -> pulumi.ResourceOptions:
        options: dict[str, Any] = {"parent": self, "provider": self._provider, "protect": self._spec.protect}
        if after:
            options["depends_on"] = after
        options.update(kwargs)
        return pulumi.ResourceOptions(**options)

    def _dsn(
        self,
        role: str,
        backups: dict[str, list[pulumi.Resource]],
        key_id: pulumi.Input[str] | None,
        secret: pulumi.Input[str] | None,
    ) -> pulumi.Output[str] | None:
        if role not in backups:
            return None
        bucket = backup_bucket_name(self._spec, role)
        host = self._caps.endpoint_host(self._region, self._spec.endpoint)

        def render(values: list[Any]) -> str:
            return s3_dsn(
                bucket=bucket,
                endpoint_host=host,
                access_key_id=values[0],
                secret_access_key=values[1],
                signed_urls=True,
                acl=self._caps.object_acl(public=False),
                region=self._region if self._caps.region_in_dsn else None,
                path_style=self._caps.path_style,
            )

        ready = pulumi.Output.all(*(r.urn for r in backups[role]))
        return pulumi.Output.secret(pulumi.Output.all(key_id, secret, ready).apply(render))

    def _backup_bucket(self, store: LiveStore) -> list[pulumi.Resource]:
        """The backup bucket of ``store`` and its configuration, each resource after the one before it."""
        spec = self._spec
        name = backup_bucket_name(spec, store.role)
        prefix = f"{self._prefix}-{store.role}"
        bucket = aws.s3.Bucket(
            prefix,
            bucket=name,
            force_destroy=False,
            region=self._resource_region,
            # Object Lock can only be turned on when a bucket is created.
            object_lock_enabled=True if self._replicates else None,
            tags={**spec.tag_map, "media-store": "backup", **backup_marks(store.name, role_of(store.role))},
            opts=self._opts(),
        )
        done: list[pulumi.Resource] = [bucket]
        steps = (
            self._ownership,
            self._public_access,
            self._policy,
            self._encryption,
            self._versioning,
            self._object_lock,
            self._lifecycle,
        )
        for step in steps:
            # S3 answers concurrent configuration writes to one bucket with OperationAborted: one at a time.
            resource = step(prefix, name, done[-1:])
            if resource is not None:
                done.append(resource)
        return done

    def _ownership(self, prefix: str, name: str, after: list[pulumi.Resource]) -> Any:
        if not self._caps.ownership_controls:
            return None
        return aws.s3.BucketOwnershipControls(
            f"{prefix}-ownership",
            bucket=name,
            region=self._resource_region,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=self._opts(after),
        )

    def _public_access(self, prefix: str, name: str, after: list[pulumi.Resource]) -> Any:
        # Nobody reads a backup anonymously: every block on, whatever the store it backs up.
        if not self._caps.public_access_block:
            return None
        return aws.s3.BucketPublicAccessBlock(
            f"{prefix}-public-access",
            bucket=name,
            region=self._resource_region,
            block_public_acls=True,
            ignore_public_acls=True,
            block_public_policy=True,
            restrict_public_buckets=True,
            opts=self._opts(after),
        )

    def _policy(self, prefix: str, name: str, after: list[pulumi.Resource]) -> Any:
        if not self._caps.bucket_policy:
            return None
        return aws.s3.BucketPolicy(
            f"{prefix}-policy",
            bucket=name,
            region=self._resource_region,
            policy=policies.to_json(backup_bucket_policy(name, self._region)),
            opts=self._opts(after),
        )

    def _encryption(self, prefix: str, name: str, after: list[pulumi.Resource]) -> Any:
        if not self._caps.server_side_encryption:
            return None
        default = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
            sse_algorithm="AES256"
        )
        return aws.s3.BucketServerSideEncryptionConfiguration(
            f"{prefix}-encryption",
            bucket=name,
            region=self._resource_region,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(apply_server_side_encryption_by_default=default)
            ],
            opts=self._opts(after),
        )

    def _versioning(self, prefix: str, name: str, after: list[pulumi.Resource]) -> Any:
        # Versions are what point-in-time restore reads, and what replication and Object Lock need.
        if not self._caps.versioning:
            return None
        return aws.s3.BucketVersioning(
            f"{prefix}-versioning",
            bucket=name,
            region=self._resource_region,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=self._opts(after),
        )

    def _object_lock(self, prefix: str, name: str, after: list[pulumi.Resource]) -> Any:
        if not self._replicates:
            return None
        retention = aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
            mode="GOVERNANCE", days=self._settings.retention_days
        )
        return aws.s3.BucketObjectLockConfiguration(
            f"{prefix}-object-lock",
            bucket=name,
            region=self._resource_region,
            rule=aws.s3.BucketObjectLockConfigurationRuleArgs(default_retention=retention),
            opts=self._opts(after),
        )

    def _lifecycle(self, prefix: str, name: str, after: list[pulumi.Resource]) -> Any:
        if not self._caps.lifecycle:
            return None
        rules = [
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="abort-incomplete-multipart-uploads",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=self._spec.abort_incomplete_multipart_upload_days
                ),
            )
        ]
        if self._caps.versioning:
            # Old versions are kept as long as the retention: that is the point-in-time window.
            rules.append(
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=self._settings.retention_days
                    ),
                )
            )
        return aws.s3.BucketLifecycleConfiguration(
            f"{prefix}-lifecycle", bucket=name, region=self._resource_region, rules=rules, opts=self._opts(after)
        )

    def _replication(self, stores: list[LiveStore], backups: dict[str, list[pulumi.Resource]]) -> None:
        spec = self._spec
        source_region = spec.region or ""
        pairs = [(store.name, backup_bucket_name(spec, store.role)) for store in stores]
        role = aws.iam.Role(
            f"{self._prefix}-replication",
            assume_role_policy=policies.to_json(replication_trust_policy()),
            tags=spec.tag_map,
            opts=self._opts(),
        )
        role_policy = aws.iam.RolePolicy(
            f"{self._prefix}-replication-policy",
            role=role.id,
            policy=policies.to_json(replication_policy(pairs, source_region, self._region)),
            opts=self._opts(),
        )
        for store in stores:
            target = backup_bucket_name(spec, store.role)
            aws.s3.BucketReplicationConfig(
                f"{self._prefix}-{store.role}-replication",
                bucket=store.name,
                region=source_region if self._caps.region_on_resources else None,
                role=role.arn,
                rules=[
                    aws.s3.BucketReplicationConfigRuleArgs(
                        id="backup",
                        status="Enabled",
                        priority=1,
                        filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=""),
                        # A delete in the store must not delete the backup: that is what the backup is for.
                        delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(
                            status="Disabled"
                        ),
                        destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                            bucket=policies.bucket_arn(target, self._region), storage_class="STANDARD"
                        ),
                    )
                ],
                # Both sides must be versioned, and the role able to act, before S3 accepts the rule.
                opts=self._opts([store.bucket, *store.config, *backups[store.role], role_policy]),
            )


def declare(
    parent: pulumi.ComponentResource, name: str, args: Any, stores: list[tuple[str, str, pulumi.Resource, list[Any]]]
) -> S3MediaBackup | None:
    """The backups of an S3 component's ``stores`` (role, bucket name, bucket, configuration), or None without
    backups (``args.backup``, else the spec's). The backup DSNs carry the stack's static key pair (the
    platform's), never the app's IAM user."""
    spec: StorageSpec = args.spec
    settings = args.backup or settings_of(spec)
    if settings is None:
        return None
    static = spec.credentials == "static"
    return S3MediaBackup(
        f"{name}-backup",
        S3MediaBackupArgs(
            spec=spec,
            settings=settings,
            stores=[LiveStore(role, bucket_name, bucket, list(config)) for role, bucket_name, bucket, config in stores],
            provider=args.backup_provider or args.provider,
            credentials=(args.access_key_id, args.secret_access_key) if static else (None, None),
        ),
        pulumi.ResourceOptions(parent=parent),
    )
