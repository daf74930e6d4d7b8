"""``divio-storage adopt`` (Pulumi's bulk import file) and ``plan``'s SAS expiry warning, in process."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from divio_storage_infra.cli.main import main
from divio_storage_infra.preview.importfile import NothingToAdopt, import_file

ROOT = Path(__file__).resolve().parents[2]
LEGACY_STACK = """\
config:
  aws:region: eu-central-1
  divio-storage:website: legacy
  divio-storage:environment: live
  divio-storage:region: eu-central-1
  divio-storage:adopt: true
  divio-storage:bucketName: legacy-media-bucket
  divio-storage:publicPrefixes: [media/]
  divio-storage:privateStorage: true
  divio-storage:privateBucketName: legacy-private-bucket
  divio-storage:credentials: iam-user
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def stack_file(tmp_path: Path, text: str, name: str = "legacy-live") -> str:
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(text)
    return str(path)


def test_import_file_of_a_stack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = stack_file(tmp_path, LEGACY_STACK)
    code, out, err = run(capsys, "adopt", "--stack", stack, "--project-dir", str(ROOT))
    assert code == 0, err
    document = json.loads(out)
    assert document == {
        "nameTable": {},
        "resources": [
            {
                "component": True,
                "logicalName": "legacy-live",
                "name": "legacy-live-WebsiteMediaStorage",
                "type": "divio:storage:WebsiteMediaStorage",
            },
            {
                "component": True,
                "logicalName": "legacy-live",
                "name": "legacy-live-S3MediaStorage",
                "parent": "legacy-live-WebsiteMediaStorage",
                "type": "divio:storage:S3MediaStorage",
            },
            {
                "id": "legacy-media-bucket",
                "name": "legacy-live-media",
                "parent": "legacy-live-S3MediaStorage",
                "type": "aws:s3/bucket:Bucket",
            },
            {
                "id": "legacy-private-bucket",
                "name": "legacy-live-private",
                "parent": "legacy-live-S3MediaStorage",
                "type": "aws:s3/bucket:Bucket",
            },
        ],
    }
    # Deterministic, and the same bytes written to a file.
    assert run(capsys, "adopt", "--stack", stack, "--project-dir", str(ROOT))[1] == out
    target = tmp_path / "import.json"
    code, _, err = run(capsys, "adopt", "--stack", stack, "--project-dir", str(ROOT), "--output", str(target))
    assert code == 0 and target.read_text() == out and "pulumi import --file" in err


def test_a_stack_that_adopts_nothing_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = stack_file(tmp_path, LEGACY_STACK.replace("divio-storage:adopt: true", "divio-storage:adopt: false"))
    code, out, err = run(capsys, "adopt", "--stack", stack, "--project-dir", str(ROOT))
    assert (code, out) == (2, "")
    assert "no resource is declared with the import option" in err and "Traceback" not in err


def test_adopting_without_the_existing_names_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = stack_file(tmp_path, LEGACY_STACK.replace("  divio-storage:bucketName: legacy-media-bucket\n", ""))
    code, out, err = run(capsys, "adopt", "--stack", stack, "--project-dir", str(ROOT))
    assert (code, out) == (2, "")
    assert "bucketName: required; adopt: true takes over the existing public bucket" in err


def test_import_file_of_a_registry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry = tmp_path / "websites.yaml"
    registry.write_text(
        textwrap.dedent(
            """\
            defaults: {cloud: aws, region: eu-central-1}
            websites:
              - {website: shop, environment: live}
              - {website: old-blog, environment: live, adopt: true, bucketName: old-blog-media}
              - {website: portal, environment: live, cloud: azure, region: null, location: westeurope,
                 adopt: true, subscriptionId: 0b1f6471-1bf0-4dda-aec3-cb9272f09590, resourceGroupName: rg-portal,
                 storageAccountName: portalmedia01, containerName: media}
            """
        )
    )
    argv = ("adopt", "--registry", str(registry), "--program", str(ROOT / "stacks" / "platform"))
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    entries = {e["name"]: e for e in json.loads(out)["resources"]}
    assert entries["old-blog-live-media"]["id"] == "old-blog-media"
    arm = "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg-portal/providers/Microsoft.Storage"
    assert entries["portal-live-account"]["id"] == f"{arm}/storageAccounts/portalmedia01"
    assert (
        entries["portal-live-media"]["id"]
        == f"{arm}/storageAccounts/portalmedia01/blobServices/default/containers/media"
    )
    assert entries["portal-live-account"]["parent"] == "portal-live-AzureMediaStorage"
    assert not any(name.startswith("shop-") for name in entries)  # not adopted: created as usual
    assert run(capsys, *argv)[1] == out


def test_import_file_names_explicit_providers_in_the_name_table() -> None:
    provider = "urn:pulumi:p::proj::pulumi:providers:aws::exo"
    parent = "urn:pulumi:p::proj::divio:storage:S3MediaStorage::site"
    document: dict[str, Any] = {
        "stack": "p",
        "resources": [
            {"urn": provider, "type": "pulumi:providers:aws", "name": "exo", "parent": None, "provider": None},
            {"urn": parent, "type": "divio:storage:S3MediaStorage", "name": "site", "parent": None, "provider": None},
            {
                "urn": "urn:pulumi:p::proj::divio:storage:S3MediaStorage$aws:s3/bucket:Bucket::site-media",
                "type": "aws:s3/bucket:Bucket",
                "name": "site-media",
                "parent": parent,
                "provider": provider,
                "importId": "site-bucket",
            },
        ],
    }
    assert import_file(document) == {
        "nameTable": {"provider-exo": provider},
        "resources": [
            {"component": True, "name": "site", "type": "divio:storage:S3MediaStorage"},
            {
                "id": "site-bucket",
                "name": "site-media",
                "parent": "site",
                "provider": "provider-exo",
                "type": "aws:s3/bucket:Bucket",
            },
        ],
    }
    with pytest.raises(NothingToAdopt):
        import_file({**document, "resources": document["resources"][:2]})


def azure_sas_stack(start: dt.date) -> str:
    return textwrap.dedent(
        f"""\
        config:
          divio-storage:website: docs
          divio-storage:environment: live
          divio-storage:cloud: azure
          divio-storage:location: westeurope
          divio-storage:credentials: sas
          divio-storage:sasStart: "{start.isoformat()}"
          divio-storage:sasLifetimeDays: 90
        """
    )


def test_plan_warns_on_stderr_when_a_sas_expires_soon(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    today = dt.datetime.now(dt.UTC).date()
    stack = stack_file(tmp_path, azure_sas_stack(today - dt.timedelta(days=80)), "docs-live")
    argv = ("plan", "--stack", stack, "--project-dir", str(ROOT), "--format", "json")
    code, out, err = run(capsys, *argv)
    assert code == 0
    assert err.startswith("warning: divio:storage:AzureMediaStorage docs-live: the SAS expires on ")
    assert "in 9 days" in err and "move sasStart forward" in err
    # Never in the document: with a lower threshold nothing is said, and the plan's bytes are the same.
    quiet = run(capsys, *argv, "--warn-days", "5")
    assert quiet == (0, out, "")
    fresh = stack_file(tmp_path, azure_sas_stack(today), "docs-live")
    assert run(capsys, "plan", "--stack", fresh, "--project-dir", str(ROOT))[2] == ""
    expired = stack_file(tmp_path, azure_sas_stack(today - dt.timedelta(days=100)), "docs-live")
    assert "the SAS expired on" in run(capsys, "plan", "--stack", expired, "--project-dir", str(ROOT))[2]
