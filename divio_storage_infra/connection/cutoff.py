"""Ending requests in flight at a moment in time: the one mechanism of its own beside the SDKs' transports.

Why it exists: botocore, azure-core and requests bound each socket operation (a connect, one wait for the next
bytes), never a whole request or a whole run. A server that sends one byte per second keeps a request alive
forever, and a transfer in flight outlives any time budget. A :class:`Cutoff` remembers every socket object that
the threads it watches create (an audit hook sees each one Python makes, TLS sockets included, whichever SDK or
library makes it) and shuts them all down when time is up: every blocked connect, TLS handshake, read or send then
ends at once with an error the SDK reports as usual, and the caller knows from :attr:`Window.expired` why.
"""

from __future__ import annotations

import socket
import ssl
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

_local = threading.local()
_install_lock = threading.Lock()
_installed = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    # Called for every audit event of the process: return at once unless it is a socket this thread's cutoff
    # watches. "socket.__new__" fires for plain sockets and for the SSLSocket that wraps one.
    if event != "socket.__new__":
        return
    cutoff: Cutoff | None = getattr(_local, "cutoff", None)
    if cutoff is not None:
        cutoff._remember(args[0])


def _install() -> None:
    global _installed
    with _install_lock:
        if not _installed:
            # Audit hooks cannot be removed; this one does nothing while no thread is being watched.
            sys.addaudithook(_audit)
            _installed = True


@dataclass
class Window:
    """A span of time within which some requests must end; ``expired`` once the cutoff ended them."""

    seconds: float
    ends: float
    """When the window ends (a :func:`time.monotonic` value)."""
    reason: str
    expired: bool = False
    handshake: bool = False
    """True when a TLS handshake was still under way as the window expired."""

    def left(self) -> float:
        """Seconds left (0 once over)."""
        return max(0.0, self.ends - time.monotonic())


class Cutoff:
    """Shuts down the sockets of the threads it watches when a :meth:`window` expires or :meth:`cut` is called.

    ``seconds`` (optional) is how long the whole run may take from now: windows never reach past that deadline,
    and :meth:`allows` refuses a wait for a retry that would.
    """

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = seconds
        self.deadline = None if seconds is None else time.monotonic() + seconds
        """When the run ends (a :func:`time.monotonic` value), None without a deadline."""
        self._started = False
        self._lock = threading.Lock()
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._windows = threading.local()
        self.cut_reason: str | None = None

    def _remember(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Remember the sockets the calling thread creates inside the block (worker threads call this too)."""
        # Installed on first use, not at import: every audit event of the process costs a call from then on.
        _install()
        previous = getattr(_local, "cutoff", None)
        _local.cutoff = self
        try:
            yield
        finally:
            _local.cutoff = previous

    def start(self) -> None:
        """Let the run's ``seconds`` count from now, the first time only (clients are set up before it starts)."""
        if not self._started and self.seconds is not None:
            self._started = True
            self.deadline = time.monotonic() + self.seconds

    @property
    def passed(self) -> bool:
        """True once the run's deadline is reached."""
        return self.deadline is not None and time.monotonic() >= self.deadline

    def extend(self, seconds: float) -> None:
        """Allow at least ``seconds`` more from now (a clean-up's one request after the deadline)."""
        if self.deadline is not None:
            self.deadline = max(self.deadline, time.monotonic() + seconds)

    def time_left(self) -> float | None:
        """Seconds until the run's deadline (None without one)."""
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    @contextmanager
    def window(self, seconds: float, reason: str = "request") -> Iterator[Window]:
        """Watch the calling thread and end its requests after ``seconds`` (or at the run's deadline, if sooner)."""
        left = self.time_left()
        limit = seconds if left is None else min(seconds, left)
        window = Window(seconds=limit, ends=time.monotonic() + limit, reason="deadline" if limit < seconds else reason)
        timer = threading.Timer(limit, self._expire, args=(window,))
        timer.daemon = True
        previous = getattr(self._windows, "current", None)
        self._windows.current = window
        with self.watching():
            timer.start()
            try:
                yield window
            finally:
                timer.cancel()
                self._windows.current = previous

    def current(self) -> Window | None:
        """The calling thread's open window, if any."""
        return getattr(self._windows, "current", None)

    def allows(self, wait: float) -> bool:
        """True when a retry may wait ``wait`` seconds and still start within the current window and deadline."""
        if self.cut_reason is not None:
            return False
        window = self.current()
        if window is not None and (window.expired or wait >= window.left()):
            return False
        left = self.time_left()
        return left is None or wait < left

    def _expire(self, window: Window) -> None:
        window.expired = True
        window.handshake = self._shut_all()

    def cut(self, reason: str) -> None:
        """End every request in flight now (for good: :meth:`allows` refuses retries afterwards)."""
        self.cut_reason = reason
        self._shut_all()

    def _shut_all(self) -> bool:
        """Shut every remembered socket down; True when one of them was still in its TLS handshake."""
        with self._lock:
            sockets = list(self._sockets)
        handshake = False
        for sock in sockets:
            with suppress(OSError, ValueError):
                if sock.fileno() < 0:
                    continue  # closed, or detached into the SSLSocket that wraps it (remembered too)
                if isinstance(sock, ssl.SSLSocket) and _handshaking(sock):
                    handshake = True
                # The plain socket's shutdown: SSLSocket.shutdown would also drop its TLS object under the reader.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
        return handshake


def _handshaking(sock: ssl.SSLSocket) -> bool:
    try:
        return sock.version() is None
    except (OSError, ValueError, AttributeError):
        return False
