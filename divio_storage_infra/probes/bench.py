"""What ``divio-storage bench`` measures: a deployed store against the local disk of the same machine.

The same workload runs on a temporary directory and on the store (through the ``check`` store adapters, so the
DSN's credentials, ACL and ``endpoint_url`` are honoured): small-object writes, reads (with time to first byte)
and deletes, then large-object uploads and downloads. Measuring stops at the time budget; whatever was written is
removed afterwards, also after a failure or Ctrl-C, and the report says what could not be removed.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from divio_storage_infra.connection import ConnectionSettings, Cutoff, describe, never_sent
from divio_storage_infra.core.dsn import ParsedDsn
from divio_storage_infra.probes.base import ProbeOptions, Unreachable

BENCH_PREFIX = "divio-storage-bench/"
_CHUNK = 1024 * 1024
# Ratios at which the advice changes: the store is "much slower" from here on.
SMALL_RATIO = 10.0
LARGE_RATIO = 5.0
SLOW_FIRST_BYTE_MS = 50.0

ANSWER_WAIT = 30.0
"""Seconds bench waits for the next bytes of an answer at least (``--timeout`` when longer); ``--budget`` still
ends the run on time."""

Unit = Literal["ops/s", "ms", "MB/s"]


@dataclass(frozen=True)
class BenchOptions:
    """The workload: object sizes (bytes), counts, parallel requests and the time budget (seconds, transfers in
    flight included); ``timeout`` (s) bounds each wait for a connection and its TLS handshake, and for the next
    bytes of an answer (at least :data:`ANSWER_WAIT`), never a transfer that keeps moving; ``settings``: CA
    bundle, proxy and retries (their timeouts are replaced)."""

    small_size: int = 4 * 1024
    small_count: int = 100
    large_size: int = 16 * 1024 * 1024
    large_count: int = 2
    concurrency: int = 8
    budget: float = 60.0
    timeout: float = 5.0
    settings: ConnectionSettings = field(default_factory=ConnectionSettings)


class Target(Protocol):
    """Where the workload runs: the store or the local directory."""

    def write(self, key: str, body: bytes) -> None:
        """Store ``body`` as ``key``."""

    def first_byte(self, key: str) -> tuple[float, int]:
        """Read ``key`` whole; the seconds until its first byte arrived, and its length in bytes."""

    def delete(self, key: str) -> None:
        """Remove ``key``; an already missing key is no error."""


@dataclass
class Figure:
    """One measured quantity for the store and the local disk, ``None`` where it was not measured."""

    name: str
    label: str
    unit: Unit
    store: float | None = None
    local: float | None = None
    samples: int = 0
    """How many operations the store figure is based on."""

    @property
    def slower_by(self) -> float | None:
        """How many times slower the store is than the local disk (above 1: slower)."""
        if self.store is None or self.local is None or self.store <= 0 or self.local <= 0:
            return None
        if self.unit == "ms":
            return self.store / self.local
        return self.local / self.store

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (stable keys: name, label, unit, store, local, store_slower_by, samples)."""
        return {
            "name": self.name,
            "label": self.label,
            "unit": self.unit,
            "store": _round(self.store),
            "local": _round(self.local),
            "store_slower_by": _round(self.slower_by),
            "samples": self.samples,
        }


@dataclass
class BenchReport:
    """Everything one run found: figures, advice, cleanup, errors and whether the budget cut measuring short."""

    figures: list[Figure]
    options: BenchOptions
    local_dir: str
    elapsed: float = 0.0
    budget_reached: bool = False
    interrupted: bool = False
    errors: list[str] = field(default_factory=list)
    written: int = 0
    left: list[str] = field(default_factory=list)
    advice: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every figure was measured without error and nothing was left behind."""
        return not self.errors and not self.left and not self.interrupted

    def figure(self, name: str) -> Figure:
        """The figure called ``name``."""
        return next(f for f in self.figures if f.name == name)


def _round(value: float | None) -> float | None:
    """Three significant digits: the figures are noisy, more digits would only pretend precision."""
    if value is None or value == 0:
        return value
    digits = 2 - math.floor(math.log10(abs(value)))
    return round(value, max(digits, 0)) if digits > 0 else float(round(value, digits))


def new_figures() -> list[Figure]:
    """The figures in report order."""
    return [
        Figure("small_write", "small writes", "ops/s"),
        Figure("small_read", "small reads", "ops/s"),
        Figure("small_delete", "small deletes", "ops/s"),
        Figure("first_byte_p50", "time to first byte, p50", "ms"),
        Figure("first_byte_p95", "time to first byte, p95", "ms"),
        Figure("large_upload", "large upload", "MB/s"),
        Figure("large_download", "large download", "MB/s"),
    ]


# --- targets ---------------------------------------------------------------------------------------------------


class LocalDir:
    """A temporary directory on the local disk (files written without fsync, as an app's temporary work is)."""

    def __init__(self, parent: str | None) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="divio-storage-bench-", dir=parent))

    def _file(self, key: str) -> Path:
        return self.path / key.replace("/", "_")

    def write(self, key: str, body: bytes) -> None:
        """Write the file."""
        self._file(key).write_bytes(body)

    def first_byte(self, key: str) -> tuple[float, int]:
        """Open and read the file in chunks."""
        start = time.perf_counter()
        with self._file(key).open("rb") as handle:
            size = len(handle.read(1))
            first = time.perf_counter() - start
            while chunk := handle.read(_CHUNK):
                size += len(chunk)
        return first, size

    def delete(self, key: str) -> None:
        """Unlink the file."""
        self._file(key).unlink(missing_ok=True)

    def remove(self) -> bool:
        """Remove the directory; False when something of it is left."""
        shutil.rmtree(self.path, ignore_errors=True)
        return not self.path.exists()


class S3Target:
    """The bucket of an S3 DSN through the ``check`` adapter, without a body cap, a connection per parallel request."""

    def __init__(self, parsed: ParsedDsn, options: BenchOptions) -> None:
        from divio_storage_infra.probes.s3 import S3Store

        self.store = S3Store(parsed, "public", _probe_options(options), pool=max(10, options.concurrency))
        self.cutoff = self.store.options.cutoff
        """Ends the transfers in flight when the budget is up."""
        self.endpoint = self.store.endpoint
        self.key_prefix = self.store.key_prefix
        self.redact: Callable[[str], str] = self.store.redact
        self.explain: Callable[[Exception], str] = self.store.explain

    def write(self, key: str, body: bytes) -> None:
        """PUT with the DSN's ACL, as the app uploads."""
        self.store.write(key, body)

    def first_byte(self, key: str) -> tuple[float, int]:
        """GET, timed until the first byte of the body arrived, then read to the end."""
        start = time.perf_counter()
        body = self.store.client.get_object(Bucket=self.store.bucket, Key=key)["Body"]
        size = len(body.read(1))
        first = time.perf_counter() - start
        for chunk in body.iter_chunks(_CHUNK):
            size += len(chunk)
        return first, size

    def delete(self, key: str) -> None:
        """DELETE (S3 answers 204 for a missing key too)."""
        self.store.delete(key)


class AzureTarget:
    """The container of an Azure DSN through the ``check`` adapter."""

    def __init__(self, parsed: ParsedDsn, options: BenchOptions) -> None:
        from divio_storage_infra.probes.azure import AzureStore

        self.store = AzureStore(parsed, "public", _probe_options(options), pool=max(10, options.concurrency))
        self.cutoff = self.store.options.cutoff
        """Ends the transfers in flight when the budget is up."""
        self.endpoint = self.store.endpoint
        self.key_prefix = self.store.key_prefix
        self.redact: Callable[[str], str] = self.store.redact
        self.explain: Callable[[Exception], str] = self.store.explain

    def write(self, key: str, body: bytes) -> None:
        """Put Blob (blocks for large bodies), overwriting as the app does."""
        self.store.write(key, body)

    def first_byte(self, key: str) -> tuple[float, int]:
        """Get Blob: the SDK returns once the first range arrived (the whole blob when it is small)."""
        start = time.perf_counter()
        downloader = self.store.client.download_blob(key)
        first = time.perf_counter() - start
        size = 0
        for chunk in downloader.chunks():
            size += len(chunk)
        return first, size

    def delete(self, key: str) -> None:
        """Delete Blob; a blob that is already gone is no error."""
        from azure.core.exceptions import ResourceNotFoundError

        with suppress(ResourceNotFoundError):
            self.store.delete(key)


def _probe_options(options: BenchOptions) -> ProbeOptions:
    # No body cap (objects of any size) and timeouts that bound waiting only; the budget's cut ends the rest. The
    # wait for an answer gets at least ANSWER_WAIT: after an upload the last bytes may still be queued on a slow
    # link (megabytes of socket buffers), and the answer cannot come before they arrive.
    settings = ConnectionSettings(
        ca_bundle=options.settings.ca_bundle,
        ca_source=options.settings.ca_source,
        connect_timeout=options.timeout,
        read_timeout=max(options.timeout, ANSWER_WAIT),
        attempts=options.settings.attempts,
        max_retry_wait=options.settings.max_retry_wait,
        environ=options.settings.environ,
    )
    return ProbeOptions(timeout=options.timeout, max_body=None, settings=settings)


def open_store(parsed: ParsedDsn, options: BenchOptions) -> S3Target | AzureTarget:
    """The store target for a DSN (imports the cloud SDK it needs)."""
    if parsed.scheme == "az":
        return AzureTarget(parsed, options)
    return S3Target(parsed, options)


# --- running the workload --------------------------------------------------------------------------------------


class _Stop(Exception):
    """An operation failed: the phase and the ones after it are not measured."""


@dataclass
class _Phase:
    done: int = 0
    seconds: float = 0.0
    samples: list[float] = field(default_factory=list)
    cut: bool = False
    """True when the budget (or a stop) ended the phase before every operation ran."""


class Runner:
    """Runs operations on ``concurrency`` threads until they are done, one fails, the deadline passes, or Ctrl-C.

    With a ``cutoff``, the workers' sockets are watched, and an operation that fails after the cutoff cut the
    transfers (the budget is up) ends the phase without being an error.
    """

    def __init__(self, concurrency: int, cutoff: Cutoff | None = None) -> None:
        self.concurrency = concurrency
        self.cutoff = cutoff
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self, items: Sequence[str], operation: Callable[[str], float | None], deadline: float) -> _Phase:
        """Call ``operation`` on each item until ``deadline`` (monotonic); its return value is kept as a sample."""
        phase = _Phase()
        pending: Iterator[str] = iter(items)
        lock = threading.Lock()

        def work() -> None:
            while not self.stop.is_set():
                if time.monotonic() >= deadline:
                    return
                with lock:
                    item = next(pending, None)
                if item is None:
                    return
                try:
                    sample = operation(item)
                except Exception as error:  # noqa: BLE001 - reported by the caller, which stops measuring
                    with lock:
                        if self.cutoff is None or self.cutoff.cut_reason is None:
                            self.error = self.error or error
                    self.stop.set()
                    return
                with lock:
                    phase.done += 1
                    if sample is not None:
                        phase.samples.append(sample)

        def worker() -> None:
            if self.cutoff is None:
                work()
                return
            with self.cutoff.watching():
                work()

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(min(self.concurrency, len(items)))]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                # A timed join keeps the main thread responsive to Ctrl-C.
                while thread.is_alive():
                    thread.join(0.05)
        except BaseException:
            # Let the requests in flight finish, so that everything they wrote is known and can be removed.
            self.stop.set()
            for thread in threads:
                thread.join()
            raise
        phase.seconds = time.perf_counter() - start
        phase.cut = phase.done < len(items)
        if self.error is not None:
            raise _Stop
        return phase


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` in 0..1) of a non-empty sample."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass
class _Workload:
    """The keys and bodies of one run (the same for local disk and store)."""

    small: list[str]
    large: list[str]
    small_body: bytes
    large_body: bytes


def _workload(prefix: str, options: BenchOptions) -> _Workload:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    base = f"{prefix}{BENCH_PREFIX}{stamp}-{secrets.token_hex(4)}/"
    return _Workload(
        small=[f"{base}small-{i:06d}.bin" for i in range(options.small_count)],
        large=[f"{base}large-{i:03d}.bin" for i in range(options.large_count)],
        # Random bytes: a store or disk that compresses must not look faster than it is.
        small_body=os.urandom(options.small_size),
        large_body=os.urandom(options.large_size),
    )


# Shares of the remaining budget per phase (write, read, upload, download, delete): a phase that ends early
# leaves its time to the ones after it, and a small budget still measures every figure from fewer operations.
_SHARES = (0.25, 0.25, 0.2, 0.2, 0.1)


class _Measure:
    """One target's phases, filling one side (``store`` or ``local``) of the figures."""

    def __init__(
        self,
        target: Target,
        side: Literal["store", "local"],
        report: BenchReport,
        deadline: float,
        cutoff: Cutoff | None = None,
    ) -> None:
        self.target = target
        self.side = side
        self.report = report
        self.deadline = deadline
        self.runner = Runner(report.options.concurrency, cutoff)
        self.written: set[str] = set()
        """Keys that may exist now (written, or being written and possibly arrived; not yet deleted)."""
        self.ever_written: set[str] = set()

    def _set(self, name: str, value: float | None, samples: int) -> None:
        figure = self.report.figure(name)
        setattr(figure, self.side, value)
        if self.side == "store":
            figure.samples = samples

    def _phase(self, index: int, items: Sequence[str], operation: Callable[[str], float | None]) -> _Phase:
        now = time.monotonic()
        rest = sum(_SHARES[index:])
        deadline = min(self.deadline, now + max(self.deadline - now, 0) * _SHARES[index] / rest)
        phase = self.runner.run(items, operation, deadline)
        if phase.cut:
            self.report.budget_reached = True
        return phase

    def _write(self, body: bytes) -> Callable[[str], None]:
        def write(key: str) -> None:
            # Remembered before the request: a write cut short may still have arrived. Forgotten again when it
            # cannot have (no connection or TLS session was made), so the clean-up names only what may exist.
            self.written.add(key)
            try:
                self.target.write(key, body)
            except Exception as error:
                if never_sent(error):
                    self.written.discard(key)
                raise
            self.ever_written.add(key)

        return write

    def _read(self, size: int) -> Callable[[str], float]:
        def read(key: str) -> float:
            first, got = self.target.first_byte(key)
            if got != size:
                raise RuntimeError(f"read {got} bytes of {key} back, not the {size} bytes written")
            return first

        return read

    def _delete(self, key: str) -> None:
        self.target.delete(key)
        self.written.discard(key)

    def run(self, work: _Workload) -> None:
        """Every phase in order; raises _Stop when an operation failed (the figures so far are kept)."""
        small = self._phase(0, work.small, self._write(work.small_body))
        self._set("small_write", _rate(small.done, small.seconds), small.done)
        reads = self._phase(1, [k for k in work.small if k in self.written], self._read(len(work.small_body)))
        self._set("small_read", _rate(reads.done, reads.seconds), reads.done)
        if reads.samples:
            self._set("first_byte_p50", percentile(reads.samples, 0.5) * 1000, len(reads.samples))
            self._set("first_byte_p95", percentile(reads.samples, 0.95) * 1000, len(reads.samples))
        mb = len(work.large_body) / 1_000_000
        uploads = self._phase(2, work.large, self._write(work.large_body))
        self._set("large_upload", _rate(uploads.done * mb, uploads.seconds), uploads.done)
        stored = [k for k in work.large if k in self.written]
        downloads = self._phase(3, stored, self._read(len(work.large_body)))
        self._set("large_download", _rate(downloads.done * mb, downloads.seconds), downloads.done)
        deletes = self._phase(4, [k for k in work.small if k in self.written], self._delete)
        self._set("small_delete", _rate(deletes.done, deletes.seconds), deletes.done)


def _rate(amount: float, seconds: float) -> float | None:
    if amount <= 0 or seconds <= 0:
        return None
    return amount / seconds


def cleanup(target: Target, keys: set[str], concurrency: int, timeout: float) -> list[str]:
    """Delete ``keys`` (up to three attempts each, in parallel, within ``timeout`` seconds); the keys still there.

    A second Ctrl-C ends the cleanup early; the keys not yet removed are returned all the same.
    """
    left = set(keys)
    deadline = time.monotonic() + timeout
    lock = threading.Lock()

    def remove(key: str) -> None:
        try:
            target.delete(key)
        except Exception:  # noqa: BLE001 - tried again, then reported by key
            return
        with lock:
            left.discard(key)

    with suppress(KeyboardInterrupt):
        for _ in range(3):
            if not left or time.monotonic() >= deadline:
                break
            Runner(concurrency).run(sorted(left), remove, deadline)
    return sorted(left)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run, raised after cleanup with the report of what was measured and what is left."""

    def __init__(self, report: BenchReport) -> None:
        super().__init__("interrupted")
        self.report = report


def measure(
    parsed: ParsedDsn,
    options: BenchOptions,
    *,
    local_parent: str | None = None,
    open_target: Callable[[ParsedDsn, BenchOptions], Any] = open_store,
) -> BenchReport:
    """Run the workload on a local temporary directory, then on the store, and remove everything written.

    The budget covers both; each side gets what the other left, the local disk going first with at most a
    quarter. Cleanup runs after the budget (bounded by its own timeout). Ctrl-C raises :class:`Interrupted`
    after cleanup.
    """
    started = time.monotonic()
    local = LocalDir(local_parent)
    report = BenchReport(new_figures(), options, str(local.path))
    store: Any = None
    measurer: _Measure | None = None
    try:
        try:
            store = open_target(parsed, options)
        except Exception as error:  # noqa: BLE001 - an SDK that refuses the DSN's values is a reported failure
            report.errors.append(f"cannot set up a client: {type(error).__name__}")
            return report
        work = _workload(store.key_prefix, options)
        # The budget starts once the client is ready: setting it up is not part of what is measured.
        started = time.monotonic()
        local_measure = _Measure(local, "local", report, started + options.budget / 4)
        with suppress(_Stop):
            local_measure.run(work)
        if local_measure.runner.error is not None:
            report.errors.append(f"local disk: {local_measure.runner.error}")
        measurer = _Measure(store, "store", report, started + options.budget, getattr(store, "cutoff", None))
        _measure_store(measurer, work, report, started + options.budget)
    except KeyboardInterrupt:
        report.interrupted = True
        _finish(report, local, store, measurer, started)
        raise Interrupted(report) from None
    _finish(report, local, store, measurer, started)
    return report


def _measure_store(measurer: _Measure, work: _Workload, report: BenchReport, ends: float) -> None:
    """The store's phases, with every transfer still in flight cut when the budget is up (``ends``, monotonic)."""
    cutoff = measurer.runner.cutoff
    timer = None
    if cutoff is not None:
        timer = threading.Timer(max(0.0, ends - time.monotonic()), cutoff.cut, args=("budget",))
        timer.daemon = True
        timer.start()
    try:
        measurer.run(work)
    except _Stop:
        report.errors.append(_explain(measurer.target, measurer.runner.error))
    finally:
        if timer is not None:
            timer.cancel()
    if cutoff is not None and cutoff.cut_reason is not None:
        report.budget_reached = True


def _explain(store: Any, error: BaseException | None) -> str:
    if error is None:
        return "an operation failed"
    options = getattr(getattr(store, "store", None), "options", None)
    if isinstance(error, Exception) and options is not None:
        failure = describe(error, url=store.endpoint, settings=options.settings, target=store.endpoint)
        if failure is not None:
            return failure.words
    if isinstance(error, Exception):
        try:
            return str(store.explain(error))
        except Unreachable as gone:
            return str(gone)
    return type(error).__name__


def _finish(report: BenchReport, local: LocalDir, store: Any, measurer: _Measure | None, started: float) -> None:
    report.elapsed = time.monotonic() - started
    if measurer is not None:
        report.written = len(measurer.ever_written)
        report.left = cleanup(store, measurer.written, report.options.concurrency, report.options.timeout + 30)
    if not local.remove():
        report.left.append(f"{local.path} (local directory)")
    report.advice = advise(report)


def advise(report: BenchReport) -> list[tuple[str, str]]:
    """What the figures mean for the app, as ``(id, text)`` pairs; the ids are stable for tools."""

    def slower(name: str) -> float:
        return report.figure(name).slower_by or 0.0

    out: list[tuple[str, str]] = []
    small = max(slower("small_write"), slower("small_read"), slower("small_delete"))
    if small >= SMALL_RATIO:
        out.append(
            (
                "work-locally",
                f"Small-file operations are about {small:.0f}x slower on the store than on local disk: do "
                "storage-intensive work (unpacking archives, generating many files, image processing) in a local "
                "temporary directory and upload only the result.",
            )
        )
    p95 = report.figure("first_byte_p95").store
    if p95 is not None and p95 >= SLOW_FIRST_BYTE_MS:
        out.append(
            (
                "avoid-reads-in-requests",
                f"Each file read from the store waits about {p95:.0f} ms (p95) for its first byte: avoid opening "
                "stored files while handling a request; keep what pages need (image sizes, thumbnail names) in the "
                "database or cache (easy-thumbnails: THUMBNAIL_CACHE_DIMENSIONS = True).",
            )
        )
    large = max(slower("large_upload"), slower("large_download"))
    if large >= LARGE_RATIO:
        out.append(
            (
                "stream-large-files",
                f"Large files move about {large:.0f}x slower than on local disk: let browsers fetch media from "
                "the media URL instead of passing it through the app, and stream large uploads and downloads.",
            )
        )
    if not out and not report.errors and all(f.slower_by is not None for f in report.figures):
        out.append(("store-is-fine", "The store keeps up with local disk for this workload."))
    out.append(
        (
            "local-is-temporary",
            "Local disk in a container is neither shared nor persistent: use it only for temporary work, and "
            "keep every file that must survive in the store.",
        )
    )
    return out
