"""Which of a program's independent entries this run declares: all of them, unless the offline plan selects some.

This is the one hook a program carries for the offline plan. A program with a list of independent entries (the
platform program's registry, one website each) hands :func:`entries` the function that loads the list and the key
that names an entry. Outside ``divio-storage plan`` nothing is installed: :func:`entries` calls the loader and
returns every entry, so a real ``pulumi up`` declares everything, exactly as without the hook. ``plan``
(:mod:`divio_storage_infra.preview.blockplan`) installs a hook that loads the list once per process (a plan runs
the program many times) and answers with the entries one run declares: a block of a full plan, a worker's share,
or the websites an incremental review selected by key. Pure Python, no Pulumi import: a program that declares its
resources with the provider SDK directly (the benchmark's baseline) can use it as well.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

Hook = Callable[[Callable[[], Sequence[Any]], Callable[[Any], str]], Sequence[Any]]
"""Given the loader of every entry (in order) and the key of an entry, the entries this run declares."""

_hook: Hook | None = None


def install(hook: Hook | None) -> Hook | None:
    """Install the offline plan's hook (None removes it); returns the one it replaces. Only ``plan`` calls this.

    A real ``pulumi up`` runs the program in a fresh process where no hook is installed, so it declares every entry.
    """
    global _hook
    previous, _hook = _hook, hook
    return previous


def entries(load: Callable[[], Sequence[T]], key: Callable[[T], str]) -> Sequence[T]:
    """``load()``, or the entries of it the offline plan asks this run to declare (``key`` names an entry: the
    plan selects by it, so it must be unique and stable, e.g. the entry's stack output name)."""
    if _hook is None:
        return load()
    return _hook(load, key)
