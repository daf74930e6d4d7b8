"""Declaring a website with backups under the mock runtime, and applying its backup resources to an emulator.

The components take their backup settings as an explicit argument (:class:`BackupSettings`); this runs them the way
the per-website program does (stack outputs exported), with the mocks and applier of :mod:`support.apply_declared`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi

from divio_storage_infra.components.website import WebsiteMediaStorage, WebsiteMediaStorageArgs
from divio_storage_infra.core import naming
from divio_storage_infra.core.backup import BackupSettings
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.preview import mockrun
from divio_storage_infra.preview.mockrun import Declared
from support import legacy_applier as apply_declared
from support.emulators import AZURITE_ACCOUNT
from support.legacy_applier import UnappliedResource, _Aws, _Azure, _Inputs, plain


def declare(spec: StorageSpec, settings: BackupSettings | None, credentials: tuple[str, str] | None = None) -> Declared:
    """Run the components for ``spec`` with ``settings`` under mocks and export every output, as the program does."""

    def program() -> None:
        args = WebsiteMediaStorageArgs(spec=spec, backup=settings)
        if credentials is not None:
            args.access_key_id = credentials[0]
            args.secret_access_key = pulumi.Output.secret(credentials[1])
        storage = WebsiteMediaStorage(naming.logical_name(spec), args)
        for key, value in storage.outputs().items():
            if value is not None and value != []:
                pulumi.export(key, value)

    return mockrun.run(program, mocks=apply_declared.website_mocks(), stack=spec.stack_name, config={})


def _bucket(ctx: _Aws, r: Any, i: _Inputs) -> None:
    """A bucket; with ``objectLockEnabled`` created with Object Lock on (S3 allows that only at creation)."""
    if not i.get("objectLockEnabled"):
        apply_declared._bucket(ctx, r, i)
        return
    name, region = i.need("bucket"), ctx.region(i)
    if i.need("objectLockEnabled") is not True or i.get("forceDestroy") is not False:
        raise UnappliedResource(f"{r.name}: objectLockEnabled must be true and forceDestroy false")
    config = {} if region in (None, "us-east-1") else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    client = ctx.s3(region)
    client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True, **config)
    tags = i.get("tags") or {}
    client.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
    ctx.out.buckets[r.name] = name
    ctx.out.bucket_providers[name] = ctx.provider.name if ctx.provider is not None else None
    ctx.out.log.append(f"created bucket {name} in {region} with object lock")


def _object_lock(ctx: _Aws, r: Any, i: _Inputs) -> None:
    rule = plain(i.need("rule"), f"{r.name}.rule")
    retention = rule["defaultRetention"]
    ctx.s3(ctx.region(i)).put_object_lock_configuration(
        Bucket=i.need("bucket"),
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": retention["mode"], "Days": int(retention["days"])}},
        },
    )
    ctx.out.log.append(f"{r.name}: object lock {retention['mode']} {retention['days']} days")


def _replication(ctx: _Aws, r: Any, i: _Inputs) -> None:
    # moto stores a replication configuration but never replicates: asserted on the declared inputs instead.
    i.ignore("bucket", "region", "role", "rules")
    ctx.out.log.append(f"{r.name}: replication is not performed by moto; asserted on the declared inputs")


def _role(ctx: _Aws, r: Any, i: _Inputs) -> None:
    i.ignore("assumeRolePolicy", "tags")
    ctx.out.log.append(f"{r.name}: the replication role only matters to replication, which moto does not do")


def _role_policy(ctx: _Aws, r: Any, i: _Inputs) -> None:
    i.ignore("role", "policy")


BACKUP_HANDLERS: dict[str, Callable[[_Aws, Any, _Inputs], None]] = {
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": _object_lock,
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": _replication,
    "aws:iam/role:Role": _role,
    "aws:iam/rolePolicy:RolePolicy": _role_policy,
}


_LIVE_CONTAINER = apply_declared.AZURE_HANDLERS["azure-native:storage:BlobContainer"]
_LIVE_BLOB_SERVICE = apply_declared.AZURE_HANDLERS["azure-native:storage:BlobServiceProperties"]


def _container(ctx: _Azure, r: Any, i: _Inputs) -> None:
    """A container; a backup's markers (metadata) are set too, naming Azurite's account for the declared one."""
    metadata = plain(i.get("metadata"), f"{r.name}.metadata")
    i.ignore("metadata")
    _LIVE_CONTAINER(ctx, r, i)
    if metadata:
        # Every declared account is played by Azurite's one development account (see apply_declared).
        of = metadata.get("divio_backup_of", "")
        metadata["divio_backup_of"] = f"{AZURITE_ACCOUNT}/{of.partition('/')[2]}" if of else of
        ctx.service.get_container_client(i.need("containerName")).set_container_metadata(metadata)
        ctx.out.log.append(f"{r.name}: markers {sorted(metadata)}")


def _blob_service(ctx: _Azure, r: Any, i: _Inputs) -> None:
    """The live blob service as before; the backup's (versioning, change feed, point-in-time restore) is
    management-plane only, which Azurite lacks: asserted on the declared inputs instead."""
    if not r.name.endswith("-backup-blob-service"):
        _LIVE_BLOB_SERVICE(ctx, r, i)
        return
    i.ignore(
        "accountName",
        "resourceGroupName",
        "blobServicesName",
        "isVersioningEnabled",
        "changeFeed",
        "deleteRetentionPolicy",
        "containerDeleteRetentionPolicy",
        "restorePolicy",
    )
    ctx.out.log.append(f"{r.name}: versioning, change feed and point-in-time restore are not in Azurite")


_LIVE_ACCOUNT = apply_declared.AZURE_HANDLERS["azure-native:storage:StorageAccount"]


def _account(ctx: _Azure, r: Any, i: _Inputs) -> None:
    """An account; the backup account's settings are checked as the live one's, but Azurite has one account, and
    the live account's public access is what its public container gets."""
    allow_public, account = ctx.allow_public, ctx.out.account
    _LIVE_ACCOUNT(ctx, r, i)
    if r.name.endswith("-backup-account"):
        if ctx.allow_public:
            raise UnappliedResource(f"{r.name}: a backup account must not allow public blob access")
        ctx.allow_public, ctx.out.account = allow_public, account


def install_handlers() -> None:
    """Teach the appliers the backup's resource types and inputs (idempotent)."""
    apply_declared.AWS_HANDLERS.update(BACKUP_HANDLERS)
    apply_declared.AZURE_HANDLERS["azure-native:storage:BlobContainer"] = _container
    apply_declared.AZURE_HANDLERS["azure-native:storage:StorageAccount"] = _account
    apply_declared.AZURE_HANDLERS["azure-native:storage:BlobServiceProperties"] = _blob_service


__all__ = ["UnappliedResource", "declare", "install_handlers"]
