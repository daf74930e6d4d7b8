"""``divio-storage check`` against production-shaped faults: bad certificates, a stalled handshake, throttling,
dropped keep-alive connections, a preflight answered with something that is no refusal, ``.netrc``, bad CA input,
internal errors.

The stores are plain buckets and containers in the session's moto and Azurite; the faults come from the relay of
:mod:`support.faults` in front of them. The CLI runs as a subprocess with its environment set, as a user runs it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import CorsRule
from support.cli_env import clean_env, run_cli, spawn_cli
from support.emulators import Emulator, azurite_service, s3_client
from support.faults import Pki, relay
from support.relay_stores import REGION, dsn_at, upstream

from divio_storage_infra.cli.main import main
from divio_storage_infra.core import policies
from divio_storage_infra.core.dsn import s3_dsn

pytestmark = pytest.mark.emulator

ORIGIN = "https://www.example.com"
S3_KEY = ("AKIAFAULTTESTKEY0001", "fault/test+secret=with/odd+chars")
CLOUDS = ("s3", "azure")


# The relay in front gives these stores their TLS (and its faults); behind it the session's plain-HTTP servers.
@pytest.fixture(scope="session")
def moto(moto_http: Emulator) -> Emulator:
    """The plain-HTTP moto of this session, reached through the relay."""
    return moto_http


@pytest.fixture(scope="session")
def azurite(azurite_http: Emulator) -> Emulator:
    """The plain-HTTP Azurite of this session, reached through the relay."""
    return azurite_http


@pytest.fixture(scope="module")
def bucket(moto: Emulator) -> str:
    """A public bucket as the design makes it on moto (public-read policy, CORS for ORIGIN)."""
    client = s3_client(moto.url)
    name = f"faults-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    statement = policies.public_bucket_policy(name, REGION)["Statement"][0]
    client.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    client.put_bucket_cors(
        Bucket=name, CORSConfiguration={"CORSRules": [{"AllowedOrigins": [ORIGIN], "AllowedMethods": ["GET"]}]}
    )
    return name


@pytest.fixture(scope="module")
def container(azurite: Emulator) -> Iterator[str]:
    """A public container in Azurite's development account, which allows ORIGIN."""
    service = azurite_service(azurite)
    service.set_service_properties(cors=[CorsRule([ORIGIN], ["GET", "HEAD"], max_age_in_seconds=60)])
    name = f"faults-{uuid.uuid4().hex[:12]}"
    service.create_container(name, public_access="blob")
    yield name
    service.delete_container(name)


def report(out: str) -> dict[str, dict[str, str]]:
    document: dict[str, Any] = json.loads(out)
    return {p["probe"].split(" ")[0]: p for p in document["stores"][0]["probes"]}


# --- TLS failures, named exactly ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cloud", CLOUDS)
def test_each_tls_failure_is_named_exactly(
    cloud: str, moto: Emulator, azurite: Emulator, bucket: str, container: str, pki: Pki
) -> None:
    """Untrusted (its issuer named), expired, wrong host, plain HTTP on the TLS port, stalled handshake: five
    different details, none of them "the TLS handshake failed"; every later probe is skipped, nothing listed."""
    source = upstream(cloud, moto, azurite)
    expected = {
        "untrusted": "is not trusted: its issuer OU=Testing CA",
        "expired": "expired on",
        "wrong-host": "is for another host name (it names storage.wrong-host.example), not 127.0.0.1",
        "plain": "does not speak TLS on this port",
        "stall": "accepted the connection but did not finish the TLS handshake within 1 s",
    }
    with (
        relay(source, pki, cert="untrusted") as untrusted,
        relay(source, pki, cert="expired") as expired,
        relay(source, pki, cert="wrong-host") as wrong,
        relay(source, pki, stall_handshake=True) as stalled,
    ):
        bases = {
            "untrusted": untrusted.url,
            "expired": expired.url,
            "wrong-host": wrong.url,
            "plain": source.replace("http://", "https://"),
            "stall": stalled.url,
        }
        started = time.monotonic()
        runs = {
            kind: spawn_cli(
                "check",
                "--format",
                "json",
                "--timeout",
                "1",
                "--ca-bundle",
                str(pki.bundle),
                env=clean_env(DEFAULT_STORAGE_DSN=dsn_at(cloud, base, bucket, container, S3_KEY)),
            )
            for kind, base in bases.items()
        }
        outputs = {kind: process.communicate(timeout=120) for kind, process in runs.items()}
        took = time.monotonic() - started
    for kind, (out, err) in outputs.items():
        assert runs[kind].returncode == 1, f"{kind}: {err}"
        assert "Traceback" not in err
        probes = report(out)
        write = probes["write"]["detail"]
        assert expected[kind] in write, f"{kind}: {write}"
        assert "handshake failed" not in write
        assert probes["read"]["status"] == "skip" and "cannot be reached" in probes["read"]["detail"]
    assert "O=untrusted test CA is not a CA of the CA bundle" in report(outputs["untrusted"][0])["write"]["detail"]
    assert "(from --ca-bundle)" in report(outputs["untrusted"][0])["write"]["detail"]
    # Five processes at once on a busy machine: each is bounded by one --timeout per request (stall included).
    assert took < 60, took


# --- throttling, dropped connections -----------------------------------------------------------------------------


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_throttled_write_is_tried_again_after_retry_after(
    cloud: str, moto: Emulator, azurite: Emulator, bucket: str, container: str, pki: Pki
) -> None:
    with relay(upstream(cloud, moto, azurite), pki, throttle=1, retry_after="1") as throttling:
        env = clean_env(DEFAULT_STORAGE_DSN=dsn_at(cloud, throttling.url, bucket, container, S3_KEY))
        env["REQUESTS_CA_BUNDLE"] = str(pki.bundle)
        started = time.monotonic()
        ran = run_cli("check", "--origin", ORIGIN, "--format", "json", env=env)
        took = time.monotonic() - started
        log = list(throttling.log)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert throttling.throttled == 1
    # The 503 SlowDown / ServerBusy answer was followed by the same PUT, a second later (Retry-After: 1).
    assert log[0].startswith("PUT ") and log[1] == log[0], log
    assert took >= 1.0


@pytest.mark.parametrize("cloud", CLOUDS)
def test_keep_alive_connections_closed_after_each_answer_are_tried_again(
    cloud: str, moto: Emulator, azurite: Emulator, bucket: str, container: str, pki: Pki
) -> None:
    with relay(upstream(cloud, moto, azurite), pki, drop_after_answer=True) as dropping:
        env = clean_env(DEFAULT_STORAGE_DSN=dsn_at(cloud, dropping.url, bucket, container, S3_KEY))
        env["AWS_CA_BUNDLE"] = str(pki.bundle)
        ran = run_cli("check", "--origin", ORIGIN, "--format", "json", env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert dropping.dropped >= 1, "the relay never closed a connection under a request: the test proves nothing"


# --- cors-refused --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize(("status", "passes"), [(400, False), (500, False), (404, False), (200, True), (403, True)])
def test_cors_refused_passes_only_on_a_refusal(
    cloud: str, status: int, passes: bool, moto: Emulator, azurite: Emulator, bucket: str, container: str, pki: Pki
) -> None:
    """403, or a 2xx without Access-Control-Allow-Origin, is how S3 and Azure refuse; anything else is a failure
    that says what came back."""
    with relay(upstream(cloud, moto, azurite), pki, preflight_status=status) as answering:
        env = clean_env(DEFAULT_STORAGE_DSN=dsn_at(cloud, answering.url, bucket, container, S3_KEY))
        ran = run_cli("check", "--format", "json", "--ca-bundle", str(pki.bundle), env=env)
    refused = report(ran.stdout)["cors-refused"]
    assert refused["status"] == ("pass" if passes else "fail"), refused
    assert ran.returncode == (0 if passes else 1), ran.stdout
    assert f"-> {status} " in refused["detail"]
    if not passes:
        assert "expected a refusal (403, or a 2xx answer without Access-Control-Allow-Origin)" in refused["detail"]


# --- no .netrc, no credentials on anonymous probes ----------------------------------------------------------------


def test_netrc_is_never_used(
    azurite: Emulator, moto: Emulator, bucket: str, container: str, pki: Pki, tmp_path: Path
) -> None:
    """A ~/.netrc naming the store's host: the shared key stays (azure-core would otherwise send Basic
    authentication instead) and the anonymous probes carry no Authorization header."""
    home = tmp_path / "home"
    home.mkdir()
    netrc = home / ".netrc"
    netrc.write_text("machine 127.0.0.1 login netrc-user password netrc-password\n")
    netrc.chmod(0o600)
    for cloud in CLOUDS:
        with relay(upstream(cloud, moto, azurite), pki) as recording:
            env = clean_env(DEFAULT_STORAGE_DSN=dsn_at(cloud, recording.url, bucket, container, S3_KEY), HOME=str(home))
            ran = run_cli("check", "--origin", ORIGIN, "--format", "json", "--ca-bundle", str(pki.bundle), env=env)
            log = list(recording.log)
        assert ran.returncode == 0, f"{cloud}: {ran.stdout}{ran.stderr}"
        assert not any("Basic" in line for line in log), log
        signed = "SharedKey" if cloud == "azure" else "AWS4-HMAC-SHA256"
        # The SDK's write, read and delete are signed; the public read and the preflights carry nothing.
        methods = [(line.split(" ")[0], line.endswith(f"[authorization {signed}]")) for line in log]
        assert methods.count(("PUT", True)) == methods.count(("DELETE", True)) == 1, log
        assert methods.count(("GET", True)) == methods.count(("GET", False)) == 1, log
        assert methods.count(("OPTIONS", False)) == 2 and len(methods) == 6, log


# --- bad input and internal errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("way", ["--ca-bundle", "REQUESTS_CA_BUNDLE"])
def test_an_unusable_ca_bundle_is_bad_input_naming_where_it_came_from(way: str, tmp_path: Path) -> None:
    not_pem = tmp_path / "not-a-bundle.txt"
    not_pem.write_text("hello")
    env = clean_env(DEFAULT_STORAGE_DSN=f"s3://AKIAX:secret@b.s3.{REGION}.amazonaws.com/?auth=s3v4")
    options = ["--ca-bundle", str(not_pem)] if way == "--ca-bundle" else []
    if way != "--ca-bundle":
        env[way] = str(tmp_path / "missing.pem")
    ran = run_cli("check", *options, env=env)
    assert ran.returncode == 2, ran.stderr
    assert ran.stderr.startswith(f"error: invalid connection setting: {way}"), ran.stderr
    assert "Traceback" not in ran.stderr and ran.stdout == ""


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_an_internal_error_is_exit_3_with_one_line_and_still_a_document(
    fmt: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "internal/error+secret=value"
    host = f"s3.{REGION}.amazonaws.com"
    dsn = s3_dsn(bucket="internal-error", endpoint_host=host, access_key_id="AKIAX", secret_access_key=secret)
    monkeypatch.setenv("DEFAULT_STORAGE_DSN", dsn)
    monkeypatch.delenv("PRIVATE_STORAGE_DSN", raising=False)

    def broken(*_: object) -> None:
        raise RuntimeError(f"a bug holding {secret}")

    monkeypatch.setattr("divio_storage_infra.cli.check.check_store", broken)
    code = main(["check", "--format", fmt])
    captured = capsys.readouterr()
    assert code == 3
    assert captured.err.count("\n") == 1 and captured.err.startswith("error: internal error"), captured.err
    assert "RuntimeError: a bug holding ***" in captured.err
    assert secret not in captured.err + captured.out
    if fmt == "json":
        document = json.loads(captured.out)
        assert document["ok"] is False and document["error"].startswith("internal error")
    else:
        assert captured.out == ""
