"""Who runs the copies: threads of this process, or worker processes that each run their share of the threads.

A copy of a small object is one or two requests, and most of its cost is the SDK's CPU time (building, signing and
parsing requests): in one Python process every thread waits for the one interpreter lock, so backup and restore of
many small objects would use one CPU while the store's other CPUs wait. :class:`ProcessCopier` spreads the copies
over worker processes (each builds its own clients from the DSNs and runs its share of the threads); the listing,
the merge and the counts stay in this process, and each copy's result comes back as a future, exactly as from
:class:`ThreadCopier`. Workers start on the first copy (a dry run or a run with nothing to copy starts none) from a
fork server, so a process that runs many backups (the tests) pays the start once.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import queue
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any, Protocol

from divio_storage_infra.backup.connection import Connection
from divio_storage_infra.backup.objects import CopyFailed, Entry

if TYPE_CHECKING:
    from divio_storage_infra.backup.job import Job, Recipe

POLL_SECONDS = 0.5
"""How often the collector looks whether a worker process ended without being asked to."""
JOIN_SECONDS = 30.0
"""How long the workers get to finish the copies in flight after the last one was handed out or a stop."""
BROKEN_JOIN_SECONDS = 2.0
"""The same once a worker died: a process killed while taking a copy from the shared queue leaves its lock held,
so the others may never take another; their results no longer count."""

CopyOne = Callable[["Job", Entry, Connection], int]
"""Copy one object of a job and verify it; its size (see :func:`.job.copy_one`)."""


def failure_text(key: str, error: BaseException) -> str:
    """How a failed copy is named: a CopyFailed in its words, anything else by its type only (its text may quote
    a request, and with it a signature)."""
    return str(error) if isinstance(error, CopyFailed) else f"{key}: {type(error).__name__}"


class Copier(Protocol):
    """Runs copies in parallel; :meth:`submit` gives each copy's future (its size, or its failure)."""

    def submit(self, entry: Entry) -> Future[int]:
        """Start copying ``entry``; the future raises CopyFailed with :func:`failure_text`'s words on failure."""
        ...

    def close(self, *, abort: bool) -> None:
        """Wait for the copies in flight (``abort``: drop those not started) and release threads and processes."""
        ...


@dataclass
class ThreadCopier:
    """Copies on ``connection.workers`` threads of this process."""

    job: Job
    connection: Connection
    copy_one: CopyOne

    def __post_init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=self.connection.workers, thread_name_prefix=f"copy-{self.job.role}")

    def submit(self, entry: Entry) -> Future[int]:
        """Copy ``entry`` on a thread of the pool."""
        result: Future[int] = Future()

        def settled(done: Future[int]) -> None:
            error = done.exception()
            if error is None:
                result.set_result(done.result())
            else:
                result.set_exception(CopyFailed(failure_text(entry.key, error)))

        self._pool.submit(self.copy_one, self.job, entry, self.connection).add_done_callback(settled)
        return result

    def close(self, *, abort: bool) -> None:
        """Shut the pool down (dropping queued copies when ``abort``)."""
        self._pool.shutdown(wait=True, cancel_futures=abort)


class ProcessCopier:
    """Copies in ``connection.processes`` worker processes of ``ceil(workers / processes)`` threads each."""

    def __init__(self, recipe: Recipe, connection: Connection) -> None:
        self._recipe = recipe
        self._connection = connection
        self._context = multiprocessing.get_context("forkserver")
        self._threads = math.ceil(connection.workers / connection.processes)
        self._pending: dict[int, tuple[str, Future[int]]] = {}
        self._lock = threading.Lock()
        self._numbers = itertools.count()
        self._processes: list[BaseProcess] = []
        self._collector: threading.Thread | None = None
        self._closing = threading.Event()
        self._broken: str | None = None
        """Why no copy can succeed any more (a worker ended or could not start); later copies fail at once."""

    def _start(self) -> None:
        self._context.set_forkserver_preload([__name__])
        self._tasks: Any = self._context.Queue()
        self._results: Any = self._context.Queue()
        self._halt: Any = self._context.Event()
        for index in range(self._connection.processes):
            process = self._context.Process(
                target=work,
                args=(self._recipe, self._connection, self._threads, self._tasks, self._results, self._halt),
                name=f"copy-{self._recipe.role}-{index}",
                daemon=True,
            )
            process.start()
            self._processes.append(process)
        self._collector = threading.Thread(target=self._collect, name="copy-results", daemon=True)
        self._collector.start()

    def submit(self, entry: Entry) -> Future[int]:
        """Hand ``entry`` to whichever worker thread is free first."""
        if self._collector is None:
            self._start()
        result: Future[int] = Future()
        number = next(self._numbers)
        with self._lock:
            broken = self._broken
            if broken is None:
                self._pending[number] = (entry.key, result)
        if broken is not None:
            result.set_exception(CopyFailed(f"{entry.key}: {broken}"))
        else:
            self._tasks.put((number, entry))
        return result

    def _collect(self) -> None:
        # Reads every result until close() has reaped the workers, so no worker ever blocks on a full pipe.
        while True:
            try:
                number, ok, value = self._results.get(timeout=POLL_SECONDS)
            except queue.Empty:
                ended = [p.exitcode for p in self._processes if p.exitcode is not None]
                if self._closing.is_set():
                    if len(ended) == len(self._processes):
                        return
                elif ended and self._broken is None:
                    self._break(f"a copy process ended unexpectedly (exit status {ended[0]})")
                continue
            if number is None:  # a worker could not start: every copy fails with its reason
                self._break(str(value))
                continue
            with self._lock:
                found = self._pending.pop(number, None)
            if found is None:  # already failed when a worker broke
                continue
            if ok:
                found[1].set_result(int(value))
            else:
                found[1].set_exception(CopyFailed(str(value)))

    def _break(self, why: str) -> None:
        """No copy can be trusted to finish any more: fail those in flight and later ones, stop the workers."""
        self._halt.set()
        self._fail_pending(why)

    def _fail_pending(self, why: str) -> None:
        with self._lock:
            self._broken = self._broken or why
            pending, self._pending = self._pending, {}
        for key, future in pending.values():
            future.set_exception(CopyFailed(f"{key}: {why}"))

    def close(self, *, abort: bool) -> None:
        """Tell every worker thread to finish (``abort``: after its copy in flight), wait, and reap the processes."""
        if self._collector is None:
            return
        self._closing.set()
        if abort or self._broken is not None:
            self._halt.set()
        for _ in range(len(self._processes) * self._threads):
            self._tasks.put(None)
        patience = JOIN_SECONDS if self._broken is None else BROKEN_JOIN_SECONDS
        for process in self._processes:
            process.join(patience)
        for process in self._processes:
            if process.is_alive():
                process.terminate()
                process.join()
        self._collector.join()
        self._fail_pending("not copied: the run was stopped")
        for channel in (self._tasks, self._results):
            channel.close()
            channel.join_thread()


def work(recipe: Recipe, connection: Connection, threads: int, tasks: Any, results: Any, halt: Any) -> None:
    """A worker process: build the job's sides, then copy what ``tasks`` hands out on ``threads`` threads until each
    gets its end mark (None) or ``halt`` is set; every result (or failure's words) goes to ``results``."""
    from divio_storage_infra.backup.job import copy_one

    # Ctrl-C reaches every process of the terminal's group: the parent decides, and a copy in flight is finished,
    # never cut (an object is written whole or not at all either way).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        job = recipe.job(connection, halt)
    except Exception as error:  # noqa: BLE001 - reported to the parent by type, which fails every copy with it
        results.put((None, False, f"a copy process could not reach the stores ({type(error).__name__})"))
        return

    def loop() -> None:
        while not halt.is_set():
            item = tasks.get()
            if item is None:
                return
            number, entry = item
            try:
                results.put((number, True, copy_one(job, entry, connection)))
            except Exception as error:  # noqa: BLE001 - one object's failure is counted by the parent, not fatal
                results.put((number, False, failure_text(entry.key, error)))

    running = [threading.Thread(target=loop, name=f"copy-{index}") for index in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    results.close()
    results.join_thread()
