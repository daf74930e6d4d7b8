"""Backup and restore keep bytes, metadata and privacy: AWS and Exoscale (ACL-based public store) on moto, the
generic S3-compatible provider on SeaweedFS.

Each website is declared with backups under the mock runtime and applied to the emulator (its backup buckets,
their markers and, on AWS, Object Lock). Objects go into both stores the way the app writes them (the DSN's
ACL); ``divio-storage backup`` copies them; the app's key then deletes every object version it can reach;
``divio-storage restore`` puts everything back. moto does not replicate, so on AWS ``backup`` copies what
replication would have (objects written before replication was on are not replicated by AWS either).
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from support.backups import declare
from support.emulators import SEAWEEDFS_KEY, Emulator, s3_client, s3_target

from divio_storage_infra.backup.connection import Connection, backup_settings
from divio_storage_infra.backup.operation import StoreDsns, execute, routes
from divio_storage_infra.cli.main import main
from divio_storage_infra.core import naming
from divio_storage_infra.core.backup import BackupSettings, backup_bucket_name
from divio_storage_infra.core.dsn import parse_dsn
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.localstores.apply_s3 import apply_aws
from divio_storage_infra.localstores.declared import exported
from divio_storage_infra.localstores.localdsn import s3_emulator_dsn, with_endpoint_url

pytestmark = pytest.mark.emulator

ENV = ("DEFAULT_STORAGE_DSN", "PRIVATE_STORAGE_DSN", "BACKUP_STORAGE_DSN", "PRIVATE_BACKUP_STORAGE_DSN")
KEY = ("BACKUPTESTKEY0123456", "backup/test+secret=with%odd")
LARGE = 11 * 1024 * 1024 + 123  # two 8 MiB parts: a multipart copy


@dataclass
class Site:
    """A declared website with backups, applied to an emulator; its four DSNs (emulator-ready)."""

    name: str
    spec: StorageSpec
    emulator: Emulator
    dsns: dict[str, str]
    key: tuple[str, str]
    region: str
    backup_region: str
    objects: dict[str, dict[str, tuple[bytes, str, dict[str, str]]]] = field(default_factory=dict)

    def client(self, region: str | None = None) -> Any:
        """A client with the platform's key (the emulator's admin)."""
        return s3_client(self.emulator.url, self.key, region=region or self.region)

    def bucket(self, role: str) -> str:
        """The live bucket of ``role`` (``media`` / ``private``)."""
        return naming.bucket_name(self.spec, role)


def _aws(moto: Emulator) -> Site:
    spec = StorageSpec.from_dict(
        {
            "website": f"bk-aws-{uuid.uuid4().hex[:6]}",
            "environment": "live",
            "region": "eu-central-1",
            "privateStorage": True,
            "credentials": "iam-user",
            "versioning": True,
        }
    )
    declared = declare(spec, BackupSettings(region="eu-west-1"))
    apply_aws(declared, s3_target(moto))
    dsns = {env: s3_emulator_dsn(exported(declared, out), moto.url, KEY) for env, out in zip(ENV, OUTPUTS, strict=True)}
    return Site("aws", spec, moto, dsns, KEY, "eu-central-1", "eu-west-1")


def _exoscale(moto: Emulator) -> Site:
    spec = StorageSpec.from_dict(
        {
            "website": f"bk-sos-{uuid.uuid4().hex[:6]}",
            "environment": "live",
            "cloud": "exoscale",
            "region": "ch-gva-2",
            "credentials": "static",
            "privateStorage": True,
            "versioning": True,
        }
    )
    declared = declare(spec, BackupSettings(region="de-fra-1"), KEY)
    apply_aws(declared, s3_target(moto))
    dsns = {env: with_endpoint_url(exported(declared, out), moto.url) for env, out in zip(ENV, OUTPUTS, strict=True)}
    return Site("exoscale", spec, moto, dsns, KEY, "ch-gva-2", "de-fra-1")


def _seaweedfs(weed: Emulator) -> Site:
    spec = StorageSpec.from_dict(
        {
            "website": f"bk-weed-{uuid.uuid4().hex[:6]}",
            "environment": "live",
            "cloud": "s3-compatible",
            "region": "us-east-1",
            "endpoint": "objects.example.net",
            "credentials": "static",
            "privateStorage": True,
        }
    )
    declared = declare(spec, BackupSettings(), SEAWEEDFS_KEY)
    apply_aws(declared, s3_target(weed))
    dsns = {env: with_endpoint_url(exported(declared, out), weed.url) for env, out in zip(ENV, OUTPUTS, strict=True)}
    return Site("s3-compatible", spec, weed, dsns, SEAWEEDFS_KEY, "us-east-1", "us-east-1")


OUTPUTS = ("storage_dsn", "private_storage_dsn", "backup_storage_dsn", "private_backup_storage_dsn")


@pytest.fixture(params=["aws", "exoscale", "s3-compatible"])
def site(request: pytest.FixtureRequest) -> Site:
    if request.param == "s3-compatible":
        return _seaweedfs(request.getfixturevalue("seaweedfs"))
    moto = request.getfixturevalue("moto")
    return _aws(moto) if request.param == "aws" else _exoscale(moto)


def _environ(monkeypatch: pytest.MonkeyPatch, dsns: dict[str, str]) -> None:
    for env in ENV:
        monkeypatch.delenv(env, raising=False)
    for env, value in dsns.items():
        monkeypatch.setenv(env, value)


def fill(site: Site, count: int = 12, *, large: bool = True) -> None:
    """Objects in both stores, written as the app writes them (its DSN's ACL), with content headers and metadata."""
    for role, env in (("media", "DEFAULT_STORAGE_DSN"), ("private", "PRIVATE_STORAGE_DSN")):
        acl = parse_dsn(site.dsns[env]).effective_acl
        client = site.client()
        placed: dict[str, tuple[bytes, str, dict[str, str]]] = {}
        for index in range(count):
            key = f"uploads/{role}/{index:04d} é+&.txt"
            body = f"{role} {index} {uuid.uuid4().hex}".encode() * (index + 1)
            placed[key] = (body, "text/plain; charset=utf-8", {"owner": f"user-{index}"})
        if large and role == "media":
            placed["videos/large.bin"] = (b"\x00\x01large" * (LARGE // 7) + b"tail", "video/mp4", {"kind": "large"})
        for key, (body, content_type, metadata) in placed.items():
            client.put_object(
                Bucket=site.bucket(role),
                Key=key,
                Body=body,
                ContentType=content_type,
                CacheControl="max-age=86400, public" if role == "media" else "private, no-store",
                Metadata=metadata,
                ACL=acl,
            )
        site.objects[role] = placed


def wipe(site: Site) -> None:
    """The app's key deletes every object version it can reach in both live stores."""
    client = site.client()
    for role in ("media", "private"):
        bucket = site.bucket(role)
        for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                client.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                client.delete_object(Bucket=bucket, Key=item["Key"])
        assert client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    code = main([*argv, "--format", "json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else {}), err


def counts(document: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {s["store"]: {k: s[k] for k in ("listed", "copied", "unchanged", "failed")} for s in document["stores"]}


def anonymous(site: Site, bucket: str, key: str) -> int:
    from urllib.parse import quote

    return requests.get(f"{site.emulator.url}/{bucket}/{quote(key)}", timeout=10).status_code


def assert_restored(site: Site) -> None:
    client = site.client()
    for role, placed in site.objects.items():
        for key, (body, content_type, metadata) in placed.items():
            answer = client.get_object(Bucket=site.bucket(role), Key=key)
            data = answer["Body"].read()
            assert hashlib.sha256(data).digest() == hashlib.sha256(body).digest(), key
            assert answer["ContentType"] == content_type
            expected_cache = "max-age=86400, public" if role == "media" else "private, no-store"
            assert answer["CacheControl"] == expected_cache
            assert answer["Metadata"] == metadata
        some = next(iter(placed))
        status = anonymous(site, site.bucket(role), some)
        if role == "media":
            assert status == 200, f"public object of {site.name} not readable anonymously after restore"
        else:
            assert status in (403, 401), f"private object of {site.name} readable anonymously ({status})"


def test_backup_delete_everything_restore_keeps_bytes_metadata_and_privacy(
    site: Site, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(site)
    _environ(monkeypatch, site.dsns)

    code, first, err = run_cli(capsys, "backup")
    assert code == 0, err
    assert counts(first) == {
        "public": {"listed": 13, "copied": 13, "unchanged": 0, "failed": 0},
        "private": {"listed": 12, "copied": 12, "unchanged": 0, "failed": 0},
    }
    assert "backed up public:" in err  # progress and totals on stderr

    # Incremental and idempotent: nothing changed, nothing copied.
    code, again, err = run_cli(capsys, "backup")
    assert code == 0, err
    assert [c["copied"] for c in counts(again).values()] == [0, 0]
    assert [c["unchanged"] for c in counts(again).values()] == [13, 12]

    # Nobody reads a backup anonymously: neither the public store's nor the private one's.
    for role in ("media", "private"):
        key = next(iter(site.objects[role]))
        assert anonymous(site, backup_bucket_name(site.spec, role), key) in (401, 403)

    wipe(site)
    code, restored, err = run_cli(capsys, "restore")
    assert code == 0, err
    assert [c["copied"] for c in counts(restored).values()] == [13, 12]
    assert_restored(site)
    for secret in (site.key[1], "test+secret"):
        assert secret not in err


def test_dry_run_lists_and_copies_nothing(
    site: Site, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(site, 3, large=False)
    _environ(monkeypatch, site.dsns)
    assert main(["backup", "--dry-run"]) == 0
    out, _ = capsys.readouterr()
    assert out.count("would copy public: uploads/media/") == 3
    assert out.count("would copy private: uploads/private/") == 3
    empty = site.client(site.backup_region).list_objects_v2(Bucket=backup_bucket_name(site.spec, "media"))
    assert empty.get("KeyCount", 0) == 0
    code, document, _ = run_cli(capsys, "backup", "--prefix", "uploads/media/0001")
    assert code == 0
    assert counts(document)["public"]["copied"] == 1
    assert counts(document)["private"]["listed"] == 0


def live_count(site: Site, role: str) -> int:
    return int(site.client().list_objects_v2(Bucket=site.bucket(role)).get("KeyCount", 0))


def test_interrupted_restore_resumes_without_partial_or_duplicate_objects(
    moto: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    site = _aws(moto)
    fill(site, 60, large=True)
    _environ(monkeypatch, site.dsns)
    assert main(["backup"]) == 0
    wipe(site)

    # Ctrl-C reaches the main thread while copies are in flight: queued ones are dropped, running ones end.
    stop = threading.Event()
    connection = Connection(settings=backup_settings(), workers=4)
    given = [
        StoreDsns("public", parse_dsn(site.dsns[ENV[0]]), parse_dsn(site.dsns[ENV[2]]), ENV[0], ENV[2]),
        StoreDsns("private", parse_dsn(site.dsns[ENV[1]]), parse_dsn(site.dsns[ENV[3]]), ENV[1], ENV[3]),
    ]

    def interrupt(counts: Any) -> None:
        if counts.copied >= 15:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        execute("restore", routes(given, connection, stop), connection, stop, report=interrupt)
    partial = live_count(site, "media")
    assert 15 <= partial < 61
    assert live_count(site, "private") == 0
    client = site.client()
    assert client.list_multipart_uploads(Bucket=site.bucket("media")).get("Uploads", []) == []

    capsys.readouterr()
    code, document, err = run_cli(capsys, "restore")
    assert code == 0, err
    assert counts(document)["public"] == {"listed": 61, "copied": 61 - partial, "unchanged": partial, "failed": 0}
    assert_restored(site)
    # No duplicates: every key has exactly one version in the (versioned) live stores.
    for role in ("media", "private"):
        seen: dict[str, int] = {}
        for page in client.get_paginator("list_object_versions").paginate(Bucket=site.bucket(role)):
            for item in page.get("Versions", []):
                seen[item["Key"]] = seen.get(item["Key"], 0) + 1
        assert set(seen.values()) == {1}
        assert len(seen) == len(site.objects[role])


@pytest.fixture(scope="module")
def filled(moto: Emulator) -> Site:
    site = _aws(moto)
    fill(site, 4, large=False)
    with pytest.MonkeyPatch.context() as patch:
        _environ(patch, site.dsns)
        assert main(["backup"]) == 0
    wipe(site)
    return site


def refused(capsys: pytest.CaptureFixture[str], site: Site, want: str) -> None:
    code = main(["restore"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert want in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert site.key[1] not in err and "test%2Bsecret" not in err
    assert live_count(site, "media") == 0 and live_count(site, "private") == 0  # nothing was copied


def test_swapped_backup_dsns_are_refused_before_anything_is_copied(
    filled: Site, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dsns = dict(filled.dsns)
    dsns["BACKUP_STORAGE_DSN"], dsns["PRIVATE_BACKUP_STORAGE_DSN"] = (
        dsns["PRIVATE_BACKUP_STORAGE_DSN"],
        dsns["BACKUP_STORAGE_DSN"],
    )
    _environ(monkeypatch, dsns)
    refused(capsys, filled, "swapped")


def test_a_private_backup_is_never_restored_into_the_public_store(
    filled: Site, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _environ(
        monkeypatch,
        {
            "DEFAULT_STORAGE_DSN": filled.dsns["DEFAULT_STORAGE_DSN"],
            "BACKUP_STORAGE_DSN": filled.dsns["PRIVATE_BACKUP_STORAGE_DSN"],
        },
    )
    refused(capsys, filled, "is the backup of a private store, given as the public store's backup")


def test_a_private_dsn_naming_the_public_store_is_refused(
    filled: Site, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dsns = dict(filled.dsns)
    dsns["PRIVATE_STORAGE_DSN"] = dsns["PRIVATE_STORAGE_DSN"].replace(filled.bucket("private"), filled.bucket("media"))
    _environ(monkeypatch, dsns)
    refused(capsys, filled, f"is the backup of {filled.bucket('private')}, not of s3:{filled.bucket('media')}")


def test_the_public_dsn_given_as_the_private_store_is_refused(
    filled: Site, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dsns = dict(filled.dsns)
    dsns["PRIVATE_STORAGE_DSN"] = dsns["DEFAULT_STORAGE_DSN"]
    _environ(monkeypatch, dsns)
    refused(capsys, filled, "is not a private store's DSN")


def test_a_store_without_its_backup_dsn_is_an_error_not_skipped(
    filled: Site, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dsns = dict(filled.dsns)
    del dsns["PRIVATE_BACKUP_STORAGE_DSN"]
    _environ(monkeypatch, dsns)
    refused(capsys, filled, "$PRIVATE_STORAGE_DSN is set but $PRIVATE_BACKUP_STORAGE_DSN is not")


def test_a_bucket_that_is_no_declared_backup_is_refused(
    filled: Site, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stranger = f"not-a-backup-{uuid.uuid4().hex[:8]}"
    filled.client().create_bucket(Bucket=stranger, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    dsns = {k: v for k, v in filled.dsns.items() if "PRIVATE" not in k}
    dsns["BACKUP_STORAGE_DSN"] = dsns["BACKUP_STORAGE_DSN"].replace(backup_bucket_name(filled.spec, "media"), stranger)
    _environ(monkeypatch, dsns)
    refused(capsys, filled, "carries no backup markers")


def test_point_in_time_restores_each_key_as_it_was(
    moto: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import datetime as dt
    import time

    site = _aws(moto)
    fill(site, 2, large=False)
    _environ(monkeypatch, site.dsns)
    assert main(["backup"]) == 0
    time.sleep(1.1)
    moment = dt.datetime.now(dt.UTC)
    time.sleep(1.1)
    key = next(iter(site.objects["media"]))
    site.client().put_object(Bucket=site.bucket("media"), Key=key, Body=b"changed later", ContentType="text/plain")
    assert main(["backup"]) == 0
    capsys.readouterr()
    code, document, err = run_cli(capsys, "restore", "--point-in-time", moment.isoformat())
    assert code == 0, err
    assert counts(document)["public"]["copied"] == 1
    body = site.client().get_object(Bucket=site.bucket("media"), Key=key)["Body"].read()
    assert body == site.objects["media"][key][0]
