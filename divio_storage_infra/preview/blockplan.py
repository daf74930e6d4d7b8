"""Plan a program's entries in blocks: each run declares a block, in this process and in worker processes.

A platform program (:mod:`divio_storage_infra.platform`) hands its registry's loader to
:func:`divio_storage_infra.planblocks.entries`, the one hook it has for the offline plan. Every run of a plan installs
a hook from here: a :class:`Selection` loads the entries once per process, keeps those the plan asked for (all of
them, or the keys of ``only``: the websites an incremental review plans) and answers each run with one block of
them. :func:`plan_in_blocks` shares the selected entries among up to ``jobs`` processes (a worker process per
further share, ``python -m divio_storage_infra.preview.planworker``); each process plans its share in consecutive
runs of at most :data:`BLOCK_ENTRIES` entries, and writes each run's pieces of the document to files at once
(:mod:`.planparts`), which are merged in order. Resources several blocks declare (a provider shared by websites of
different blocks) must be identical; anything else is a conflict, as a duplicate URN would be in one run.

Why blocks: the SDK keeps everything a run declares (every resource's outputs, futures and pending tasks) until
the run ends, so one run over 500 websites holds about half a gigabyte, and the larger heap makes every step
slower. Runs of at most :data:`BLOCK_ENTRIES` entries keep the memory and the time per website of a small registry,
and since no process keeps what its runs declared, a plan's memory is that of one block whatever the fleet's size.

If any run or worker fails, the plan runs the program once more in one run over every selected entry, so errors
read exactly as without blocks. Nothing of this reaches a real ``pulumi up``: hooks are only ever installed by this
module, in the processes of ``plan``, and without one the platform program declares every entry.
"""

from __future__ import annotations

import contextlib
import math
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from divio_storage_infra import planblocks
from divio_storage_infra.preview.planparts import Record, Spill

if TYPE_CHECKING:
    from divio_storage_infra.preview.stackconfig import StackConfig

WORKER_MODULE = "divio_storage_infra.preview.planworker"
"""What a worker process runs (named, not imported: the worker imports the plan, which imports this module)."""
MIN_ENTRIES_PER_JOB = 40
"""Fewer entries per process than this are planned in fewer processes: a worker's start (importing Pulumi and the
provider SDK) costs about as much as planning this many websites."""
BLOCK_ENTRIES = 10
"""The most entries one run declares (a run holds about 1 MB per website until it ends). Smaller blocks hold less
memory but repeat a run's fixed cost (a fresh mock runtime and stack, a few milliseconds) more often. Measured in
pairs on one CPU (1,000 websites, ``--jobs 1``): blocks of 10 took 1-3% less CPU time than blocks of 25 and 12 MB
less memory; blocks of 100 took 10% more than 25 (a larger heap makes every step slower)."""

Span = tuple[int, int]
"""A block of entries as ``(start, stop)`` indexes into the selected entries."""
Run = Callable[["StackConfig"], dict[str, list[Record]]]
"""One mock run of the stack's program, as the pieces of the document it declared (:func:`.plan.run_pieces`)."""


def default_jobs() -> int:
    """Processes ``plan`` uses by default: the CPUs this process may run on."""
    return max(1, len(os.sched_getaffinity(0)))


def shares(size: int, count: int) -> list[Span]:
    """``count`` contiguous, nearly equal spans of ``size`` entries, in order."""
    return [(i * size // count, (i + 1) * size // count) for i in range(count)]


def spans(start: int, stop: int, most: int = 0) -> list[Span]:
    """``[start, stop)`` in the fewest contiguous, nearly equal spans of at most ``most`` entries (default
    :data:`BLOCK_ENTRIES`); one empty span for an empty range."""
    count = max(1, math.ceil((stop - start) / (most or BLOCK_ENTRIES)))
    return [(start + a, start + b) for a, b in shares(stop - start, count)]


class WorkerFailed(Exception):
    """A worker process did not return its files; the parent plans in one run instead."""


@dataclass
class Selection:
    """The entries this process plans: loaded once (the first run asks), those of ``only`` kept (None: all)."""

    only: frozenset[str] | None = None
    selected: list[Any] | None = None

    def select(self, load: Callable[[], Sequence[Any]], key: Callable[[Any], str]) -> list[Any]:
        """The selected entries, loading them on the first call."""
        if self.selected is None:
            loaded = load()
            only = self.only
            self.selected = list(loaded) if only is None else [e for e in loaded if key(e) in only]
        return self.selected

    def block(self, start: int, stop: int) -> planblocks.Hook:
        """A hook answering with the selected ``[start:stop]``."""

        def hook(load: Callable[[], Sequence[Any]], key: Callable[[Any], str]) -> Sequence[Any]:
            return self.select(load, key)[start:stop]

        return hook

    def whole(self) -> planblocks.Hook:
        """A hook answering with every selected entry (one run over all of them)."""
        return self.block(0, sys.maxsize)


def plan_share(run: Run, stack_config: StackConfig, selection: Selection, share: Span, spill: Spill) -> None:
    """Run the blocks of ``share`` one after the other, each run's pieces written to ``spill``."""
    for start, stop in spans(*share):
        with installed(selection.block(start, stop)):
            spill.add(run(stack_config))


@dataclass
class FanOut:
    """The parent's side: the first run's hook shares the entries out, then the rest of its own blocks, the merge."""

    stack_config: StackConfig
    jobs: int
    spill: Spill
    selection: Selection
    workers: list[tuple[subprocess.Popen[bytes], Path]] = field(default_factory=list)
    own: list[Span] = field(default_factory=list)
    """The blocks this process still runs after the first."""
    hooked: bool = False
    """True once the program asked for its entries (a platform program); other programs run once, as they are."""

    def hook(self, load: Callable[[], Sequence[Any]], key: Callable[[Any], str]) -> Sequence[Any]:
        """Start a worker per share but the first; return the first block of the first share."""
        entries = self.selection.select(load, key)
        if self.hooked:  # a program that asks twice in one run declares everything (never happens in ours)
            return entries
        self.hooked = True
        count = max(1, min(self.jobs, len(entries) // MIN_ENTRIES_PER_JOB))
        per_process = shares(len(entries), count)
        directory = self.spill.directory
        for index, share in enumerate(per_process[1:], start=1):
            request, result = directory / f"request-{index}", directory / f"result-{index}"
            payload = (self.stack_config, self.spill.kinds, self.selection.only, share, str(directory))
            request.write_bytes(pickle.dumps(payload))
            command = [sys.executable, "-m", WORKER_MODULE, str(request), str(result)]
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            self.workers.append((process, result))
        (start, stop), *self.own = spans(*per_process[0])
        return entries[start:stop]

    def results(self) -> list[dict[str, Path]]:
        """The merged files of every worker, in share order; WorkerFailed when any did not finish cleanly."""
        found: list[dict[str, Path]] = []
        for process, result in self.workers:
            if process.wait() != 0 or not result.is_file():
                raise WorkerFailed(f"a plan worker exited with {process.returncode}")
            found.append(pickle.loads(result.read_bytes()))  # noqa: S301 - written by our own worker just now
        return found

    def close(self) -> None:
        """Stop workers still running (the parent failed or was interrupted)."""
        for process, _ in self.workers:
            if process.poll() is None:
                process.kill()
                process.wait()


def plan_in_blocks(
    run: Run, stack_config: StackConfig, jobs: int, spill: Spill, only: frozenset[str] | None = None
) -> dict[str, Path]:
    """Plan the stack's program, in blocks (and with ``jobs`` > 1 in worker processes too) when it is a platform
    program with enough entries, only the entries of ``only`` when given; the merged files of the document's pieces
    (see the module doc)."""
    fan_out = FanOut(stack_config, jobs, spill, Selection(only))
    try:
        with installed(fan_out.hook):
            spill.add(run(stack_config))
        for start, stop in fan_out.own:
            plan_share(run, stack_config, fan_out.selection, (start, stop), spill)
        return spill.merge(fan_out.results())
    except Exception:  # noqa: BLE001 - one run over every entry reports whatever it was, as a plan without blocks
        fan_out.close()
        fresh = Spill(spill.directory / "again", spill.kinds)
        fresh.directory.mkdir(exist_ok=True)
        with installed(Selection(only).whole()):
            fresh.add(run(stack_config))
        return fresh.merge()
    finally:
        fan_out.close()


@contextlib.contextmanager
def installed(hook: planblocks.Hook) -> Iterator[None]:
    """The plan's hook while a program runs in this process."""
    previous = planblocks.install(hook)
    try:
        yield
    finally:
        planblocks.install(previous)
