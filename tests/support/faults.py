"""Production-shaped network faults on loopback, for the tests of ``check`` and ``bench``.

- :func:`make_pki`: a test CA the tools are told to trust (its PEM is ``Pki.bundle``, named the way users name a
  corporate CA), and server certificates from it: ``good`` (127.0.0.1 and localhost), ``expired``, ``wrong-host``;
  plus ``untrusted``, from a second CA nobody trusts.
- :class:`Relay` (:func:`relay`): an HTTP relay in front of a plain-HTTP server (an emulator), serving TLS with one
  of those certificates (or plain HTTP), that can stall the TLS handshake, answer the first requests ``503`` with
  ``Retry-After`` (S3's ``SlowDown`` and Azure's ``ServerBusy`` at once), close a keep-alive connection after each
  answer without ``Connection: close`` (the next request on it finds it closed), and limit the bandwidth. It keeps
  a log of the requests it saw.
- :class:`Proxy` (:func:`proxy`): an HTTP proxy that tunnels ``CONNECT`` (what clients send for HTTPS) and
  records the targets, or refuses them with 403.

Everything binds 127.0.0.1 and stops (sockets closed, threads joined) when its ``with`` block ends.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import trustme

CERT_KINDS = ("good", "expired", "wrong-host", "untrusted")
_HEAD_LIMIT = 64 * 1024
_LOGGING = threading.Lock()


@dataclass
class Pki:
    """The test CA (``bundle``: its PEM file) and server certificates by kind (see :data:`CERT_KINDS`)."""

    ca: trustme.CA
    bundle: Path
    certs: dict[str, trustme.LeafCert]
    issuer: str = "divio-storage test CA"
    untrusted_issuer: str = "untrusted test CA"

    def server_context(self, kind: str) -> ssl.SSLContext:
        """A server-side TLS context presenting the ``kind`` certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.certs[kind].configure_cert(context)
        return context

    def cert_files(self, tmp: Path, kind: str = "good") -> tuple[Path, Path]:
        """The ``kind`` certificate chain and its key as PEM files in ``tmp`` (for servers that take files)."""
        chain, key = tmp / f"{kind}-chain.pem", tmp / f"{kind}-key.pem"
        self.certs[kind].private_key_pem.write_to_path(str(key))
        chain.write_bytes(b"".join(blob.bytes() for blob in self.certs[kind].cert_chain_pems))
        return chain, key


def make_pki(directory: Path) -> Pki:
    """A fresh CA and its certificates; the CA's PEM is written to ``directory/ca.pem``."""
    ca = trustme.CA(organization_name="divio-storage test CA")
    other = trustme.CA(organization_name="untrusted test CA")
    now = dt.datetime.now(dt.UTC)
    certs = {
        "good": ca.issue_cert("127.0.0.1", "localhost"),
        "expired": ca.issue_cert(
            "127.0.0.1", "localhost", not_before=now - dt.timedelta(days=30), not_after=now - dt.timedelta(days=1)
        ),
        "wrong-host": ca.issue_cert("storage.wrong-host.example"),
        "untrusted": other.issue_cert("127.0.0.1", "localhost"),
    }
    bundle = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return Pki(ca, bundle, certs)


# --- the relay ---------------------------------------------------------------------------------------------------


@dataclass
class Relay:
    """A running relay: ``url`` (https:// with a certificate, else http://), the ``log`` of request heads seen."""

    url: str
    port: int
    log: list[str] = field(default_factory=list)
    """Each request as ``"METHOD path"``, plus ``" [authorization SCHEME]"`` when it carried an Authorization
    header (``SCHEME``: its first word, e.g. ``SharedKey``, ``Basic``, ``AWS4-HMAC-SHA256``)."""
    times: list[float] = field(default_factory=list)
    """When each request of ``log`` arrived (``time.monotonic()``, this process's clock)."""
    throttled: int = 0
    """How many requests were answered 503 instead of being forwarded."""
    dropped: int = 0
    """How many keep-alive connections were closed under a client's next request."""


class _Stop:
    def __init__(self) -> None:
        self.event = threading.Event()
        self.sockets: list[socket.socket] = []
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()

    def track(self, sock: socket.socket) -> None:
        with self.lock:
            self.sockets.append(sock)

    def spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        with self.lock:
            self.threads.append(thread)
        thread.start()

    def close(self) -> None:
        self.event.set()
        with self.lock:
            sockets, threads = list(self.sockets), list(self.threads)
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with suppress(OSError):
                sock.close()
        for thread in threads:
            thread.join(timeout=5)


class _Reader:
    """Buffered reads of HTTP messages from a socket."""

    def __init__(self, sock: socket.socket, bytes_per_second: float | None = None) -> None:
        self.sock = sock
        self.buffer = b""
        self.rate = bytes_per_second

    def _fill(self) -> bool:
        began = time.monotonic()
        data = self.sock.recv(65536 if self.rate is None else max(1024, int(self.rate / 20)))
        if not data:
            return False
        self.buffer += data
        if self.rate is not None:
            # Reading no faster than the link: the sender's socket fills up and its sends wait, as on a slow link.
            time.sleep(max(0.0, len(data) / self.rate - (time.monotonic() - began)))
        return True

    def head(self) -> bytes | None:
        """One message head (through the blank line), or None when the connection ended first."""
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > _HEAD_LIMIT or not self._fill():
                return None
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        return head + b"\r\n\r\n"

    def exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not self._fill():
                raise ConnectionError("the message ended early")
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            if not self._fill():
                raise ConnectionError("the message ended early")
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line + b"\r\n"

    def body(self, headers: dict[str, str], *, until_close: bool) -> bytes:
        """The body as sent (chunked framing kept), by Content-Length, chunks, or up to the end of the connection."""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            parts = []
            while True:
                size_line = self.line()
                parts.append(size_line)
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while (trailer := self.line()) != b"\r\n":
                        parts.append(trailer)
                    parts.append(b"\r\n")
                    return b"".join(parts)
                parts.append(self.exactly(size + 2))
        if "content-length" in headers:
            return self.exactly(int(headers["content-length"]))
        if until_close:
            while self._fill():
                pass
            data, self.buffer = self.buffer, b""
            return data
        return b""


def _headers(head: bytes) -> tuple[str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    fields = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
    return lines[0], fields


@dataclass
class _Faults:
    cert: str | None
    stall_handshake: bool
    throttle: int
    retry_after: str
    drop_after_answer: bool
    bytes_per_second: float | None
    upstream: tuple[str, int]
    preflight_status: int | None = None
    throttle_header: str | None = None


def _throttled_answer(retry_after: str) -> bytes:
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
        b"<Message>Please reduce your request rate.</Message></Error>"
    )
    return (
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nx-ms-error-code: ServerBusy\r\n"
        + f"Retry-After: {retry_after}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


def _send(sock: socket.socket, data: bytes, rate: float | None, stop: threading.Event) -> None:
    if rate is None:
        sock.sendall(data)
        return
    step = max(1024, int(rate / 20))
    for start in range(0, len(data), step):
        if stop.is_set():
            raise ConnectionError("stopped")
        began = time.monotonic()
        sock.sendall(data[start : start + step])
        time.sleep(max(0.0, len(data[start : start + step]) / rate - (time.monotonic() - began)))


def _serve(client: socket.socket, faults: _Faults, relay: Relay, stop: _Stop, pki: Pki | None) -> None:
    with suppress(OSError, ConnectionError, ValueError, ssl.SSLError):
        if faults.stall_handshake:
            stop.event.wait()  # accept, then never answer the ClientHello
            return
        if faults.cert is not None and pki is not None:
            client = pki.server_context(faults.cert).wrap_socket(client, server_side=True)
            stop.track(client)
        _exchange(client, faults, relay, stop)
    with suppress(OSError):
        client.close()


def _exchange(client: socket.socket, faults: _Faults, relay: Relay, stop: _Stop) -> None:
    reader = _Reader(client, faults.bytes_per_second)
    upstream: socket.socket | None = None
    upstream_reader: _Reader | None = None
    answered = False
    try:
        while not stop.event.is_set():
            head = reader.head()
            if head is None:
                return
            if faults.drop_after_answer and answered:
                relay.dropped += 1
                return  # the keep-alive connection closes under the client's next request
            request_line, fields = _headers(head)
            if fields.get("expect", "").lower() == "100-continue":
                client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                head = b"\r\n".join(line for line in head.split(b"\r\n") if not line.lower().startswith(b"expect:"))
            # Read whole at the link's pace, then passed on at once: a busy server behind the relay does not slow
            # the link down.
            body = reader.body(fields, until_close=False)
            method, path = [*request_line.split(" "), "", ""][:2]
            scheme = fields["authorization"].split(" ")[0] if "authorization" in fields else ""
            with _LOGGING:  # one entry in both lists at a time: times[i] is when log[i] arrived
                relay.times.append(time.monotonic())
                relay.log.append(f"{method} {path}" + (f" [authorization {scheme}]" if scheme else ""))
            if method == "OPTIONS" and faults.preflight_status is not None:
                status = f"{faults.preflight_status} Whatever".encode()
                client.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\n\r\n")
                answered = True
                continue
            if relay.throttled < faults.throttle and (
                faults.throttle_header is None or faults.throttle_header in fields
            ):
                relay.throttled += 1
                _send(client, _throttled_answer(faults.retry_after), faults.bytes_per_second, stop.event)
                answered = True
                continue
            if upstream is None or upstream_reader is None:
                upstream = socket.create_connection(faults.upstream, timeout=60)
                upstream_reader = _Reader(upstream)
                stop.track(upstream)
            upstream.sendall(head + body)
            answer, closed = _answer(upstream_reader, method)
            if closed:
                upstream.close()
                upstream = upstream_reader = None
            _send(client, answer, faults.bytes_per_second, stop.event)
            answered = True
    finally:
        if upstream is not None:
            with suppress(OSError):
                upstream.close()


def _answer(reader: _Reader, method: str) -> tuple[bytes, bool]:
    """The upstream's answer, and whether the upstream closes the connection after it."""
    while True:
        head = reader.head()
        if head is None:
            raise ConnectionError("upstream closed")
        status_line, fields = _headers(head)
        status = int(status_line.split(" ")[1])
        if 100 <= status < 200:
            continue  # an interim answer the relay already gave itself
        closes = fields.get("connection", "").lower() == "close"
        if method == "HEAD" or status in (204, 304):
            return _kept_alive(head, None), closes
        body = reader.body(fields, until_close=closes)
        framed = "content-length" in fields or "chunked" in fields.get("transfer-encoding", "").lower()
        return _kept_alive(head, None if framed else len(body)) + body, closes


def _kept_alive(head: bytes, length: int | None) -> bytes:
    """The answer's head for a client connection the relay keeps open, as a load balancer does whatever the
    server behind it does (moto's server closes after each answer): no ``Connection: close``, a length."""
    lines = [line for line in head.rstrip(b"\r\n").split(b"\r\n") if not line.lower().startswith(b"connection:")]
    if length is not None:
        lines.append(f"Content-Length: {length}".encode())
    return b"\r\n".join(lines) + b"\r\n\r\n"


@contextmanager
def relay(
    upstream: str,
    pki: Pki | None = None,
    *,
    cert: str | None = "good",
    stall_handshake: bool = False,
    throttle: int = 0,
    retry_after: str = "1",
    drop_after_answer: bool = False,
    bytes_per_second: float | None = None,
    preflight_status: int | None = None,
    throttle_header: str | None = None,
) -> Iterator[Relay]:
    """Relay 127.0.0.1:<free port> to ``upstream`` (``http://host:port``) with the faults asked for.

    ``cert``: the certificate kind served over TLS (None: plain HTTP; needs ``pki``); ``stall_handshake``: accept
    and never answer; ``throttle``: answer the first N requests 503 with ``Retry-After: retry_after``;
    ``drop_after_answer``: close each connection when a second request arrives on it; ``bytes_per_second``: the
    bandwidth of each connection, both ways; ``preflight_status``: answer every OPTIONS request with that status
    and no CORS headers, as a store that does not understand the preflight would; ``throttle_header``: throttle
    only requests that carry this header (lower case), e.g. ``x-amz-copy-source`` for S3 copies.
    """
    host, _, port = upstream.split("://", 1)[-1].rstrip("/").partition(":")
    tls = cert is not None and pki is not None
    faults = _Faults(
        cert if tls else None,
        stall_handshake,
        throttle,
        retry_after,
        drop_after_answer,
        bytes_per_second,
        (host, int(port or 80)),
        preflight_status,
        throttle_header,
    )
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if bytes_per_second is not None:
        # A small receive window, as on a slow link: the client's sends wait for the link instead of filling
        # megabytes of loopback buffers at once (set before listen, so accepted connections inherit it).
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    bound = listener.getsockname()[1]
    running = Relay(f"{'https' if tls or stall_handshake else 'http'}://127.0.0.1:{bound}", bound)
    stop = _Stop()
    stop.track(listener)

    def accept() -> None:
        while not stop.event.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            stop.track(client)
            stop.spawn(_serve, client, faults, running, stop, pki)

    stop.spawn(accept)
    try:
        yield running
    finally:
        stop.close()


# --- the proxy ---------------------------------------------------------------------------------------------------


@dataclass
class Proxy:
    """A running CONNECT proxy: ``url`` (http://127.0.0.1:port), ``tunnels`` (the ``host:port`` targets asked)."""

    url: str
    tunnels: list[str] = field(default_factory=list)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def _tunnel(client: socket.socket, running: Proxy, refuse: bool, stop: _Stop) -> None:
    with suppress(OSError, ConnectionError, ValueError):
        head = _Reader(client).head()
        if head is None:
            return
        request_line, _ = _headers(head)
        method, target = [*request_line.split(" "), "", ""][:2]
        running.tunnels.append(target)
        if method != "CONNECT" or refuse:
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        host, _, port = target.rpartition(":")
        upstream = socket.create_connection((host, int(port)), timeout=30)
        stop.track(upstream)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        stop.spawn(_pipe, upstream, client)
        _pipe(client, upstream)


@contextmanager
def proxy(*, refuse: bool = False) -> Iterator[Proxy]:
    """An HTTP proxy on a free loopback port that tunnels CONNECT requests (or refuses them with 403)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    running = Proxy(f"http://127.0.0.1:{listener.getsockname()[1]}")
    stop = _Stop()
    stop.track(listener)

    def accept() -> None:
        while not stop.event.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            stop.track(client)
            stop.spawn(_tunnel, client, running, refuse, stop)

    stop.spawn(accept)
    try:
        yield running
    finally:
        stop.close()
