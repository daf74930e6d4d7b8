"""Start a local server process, wait until it answers, and stop it: what every local store has in common.

A server gets a log file; :func:`start` returns once its readiness check passes (bounded wait) and raises
:class:`ServerError` with the log's tail when it cannot start. A port taken between choosing and binding it is
retried with another port only when the caller lets the port be chosen.
"""

from __future__ import annotations

import contextlib
import os
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from divio_storage_infra.localstores.ports import free_port

START_ATTEMPTS = 3
STOP_WAIT = 10.0
"""Seconds a server gets to exit after SIGTERM before it is killed."""


class ServerError(RuntimeError):
    """A local server could not be started (missing binary, crashed, port taken, never became ready)."""


class PortInUse(ServerError):
    """The port asked for is held by another process."""

    def __init__(self, name: str, port: int) -> None:
        super().__init__(f"{name} cannot listen on 127.0.0.1:{port}: the port is in use")
        self.port = port


@dataclass
class Server:
    """A running server: ``url`` is its base URL (Azurite: including the account path)."""

    name: str
    url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """Terminate the server (its whole process group) and wait; kill it after :data:`STOP_WAIT` seconds."""
        if self.process.poll() is not None:
            return
        _signal_group(self.process, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_WAIT)
        except subprocess.TimeoutExpired:
            _signal_group(self.process, signal.SIGKILL)
            self.process.wait(timeout=STOP_WAIT)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's output, for error messages."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    # Each server runs in its own process group (Azurite's launcher starts node as a child): signal them all.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def answers(url: str, *, ca_bundle: Path | None = None) -> bool:
    """Whether ``url`` gives any HTTP answer within 1 s (an error status counts: the server is serving)."""
    context = ssl.create_default_context(cafile=str(ca_bundle)) if ca_bundle is not None else None
    try:
        with urllib.request.urlopen(url, timeout=1, context=context):  # noqa: S310 - loopback URL we built
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def _address_in_use(tail: str) -> bool:
    return "EADDRINUSE" in tail or "address already in use" in tail.lower()


@dataclass(frozen=True)
class Launch:
    """How to run one server: its command for a port, its URL for a port, and its readiness check."""

    name: str
    command: Callable[[int], list[str]]
    url_for: Callable[[int], str]
    ready: Callable[[str], bool]
    env: Mapping[str, str]


def start(launch: Launch, workdir: Path, *, port: int | None = None, timeout: float = 30.0) -> Server:
    """Start ``launch`` in ``workdir`` on ``port`` (None: a free one) and wait until it is ready."""
    workdir.mkdir(parents=True, exist_ok=True)
    last_error = ""
    for attempt in range(1 if port is not None else START_ATTEMPTS):
        chosen = port if port is not None else free_port()
        server = _spawn(launch, workdir, chosen)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and server.process.poll() is None:
            if launch.ready(server.url):
                return server
            time.sleep(0.1)
        exited = server.process.poll() is not None
        server.stop()
        tail = server.log_tail()
        if not exited:
            last_error = f"{launch.name} did not answer on port {chosen} within {timeout:g} s:\n{tail}"
            break
        if port is not None and _address_in_use(tail):
            raise PortInUse(launch.name, port)
        last_error = f"{launch.name} exited with status {server.process.returncode} (attempt {attempt + 1}):\n{tail}"
        # Another process may have taken the port between free_port() and the bind: only that is worth a retry.
        if not _address_in_use(tail):
            break
    raise ServerError(f"{last_error}\nlog: {workdir}")


def _spawn(launch: Launch, workdir: Path, port: int) -> Server:
    log = workdir / f"{launch.name}-{port}.log"
    with log.open("wb") as out:
        # The server keeps its own handle on the log; ours can close. Its own session: a signal to it (or a Ctrl-C
        # in the terminal) reaches only what we send, and stop() can end its children with it.
        process = subprocess.Popen(
            launch.command(port),
            cwd=workdir,
            env=dict(launch.env),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Server(launch.name, launch.url_for(port), port, process, log)
