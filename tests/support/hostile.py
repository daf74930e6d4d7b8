"""A hostile HTTP server on 127.0.0.1 for ``check``'s bounds: it answers every request in one bad way.

Modes:

- ``drip``: the whole answer (status line included), one byte every half second;
- ``drip-body``: the status line and headers at once, then a body of one byte every half second;
- ``endless``: ``200 OK`` and a body without end (no Content-Length), as fast as the client reads;
- ``garbage``: bytes that are not HTTP at all;
- ``echo500``: ``500`` with an S3-style XML error (and Azure's error-code header) whose message echoes the request
  (Authorization included) over many lines with tabs and a bidi override, plus any ``leak`` strings (what a server
  that knew the secret could send back);
- ``slow``: sleeps past the client's timeout (``slow_seconds``), then answers ``200``;
- ``store``: a tiny store: PUT/DELETE succeed at once, GET and OPTIONS hang (``slow_seconds``); DELETE hangs too
  when ``hang_delete`` is set. Used to interrupt ``check`` after it has written.

The server records each request line in ``requests`` so tests can see what the client did.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

MODES = ("drip", "drip-body", "endless", "garbage", "echo500", "slow", "store")


@dataclass
class Hostile:
    """A running hostile server: ``url`` is its base URL; ``requests`` lists ``"METHOD path"`` as they arrive."""

    mode: str
    url: str
    stop: threading.Event
    leak: tuple[str, ...] = ()
    slow_seconds: float = 30.0
    hang_delete: bool = False
    requests: list[str] = field(default_factory=list)

    def wait_for(self, method: str, timeout: float = 20.0) -> str:
        """The first request line of ``method`` (waits up to ``timeout`` seconds for it)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for line in list(self.requests):
                if line.startswith(f"{method} "):
                    return line
            time.sleep(0.05)
        raise AssertionError(f"no {method} request reached the {self.mode} server: {self.requests}")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # the test output stays quiet
        pass

    def _pause(self, seconds: float) -> bool:
        """Sleep unless the server stops first; False when it stopped."""
        return not self.server.hostile.stop.wait(seconds)

    def _drip(self, data: bytes) -> None:
        for i in range(len(data)):
            if not self._pause(0.5):
                return
            self.wfile.write(data[i : i + 1])
            self.wfile.flush()

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _any(self) -> None:
        hostile = self.server.hostile
        hostile.requests.append(f"{self.command} {self.path}")
        self._body()
        mode = hostile.mode
        if mode == "drip":
            self._drip(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        elif mode == "drip-body":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            self.wfile.flush()
            self._drip(b"x" * 100000)
        elif mode == "endless":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n")
            chunk = b"A" * 65536
            while not hostile.stop.is_set():
                self.wfile.write(chunk)
        elif mode == "garbage":
            self.wfile.write(b"\x00\xffSSH-2.0-not-http\r\n\x1b[31m garbage \x07\r\n\r\n")
            self.wfile.flush()
        elif mode == "echo500":
            self._echo500()
        elif mode == "slow":
            if self._pause(hostile.slow_seconds):
                self._send(200, b"late")
        elif mode == "store":
            self._store()
        self.close_connection = True

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _echo500(self) -> None:
        hostile = self.server.hostile
        # What leaks first, so it falls within what a client prints of the message.
        echoed = "\n".join(hostile.leak) + f"\nAuthorization: {self.headers.get('Authorization')}\n"
        echoed += f"{self.requestline}\n{self.headers}"
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
            f"<Message>We echo your request:\n{escape(echoed)}\t\u202e[reversed]\r\n</Message></Error>"
        ).encode()
        self._send(500, body, {"Content-Type": "application/xml", "x-ms-error-code": "InternalError"})

    def _store(self) -> None:
        hostile = self.server.hostile
        if self.command == "PUT":
            self._send(200, b"", {"ETag": '"0"'})
        elif self.command == "DELETE":
            if hostile.hang_delete and not self._pause(hostile.slow_seconds):
                return
            self._send(204, b"")
        elif self._pause(hostile.slow_seconds):
            self._send(200, b"late")

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_OPTIONS = _any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hostile: Hostile


@contextmanager
def hostile_server(
    mode: str, *, leak: tuple[str, ...] = (), slow_seconds: float = 30.0, hang_delete: bool = False
) -> Iterator[Hostile]:
    """Run a hostile server of ``mode`` on a free loopback port for the ``with`` block."""
    assert mode in MODES, mode
    server = _Server(("127.0.0.1", 0), _Handler)
    port = server.server_address[1]
    hostile = Hostile(
        mode, f"http://127.0.0.1:{port}", threading.Event(), leak, slow_seconds=slow_seconds, hang_delete=hang_delete
    )
    server.hostile = hostile
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield hostile
    finally:
        hostile.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
