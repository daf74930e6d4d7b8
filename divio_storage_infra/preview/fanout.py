"""Plan a large platform program in several processes: each declares a block of the registry, the plan merges.

A platform program (:mod:`divio_storage_infra.platform`) validates its whole registry and then hands the entries to
:func:`divio_storage_infra.platform.declare`, which asks the plan's fan-out hook (if one is installed) which entries
to declare. Under ``divio-storage plan`` with more than one job, the hook in the parent process starts one worker
process per further block (``python -m divio_storage_infra.preview.fanout``), and keeps the first block for
itself. Each worker runs the same program on the same stack config with its own block and returns what it declared
(pickled); the parent merges the records (:func:`merge`) and builds the plan from them exactly as from a serial
run, so the bytes are the same. Resources several blocks declare (a provider shared by websites of different
blocks) must be identical registrations; anything else is a duplicate URN, as it would be in one process.

If a worker fails in any way, the parent plans the stack again in one process, so errors read exactly as in a
serial run. Nothing of this reaches a real ``pulumi up``: the hook is only ever installed by this module, in the
processes of ``plan``, and without it the platform program declares every entry.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from divio_storage_infra import platform

if TYPE_CHECKING:
    from divio_storage_infra.preview.mockrun import Declared
    from divio_storage_infra.preview.stackconfig import StackConfig

WORKER_MODULE = "divio_storage_infra.preview.planworker"
"""What a worker process runs (named, not imported: the worker imports the plan, which imports this module)."""
MIN_ENTRIES_PER_JOB = 40
"""Fewer entries per process than this are planned in fewer processes: a worker's start (importing Pulumi and the
provider SDK) costs about as much as planning this many websites."""


def default_jobs() -> int:
    """Processes ``plan`` uses by default: the CPUs this process may run on."""
    return max(1, len(os.sched_getaffinity(0)))


def block(entries: Sequence[Any], index: int, count: int) -> Sequence[Any]:
    """Block ``index`` of ``count`` contiguous, nearly equal blocks of ``entries``."""
    size = len(entries)
    return entries[index * size // count : (index + 1) * size // count]


class WorkerFailed(Exception):
    """A worker process did not return a record; the parent plans in one process instead."""


@dataclass
class FanOut:
    """The parent's side: a hook that starts the workers when the program reaches its entries, then the merge."""

    stack_config: StackConfig
    jobs: int
    workers: list[tuple[subprocess.Popen[bytes], Path]] = field(default_factory=list)
    _tmp: tempfile.TemporaryDirectory[str] | None = None

    def hook(self, entries: Sequence[Any]) -> Sequence[Any]:
        """Start a worker per block but the first, and return the first; all entries when too few to share."""
        count = min(self.jobs, len(entries) // MIN_ENTRIES_PER_JOB)
        if count <= 1 or self.workers:
            return entries
        self._tmp = tempfile.TemporaryDirectory(prefix="divio-storage-plan-")
        directory = Path(self._tmp.name)
        for index in range(1, count):
            request, result = directory / f"request-{index}", directory / f"result-{index}"
            request.write_bytes(pickle.dumps((self.stack_config, index, count)))
            command = [sys.executable, "-m", WORKER_MODULE, str(request), str(result)]
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            self.workers.append((process, result))
        return block(entries, 0, count)

    def records(self) -> list[Declared]:
        """What every worker declared, in block order; WorkerFailed when any of them did not finish cleanly."""
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


@contextlib.contextmanager
def installed(hook: platform.FanOutHook) -> Iterator[None]:
    """The platform program's fan-out hook while a program runs in this process."""
    previous = platform.set_plan_fanout(hook)
    try:
        yield
    finally:
        platform.set_plan_fanout(previous)


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
