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
from support import apply_declared
from support.apply_declared import UnappliedResource, _Aws, _Inputs, plain



def declare(spec: StorageSpec, settings: BackupSettings, credentials: tuple[str, str] | None = None) -> Declared:
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


def install_handlers() -> None:
    """Teach the AWS applier the backup's resource types (idempotent)."""
    apply_declared.AWS_HANDLERS.update(BACKUP_HANDLERS)


__all__ = ["UnappliedResource", "declare", "install_handlers"]
