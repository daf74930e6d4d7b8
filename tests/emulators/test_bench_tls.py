"""``divio-storage bench`` over TLS and against production-shaped faults, run as a user runs it.

With its defaults (100 x 4 KiB, 2 x 16 MiB, a 60 s budget) it passes on each cloud over TLS: SeaweedFS and
Azurite serving HTTPS, moto behind the TLS relay. Through the relay of :mod:`support.faults`: a throttled request
is tried again and no figure is lost; keep-alive connections closed after each answer are tried again; on a
1 MB/s link ``--timeout`` bounds waiting, never a transfer that keeps moving, and ``--budget`` ends the run with
its transfers in flight; after a stalled handshake or an untrusted certificate nothing is listed for clean-up,
and the detail names the real bound.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from support.cli_env import clean_env, run_cli, spawn_cli
from support.emulators import Emulator, azurite_service, s3_client
from support.faults import Pki, relay
from support.relay_stores import REGION, dsn_at, upstream
from support.tls_sites import Site

pytestmark = pytest.mark.emulator

S3_KEY = ("AKIABENCHTLSKEY00001", "bench/tls+secret=with/odd+chars")
CLOUDS = ("s3", "azure")
FIGURES = {"small_write", "small_read", "small_delete", "first_byte_p50", "first_byte_p95"}
FIGURES |= {"large_upload", "large_download"}
SMALL = ["--small-count", "6", "--small-size", "1K", "--large-count", "1", "--large-size", "256K", "--concurrency", "2"]


def document(out: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(out)
    return parsed


def measured(report: dict[str, Any]) -> set[str]:
    return {f["name"] for f in report["figures"] if f["store"] is not None}


@pytest.mark.parametrize("site_name", ["moto_site", "weed_site", "azure_site"])
def test_bench_with_its_defaults_passes_over_tls(site_name: str, pki: Pki, request: pytest.FixtureRequest) -> None:
    site: Site = request.getfixturevalue(site_name)
    env = clean_env(DEFAULT_STORAGE_DSN=site.dsn, SSL_CERT_FILE=str(pki.bundle))
    ran = run_cli("bench", "--format", "json", env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    report = document(ran.stdout)
    assert report["workload"]["large_size_bytes"] == 16 * 1024 * 1024
    assert report["ok"] is True and report["errors"] == []
    assert measured(report) == FIGURES
    assert report["cleanup"]["complete"] is True


# --- faults through the relay ------------------------------------------------------------------------------------


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
    name = f"bench-tls-{uuid.uuid4().hex[:12]}"
    s3_client(moto.url).create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


@pytest.fixture(scope="module")
def container(azurite: Emulator) -> Iterator[str]:
    name = f"bench-tls-{uuid.uuid4().hex[:12]}"
    service = azurite_service(azurite)
    service.create_container(name)
    yield name
    service.delete_container(name)


def names(cloud: str, moto: Emulator, azurite: Emulator, bucket: str, container: str) -> set[str]:
    """What the store holds now."""
    if cloud == "s3":
        listing = s3_client(moto.url).list_objects_v2(Bucket=bucket)
        return {item["Key"] for item in listing.get("Contents", [])}
    return {blob.name for blob in azurite_service(azurite).get_container_client(container).list_blobs()}


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_throttled_request_is_tried_again_and_no_figure_is_lost(
    cloud: str, moto: Emulator, azurite: Emulator, bucket: str, container: str, pki: Pki
) -> None:
    with relay(upstream(cloud, moto, azurite), pki, throttle=1, retry_after="1") as throttling:
        env = clean_env(DEFAULT_STORAGE_DSN=dsn_at(cloud, throttling.url, bucket, container, S3_KEY))
        ran = run_cli("bench", *SMALL, "--format", "json", "--ca-bundle", str(pki.bundle), env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert throttling.throttled == 1
    report = document(ran.stdout)
    assert measured(report) == FIGURES and report["errors"] == []
    assert names(cloud, moto, azurite, bucket, container) == set()


@pytest.mark.parametrize("cloud", CLOUDS)
def test_keep_alive_connections_closed_after_each_answer_do_not_stop_bench(
    cloud: str, moto: Emulator, azurite: Emulator, bucket: str, container: str, pki: Pki
) -> None:
    with relay(upstream(cloud, moto, azurite), pki, drop_after_answer=True) as dropping:
        env = clean_env(DEFAULT_STORAGE_DSN=dsn_at(cloud, dropping.url, bucket, container, S3_KEY))
        ran = run_cli("bench", *SMALL, "--format", "json", "--ca-bundle", str(pki.bundle), env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert dropping.dropped >= 1, "the relay never closed a connection under a request: the test proves nothing"
    assert measured(document(ran.stdout)) == FIGURES


@pytest.mark.parametrize("cloud", CLOUDS)
def test_on_a_slow_link_timeout_bounds_waiting_and_budget_bounds_the_run(
    cloud: str, moto: Emulator, azurite: Emulator, bucket: str, container: str, pki: Pki
) -> None:
    """1 MB/s: an 8 MiB transfer takes about 8 s, twice --timeout 4, and is measured all the same; with
    --budget 8 and 16 MiB objects the run ends at its budget, the transfers in flight cut, and what they may have
    written is removed."""
    with relay(upstream(cloud, moto, azurite), pki, bytes_per_second=1_000_000) as slow:
        env = clean_env(DEFAULT_STORAGE_DSN=dsn_at(cloud, slow.url, bucket, container, S3_KEY))
        progressing = spawn_cli(
            "bench",
            *("--small-count", "4", "--large-count", "1", "--large-size", "8M", "--concurrency", "1"),
            *("--timeout", "4", "--budget", "120", "--format", "json", "--ca-bundle", str(pki.bundle)),
            env=env,
        )
        out, err = progressing.communicate(timeout=300)
        budgeted = run_cli(
            "bench",
            *("--small-count", "4", "--large-count", "2", "--large-size", "16M", "--concurrency", "2"),
            *("--budget", "8", "--format", "json", "--ca-bundle", str(pki.bundle)),
            env=env,
        )
    assert progressing.returncode == 0, out + err
    report = document(out)
    assert measured(report) == FIGURES, report
    upload = next(f for f in report["figures"] if f["name"] == "large_upload")
    assert upload["store"] < 2.0, upload  # MB/s: the link's pace, so the upload took longer than --timeout
    cut = document(budgeted.stdout)
    assert budgeted.returncode == 0, budgeted.stdout + budgeted.stderr
    assert cut["budget_reached"] is True
    # 16 MiB at 1 MB/s would take 16 s per object; the run ended at its budget (clean-up after it not counted).
    assert cut["elapsed_seconds"] < 8 + 3, cut["elapsed_seconds"]
    assert cut["cleanup"]["complete"] is True
    assert names(cloud, moto, azurite, bucket, container) == set()


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("fault", ["stall", "untrusted"])
def test_nothing_is_listed_for_clean_up_when_nothing_could_be_written(
    cloud: str, fault: str, moto: Emulator, azurite: Emulator, bucket: str, container: str, pki: Pki
) -> None:
    options: dict[str, Any] = {"stall_handshake": True} if fault == "stall" else {"cert": "untrusted"}
    with relay(upstream(cloud, moto, azurite), pki, **options) as bad:
        env = clean_env(DEFAULT_STORAGE_DSN=dsn_at(cloud, bad.url, bucket, container, S3_KEY))
        ran = run_cli("bench", *SMALL, "--timeout", "1", "--ca-bundle", str(pki.bundle), env=env)
    assert ran.returncode == 1
    assert "Traceback" not in ran.stderr
    assert "cleanup INCOMPLETE" not in ran.stdout, ran.stdout
    assert "cleanup: removed all 0 objects written" in ran.stdout
    if fault == "stall":
        assert "did not finish the TLS handshake within 1 s" in ran.stdout, ran.stdout
        assert "30 s" not in ran.stdout
    else:
        assert "is not trusted: its issuer" in ran.stdout, ran.stdout
