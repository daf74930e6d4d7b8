"""`divio-storage diff` knows the backup's resources: turning backups off, shortening the retention, replicating
deletes and opening a backup store are dangers (exit status 1); adding backups is not.

The plans are real plan documents (the offline engine's), of a program that declares the website with its backup
settings given explicitly; the edits are what a changed stack config would change.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
from support.plans import edited, resource, write

from divio_storage_infra.cli.main import main
from divio_storage_infra.components.website import WebsiteMediaStorage, WebsiteMediaStorageArgs
from divio_storage_infra.core import naming
from divio_storage_infra.core.backup import BackupSettings
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.preview.plan import build_plan
from divio_storage_infra.preview.stackconfig import load_project, load_stack
from divio_storage_infra.review.danger import DATA_LOSS, PROTECTION_OFF, PUBLIC_ACCESS, find_dangers
from divio_storage_infra.review.model import diff_plans
from divio_storage_infra.review.plans import plan_from_document

AWS = {
    "website": "shop",
    "environment": "live",
    "region": "eu-central-1",
    "privateStorage": True,
    "credentials": "iam-user",
}
AZURE = {
    "website": "blob",
    "environment": "live",
    "cloud": "azure",
    "location": "switzerlandnorth",
    "credentials": "account-key",
}


def plan(tmp_path: Path, raw: dict[str, Any], settings: BackupSettings | None) -> dict[str, Any]:
    spec = StorageSpec.from_dict(raw)
    project = tmp_path / f"project-{spec.website}-{settings is not None}"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: backup-review\nruntime: python\n")
    (project / "__main__.py").write_text("# the test passes its program to build_plan\n")
    (project / f"Pulumi.{spec.stack_name}.yaml").write_text("config: {}\n")

    def program() -> None:
        storage = WebsiteMediaStorage(naming.logical_name(spec), WebsiteMediaStorageArgs(spec=spec, backup=settings))
        for key, value in storage.outputs().items():
            if value is not None and value != []:
                pulumi.export(key, value)

    return build_plan(load_stack(load_project(project), spec.stack_name), program=program)


@pytest.fixture(scope="module")
def aws_plans(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("aws")
    return plan(tmp, AWS, None), plan(tmp, AWS, BackupSettings(region="eu-west-1"))


def dangers(base: dict[str, Any], head: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (f.danger, f.name, f.message)
        for f in find_dangers(diff_plans(plan_from_document(base), plan_from_document(head)))
    ]


def test_adding_backups_is_no_danger(aws_plans: tuple[dict[str, Any], dict[str, Any]]) -> None:
    without, with_backups = aws_plans
    assert dangers(without, with_backups) == []


def test_turning_backups_off_is_a_danger(
    aws_plans: tuple[dict[str, Any], dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    without, with_backups = aws_plans
    found = dangers(with_backups, without)
    messages = [m for _, _, m in found]
    assert (
        "protection-off",
        "shop-live-backup",
        "backups turned off: the website's backup (its buckets or account) leaves the stack",
    ) in found
    assert sum("replication into the backup removed" in m for m in messages) == 2
    assert {n for d, n, _ in found if d == DATA_LOSS} >= {"shop-live-backup-media", "shop-live-backup-private"}
    base, head = write(tmp_path / "base.json", with_backups), write(tmp_path / "head.json", without)
    assert main(["diff", str(base), str(head)]) == 1
    assert "backups turned off" in capsys.readouterr().out


def test_shortening_the_retention_is_a_danger(aws_plans: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, with_backups = aws_plans

    def shorter(r: dict[str, Any]) -> None:
        r["inputs"]["rule"]["defaultRetention"]["days"] = 7

    head = edited(with_backups, "shop-live-backup-media-object-lock", shorter)
    assert dangers(with_backups, head) == [
        (
            PROTECTION_OFF,
            "shop-live-backup-media-object-lock",
            "backup retention shortened: Object Lock default retention 35 -> 7 days",
        )
    ]
    longer = edited(
        with_backups,
        "shop-live-backup-media-object-lock",
        lambda r: r["inputs"]["rule"]["defaultRetention"].update(days=60),
    )
    assert dangers(with_backups, longer) == []


def test_replicating_deletes_is_a_danger(aws_plans: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, with_backups = aws_plans
    head = edited(
        with_backups,
        "shop-live-backup-private-replication",
        lambda r: r["inputs"]["rules"][0]["deleteMarkerReplication"].update(status="Enabled"),
    )
    (finding,) = dangers(with_backups, head)
    assert finding[0] == PROTECTION_OFF and "delete markers now replicate" in finding[2]


def test_opening_a_backup_bucket_is_a_danger(aws_plans: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, with_backups = aws_plans
    head = edited(
        with_backups,
        "shop-live-backup-media-public-access",
        lambda r: r["inputs"].update(restrictPublicBuckets=False, blockPublicPolicy=False),
    )
    (finding,) = dangers(with_backups, head)
    assert finding[0] == PUBLIC_ACCESS and "blockPublicPolicy" in finding[2]

    def public_policy(r: dict[str, Any]) -> None:
        document = json.loads(r["inputs"]["policy"])
        document["Statement"].append(
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::x/*"}
        )
        r["inputs"]["policy"] = json.dumps(document)

    assert [
        d for d, _, _ in dangers(with_backups, edited(with_backups, "shop-live-backup-media-policy", public_policy))
    ] == [PUBLIC_ACCESS]


def test_azure_backup_window_shortened_or_account_opened(tmp_path: Path) -> None:
    base = plan(tmp_path, AZURE, BackupSettings(location="switzerlandwest"))
    name = resource(base, "blob-live-backup-blob-service")["name"]
    shorter = edited(base, name, lambda r: r["inputs"]["restorePolicy"].update(days=10))
    assert dangers(base, shorter) == [
        (PROTECTION_OFF, name, "backup retention shortened: point-in-time restore window 35 -> 10 days")
    ]
    opened = edited(base, "blob-live-backup-account", lambda r: r["inputs"].update(allowBlobPublicAccess=True))
    assert [d for d, _, _ in dangers(base, opened)] == [PUBLIC_ACCESS]
