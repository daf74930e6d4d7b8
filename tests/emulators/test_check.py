"""``divio-storage check`` against stores built directly in moto and Azurite (independent of the components).

Each failure case breaks exactly one thing in an otherwise correct store and asserts the probe that must catch
it, its reason, the exit status, that the probe object is gone afterwards, and that no secret is printed.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from azure.storage.blob import CorsRule, generate_container_sas
from support.emulators import AZURITE_ACCOUNT, AZURITE_KEY, Emulator, azurite_service, closed_port, s3_client
from support.iam_world import IamWorld

from divio_storage_infra.cli.main import main
from divio_storage_infra.core import policies
from divio_storage_infra.core.dsn import azure_dsn, s3_dsn

pytestmark = pytest.mark.emulator


ORIGIN = "https://www.example.com"
REGION = "eu-central-1"
ENDPOINT_HOST = f"s3.{REGION}.amazonaws.com"
# moto (auth off) takes any key pair; this one has the characters a DSN must percent-encode.
S3_KEY = ("AKIACHECKTESTKEY0001", "check/test+secret=with/odd+chars")
PUBLIC_PROBES = ["write", "read", "public-read", f"cors-allowed {ORIGIN}", "cors-refused", "delete"]
PRIVATE_PROBES = ["write", "read", "anonymous-refused", "signed-read", "delete"]


@dataclass
class Outcome:
    """What one ``divio-storage check`` run printed and returned."""

    code: int
    out: str
    err: str

    @property
    def report(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.out)
        return document

    def probes(self, store: str = "public") -> dict[str, dict[str, str]]:
        """Probes of one store by name (the cors-refused probe under that name, without its origin)."""
        for entry in self.report["stores"]:
            if entry["store"] == store:
                return {
                    p["probe"].split(" http")[0] if "refused" in p["probe"] else p["probe"]: p for p in entry["probes"]
                }
        raise AssertionError(f"no {store} store in the report")

    def statuses(self, store: str = "public") -> dict[str, str]:
        return {name: p["status"] for name, p in self.probes(store).items()}


def check(capsys: pytest.CaptureFixture[str], *argv: str, secrets: tuple[str, ...] = ()) -> Outcome:
    """Run the CLI in-process and assert that no secret reached stdout or stderr in any form."""
    code = main(["check", *argv])
    captured = capsys.readouterr()
    outcome = Outcome(code, captured.out, captured.err)
    for secret in secrets:
        for form in {secret, quote(secret, safe=""), quote(secret, safe="/")}:
            assert form not in outcome.out + outcome.err, "a secret was printed"
    return outcome


# --- stores built by hand ----------------------------------------------------------------------------------------


def _bucket(moto: Emulator) -> tuple[Any, str]:
    client = s3_client(moto.url)
    name = f"check-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return client, name


def public_statement(bucket: str) -> dict[str, Any]:
    """The public-read statement of the design's bucket policy (the TLS-only deny cannot work on plain HTTP)."""
    document = policies.public_bucket_policy(bucket, REGION)
    statement: dict[str, Any] = document["Statement"][0]
    assert statement["Sid"] == "PublicReadObjects"
    return statement


def s3_public(moto: Emulator, *, policy: bool = True, origins: tuple[str, ...] = (ORIGIN,)) -> tuple[str, str]:
    """A public bucket as the component makes it (optionally missing a part); returns (bucket, DSN)."""
    client, name = _bucket(moto)
    if policy:
        client.put_bucket_policy(
            Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [public_statement(name)]})
        )
    if origins:
        client.put_bucket_cors(
            Bucket=name,
            CORSConfiguration={"CORSRules": [{"AllowedOrigins": list(origins), "AllowedMethods": ["GET", "HEAD"]}]},
        )
    dsn = s3_dsn(
        bucket=name,
        endpoint_host=ENDPOINT_HOST,
        access_key_id=S3_KEY[0],
        secret_access_key=S3_KEY[1],
        endpoint_url=moto.url,
    )
    return name, dsn


def s3_private(moto: Emulator, *, public_policy: bool = False) -> tuple[str, str]:
    """A private bucket read through signed URLs (optionally made public by mistake); returns (bucket, DSN)."""
    client, name = _bucket(moto)
    if public_policy:
        client.put_bucket_policy(
            Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [public_statement(name)]})
        )
    dsn = s3_dsn(
        bucket=name,
        endpoint_host=ENDPOINT_HOST,
        access_key_id=S3_KEY[0],
        secret_access_key=S3_KEY[1],
        signed_urls=True,
        endpoint_url=moto.url,
    )
    return name, dsn


def s3_objects(moto: Emulator, bucket: str) -> list[str]:
    return [o["Key"] for o in s3_client(moto.url).list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.fixture
def azure(azurite: Emulator) -> Iterator[Any]:
    """The development account with CORS for ORIGIN only; containers made by each test are removed after it."""
    service = azurite_service(azurite)
    service.set_service_properties(cors=[CorsRule([ORIGIN], ["GET", "HEAD"], max_age_in_seconds=60)])
    before = {c.name for c in service.list_containers()}
    yield service
    for container in service.list_containers():
        if container.name not in before:
            service.delete_container(container.name)


def az_container(service: Any, *, public: bool) -> str:
    name = f"check-{uuid.uuid4().hex[:12]}"
    service.create_container(name, public_access="blob" if public else None)
    return name


def az_dsn(azurite: Emulator, container: str, *, sas: str | None = None, key: str | None = AZURITE_KEY) -> str:
    if sas is not None:
        return azure_dsn(account=AZURITE_ACCOUNT, container=container, sas_token=sas, endpoint_url=azurite.url)
    return azure_dsn(account=AZURITE_ACCOUNT, container=container, account_key=key, endpoint_url=azurite.url)


def container_sas(container: str, permission: str = "racwdl") -> str:
    now = dt.datetime.now(dt.UTC)
    token: str = generate_container_sas(
        AZURITE_ACCOUNT,
        container,
        account_key=AZURITE_KEY,
        permission=permission,
        start=now - dt.timedelta(minutes=5),
        expiry=now + dt.timedelta(hours=1),
    )
    return token


def az_blobs(service: Any, container: str) -> list[str]:
    return [b.name for b in service.get_container_client(container).list_blobs()]


# --- correctly configured stores: everything passes ---------------------------------------------------------------


def test_s3_store_passes_every_probe(moto: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    public_bucket, public = s3_public(moto)
    private_bucket, private = s3_private(moto)
    outcome = check(
        capsys, "--dsn", public, "--private-dsn", private, "--origin", ORIGIN, "--format", "json", secrets=S3_KEY[1:]
    )
    assert outcome.code == 0, outcome.out
    assert outcome.report["ok"] is True
    assert list(outcome.probes("public")) == PUBLIC_PROBES
    assert list(outcome.probes("private")) == PRIVATE_PROBES
    assert set(outcome.statuses("public").values()) == {"pass"}
    assert set(outcome.statuses("private").values()) == {"pass"}
    assert outcome.report["summary"] == {"pass": 11, "fail": 0, "skip": 0}
    assert s3_objects(moto, public_bucket) == [] and s3_objects(moto, private_bucket) == []
    # The JSON is a contract: sorted keys, two-space indent, the masked DSN.
    assert outcome.out.strip() == json.dumps(outcome.report, indent=2, sort_keys=True)
    assert outcome.report["stores"][0]["dsn"].startswith(f"s3://{S3_KEY[0]}:***@{public_bucket}.")


@pytest.mark.parametrize("credential", ["account-key", "sas"])
def test_azure_store_passes_every_probe(
    azurite: Emulator, azure: Any, capsys: pytest.CaptureFixture[str], credential: str
) -> None:
    public, private = az_container(azure, public=True), az_container(azure, public=False)
    if credential == "sas":
        tokens = (container_sas(public), container_sas(private))
        dsns = (az_dsn(azurite, public, sas=tokens[0]), az_dsn(azurite, private, sas=tokens[1]))
        secrets: tuple[str, ...] = (*tokens, *(t.split("sig=")[1] for t in tokens))
    else:
        dsns = (az_dsn(azurite, public), az_dsn(azurite, private))
        secrets = (AZURITE_KEY,)
    outcome = check(
        capsys, "--dsn", dsns[0], "--private-dsn", dsns[1], "--origin", ORIGIN, "--format", "json", secrets=secrets
    )
    assert outcome.code == 0, outcome.out
    # A DSN with a SAS is first checked for its expiry (tests/emulators/test_check_sas_expiry.py).
    expiry = ["sas-expiry"] if credential == "sas" else []
    assert list(outcome.probes("public")) == [*expiry, *PUBLIC_PROBES]
    assert list(outcome.probes("private")) == [*expiry, *PRIVATE_PROBES]
    assert set(outcome.statuses("public").values()) | set(outcome.statuses("private").values()) == {"pass"}
    assert az_blobs(azure, public) == [] and az_blobs(azure, private) == []


def test_table_lists_every_probe_with_its_result_and_reason(moto: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    _, public = s3_public(moto, policy=False)
    outcome = check(capsys, "--dsn", public, "--origin", ORIGIN, secrets=S3_KEY[1:])
    assert outcome.code == 1
    lines = outcome.out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("STORE"))
    assert lines[header].split() == ["STORE", "PROBE", "RESULT", "DETAIL"]
    rows = [line.split(None, 3) for line in lines[header + 1 : header + 7]]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("public", "write", "PASS"),
        ("public", "read", "PASS"),
        ("public", "public-read", "FAIL"),
        ("public", "cors-allowed", ORIGIN),  # the probe name has the origin in it
        ("public", "cors-refused", "https://divio-storage-check.invalid"),
        ("public", "delete", "PASS"),
    ]
    assert "403 Forbidden" in lines[header + 3]
    assert lines[-1] == "FAILED: 5 passed, 1 failed, 0 not run"


def test_custom_domain_is_named_but_the_endpoint_is_fetched(moto: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    """DNS / CDN for the media domain may not exist where check runs; the bucket's own access is what is probed."""
    bucket, _ = s3_public(moto)
    dsn = s3_dsn(
        bucket=bucket,
        endpoint_host=ENDPOINT_HOST,
        access_key_id=S3_KEY[0],
        secret_access_key=S3_KEY[1],
        custom_domain="media.example.com",
        endpoint_url=moto.url,
    )
    outcome = check(capsys, "--dsn", dsn, "--origin", ORIGIN, "--format", "json", secrets=S3_KEY[1:])
    assert outcome.code == 0
    detail = outcome.probes()["public-read"]["detail"]
    assert detail.startswith(f"anonymous GET {moto.url}/{bucket}/divio-storage-check/")
    assert "media URLs use the custom domain https://media.example.com/divio-storage-check/" in detail
    assert "--fetch-custom-domain" in detail


# --- one thing broken: the right probe fails, with the right reason ----------------------------------------------


def test_public_bucket_without_the_public_policy(moto: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    bucket, public = s3_public(moto, policy=False)
    outcome = check(capsys, "--dsn", public, "--origin", ORIGIN, "--format", "json", secrets=S3_KEY[1:])
    assert outcome.code == 1
    assert outcome.report["ok"] is False
    probe = outcome.probes()["public-read"]
    assert probe["status"] == "fail"
    assert "-> 403 Forbidden" in probe["detail"]
    assert "s3:GetObject to everyone" in probe["detail"]
    assert {n: s for n, s in outcome.statuses().items() if n != "public-read"} == dict.fromkeys(
        [p for p in PUBLIC_PROBES if p != "public-read"], "pass"
    )
    assert s3_objects(moto, bucket) == [], "the probe object must be deleted even when a probe fails"


def test_private_bucket_made_public(moto: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    bucket, private = s3_private(moto, public_policy=True)
    outcome = check(capsys, "--private-dsn", private, "--format", "json", secrets=S3_KEY[1:])
    assert outcome.code == 1
    probe = outcome.probes("private")["anonymous-refused"]
    assert probe["status"] == "fail"
    assert "-> 200 OK: anyone can read private files" in probe["detail"]
    assert outcome.statuses("private") == {
        "write": "pass",
        "read": "pass",
        "anonymous-refused": "fail",
        "signed-read": "pass",
        "delete": "pass",
    }
    assert s3_objects(moto, bucket) == []


def test_azure_private_container_made_public(azurite: Emulator, azure: Any, capsys: pytest.CaptureFixture[str]) -> None:
    container = az_container(azure, public=True)
    outcome = check(capsys, "--private-dsn", az_dsn(azurite, container), "--format", "json", secrets=(AZURITE_KEY,))
    assert outcome.code == 1
    probe = outcome.probes("private")["anonymous-refused"]
    assert probe["status"] == "fail"
    assert "public access to none" in probe["detail"]
    assert az_blobs(azure, container) == []


def test_azure_public_container_without_public_access(
    azurite: Emulator, azure: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    container = az_container(azure, public=False)
    outcome = check(capsys, "--dsn", az_dsn(azurite, container), "--format", "json", secrets=(AZURITE_KEY,))
    assert outcome.code == 1
    probe = outcome.probes()["public-read"]
    assert probe["status"] == "fail"
    assert "public access 'blob'" in probe["detail"]


@pytest.mark.parametrize("cloud", ["s3", "azure"])
def test_missing_cors_origin(
    moto: Emulator, azurite: Emulator, azure: Any, capsys: pytest.CaptureFixture[str], cloud: str
) -> None:
    missing = "https://shop.example.com"
    if cloud == "s3":
        _, dsn = s3_public(moto)
    else:
        dsn = az_dsn(azurite, az_container(azure, public=True))
    outcome = check(capsys, "--dsn", dsn, "--origin", ORIGIN, "--origin", missing, "--format", "json")
    assert outcome.code == 1
    probes = outcome.probes()
    assert probes[f"cors-allowed {ORIGIN}"]["status"] == "pass"
    failed = probes[f"cors-allowed {missing}"]
    assert failed["status"] == "fail"
    # The status, with the store's own error code (AccessForbidden, CorsPreflightFailure) where it names one.
    assert f"from {missing} -> 403 Forbidden" in failed["detail"] and ", not allowed: " in failed["detail"]
    assert "add it to corsOrigins" in failed["detail"]
    assert probes["cors-refused"]["status"] == "pass"


def test_wildcard_cors_fails_the_refused_origin_probe(moto: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    _, dsn = s3_public(moto, origins=("*",))
    outcome = check(capsys, "--dsn", dsn, "--origin", ORIGIN, "--format", "json")
    assert outcome.code == 1
    refused = outcome.probes()["cors-refused"]
    assert refused["status"] == "fail"
    assert "any website may read the media" in refused["detail"]


def test_wrong_secret_s3(iam_world: IamWorld, capsys: pytest.CaptureFixture[str]) -> None:
    """moto with auth on checks signatures: a wrong secret fails the write and nothing else is attempted."""
    _, secret = iam_world.site.only_key()
    wrong = "wrong" + secret[5:]
    dsn = iam_world.site_dsn.replace(quote(secret, safe=""), quote(wrong, safe=""))
    assert dsn != iam_world.site_dsn
    outcome = check(capsys, "--dsn", dsn, "--format", "json", secrets=(secret, wrong))
    assert outcome.code == 1
    probes = outcome.probes()
    assert probes["write"]["status"] == "fail"
    assert "credentials rejected (SignatureDoesNotMatch)" in probes["write"]["detail"]
    assert probes["read"]["status"] == "skip"
    assert probes["public-read"]["status"] == "skip"
    assert "not run: the probe object could not be written" in probes["public-read"]["detail"]
    assert probes["delete"]["status"] == "skip"


def test_unknown_access_key_s3(iam_world: IamWorld, capsys: pytest.CaptureFixture[str]) -> None:
    key_id, secret = iam_world.site.only_key()
    dsn = iam_world.site_dsn.replace(key_id, "AKIANOSUCHKEY0000000")
    outcome = check(capsys, "--dsn", dsn, "--format", "json", secrets=(secret,))
    assert outcome.code == 1
    assert "credentials rejected (InvalidAccessKeyId)" in outcome.probes()["write"]["detail"]


def test_wrong_account_key_azure(azurite: Emulator, azure: Any, capsys: pytest.CaptureFixture[str]) -> None:
    wrong = base64.b64encode(b"not the account key of devstoreaccount1, 64 bytes long padding!!").decode()
    dsn = az_dsn(azurite, az_container(azure, public=True), key=wrong)
    outcome = check(capsys, "--dsn", dsn, "--format", "json", secrets=(wrong,))
    assert outcome.code == 1
    write = outcome.probes()["write"]
    assert write["status"] == "fail"
    assert "credential rejected" in write["detail"]


def test_sas_without_read_permission_names_the_permission(
    azurite: Emulator, azure: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    container = az_container(azure, public=False)
    token = container_sas(container, permission="cw")
    outcome = check(
        capsys,
        "--private-dsn",
        az_dsn(azurite, container, sas=token),
        "--format",
        "json",
        secrets=(token, token.split("sig=")[1]),
    )
    assert outcome.code == 1
    statuses = outcome.statuses("private")
    assert statuses["write"] == "pass"
    assert statuses["read"] == "fail"
    assert "does not grant this operation" in outcome.probes("private")["read"]["detail"]
    assert statuses["signed-read"] == "fail"
    # Without delete permission the probe object stays; the report says so instead of hiding it.
    assert statuses["delete"] == "fail"
    assert "remove it by hand" in outcome.probes("private")["delete"]["detail"]


@pytest.mark.parametrize("cloud", ["s3", "azure"])
def test_unreachable_endpoint_is_a_clear_failure(capsys: pytest.CaptureFixture[str], cloud: str) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    if cloud == "s3":
        dsn = s3_dsn(
            bucket="some-bucket",
            endpoint_host=ENDPOINT_HOST,
            access_key_id=S3_KEY[0],
            secret_access_key=S3_KEY[1],
            endpoint_url=endpoint,
        )
        secrets: tuple[str, ...] = S3_KEY[1:]
    else:
        endpoint += f"/{AZURITE_ACCOUNT}"
        dsn = azure_dsn(account=AZURITE_ACCOUNT, container="media", account_key=AZURITE_KEY, endpoint_url=endpoint)
        secrets = (AZURITE_KEY,)
    started = time.monotonic()
    outcome = check(capsys, "--dsn", dsn, "--origin", ORIGIN, "--format", "json", secrets=secrets)
    assert time.monotonic() - started < 10
    assert outcome.code == 1
    probes = outcome.probes()
    assert probes["write"]["status"] == "fail"
    assert f"cannot reach {endpoint}" in probes["write"]["detail"]
    others = {name: p for name, p in probes.items() if name != "write"}
    assert {p["status"] for p in others.values()} == {"skip"}
    assert all("cannot be reached" in p["detail"] or "nothing was written" in p["detail"] for p in others.values())


# --- input handling ---------------------------------------------------------------------------------------------


def test_dsns_from_the_environment(
    moto: Emulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, public = s3_public(moto)
    _, private = s3_private(moto)
    monkeypatch.setenv("DEFAULT_STORAGE_DSN", public)
    monkeypatch.setenv("PRIVATE_STORAGE_DSN", private)
    outcome = check(capsys, "--origin", ORIGIN, "--format", "json", secrets=S3_KEY[1:])
    assert outcome.code == 0
    assert [s["store"] for s in outcome.report["stores"]] == ["public", "private"]
    assert "command line" not in outcome.err, "no warning when the secret stays off the command line"

    monkeypatch.delenv("DEFAULT_STORAGE_DSN")
    monkeypatch.delenv("PRIVATE_STORAGE_DSN")
    monkeypatch.setenv("SITE_MEDIA_DSN", public)
    outcome = check(capsys, "--dsn-env", "SITE_MEDIA_DSN", "--format", "json", secrets=S3_KEY[1:])
    assert outcome.code == 0
    assert [s["store"] for s in outcome.report["stores"]] == ["public"]


def test_secret_on_the_command_line_gets_a_warning(moto: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    _, public = s3_public(moto)
    outcome = check(capsys, "--dsn", public, "--origin", ORIGIN, secrets=S3_KEY[1:])
    assert outcome.code == 0
    assert "visible in shell history" in outcome.err


def test_no_dsn_is_an_input_error(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEFAULT_STORAGE_DSN", raising=False)
    monkeypatch.delenv("PRIVATE_STORAGE_DSN", raising=False)
    outcome = check(capsys)
    assert outcome.code == 2
    assert "DEFAULT_STORAGE_DSN" in outcome.err


def test_malformed_dsn_is_an_input_error_without_the_secret(capsys: pytest.CaptureFixture[str]) -> None:
    secret = "sup3r/secret+value"
    outcome = check(capsys, "--dsn", f"s3://KEY:{secret}@", secrets=(secret,))
    assert outcome.code == 2
    assert outcome.err.startswith("error: invalid storage DSN for --dsn")
    assert "Traceback" not in outcome.err


def _cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "divio_storage_infra", "check", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_cli_process_reports_errors_without_traceback() -> None:
    """The real console entry point: a malformed DSN and an unreachable endpoint end without a traceback."""
    malformed = _cli("--dsn", "az://devstoreaccount1:key@blob.core.windows.net/")
    assert malformed.returncode == 2
    assert "Traceback" not in malformed.stderr
    assert "container" in malformed.stderr

    endpoint = f"http://127.0.0.1:{closed_port()}"
    dsn = s3_dsn(
        bucket="some-bucket",
        endpoint_host=ENDPOINT_HOST,
        access_key_id=S3_KEY[0],
        secret_access_key=S3_KEY[1],
        endpoint_url=endpoint,
    )
    unreachable = _cli("--dsn", dsn)
    assert unreachable.returncode == 1
    assert "Traceback" not in unreachable.stderr + unreachable.stdout
    assert f"cannot reach {endpoint}" in unreachable.stdout
    assert S3_KEY[1] not in unreachable.stdout + unreachable.stderr
    assert quote(S3_KEY[1], safe="") not in unreachable.stdout + unreachable.stderr


def test_building_the_parser_imports_no_cloud_sdk() -> None:
    code = (
        "import sys; from divio_storage_infra.cli.main import build_parser; build_parser(); "
        "print(sorted(m for m in ('boto3', 'botocore', 'azure.storage.blob', 'requests') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


def test_redaction_covers_every_form_of_a_secret() -> None:
    from divio_storage_infra.probes.base import Redactor

    sas = "sv=2022-11-02&sr=c&sp=r&se=2030-01-01&sig=AbC%2Bdef%2Fghi%3D"
    redact = Redactor([S3_KEY[1], sas, "short"])
    text = f"{S3_KEY[1]} {quote(S3_KEY[1], safe='')} {sas} sig=AbC+def/ghi= AbC%2Bdef%2Fghi%3D short"
    cleaned = redact(text)
    assert "secret" not in cleaned and "AbC" not in cleaned and "ghi" not in cleaned
    assert cleaned.endswith("short"), "values too short to be secrets are left alone"
