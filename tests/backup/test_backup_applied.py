"""The package applier creates what ``backup: true`` declares: Object Lock and versioning on moto's backup buckets,
replication logged as not applied, the Azure backup containers' markers naming Azurite's account, and a backup
account that would allow public access refused."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from support.backups import declare
from support.emulators import Emulator, azure_target, azurite_service, s3_client, s3_target

from divio_storage_infra.core.backup import BACKUP_CONTAINERS, BackupSettings, backup_bucket_name
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.localstores.applier import UnappliedResource
from divio_storage_infra.localstores.apply_azure import apply_azure
from divio_storage_infra.localstores.apply_s3 import apply_aws
from divio_storage_infra.localstores.azurite import ACCOUNT

pytestmark = pytest.mark.emulator


def test_aws_backup_buckets_get_object_lock_versioning_and_markers(moto: Emulator) -> None:
    spec = StorageSpec.from_dict(
        {
            "website": f"bk-app-{uuid.uuid4().hex[:6]}",
            "environment": "live",
            "region": "eu-central-1",
            "privateStorage": True,
            "credentials": "iam-user",
            "versioning": True,
        }
    )
    applied = apply_aws(declare(spec, BackupSettings(region="eu-west-1", retention_days=9)), s3_target(moto))
    client = s3_client(moto.url, region="eu-west-1")
    for store in ("media", "private"):
        bucket = backup_bucket_name(spec, store)
        assert bucket in applied.buckets.values()
        lock = client.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
        assert lock["ObjectLockEnabled"] == "Enabled"
        retention = lock["Rule"]["DefaultRetention"]
        assert (retention["Mode"], retention["Days"]) == ("GOVERNANCE", 9)
        assert client.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        tags = {t["Key"]: t["Value"] for t in client.get_bucket_tagging(Bucket=bucket)["TagSet"]}
        assert tags["divio-backup-role"] == ("public" if store == "media" else "private")
    assert any("replication is not performed" in line and "not applied" in line for line in applied.log)


def test_azure_backup_containers_carry_markers_naming_the_local_account(azurite: Emulator) -> None:
    spec = StorageSpec.from_dict(
        {
            "website": f"bkapp{uuid.uuid4().hex[:6]}",
            "environment": "live",
            "cloud": "azure",
            "location": "switzerlandnorth",
            "credentials": "account-key",
            "privateStorage": True,
            "containerName": f"live-{uuid.uuid4().hex[:6]}",
        }
    )
    applied = apply_azure(declare(spec, BackupSettings(location="germanywestcentral")), azure_target(azurite))
    assert applied.account != "" and applied.containers[spec.container_name] == "blob"
    service = azurite_service(azurite)
    for role, container in BACKUP_CONTAINERS.items():
        assert applied.containers[container] is None, "a backup container is never public"
        metadata = service.get_container_client(container).get_container_properties().metadata
        assert metadata["divio_backup_role"] == role
        assert metadata["divio_backup_of"].startswith(f"{ACCOUNT}/")
    assert any("point-in-time restore are not in Azurite" in line for line in applied.log)


def test_a_backup_account_allowing_public_access_is_refused(azurite: Emulator) -> None:
    spec = StorageSpec.from_dict(
        {"website": "bkpub", "environment": "live", "cloud": "azure", "location": "switzerlandnorth"}
    )
    declared = declare(spec, BackupSettings(location="germanywestcentral"))
    resources = [
        dataclasses.replace(r, inputs={**r.inputs, "allowBlobPublicAccess": True})
        if r.type == "azure-native:storage:StorageAccount" and "AzureMediaBackup$" in r.urn
        else r
        for r in declared.resources
    ]
    with pytest.raises(UnappliedResource, match="backup account must not allow public blob access"):
        apply_azure(dataclasses.replace(declared, resources=resources), azure_target(azurite))
