"""Which of a program's independent entries this run declares: all of them, unless the offline plan asks for a block.

A program with a list of independent entries (the platform program's registry, one website each) passes the list
through :func:`entries` right before declaring them. Outside ``divio-storage plan`` nothing is installed and every
entry is declared. ``plan`` (:mod:`divio_storage_infra.preview.fanout`) installs a hook that answers with one
contiguous block, runs the program once per block, in this process and in worker processes, and merges what the
runs declared into the document a single run gives, byte for byte. Pure Python, no Pulumi import: a program that
declares its resources with the provider SDK directly (the benchmark's baseline) can use it as well.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

Hook = Callable[[Sequence[Any]], Sequence[Any]]
"""Given every entry of the program's list (in order), the contiguous block of them this run declares."""

_hook: Hook | None = None


def install(hook: Hook | None) -> Hook | None:
    """Install the offline plan's hook (None removes it); returns the one it replaces. Only ``plan`` calls this.

    A real ``pulumi up`` runs the program in a fresh process where no hook is installed, so it declares every entry.
    """
    global _hook
    previous, _hook = _hook, hook
    return previous


def entries(items: Sequence[T]) -> Sequence[T]:
    """``items``, or the block of them the offline plan asks this run to declare."""
    if _hook is None:
        return items
    return _hook(items)
