"""A shaping relay: a loopback TCP relay in front of a local store that adds latency and limits bandwidth.

It relays bytes (TLS passes through untouched, so certificates and S3 signatures stay valid) and shapes them the
way a store in the cloud feels from a developer's machine: every answer waits ``latency_ms`` before its first
byte, and each direction of a connection moves at most ``bandwidth_mbit`` megabits per second.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass

CHUNK = 16 * 1024
"""Bytes relayed per read: small enough that the bandwidth limit is smooth."""
LIKE_CLOUD_LATENCY_MS = 40
"""``--like-cloud``'s added latency per answer (ms): a request to a cloud region from a European office."""
LIKE_CLOUD_BANDWIDTH_MBIT = 50.0
"""``--like-cloud``'s bandwidth per connection and direction (Mbit/s): a good office uplink."""


@dataclass(frozen=True)
class Shaping:
    """What the relay adds: ``latency_ms`` before each answer (0: none), ``bandwidth_mbit`` per connection and
    direction (None: unlimited)."""

    latency_ms: int = 0
    bandwidth_mbit: float | None = None

    def describe(self) -> str:
        """One line for the summary, e.g. ``40 ms per answer, 50 Mbit/s``."""
        parts = [f"{self.latency_ms} ms per answer"] if self.latency_ms else []
        if self.bandwidth_mbit:
            parts.append(f"{self.bandwidth_mbit:g} Mbit/s per connection")
        return ", ".join(parts) or "no shaping"


class _Pace:
    """Holds a direction of one connection to its bandwidth."""

    def __init__(self, mbit: float | None) -> None:
        self.bytes_per_second = mbit * 1_000_000 / 8 if mbit else None
        self.start = time.monotonic()
        self.sent = 0

    async def wait(self, size: int) -> None:
        """Sleep until ``size`` more bytes fit the bandwidth since the connection opened."""
        if self.bytes_per_second is None:
            return
        self.sent += size
        due = self.start + self.sent / self.bytes_per_second
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


class Relay:
    """A relay from ``127.0.0.1:port`` to ``127.0.0.1:upstream_port``, run in a thread of its own."""

    def __init__(self, port: int, upstream_port: int, shaping: Shaping) -> None:
        self.port = port
        self.upstream_port = upstream_port
        self.shaping = shaping
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="shaping-relay", daemon=True)

    def start(self) -> None:
        """Listen (raises OSError when the port is taken) and serve in the background."""
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._connection, "127.0.0.1", self.port, reuse_address=True)
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening, drop open connections and end the thread."""
        if self._server is None:
            return
        server = self._server

        async def close() -> None:
            server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._server = None

    async def _connection(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        try:
            upstream_in, upstream_out = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_out.close()
            return
        # Set when the client sent something: the next bytes from the store start an answer, which is delayed.
        asked = asyncio.Event()
        try:
            await asyncio.gather(
                self._pipe(client_in, upstream_out, asked, answer=False),
                self._pipe(upstream_in, client_out, asked, answer=True),
            )
        finally:
            for writer in (client_out, upstream_out):
                writer.close()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, asked: asyncio.Event, *, answer: bool
    ) -> None:
        pace = _Pace(self.shaping.bandwidth_mbit)
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while data := await reader.read(CHUNK):
                if not answer:
                    asked.set()
                elif asked.is_set():
                    asked.clear()
                    await asyncio.sleep(self.shaping.latency_ms / 1000)
                await pace.wait(len(data))
                writer.write(data)
                await writer.drain()
        # One side finished: let the other see the end of the stream.
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()
