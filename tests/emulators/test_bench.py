"""``divio-storage bench`` against moto and Azurite: figures present and sane, bounds kept, nothing left behind.

Each run uses a bucket / container that also holds an object the bench did not write, so "cleanup complete" is
checked by listing the store afterwards: exactly that object must remain.
"""

from __future__ import annotations

import _thread
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from support.emulators import AZURITE_ACCOUNT, AZURITE_KEY, Emulator, azurite_service, closed_port, s3_client

from divio_storage_infra.cli.main import main
from divio_storage_infra.core.dsn import azure_dsn, s3_dsn
from divio_storage_infra.probes import bench

pytestmark = pytest.mark.emulator


REGION = "eu-central-1"
# moto (auth off) takes any key pair; this secret has the characters a DSN must percent-encode.
S3_KEY = ("AKIABENCHTESTKEY0001", "bench/test+secret=with/odd+chars")
KEEP = "keep/not-written-by-bench.txt"
SMALL = ["--small-count", "12", "--small-size", "1K", "--large-count", "2", "--large-size", "256K"]
FIGURES = [
    "small_write",
    "small_read",
    "small_delete",
    "first_byte_p50",
    "first_byte_p95",
    "large_upload",
    "large_download",
]


@dataclass
class Store:
    """A bucket or container with one object of its own, its DSN, and how to list it."""

    dsn: str
    secrets: tuple[str, ...]
    names: Callable[[], set[str]]


@pytest.fixture
def s3_store(moto: Emulator) -> Store:
    bucket = f"bench-{uuid.uuid4().hex[:12]}"
    client = s3_client(moto.url)
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    client.put_object(Bucket=bucket, Key=KEEP, Body=b"keep")
    dsn = s3_dsn(
        bucket=bucket,
        endpoint_host=f"s3.{REGION}.amazonaws.com",
        access_key_id=S3_KEY[0],
        secret_access_key=S3_KEY[1],
        endpoint_url=moto.url,
    )

    def names() -> set[str]:
        listing = client.list_objects_v2(Bucket=bucket)
        return {item["Key"] for item in listing.get("Contents", [])}

    return Store(dsn, (S3_KEY[1], quote(S3_KEY[1], safe="")), names)


@pytest.fixture
def azure_store(azurite: Emulator) -> Store:
    container = f"bench-{uuid.uuid4().hex[:12]}"
    client = azurite_service(azurite).create_container(container)
    client.upload_blob(KEEP, b"keep")
    dsn = azure_dsn(account=AZURITE_ACCOUNT, container=container, account_key=AZURITE_KEY, endpoint_url=azurite.url)

    def names() -> set[str]:
        return {blob.name for blob in client.list_blobs()}

    return Store(dsn, (AZURITE_KEY, quote(AZURITE_KEY, safe="")), names)


@pytest.fixture(params=["moto", "azurite"])
def store(request: pytest.FixtureRequest) -> Store:
    fixture: Store = request.getfixturevalue("s3_store" if request.param == "moto" else "azure_store")
    return fixture


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    seconds: float

    @property
    def report(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.out)
        return document

    def figures(self) -> dict[str, dict[str, Any]]:
        return {figure["name"]: figure for figure in self.report["figures"]}


@pytest.fixture
def run_bench(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    """Run ``divio-storage bench`` in-process with the DSN in the environment; no secret may be printed."""

    def invoke(store: Store, *argv: str) -> Outcome:
        monkeypatch.setenv("DEFAULT_STORAGE_DSN", store.dsn)
        start = time.monotonic()
        code = main(["bench", *argv])
        seconds = time.monotonic() - start
        captured = capsys.readouterr()
        for secret in store.secrets:
            assert secret not in captured.out + captured.err, "a secret was printed"
        return Outcome(code, captured.out, captured.err, seconds)

    return invoke


def test_figures_are_present_sane_and_everything_is_removed(store: Store, run_bench: Callable[..., Outcome]) -> None:
    outcome = run_bench(store, *SMALL, "--concurrency", "3", "--format", "json")
    assert outcome.code == 0, outcome.out
    report = outcome.report
    assert report["ok"] is True
    assert report["errors"] == []
    assert report["budget_reached"] is False
    figures = outcome.figures()
    assert list(figures) == FIGURES
    for name, figure in figures.items():
        assert figure["store"] is not None and figure["store"] > 0, name
        assert figure["local"] is not None and figure["local"] > 0, name
        assert figure["store_slower_by"] is not None and figure["store_slower_by"] > 0, name
    assert figures["small_write"]["samples"] == 12
    assert figures["small_read"]["samples"] == 12
    assert figures["small_delete"]["samples"] == 12
    assert figures["large_upload"]["samples"] == 2
    assert figures["first_byte_p50"]["store"] <= figures["first_byte_p95"]["store"]
    # A round trip to a server on loopback cannot beat opening a local file by orders of magnitude, nor take
    # longer than the whole run.
    assert figures["first_byte_p50"]["store"] < outcome.seconds * 1000
    assert figures["small_write"]["store"] < 1_000_000
    assert report["workload"] == {
        "small_size_bytes": 1024,
        "small_count": 12,
        "large_size_bytes": 256 * 1024,
        "large_count": 2,
        "concurrency": 3,
        "budget_seconds": 60.0,
    }
    assert report["cleanup"] == {"written": 14, "complete": True, "left": []}
    assert [advice["id"] for advice in report["advice"]][-1] == "local-is-temporary"
    assert store.names() == {KEEP}, "everything the bench wrote is gone, nothing else was touched"


def test_table_shows_each_figure_for_store_local_and_ratio(s3_store: Store, run_bench: Callable[..., Outcome]) -> None:
    outcome = run_bench(s3_store, *SMALL)
    assert outcome.code == 0
    lines = outcome.out.splitlines()
    header = next(line for line in lines if line.startswith("FIGURE"))
    assert header.split() == ["FIGURE", "STORE", "LOCAL", "DISK", "STORE", "IS"]
    for label in ("small writes (ops/s)", "time to first byte, p95 (ms)", "large download (MB/s)"):
        row = next(line for line in lines if line.startswith(label))
        assert "slower" in row or "faster" in row or "about the same" in row, row
    assert "s3://AKIABENCHTESTKEY0001:***@" in outcome.out
    assert "advice:" in outcome.out
    assert "cleanup: removed all 14 objects" in outcome.out
    assert s3_store.names() == {KEEP}


def test_the_budget_bounds_the_run(store: Store, run_bench: Callable[..., Outcome]) -> None:
    outcome = run_bench(
        store,
        "--small-count",
        "100000",
        "--small-size",
        "64",
        "--large-size",
        "64K",
        "--budget",
        "3",
        "--format",
        "json",
    )
    report = outcome.report
    assert report["budget_reached"] is True
    # The budget cuts the requests in flight at its end (a few threads then finish their bookkeeping).
    assert report["elapsed_seconds"] <= 3.5
    # Cleanup comes after the budget; it removes what was written in three seconds.
    assert outcome.seconds < 15
    figures = outcome.figures()
    assert 0 < figures["small_write"]["samples"] < 100000
    assert figures["small_write"]["store"] > 0
    assert report["cleanup"]["complete"] is True
    assert outcome.code == 0
    assert store.names() == {KEEP}


def test_ctrl_c_cleans_up_and_says_so(
    s3_store: Store, run_bench: Callable[..., Outcome], monkeypatch: pytest.MonkeyPatch
) -> None:
    writes = 0
    lock = threading.Lock()
    original = bench.S3Target.write

    def write_then_interrupt(self: Any, key: str, body: bytes) -> None:
        nonlocal writes
        original(self, key, body)
        with lock:
            writes += 1
            if writes == 20:
                _thread.interrupt_main()  # what Ctrl-C does: KeyboardInterrupt in the main thread

    monkeypatch.setattr(bench.S3Target, "write", write_then_interrupt)
    outcome = run_bench(
        s3_store, "--small-count", "1000", "--small-size", "64", "--concurrency", "4", "--format", "json"
    )
    assert outcome.code == 130
    report = outcome.report
    assert report["interrupted"] is True
    assert report["cleanup"]["complete"] is True
    assert report["cleanup"]["written"] >= 20
    assert "interrupted: removed everything written" in outcome.err
    assert s3_store.names() == {KEEP}


def test_what_cannot_be_removed_is_listed(
    s3_store: Store, run_bench: Callable[..., Outcome], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = bench.S3Target.delete

    def refuse_large(self: Any, key: str) -> None:
        if "/large-" in key:
            raise RuntimeError("simulated: access denied")
        original(self, key)

    monkeypatch.setattr(bench.S3Target, "delete", refuse_large)
    outcome = run_bench(s3_store, *SMALL)
    assert outcome.code == 1
    assert "cleanup INCOMPLETE, delete by hand:" in outcome.out
    left = s3_store.names() - {KEEP}
    assert len(left) == 2 and all("/large-" in key for key in left)
    for key in left:
        assert f"  {key}" in outcome.out


def test_unreachable_store_is_a_reported_failure(run_bench: Callable[..., Outcome]) -> None:
    dsn = s3_dsn(
        bucket="nowhere",
        endpoint_host=f"s3.{REGION}.amazonaws.com",
        access_key_id=S3_KEY[0],
        secret_access_key=S3_KEY[1],
        endpoint_url=f"http://127.0.0.1:{closed_port()}",
    )
    outcome = run_bench(Store(dsn, (S3_KEY[1],), set), *SMALL, "--timeout", "1", "--format", "json")
    assert outcome.code == 1
    report = outcome.report
    assert report["ok"] is False
    assert len(report["errors"]) == 1 and "cannot reach" in report["errors"][0]
    assert outcome.figures()["small_write"]["store"] is None
    assert outcome.figures()["small_write"]["local"] is not None
    assert outcome.seconds < 15


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--small-count", "0"], "--small-count"),
        (["--large-size", "2G"], "--large-size"),
        (["--small-size", "lots"], "--small-size"),
        (["--budget", "0"], "--budget"),
        (["--concurrency", "100"], "--concurrency"),
    ],
)
def test_bad_options_exit_2(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFAULT_STORAGE_DSN", "s3://k:s@b.s3.eu-central-1.amazonaws.com/")
    with pytest.raises(SystemExit) as exit_:
        main(["bench", *argv])
    assert exit_.value.code == 2
    assert needle in capsys.readouterr().err


def test_missing_or_bad_dsn_exits_2(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEFAULT_STORAGE_DSN", raising=False)
    assert main(["bench"]) == 2
    assert "DEFAULT_STORAGE_DSN" in capsys.readouterr().err
    monkeypatch.setenv("DEFAULT_STORAGE_DSN", "ftp://user:hunter2-secret@host/")
    assert main(["bench"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "hunter2-secret" not in err


@pytest.fixture(autouse=True)
def _no_threads_left() -> Iterator[None]:
    """A run must not leave worker threads behind (they would keep writing after the report)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and set(threading.enumerate()) - before:
        time.sleep(0.05)
    assert not [t for t in set(threading.enumerate()) - before if t.daemon and t.name.startswith("Thread-")]


def test_private_dsn_options_measure_the_private_store(
    s3_store: Store, run_bench: Callable[..., Outcome], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BENCH_PRIVATE_DSN", s3_store.dsn)
    monkeypatch.delenv("DEFAULT_STORAGE_DSN", raising=False)
    start = time.monotonic()
    code = main(["bench", "--private-dsn-env", "BENCH_PRIVATE_DSN", *SMALL, "--format", "json"])
    assert time.monotonic() - start < 120
    assert code == 0
    assert s3_store.names() == {KEEP}
    with pytest.raises(SystemExit):
        main(["bench", "--private-dsn"])  # the option needs its value
    monkeypatch.setenv("DEFAULT_STORAGE_DSN", s3_store.dsn)
    assert main(["bench", "--dsn", s3_store.dsn, "--private-dsn-env", "BENCH_PRIVATE_DSN"]) == 2
