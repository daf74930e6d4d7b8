"""HTTP with hard bounds for ``check``: a wall-clock limit per request and a cap on every response body.

``requests`` (and the urllib3 under it) applies its read timeout to each socket read, so a server that sends one
byte every half second never times out, and a body without end fills memory. :class:`BoundedSession` closes both
holes: a watchdog shuts the request's socket down when the request's time is up (whether it is connecting TLS,
waiting for the status line or reading the body), and the body is read in chunks and abandoned past
``max_body`` bytes. The S3 and Azure store adapters send their SDK's requests through the same session, so the
bounds hold for every request ``check`` makes.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import suppress
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

DEFAULT_MAX_BODY = 1024 * 1024
"""Bytes of a response body read at most (1 MiB); probe objects are a few dozen bytes, error documents a few KiB."""
_CHUNK = 64 * 1024


class DeadlineExceeded(requests.Timeout):
    """The request did not finish (connect, answer and body) within its wall-clock limit of ``limit`` seconds."""

    def __init__(self, message: str, *, limit: float = 0.0) -> None:
        super().__init__(message)
        self.limit = limit


class BodyTooLarge(requests.RequestException):
    """The response body was longer than the cap; reading stopped there."""


class NotHttp(requests.ConnectionError):
    """The server answered with bytes that are not an HTTP response (a protocol error, not a refused connection)."""


class CannotConnect(requests.ConnectionError):
    """No connection was made: refused, or the host name did not resolve (``unresolved``)."""

    def __init__(self, message: str, *, unresolved: bool = False) -> None:
        super().__init__(message)
        self.unresolved = unresolved


class Deadline:
    """When the whole run must end (a :func:`time.monotonic` value), shared by every session of one run."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    @property
    def passed(self) -> bool:
        """True once the deadline is reached."""
        return time.monotonic() >= self.at

    def grant(self, seconds: float) -> None:
        """Allow at least ``seconds`` more from now (the clean-up's one request after the deadline)."""
        self.at = max(self.at, time.monotonic() + seconds)


class _Watch:
    """The sockets of one request in flight; :meth:`expire` shuts them down to end any blocked read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.expired = False
        self.done = False

    def add(self, sock: socket.socket) -> None:
        # A duplicate descriptor: TLS wrapping detaches the original object, but shutdown acts on the connection.
        try:
            dup = sock.dup()
        except OSError:
            return
        with self._lock:
            if self.done:
                dup.close()
                return
            self._sockets.append(dup)
            if self.expired:
                with suppress(OSError):
                    dup.shutdown(socket.SHUT_RDWR)

    def expire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.expired = True
            for sock in self._sockets:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        with self._lock:
            self.done = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            sock.close()


_current = threading.local()


def _watch_socket(sock: socket.socket | None) -> None:
    watch: _Watch | None = getattr(_current, "watch", None)
    if watch is not None and sock is not None:
        watch.add(sock)


class _WatchedHTTPConnection(HTTPConnection):
    """Registers its socket with the calling thread's request watch (new and reused connections alike)."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch_socket(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch_socket(self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    """The HTTPS twin of :class:`_WatchedHTTPConnection`, with its methods (the raw socket is watched before the TLS
    handshake: HTTPSConnection.connect opens it through ``_new_conn``)."""


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class BufferedBody(io.BytesIO):
    """A fully read (capped) body that looks enough like urllib3's response for requests, botocore and azure-core."""

    enforce_content_length = False

    def stream(self, amt: int | None = _CHUNK, decode_content: bool | None = None) -> Iterator[bytes]:
        """The body in chunks of ``amt`` bytes (urllib3's ``HTTPResponse.stream``)."""
        while chunk := self.read(amt or _CHUNK):
            yield chunk

    def read(self, amt: int | None = None, decode_content: bool | None = None) -> bytes:
        """Up to ``amt`` bytes (all that is left without it)."""
        return super().read(amt if amt is not None else -1)

    def release_conn(self) -> None:
        """Nothing to release: the connection was returned when the body had been read."""


class BoundedSession(requests.Session):
    """A requests session whose every request ends within ``request_timeout`` seconds and reads at most
    ``max_body`` bytes of body; the run's ``deadline`` cuts requests shorter still.

    Responses come back fully read (``stream=True`` is accepted and ignored), with ``raw`` a :class:`BufferedBody`.
    Environment proxies and ``.netrc`` are not used: an anonymous probe must stay anonymous.
    """

    def __init__(
        self,
        *,
        connect_timeout: float,
        request_timeout: float,
        max_body: int = DEFAULT_MAX_BODY,
        deadline: Deadline | None = None,
    ) -> None:
        super().__init__()
        self.trust_env = False
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.max_body = max_body
        self.deadline = deadline
        # Compressed bodies could expand past the cap in one step; stores answer uncompressed when asked to.
        self.headers["Accept-Encoding"] = "identity"
        adapter = _WatchedAdapter()
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def time_left(self) -> float:
        """Seconds the next request may take: the per-request limit, or less when the deadline is nearer."""
        if self.deadline is None:
            return self.request_timeout
        return max(0.0, min(self.request_timeout, self.deadline.at - time.monotonic()))

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        """Send the request and read its whole body, within the time left and the body cap."""
        limit = self.time_left()
        if limit <= 0:
            raise DeadlineExceeded("no time left: the run's deadline has passed", limit=0.0)
        kwargs["stream"] = True
        given = kwargs.get("timeout")
        connect = self.connect_timeout
        if isinstance(given, tuple) and given[0] is not None:
            connect = min(connect, float(given[0]))
        # Each socket read may wait a little longer than the whole request may take: the watchdog enforces the total,
        # and a read timeout firing first would be reported as a different failure.
        kwargs["timeout"] = (min(connect, limit), limit + 1.0)
        watch = _Watch()
        timer = threading.Timer(limit, watch.expire)
        timer.daemon = True
        previous = getattr(_current, "watch", None)
        _current.watch = watch
        timer.start()
        try:
            response = super().request(method, url, *args, **kwargs)
            try:
                body = self._read_body(response, watch, limit)
            finally:
                response.close()
        except (DeadlineExceeded, BodyTooLarge):
            raise
        except requests.RequestException as error:
            if watch.expired or isinstance(error, requests.ReadTimeout):
                raise DeadlineExceeded(f"no complete answer within {limit:g} s", limit=limit) from None
            raise _classified(error) from None
        except OSError as error:
            if watch.expired:
                raise DeadlineExceeded(f"no complete answer within {limit:g} s", limit=limit) from None
            raise requests.ConnectionError(f"{type(error).__name__} while talking to the server") from None
        finally:
            timer.cancel()
            _current.watch = previous
            watch.finish()
        response._content = body
        response._content_consumed = True  # type: ignore[attr-defined]
        response.raw = BufferedBody(body)
        return response

    def _read_body(self, response: requests.Response, watch: _Watch, limit: float) -> bytes:
        parts: list[bytes] = []
        size = 0
        raw = response.raw
        while True:
            try:
                chunk = raw.read(_CHUNK, decode_content=False)
            except Exception as error:  # noqa: BLE001 - any failure mid-body is reported by kind below
                if watch.expired:
                    raise DeadlineExceeded(f"the body did not arrive within {limit:g} s", limit=limit) from None
                raise requests.ConnectionError(f"the answer's body broke off ({type(error).__name__})") from None
            if watch.expired:
                raise DeadlineExceeded(f"the body did not arrive within {limit:g} s", limit=limit)
            if not chunk:
                return b"".join(parts)
            size += len(chunk)
            if size > self.max_body:
                raise BodyTooLarge(f"the answer's body is longer than {self.max_body} bytes; stopped reading")
            parts.append(chunk)


def _classified(error: requests.RequestException) -> requests.RequestException:
    """``error`` as a kind the report can name without quoting it: :class:`CannotConnect`, :class:`NotHttp`,
    a timeout, or a connection that broke off (requests lumps all but the timeouts into ConnectionError)."""
    if isinstance(error, requests.Timeout) or not isinstance(error, requests.ConnectionError):
        return error
    text = _chain_text(error)
    lowered = text.lower()
    if "NameResolutionError" in text or "name or service not known" in lowered or "nodename nor servname" in lowered:
        return CannotConnect("host name not resolved", unresolved=True)
    if "NewConnectionError" in text or "refused" in lowered:
        return CannotConnect("connection refused" if "refused" in lowered else "no connection could be made")
    if "RemoteDisconnected" in text:
        return requests.ConnectionError("the server closed the connection without answering")
    if any(marker in text for marker in ("BadStatusLine", "LineTooLong", "InvalidHeader", "HeaderParsingError")):
        return NotHttp("the answer is not HTTP (protocol error)")
    if "SSLError" in text or "SSL" in text:
        return requests.ConnectionError("the TLS handshake failed")
    return requests.ConnectionError("the connection broke off")


def _chain_text(error: BaseException) -> str:
    """Names and messages of ``error`` and what caused it, for classification only (never printed)."""
    parts: list[str] = []
    seen: set[int] = set()
    stack: list[BaseException | None] = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        parts.append(f"{type(current).__name__}: {current}")
        stack.extend([current.__cause__, current.__context__])
        stack.extend(arg for arg in current.args if isinstance(arg, BaseException))
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)
    return " | ".join(parts)


def find_cause(error: BaseException, kinds: tuple[type[BaseException], ...]) -> BaseException | None:
    """The first exception of ``kinds`` in ``error``'s chain (causes, contexts, SDK wrappers' inner errors)."""
    seen: set[int] = set()
    stack: list[Any] = [error]
    while stack:
        current = stack.pop(0)
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kinds):
            return current
        stack.extend([current.__cause__, current.__context__, getattr(current, "inner_exception", None)])
        stack.extend(getattr(current, "args", ()))
        stack.append(getattr(current, "exc_value", None))
    return None


def header_items(headers: Mapping[str, Any]) -> dict[str, str]:
    """Headers as plain strings (botocore may hand over bytes values)."""
    return {
        str(name): value.decode("latin-1") if isinstance(value, bytes) else str(value)
        for name, value in headers.items()
    }
