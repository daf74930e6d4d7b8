"""Process-wide settings that nested users share: only the outermost use changes them, and it restores them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType


class Outermost:
    """A reusable, nesting, thread-safe context manager: the outermost entry calls ``apply``, which changes the
    setting and returns the function that undoes it; the outermost exit calls that function."""

    def __init__(self, apply: Callable[[], Callable[[], None]]) -> None:
        self._apply = apply
        self._lock = threading.Lock()
        self._depth = 0
        self._undo: Callable[[], None] | None = None

    def __enter__(self) -> None:
        with self._lock:
            if self._depth == 0:
                self._undo = self._apply()
            self._depth += 1

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0 and self._undo is not None:
                undo, self._undo = self._undo, None
                undo()
