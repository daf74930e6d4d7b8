"""Plan a large platform program in blocks: each run declares a block of the registry, the plan merges the runs.

A platform program (:mod:`divio_storage_infra.platform`) validates its whole registry and then passes the entries
through :func:`divio_storage_infra.planblocks.entries`, which asks the plan's hook (if one is installed) which
entries to declare. :func:`declare_in_blocks` installs a hook for the first run: it shares the entries among up to
``jobs`` processes (a worker process per further share, ``python -m divio_storage_infra.preview.planworker``), and
each process plans its share in consecutive runs of at most :data:`BLOCK_ENTRIES` entries. Each run is a whole mock
run of the same program on the same stack config; the records are merged (:func:`merge`) and the plan is built from
them exactly as from a single run, so the bytes are the same. Resources several blocks declare (a provider shared
by websites of different blocks) must be identical registrations; anything else is a duplicate URN, as it would be
in one run.

Why blocks: the SDK keeps everything a run declares (every resource's outputs, futures and pending tasks) until
the run ends, so one run over 500 websites holds about half a gigabyte, and the larger heap makes every step
slower. Runs of at most :data:`BLOCK_ENTRIES` entries keep the memory and the time per website of a small registry.

If any run or worker fails, the plan runs the program once more in one run over every entry, so errors read exactly
as without blocks. Nothing of this reaches a real ``pulumi up``: the hook is only ever installed by this module, in
the processes of ``plan``, and without it the platform program declares every entry.
"""

from __future__ import annotations

import contextlib
import math
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from divio_storage_infra import planblocks

if TYPE_CHECKING:
    from divio_storage_infra.preview.mockrun import Declared
    from divio_storage_infra.preview.stackconfig import StackConfig

WORKER_MODULE = "divio_storage_infra.preview.planworker"
"""What a worker process runs (named, not imported: the worker imports the plan, which imports this module)."""
MIN_ENTRIES_PER_JOB = 40
"""Fewer entries per process than this are planned in fewer processes: a worker's start (importing Pulumi and the
provider SDK) costs about as much as planning this many websites."""
BLOCK_ENTRIES = 25
"""The most entries one run declares (a run holds about 1 MB per website until it ends). Smaller blocks hold less
memory but repeat a run's fixed cost (a fresh mock runtime and stack, a few milliseconds) more often; between 20
and 50 the CPU time of a 500-website plan did not change measurably."""

Span = tuple[int, int]
"""A block of entries as ``(start, stop)`` indexes into the program's list."""
Declare = Callable[["StackConfig"], "Declared"]
"""One mock run of the stack's program (:func:`divio_storage_infra.preview.plan.declare`)."""


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
    """A worker process did not return a record; the parent plans in one run instead."""


def declare_span(declare: Declare, stack_config: StackConfig, span: Span) -> list[Declared]:
    """What the runs over the blocks of ``span`` declared, one record per block (a worker's whole share)."""
    records = []
    for start, stop in spans(*span):
        with installed(_slice(start, stop)):
            records.append(declare(stack_config))
    return records


def _slice(start: int, stop: int) -> planblocks.Hook:
    """A hook answering with ``entries[start:stop]``."""

    def hook(entries: Sequence[Any]) -> Sequence[Any]:
        return entries[start:stop]

    return hook


@dataclass
class FanOut:
    """The parent's side: the first run's hook shares the entries out, then the rest of its own blocks, the merge."""

    stack_config: StackConfig
    jobs: int
    workers: list[tuple[subprocess.Popen[bytes], Path]] = field(default_factory=list)
    own: list[Span] = field(default_factory=list)
    """The blocks this process still runs after the first."""
    hooked: bool = False
    """True once the program asked for its block (a platform program); other programs run once, as they are."""
    _tmp: tempfile.TemporaryDirectory[str] | None = None

    def hook(self, entries: Sequence[Any]) -> Sequence[Any]:
        """Start a worker per share but the first; return the first block of the first share."""
        if self.hooked:  # a program that asks twice in one run declares everything (never happens in ours)
            return entries
        self.hooked = True
        count = max(1, min(self.jobs, len(entries) // MIN_ENTRIES_PER_JOB))
        per_process = shares(len(entries), count)
        if count > 1:
            self._tmp = tempfile.TemporaryDirectory(prefix="divio-storage-plan-")
            directory = Path(self._tmp.name)
            for index, share in enumerate(per_process[1:], start=1):
                request, result = directory / f"request-{index}", directory / f"result-{index}"
                request.write_bytes(pickle.dumps((self.stack_config, share)))
                command = [sys.executable, "-m", WORKER_MODULE, str(request), str(result)]
                process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
                self.workers.append((process, result))
        (start, stop), *self.own = spans(*per_process[0])
        return entries[start:stop]

    def records(self) -> list[Declared]:
        """What every worker declared, in share order; WorkerFailed when any of them did not finish cleanly."""
        found: list[Declared] = []
        for process, result in self.workers:
            if process.wait() != 0 or not result.is_file():
                raise WorkerFailed(f"a plan worker exited with {process.returncode}")
            found.append(pickle.loads(result.read_bytes()))  # noqa: S301 - written by our own worker just now
        return found

    def close(self) -> None:
        """Stop workers still running (the parent failed or was interrupted) and remove their files."""
        for process, _ in self.workers:
            if process.poll() is None:
                process.kill()
                process.wait()
        if self._tmp is not None:
            self._tmp.cleanup()


def declare_in_blocks(declare: Declare, stack_config: StackConfig, jobs: int) -> Declared:
    """What one run of the stack's program declares, planned in blocks (and with ``jobs`` > 1 in worker processes
    too) when it is a platform program with enough entries; see the module doc."""
    fan_out = FanOut(stack_config, jobs)
    try:
        with installed(fan_out.hook):
            first = declare(stack_config)
        if not fan_out.hooked or (not fan_out.own and not fan_out.workers):
            return first
        records = [first]
        for span in fan_out.own:
            records += declare_span(declare, stack_config, span)
        records += fan_out.records()
        return merge(records[0], records[1:])
    except Exception:  # noqa: BLE001 - one run over every entry reports whatever it was, as a plan without blocks
        fan_out.close()
        return declare(stack_config)
    finally:
        fan_out.close()


@contextlib.contextmanager
def installed(hook: planblocks.Hook) -> Iterator[None]:
    """The plan's block hook while a program runs in this process."""
    previous = planblocks.install(hook)
    try:
        yield
    finally:
        planblocks.install(previous)


def merge(first: Declared, others: Sequence[Declared]) -> Declared:
    """One record of everything the blocks declared; identical shared registrations once, conflicts an error."""
    from divio_storage_infra.preview.mockrun import Declared, DuplicateUrnError

    merged = Declared(
        resources=list(first.resources),
        calls=list(first.calls),
        outputs=dict(first.outputs),
        component_outputs=dict(first.component_outputs),
    )
    by_urn = {resource.urn: resource for resource in merged.resources}
    for record in others:
        for resource in record.resources:
            known = by_urn.get(resource.urn)
            if known is None:
                by_urn[resource.urn] = resource
                merged.resources.append(resource)
            elif known != resource:
                raise DuplicateUrnError(resource.urn, known, resource.parent)
        merged.calls.extend(record.calls)
        for name, value in record.outputs.items():
            if merged.outputs.setdefault(name, value) != value:
                raise ValueError(f"two blocks of the plan export {name!r} with different values")
        merged.component_outputs.update(record.component_outputs)
    return merged
