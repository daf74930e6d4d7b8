"""The backup config keys: read through the table, checked against the cloud, and what the components declare."""

from __future__ import annotations

import pytest
from support.legacy_applier import declare_website

from divio_storage_infra.core.backup import BackupSettings, settings_of
from divio_storage_infra.core.errors import SpecError
from divio_storage_infra.core.spec import StorageSpec

AWS = {"website": "shop", "environment": "live", "region": "eu-central-1"}
AZURE = {"website": "blob", "environment": "live", "cloud": "azure", "location": "switzerlandnorth"}


def problems(raw: dict[str, object]) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as raised:
        StorageSpec.from_dict(raw)
    return [(p.field, p.allowed) for p in raised.value.problems]


def test_defaults_no_backup_and_35_days() -> None:
    spec = StorageSpec.from_dict(AWS)
    assert (spec.backup, spec.backup_region, spec.backup_retention_days) == (False, None, 35)
    assert settings_of(spec) is None


def test_backup_settings_from_the_spec() -> None:
    spec = StorageSpec.from_dict({**AWS, "backup": "true", "backupRegion": "eu-west-1", "backupRetentionDays": "40"})
    assert settings_of(spec) == BackupSettings(region="eu-west-1", location=None, retention_days=40)
    azure = StorageSpec.from_dict({**AZURE, "backup": True, "backupLocation": "switzerlandwest"})
    assert settings_of(azure) == BackupSettings(region=None, location="switzerlandwest", retention_days=35)


@pytest.mark.parametrize(
    ("raw", "field", "says"),
    [
        ({**AWS, "backup": True}, "backupRegion", "with backup: true, an AWS region other than the stores' own"),
        (
            {**AWS, "backup": True, "backupRegion": "eu-central-1"},
            "backupRegion",
            "a backup must survive a lost region",
        ),
        ({**AWS, "backup": True, "backupRegion": "mars-1"}, "backupRegion", "expected an AWS region"),
        (
            {**AWS, "backup": True, "backupRegion": "eu-west-1", "versioning": False},
            "versioning",
            "needs versioning: true",
        ),
        ({**AWS, "backupRegion": "eu-west-1"}, "backupRegion", "only applies with backup: true"),
        (
            {**AWS, "backup": True, "backupRegion": "eu-west-1", "backupRetentionDays": 0},
            "backupRetentionDays",
            "from 1 to 364",
        ),
        ({**AZURE, "backup": True}, "backupLocation", "an Azure location other than the stores' own"),
        ({**AZURE, "backup": True, "backupRegion": "x"}, "backupRegion", "only applies to cloud"),
        (
            {
                "website": "s",
                "environment": "live",
                "cloud": "exoscale",
                "region": "ch-gva-2",
                "backup": True,
                "backupRegion": "ch-gva-2",
            },
            "backupRegion",
            "survive a lost region",
        ),
    ],
)
def test_bad_backup_settings_name_the_field(raw: dict[str, object], field: str, says: str) -> None:
    found = problems(raw)
    assert any(f == field and says in allowed for f, allowed in found), found


def test_the_program_declares_backups_from_stack_config() -> None:
    spec = StorageSpec.from_dict({**AWS, "privateStorage": True, "backup": True, "backupRegion": "eu-west-1"})
    declared = declare_website(spec)
    names = {r.name for r in declared.resources}
    assert {"shop-live-backup-media", "shop-live-backup-private", "shop-live-backup-media-replication"} <= names
    assert {"backup_storage_dsn", "private_backup_storage_dsn"} <= set(declared.outputs)
    plain = declare_website(StorageSpec.from_dict(AWS))
    assert not any("backup" in r.name for r in plain.resources)
    assert "backup_storage_dsn" not in plain.outputs
