"""``divio-storage check`` against hostile loopback servers: bounded time and memory, exact reasons, no secret.

The matrix (every mode x both clouds) runs ``check`` in-process with ``--timeout 0.5`` (the bounds are the same
per timeout, and the suite stays short). The real console entry point runs in its own processes, all at once,
with ``--timeout 1`` against the endless body and the drip (peak memory from ``os.wait4``). Bounds asserted:

- wall time: within the run's deadline ((probes + stores) x timeout + 3 s), and, in-process, within
  3 x timeout + 1 s (write, preflight, the clean-up's delete, each cut at the timeout);
- peak RSS: under 300 MB whatever the server sends (an endless body used to grow the process to 3 GB).
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from support.hostile import hostile_server

from divio_storage_infra.cli.check import DEADLINE_SLACK, run_deadline
from divio_storage_infra.cli.main import main
from divio_storage_infra.core.dsn import azure_dsn, parse_dsn, s3_dsn
from divio_storage_infra.probes.base import Redactor, location, one_line, probe_options, probe_store

S3_SECRET = "hostile/test+secret=Sup3rS3cretValue"
AZ_KEY = base64.b64encode(b"hostile test account key, sixty-four bytes long, padded out!!!!!").decode()
ACCOUNT = "devstoreaccount1"
# Public store without --origin: write, read, public-read, cors-refused, delete.
PROBES = 5
DEADLINE = run_deadline(["public"], (), 1.0, False)
# Starting Python, importing the SDKs and setting up their clients (the run's deadline counts from the first probe),
# six processes at once on a machine whose two cores run other work too.
STARTUP_ALLOWANCE = 20.0
ABSOLUTE_RSS_KB = 512 * 1024
"""A sanity bound on any one check process (before the body cap, an endless body grew it to 3 GB)."""
GROWTH_KB = 64 * 1024
"""How much more a hostile run may hold at its peak than a run that fails at once (the body cap is 1 MiB)."""
MODES = ("drip", "drip-body", "endless", "garbage", "echo500", "slow")
CLOUDS = ("s3", "az")


def secret_forms(secret: str) -> set[str]:
    """The secret as it could travel: raw, percent-encoded, base64."""
    raw = secret.encode()
    return {
        secret,
        quote(secret, safe=""),
        quote(secret),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }


def dsn_for(cloud: str, url: str) -> str:
    if cloud == "s3":
        return s3_dsn(
            bucket="hostile-media",
            endpoint_host="s3.eu-central-1.amazonaws.com",
            access_key_id="AKIAHOSTILETEST00001",
            secret_access_key=S3_SECRET,
            endpoint_url=url,
        )
    return azure_dsn(account=ACCOUNT, container="media", account_key=AZ_KEY, endpoint_url=f"{url}/{ACCOUNT}")


@dataclass
class Ran:
    """One finished ``check``: exit code, output, wall time (s), peak RSS (KiB, subprocess only), server log."""

    code: int
    out: str
    err: str
    seconds: float
    max_rss_kb: int
    requests: list[str]

    @property
    def probes(self) -> dict[str, dict[str, str]]:
        report: dict[str, Any] = json.loads(self.out)
        return {p["probe"].split(" ")[0]: p for p in report["stores"][0]["probes"]}


# The command as the console script runs it, reporting its own peak memory (VmHWM) at exit into $HWM_FILE. The
# kernel's rusage would not do: a child's ru_maxrss keeps the high-water mark of the forked pytest worker it was
# exec'd from, whatever the command itself used.
_LAUNCH = """
import atexit, os, sys

def _report():
    with open("/proc/self/status") as status, open(os.environ["HWM_FILE"], "w") as out:
        out.write(next(line.split()[1] for line in status if line.startswith("VmHWM:")))

atexit.register(_report)
from divio_storage_infra.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def _spawn(dsn: str, *args: str, hwm: Path | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DEFAULT_STORAGE_DSN": dsn}
    env.pop("PRIVATE_STORAGE_DSN", None)
    if hwm is not None:
        env["HWM_FILE"] = str(hwm)
    command = ["-c", _LAUNCH] if hwm is not None else ["-m", "divio_storage_infra"]
    return subprocess.Popen(
        [sys.executable, *command, "check", "--format", "json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def _finish(processes: list[subprocess.Popen[bytes]], limit: float = 60.0) -> list[tuple[int, float, int]]:
    """Wait for every process (killing it past ``limit`` s): exit code, wall seconds, rusage peak RSS in KiB (which
    includes the forked parent's; see ``_LAUNCH`` for the command's own)."""
    started = time.monotonic()
    done: dict[int, tuple[int, float, int]] = {}
    while len(done) < len(processes):
        for process in processes:
            if process.pid in done:
                continue
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                process.returncode = os.waitstatus_to_exitcode(status)
                done[pid] = (process.returncode, time.monotonic() - started, usage.ru_maxrss)
            elif time.monotonic() - started > limit:
                process.kill()
        time.sleep(0.01)
    return [done[p.pid] for p in processes]


def _output(process: subprocess.Popen[bytes]) -> tuple[str, str]:
    assert process.stdout is not None and process.stderr is not None
    return process.stdout.read().decode(), process.stderr.read().decode()


@pytest.fixture(scope="module", autouse=True)
def _sdks_imported() -> None:
    """Import the SDKs before any run is timed: their import is paid once per process, whatever the server does."""
    import azure.storage.blob  # noqa: F401
    import boto3  # noqa: F401


def run_in_process(
    mode: str, cloud: str, timeout: float, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Ran:
    leak = tuple(secret_forms(S3_SECRET if cloud == "s3" else AZ_KEY))
    with hostile_server(mode, leak=leak, slow_seconds=30) as server:
        monkeypatch.setenv("DEFAULT_STORAGE_DSN", dsn_for(cloud, server.url))
        monkeypatch.delenv("PRIVATE_STORAGE_DSN", raising=False)
        started = time.monotonic()
        code = main(["check", "--timeout", str(timeout), "--format", "json"])
        seconds = time.monotonic() - started
        requests = list(server.requests)
    captured = capsys.readouterr()
    return Ran(code, captured.out, captured.err, seconds, 0, requests)


EXPECTED = {
    "drip": "did not finish answering within 0.5 s (the deadline per request, --timeout)",
    "drip-body": "did not finish answering within 0.5 s (the deadline per request, --timeout)",
    "slow": "did not finish answering within 0.5 s (the deadline per request, --timeout)",
    "endless": "sent an answer too large to be a probe's: the answer's body is longer than 1048576 bytes",
    "garbage": "answered, but the answer is not HTTP (protocol error)",
}


def assert_clean(ran: Ran, cloud: str) -> None:
    """No traceback, no secret in any form, no signature, no terminal control sequence in anything printed."""
    everything = ran.out + ran.err
    assert "Traceback" not in everything
    for form in secret_forms(S3_SECRET if cloud == "s3" else AZ_KEY):
        assert form not in everything, f"a form of the secret was printed: {form[:4]}..."
    assert "Signature=" not in everything.replace("Signature=***", "")
    assert "SharedKey " not in everything.replace("SharedKey ***", "")
    assert "\x1b" not in everything and "\x07" not in everything and "\u202e" not in everything


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("mode", MODES)
def test_check_is_bounded_and_exact_against_a_hostile_server(
    mode: str, cloud: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = run_in_process(mode, cloud, 0.5, capsys, monkeypatch)
    print(f"{mode}/{cloud} --timeout 0.5: {ran.seconds:.2f} s")
    assert ran.code == 1, ran.err
    # Three requests (write, preflight, clean-up), each cut at --timeout (a 500's retries within it), plus slack for
    # setting up the SDK client on a busy two-core machine; unbounded, a drip server kept the command for minutes.
    assert ran.seconds < 3 * 0.5 + 4, f"{mode}/{cloud} took {ran.seconds:.1f} s"
    assert_clean(ran, cloud)
    probes = ran.probes
    assert list(probes) == ["write", "read", "public-read", "cors-refused", "delete"]
    assert probes["write"]["status"] == "fail"
    assert probes["read"]["status"] == probes["public-read"]["status"] == "skip"
    assert probes["cors-refused"]["status"] == "fail", "an endpoint that fails is not one that refuses"
    assert probes["delete"]["status"] == "skip"
    write, cors = probes["write"]["detail"], probes["cors-refused"]["detail"]
    for detail in (write, cors):
        assert "connection refused" not in detail
        assert len(detail) <= 400 and detail == one_line(detail)
    if mode in EXPECTED:
        assert EXPECTED[mode] in write, write
        assert EXPECTED[mode] in cors, cors
    else:  # echo500: the server's error, one line, its echo of the request masked
        assert "-> 500 Internal Server Error (InternalError): expected a refusal (403, or a 2xx answer" in cors
        if cloud == "s3":
            assert "S3 error InternalError: We echo your request: ***" in write
            assert "Authorization: *** PUT /hostile-media/divio-storage-check/" in write
            assert "\t" not in write
        else:
            assert write.endswith(": Azure error InternalError (HTTP 500)"), write
    # The clean-up tried to remove what a half-finished write may have left. A 500 is tried again while the request's
    # time allows a wait (with --timeout 0.5, seldom more than once); nothing else is.
    methods = [line.split(" ")[0] for line in ran.requests]
    assert [m for i, m in enumerate(methods) if i == 0 or methods[i - 1] != m] == ["PUT", "OPTIONS", "DELETE"]
    if mode != "echo500":
        assert methods == ["PUT", "OPTIONS", "DELETE"]


def test_console_entry_point_is_bounded_in_time_and_memory(tmp_path: Path) -> None:
    """Real processes, --timeout 1: the endless body and the drip, on both clouds, at once.

    Memory is compared with a run against a server that answers garbage at once, started the same way: what the
    interpreter and the SDKs take (more on a fresh machine, where nothing is byte-compiled yet) cancels out, and
    what is left is what the hostile answer made the process hold.
    """
    cases = [(mode, cloud) for mode in ("endless", "drip", "garbage") for cloud in CLOUDS]
    with hostile_server("endless") as endless, hostile_server("drip") as drip, hostile_server("garbage") as garbage:
        urls = {"endless": endless.url, "drip": drip.url, "garbage": garbage.url}
        processes = [
            _spawn(dsn_for(cloud, urls[mode]), "--timeout", "1", hwm=tmp_path / f"{mode}-{cloud}.hwm")
            for mode, cloud in cases
        ]
        finished = _finish(processes)
    lines = []
    peaks: dict[tuple[str, str], int] = {}
    for (mode, cloud), process, (code, seconds, _) in zip(cases, processes, finished, strict=True):
        rss_kb = int((tmp_path / f"{mode}-{cloud}.hwm").read_text())
        assert rss_kb < ABSOLUTE_RSS_KB, f"{mode}/{cloud}: {rss_kb / 1024:.1f} MiB"
        out, err = _output(process)
        lines.append(f"{mode}/{cloud} --timeout 1: {seconds:.2f} s, peak RSS {rss_kb / 1024:.1f} MiB")
        ran = Ran(code, out, err, seconds, rss_kb, [])
        assert code == 1, err
        assert_clean(ran, cloud)
        assert seconds < DEADLINE + STARTUP_ALLOWANCE, lines[-1]
        assert {p["status"] for p in ran.probes.values()} == {"fail", "skip"}
        peaks[mode, cloud] = rss_kb
    print("\n" + "\n".join(lines))
    for mode in ("endless", "drip"):
        for cloud in CLOUDS:
            grown = peaks[mode, cloud] - peaks["garbage", cloud]
            assert grown < GROWTH_KB, f"{mode}/{cloud} held {grown / 1024:.1f} MiB more than a garbage answer"


def test_the_run_deadline_cuts_the_remaining_probes() -> None:
    """A deadline shorter than the probes need: the rest fail with "deadline", the clean-up still gets its turn."""
    with hostile_server("slow", slow_seconds=30) as server:
        from divio_storage_infra.probes.s3 import S3Store

        options = probe_options(timeout=0.5, deadline=1.2, origins=("https://a.example.com", "https://b.example.com"))
        store = S3Store(parse_dsn(dsn_for("s3", server.url)), "public", options)
        started = time.monotonic()
        options.cutoff.deadline = started + 1.2  # from now, not from before the client was set up
        results = probe_store(store, options)
        took = time.monotonic() - started
    by_name = {r.name.split(" ")[0] + (" " + r.name.split(" ")[1] if " " in r.name else ""): r for r in results}
    assert [r.status for r in results] == ["fail", "skip", "skip", "fail", "fail", "fail", "skip"]
    assert "did not finish answering within 0.5 s" in by_name["write"].detail
    # Write and the first preflight take their 0.5 s each; the second is cut short at the run's deadline (or,
    # on a busy machine, not started) ...
    assert "the run's deadline" in by_name["cors-allowed https://b.example.com"].detail
    # ... and the last one is not started at all.
    assert by_name["cors-refused https://divio-storage-check.invalid"].detail == (
        "not run: the run's deadline (1.2 s) passed before this probe"
    )
    # The deadline, plus one request for the clean-up after it (the write may have arrived), plus a little.
    assert took < 1.2 + 0.5 + 0.8, took
    assert [line.split(" ")[0] for line in server.requests].count("DELETE") == 1


def test_deadline_formula() -> None:
    assert run_deadline(["public"], (), 1.0, False) == PROBES + 1 + DEADLINE_SLACK
    assert (
        run_deadline(["public", "private"], ("https://a.example", "https://b.example"), 2.0, True)
        == ((4 + 3 + 1 + 5) + 2) * 2.0 + DEADLINE_SLACK
    )
    assert run_deadline(["public"], ("*",), 1.0, False) == (4 + 1) + 1 + DEADLINE_SLACK


# --- Ctrl-C -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("hang_delete", [False, True], ids=["removed", "left"])
def test_one_ctrl_c_removes_the_probe_object_or_says_where_it_is(hang_delete: bool) -> None:
    with hostile_server("store", slow_seconds=30, hang_delete=hang_delete) as server:
        process = _spawn(dsn_for("s3", server.url), "--timeout", "3")
        put = server.wait_for("PUT")
        server.wait_for("GET")  # the read probe now hangs
        process.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        [(code, _, _)] = _finish([process])
        stopped = time.monotonic() - interrupted
        _, err = _output(process)
        deletes = [line for line in server.requests if line.startswith("DELETE ")]
    key = put.split(" ")[1].removeprefix("/hostile-media/")
    assert code == 130, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert deletes == [f"DELETE /hostile-media/{key}"]
    if hang_delete:
        assert err.startswith("interrupted: the probe object may be left (")
        assert err.strip().endswith(f"bucket hostile-media at {server.url}, key {key}; remove it by hand")
        assert stopped < 3 + 2, stopped  # one bounded delete, then out
    else:
        assert err.strip() == f"interrupted: removed the probe object {key} from bucket hostile-media at {server.url}"
        assert stopped < 2, stopped


# --- masking and one-line details (unit) -------------------------------------------------------------------------


def test_redactor_masks_echoed_credentials_and_signatures() -> None:
    redact = Redactor([S3_SECRET])
    text = "\n".join(
        [
            "Authorization: AWS4-HMAC-SHA256 Credential=AKIAX/20260101/eu-central-1/s3/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=0123456789abcdef0123456789abcdef",
            "authorization: SharedKey devstoreaccount1:c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl",
            "'Authorization': 'Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig'",
            "GET /b/k?X-Amz-Credential=AKIAX%2F2026&X-Amz-Signature=deadbeefdeadbeef&sig=abc%2Bdef",
            "x-amz-security-token: FwoGZXIvYXdzEJr//////////",
            "SharedKey devstoreaccount1:c2lnbmF0dXJlc2lnbmF0dXJl",
            f"base64 {base64.b64encode(S3_SECRET.encode()).decode()} raw {S3_SECRET}",
        ]
    )
    cleaned = redact(text)
    for leaked in ("0123456789abcdef", "c2lnbmF0dXJl", "eyJhbGci", "deadbeef", "abc%2Bdef", "FwoGZXIv", "Sup3r"):
        assert leaked not in cleaned, leaked
    assert "AKIAX" not in cleaned


def test_one_line_removes_controls_and_caps_length() -> None:
    assert one_line("a\r\nb\tc\x1b[2J\x07\u202ed\x00") == "a b c[2Jd"
    long = one_line("x" * 1000)
    assert len(long) == 400 and long.endswith("\u2026")


def test_location_names_bucket_or_container() -> None:
    class Plain:
        endpoint = "http://127.0.0.1:1"

    class Bucket(Plain):
        bucket = "b"

    assert location(Bucket()) == "bucket b at http://127.0.0.1:1"  # type: ignore[arg-type]
    assert location(Plain()) == "http://127.0.0.1:1"  # type: ignore[arg-type]
