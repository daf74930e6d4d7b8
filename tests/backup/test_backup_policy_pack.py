"""The CrossGuard pack knows backups: a backup opened to the public, a shortened or missing retention and
replicated deletes are violations; the stacks the components declare with backups on have none."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from divio_storage_policy.catalog import POLICIES, run_resource_rule, run_stack_rule
from divio_storage_policy.model import Provider, Resource
from support.backups import declare
from support.legacy_applier import plain

from divio_storage_infra.core.backup import BackupSettings
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.preview.mockrun import Declared

AWS = StorageSpec.from_dict(
    {
        "website": "shop",
        "environment": "live",
        "region": "eu-central-1",
        "privateStorage": True,
        "credentials": "iam-user",
    }
)
AZURE = StorageSpec.from_dict(
    {
        "website": "blob",
        "environment": "live",
        "cloud": "azure",
        "location": "switzerlandnorth",
        "credentials": "account-key",
        "privateStorage": True,
    }
)
EXOSCALE = StorageSpec.from_dict(
    {
        "website": "sos",
        "environment": "live",
        "cloud": "exoscale",
        "region": "ch-gva-2",
        "credentials": "static",
        "privateStorage": True,
    }
)


def records(declared: Declared) -> list[Resource]:
    by_urn = {r.urn: r for r in declared.resources}

    def provider(reference: str | None) -> Provider | None:
        found = (
            by_urn.get((reference or "").split("::" + (reference or "").rsplit("::", 1)[-1])[0]) if reference else None
        )
        return Provider(found.type, found.name, plain(found.inputs, found.name)) if found else None

    return [
        Resource(
            type=r.type,
            urn=r.urn,
            name=r.name,
            props=plain(r.inputs, r.name),
            protect=r.protect,
            provider=provider(r.provider),
            property_dependencies={k: tuple(v) for k, v in r.property_dependencies.items()},
        )
        for r in declared.resources
        if r.custom
    ]


def violations(resources: list[Resource], config: dict[str, Any] | None = None) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for rule in POLICIES:
        settings = (config or {}).get(rule.name, {})
        if rule.kind == "resource":
            hits = [v for r in resources for v in run_resource_rule(rule, r, settings)]
        else:
            hits = run_stack_rule(rule, resources, settings)
        if hits:
            found[rule.name] = [v.message for v in hits]
    return found


@pytest.fixture(scope="module")
def stacks() -> dict[str, list[Resource]]:
    return {
        "aws": records(declare(AWS, BackupSettings(region="eu-west-1"))),
        "azure": records(declare(AZURE, BackupSettings(location="switzerlandwest"))),
        "exoscale": records(declare(EXOSCALE, BackupSettings(region="de-fra-1"), ("K", "secret-key"))),
    }


@pytest.mark.parametrize("cloud", ["aws", "azure", "exoscale"])
def test_declared_backups_pass_the_backup_rules(stacks: dict[str, list[Resource]], cloud: str) -> None:
    found = violations(stacks[cloud])
    assert {k: v for k, v in found.items() if "backup" in k or "replication" in k} == {}


def changed(resources: list[Resource], type_suffix: str, name_part: str, props: dict[str, Any]) -> list[Resource]:
    out = []
    for r in resources:
        if r.type.endswith(type_suffix) and name_part in r.name:
            merged = copy.deepcopy(dict(r.props))
            merged.update(props)
            r = Resource(r.type, r.urn, r.name, merged, r.protect, r.provider, r.property_dependencies)
        out.append(r)
    return out


def test_opening_a_backup_bucket_is_a_violation(stacks: dict[str, list[Resource]]) -> None:
    # A backup is tagged media-store=backup, never public: the public-access rules refuse opening it.
    opened = changed(stacks["aws"], "BucketPublicAccessBlock", "backup-media", {"blockPublicPolicy": False})
    assert any("blockPublicPolicy" in m for m in violations(opened)["s3-block-public-access"])


def test_opening_the_backup_account_is_a_violation(stacks: dict[str, list[Resource]]) -> None:
    opened = changed(stacks["azure"], "StorageAccount", "backup", {"allowBlobPublicAccess": True})
    assert any('"blob-live-backup-account"' in m for m in violations(opened)["azure-public-blob-scope"])
    container = changed(stacks["azure"], "BlobContainer", "backup-public-media-backup", {"publicAccess": "Blob"})
    assert violations(container)["azure-public-blob-scope"]


def test_a_short_retention_is_a_violation(stacks: dict[str, list[Resource]]) -> None:
    short = changed(
        stacks["aws"],
        "BucketObjectLockConfiguration",
        "backup-private",
        {"rule": {"defaultRetention": {"mode": "GOVERNANCE", "days": 2}}},
    )
    (message,) = violations(short)["storage-backup-retention"]
    assert "2 days, less than 7" in message
    assert violations(stacks["aws"], {"storage-backup-retention": {"minBackupRetentionDays": 60}})[
        "storage-backup-retention"
    ]
    azure = changed(
        stacks["azure"], "BlobServiceProperties", "backup", {"restorePolicy": {"enabled": False, "days": 35}}
    )
    assert violations(azure)["storage-backup-retention"]


def test_a_backup_bucket_without_object_lock_is_a_violation(stacks: dict[str, list[Resource]]) -> None:
    unlocked = [r for r in stacks["aws"] if not r.type.endswith("BucketObjectLockConfiguration")]
    found = violations(unlocked)["storage-backup-retention"]
    assert len(found) == 2
    assert all(f'"shop-live-backup-{role}"' in " ".join(found) for role in ("media", "private"))


def test_replicating_deletes_is_a_violation(stacks: dict[str, list[Resource]]) -> None:
    rules = next(r for r in stacks["aws"] if r.type.endswith("BucketReplicationConfig")).props["rules"]
    replicated = copy.deepcopy(rules)
    replicated[0]["deleteMarkerReplication"] = {"status": "Enabled"}
    found = violations(changed(stacks["aws"], "BucketReplicationConfig", "backup-media", {"rules": replicated}))
    assert len(found["s3-replication-keeps-deletes-out"]) == 1
