"""One ``dev`` per data directory: an exclusive lock on a file in it that says who holds it.

The lock is an OS file lock (``fcntl.flock``), so it is released by the kernel when its holder dies, however it
dies; the file's text (the holder's process id and env file) only serves the message a second ``dev`` prints.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import IO, Any

LOCK_NAME = "dev.lock"


class Locked(Exception):
    """Another ``dev`` holds the data directory; the message names its process and env file."""


class DataDirLock:
    """The lock on ``data_dir`` (``dev.lock`` in it); :meth:`acquire` takes it, :meth:`release` gives it back."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_NAME
        self._handle: IO[str] | None = None

    def acquire(self, holder: dict[str, Any]) -> None:
        """Take the lock and record ``holder`` (JSON) in it; raise :class:`Locked` when another process has it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            text = handle.read()
            handle.close()
            raise Locked(_running(self.path.parent, text)) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), **holder}, sort_keys=True))
        handle.flush()
        self._handle = handle

    def update(self, holder: dict[str, Any]) -> None:
        """Replace what the lock file says about its holder (e.g. once the servers' process ids are known)."""
        if self._handle is None:
            return
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.write(json.dumps({"pid": os.getpid(), **holder}, sort_keys=True))
        self._handle.flush()

    def release(self) -> None:
        """Remove the lock file and let go of the lock."""
        if self._handle is None:
            return
        self.path.unlink(missing_ok=True)
        fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()
        self._handle = None


def read_holder(data_dir: Path) -> dict[str, Any]:
    """What the lock file in ``data_dir`` says about its holder ({} without one)."""
    try:
        value = json.loads((data_dir / LOCK_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _running(data_dir: Path, text: str) -> str:
    try:
        holder = json.loads(text)
    except ValueError:
        holder = {}
    pid = holder.get("pid", "?") if isinstance(holder, dict) else "?"
    env_file = holder.get("env_file", "?") if isinstance(holder, dict) else "?"
    return (
        f"a dev for this data directory ({data_dir}) is running already (process {pid}); its env file is {env_file}. "
        "Stop it with Ctrl-C, or pass another --data-dir"
    )
