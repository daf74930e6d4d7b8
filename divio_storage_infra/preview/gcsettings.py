"""The cyclic garbage collector's settings while the offline engine runs a program (no Pulumi import).

A mock run of a platform program allocates millions of short-lived objects (outputs, futures, protobuf messages)
and keeps most of what it declares until the plan is printed. With Python's default thresholds (700, 10, 10) the
collector re-scanned the whole growing heap again and again: at 200 websites two thirds of the CPU time, growing
faster than the program itself. :func:`tuned` freezes what exists before the run (imports, the caller's data) out
of the collector's reach and raises the thresholds of the older generations, so the heap the run keeps is not
scanned again and again while the plan is built; young garbage (the SDK makes many short-lived reference cycles)
is still collected as usual, and reference counting frees everything else at once.

Only the offline engine (``plan`` and the tests' mock runs) does this. A real ``pulumi up`` runs the program in the
Pulumi language host, which never enters :func:`tuned`; the components change nothing about the collector.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator

from divio_storage_infra.preview.outermost import Outermost

THRESHOLDS = (1_000, 1_000, 1_000)
"""Generation thresholds inside :func:`tuned` (Python's: 700, 10, 10): young collections about as often as usual,
so the SDK's short-lived reference cycles die young, but the middle generation only every 1,000 young collections
and the old one (the whole heap) practically never."""


def _tune() -> Callable[[], None]:
    saved = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)

    def restore() -> None:
        gc.set_threshold(*saved)
        gc.unfreeze()

    return restore


_tuned = Outermost(_tune)


def tuned() -> Outermost:
    """Freeze the current heap and raise the thresholds; nests (only the outermost use changes and restores them).

    Afterwards the thresholds are Python's again and the frozen objects are ordinary old objects, so a process that
    runs many programs (the tests) collects each run's garbage as it always did.
    """
    return _tuned


@contextlib.contextmanager
def one_run() -> Iterator[None]:
    """One mock run: :func:`tuned`, and the run's own garbage collected when it ends.

    Everything that exists on entry is frozen first (imports, the caller's data, the records of earlier runs of a
    plan in blocks), so the collection at the end scans only what the run made. Everything the SDK made for the run
    (resources, outputs, futures, tasks) is garbage by then, much of it in reference cycles, which reference counting
    never frees: collected here, each run of a plan in blocks starts from the memory the one before started from.
    Garbage made between two runs (a run's record, once the plan has turned it into pieces of the document) is
    collected before the freeze, which would otherwise keep it for good: without that, a 2,000-website plan in one
    process grew to 110 MB instead of 90 MB, and its memory grew with the fleet.
    """
    with tuned():
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.collect()
