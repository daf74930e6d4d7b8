"""Backup and restore on Azurite: the declared backup account's containers, markers, bytes, metadata and privacy.

Azurite plays every declared account with its development account, so the live containers and the backup
containers live side by side there; the backup's markers name that account (see :mod:`support.backups`).
Versioning, change feed and point-in-time restore of the backup account are asserted on the declared inputs
(``tests/backup/test_backup_declared.py``): Azurite has none of them.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pytest
import requests
from support.backups import declare, install_handlers
from support.emulators import Emulator, azurite_service
from support.legacy_applier import apply_azure, azure_emulator_dsn, exported

from divio_storage_infra.cli.main import main
from divio_storage_infra.core.backup import BACKUP_CONTAINERS, BackupSettings
from divio_storage_infra.core.spec import StorageSpec

pytestmark = pytest.mark.emulator

ENV = ("DEFAULT_STORAGE_DSN", "PRIVATE_STORAGE_DSN", "BACKUP_STORAGE_DSN", "PRIVATE_BACKUP_STORAGE_DSN")
OUTPUTS = ("storage_dsn", "private_storage_dsn", "backup_storage_dsn", "private_backup_storage_dsn")
SPEC = StorageSpec.from_dict(
    {
        "website": "bkaz",
        "environment": "live",
        "cloud": "azure",
        "location": "switzerlandnorth",
        "credentials": "account-key",
        "privateStorage": True,
        "versioning": False,
        "containerName": "bk-public",
        "privateContainerName": "bk-private",
    }
)
CONTAINERS = {"public": "bk-public", "private": "bk-private"}


@pytest.fixture
def dsns(azurite: Emulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    install_handlers()
    declared = declare(SPEC, BackupSettings(location="germanywestcentral"))
    applied = apply_azure(declared, azurite)
    found = {env: azure_emulator_dsn(exported(declared, out), applied) for env, out in zip(ENV, OUTPUTS, strict=True)}
    for env, value in found.items():
        monkeypatch.setenv(env, value)
    return found


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    code = main([*argv, "--format", "json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else {}), err


def copied(document: dict[str, Any]) -> list[int]:
    return [store["copied"] for store in document["stores"]]


def test_backup_delete_everything_restore_on_azurite(
    azurite: Emulator, dsns: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from azure.storage.blob import ContentSettings

    service = azurite_service(azurite)
    placed: dict[str, dict[str, tuple[bytes, dict[str, str]]]] = {}
    for role, container in CONTAINERS.items():
        client = service.get_container_client(container)
        placed[role] = {}
        for index in range(8):
            key = f"uploads/{role}/{index} é+&.txt"
            body = f"{role} {index} {uuid.uuid4().hex}".encode() * (index + 1)
            meta = {"owner": f"user{index}"}
            client.upload_blob(
                key,
                body,
                overwrite=True,
                metadata=meta,
                content_settings=ContentSettings(content_type="text/plain", cache_control=f"max-age={index + 60}"),
            )
            placed[role][key] = (body, meta)
    large = b"L" * (9 * 1024 * 1024 + 5)  # more than one 8 MiB block
    service.get_container_client("bk-public").upload_blob("videos/large.bin", large, overwrite=True)
    placed["public"]["videos/large.bin"] = (large, {})

    code, document, err = run(capsys, "backup")
    assert code == 0, err
    assert copied(document) == [9, 8]
    code, document, err = run(capsys, "backup")
    assert code == 0 and copied(document) == [0, 0]

    # Nobody reads a backup anonymously.
    for container in BACKUP_CONTAINERS.values():
        url = f"{azurite.url}/{container}/uploads/private/0%20%C3%A9%2B%26.txt"
        assert requests.get(url, timeout=10).status_code in (403, 404)
        assert service.get_container_client(container).get_container_properties().public_access is None

    for container in CONTAINERS.values():
        client = service.get_container_client(container)
        for blob in list(client.list_blobs()):
            client.delete_blob(blob.name)

    code, document, err = run(capsys, "restore")
    assert code == 0, err
    assert copied(document) == [9, 8]
    for role, container in CONTAINERS.items():
        client = service.get_container_client(container)
        for key, (body, meta) in placed[role].items():
            stream = client.download_blob(key)
            assert hashlib.sha256(stream.readall()).digest() == hashlib.sha256(body).digest(), key
            assert stream.properties.metadata == meta
            if key.startswith("uploads/"):
                index = int(key.rsplit("/", 1)[1].split(" ")[0])
                assert stream.properties.content_settings.content_type == "text/plain"
                assert stream.properties.content_settings.cache_control == f"max-age={index + 60}"
        anonymous = requests.get(f"{azurite.url}/{container}/uploads/{role}/0%20%C3%A9%2B%26.txt", timeout=10)
        if role == "public":
            assert anonymous.status_code == 200
            assert anonymous.content == placed[role]["uploads/public/0 é+&.txt"][0]
        else:
            assert anonymous.status_code in (403, 404)


def test_swapped_azure_backups_are_refused(
    dsns: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BACKUP_STORAGE_DSN", dsns["PRIVATE_BACKUP_STORAGE_DSN"])
    monkeypatch.setenv("PRIVATE_BACKUP_STORAGE_DSN", dsns["BACKUP_STORAGE_DSN"])
    assert main(["restore"]) == 2
    err = capsys.readouterr().err
    assert "swapped" in err
    assert "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq" not in err
