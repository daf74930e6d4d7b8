"""Headless Chromium for tests that need a real browser's rules (CORS, preflights, opaque image loads).

:func:`start_chromium` launches Debian's ``chromium`` (installed by ``scripts/bootstrap``) headless, as root, with a
throw-away profile, no network of its own (every host name resolves to nothing unless a rule maps it to a loopback
port) and ``--host-resolver-rules`` that give loopback servers the origin names a stack allows::

    pages = PageServer({"/probe.html": page}, tls=ca_context)        # one loopback server ...
    chromium = start_chromium(tmp, {"www.allowed.test": pages.port,  # ... under several origin names
                                    "www.refused.test": pages.port})
    with chromium.open(f"https://www.allowed.test/probe.html") as page:
        page.evaluate("readText(url)")                                 # JS run in that origin
        page.exchange(url)                                             # what the browser saw: status, CORS error

A name is mapped with its scheme's default port (``MAP www.allowed.test:443 127.0.0.1:<port>``), so the page's
origin is ``https://www.allowed.test`` with no port, exactly as a production site's. Each :meth:`Chromium.open` gets
a fresh browser context (its own HTTP cache and CORS preflight cache), so one page never sees another's answers.

Why the DevTools protocol over ``websocket-client`` rather than Playwright or Selenium: Chromium speaks the protocol
natively, so there is no driver binary whose version must match the browser (selenium needs Debian's
chromium-driver in step with chromium) and no Node.js driver (Playwright's wheel ships ~40 MB of one, and each
release expects its own browser build); the client is one small pure-Python package, pinned in constraints.txt;
and the protocol reports *why* a request failed (``corsErrorStatus``), which is what lets a test tell a CORS
refusal from a refused connection. A dozen protocol calls are all the tests need.

Certificates: Chromium on Linux trusts only its NSS database (adding a CA there needs ``certutil`` and a profile
``$HOME``), so the browser is told instead which certificates' keys to accept (``trusted``: the test CA's
certificates for the page server and the emulators, by ``--ignore-certificate-errors-spki-list``), and any other
certificate still fails. No blanket ``--ignore-certificate-errors``.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
BOOTSTRAP_HINT = "run `bash scripts/bootstrap` (it installs Debian's chromium with apt-get)"

# Flags for a headless browser run as root in a container, with nothing that phones home or updates itself.
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--mute-audio",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)


class BrowserError(RuntimeError):
    """Chromium could not be started, did not answer, or a page could not be loaded or evaluated."""


@dataclass
class Exchange:
    """One request as the browser saw it: ``status`` once answered, ``error`` / ``cors_error`` when it failed."""

    url: str
    method: str
    kind: str
    """The protocol's resource type: ``Fetch``, ``Image``, ``Document``, ``Preflight`` ..."""
    status: int | None = None
    """The HTTP status the server answered (also when CORS withheld the answer from the page)."""
    error: str | None = None
    """The network error text (``net::ERR_FAILED`` for a CORS refusal), None while it has not failed."""
    cors_error: str | None = None
    """Chromium's reason for a CORS refusal (``MissingAllowOriginHeader``, ``PreflightInvalidStatus`` ...)."""
    finished: bool = False

    @property
    def done(self) -> bool:
        """Whether the request has finished or failed (its record will not change any more)."""
        return self.finished or self.error is not None


class _Connection:
    """The browser-wide DevTools websocket; messages for pages (flattened sessions) are queued by session id."""

    def __init__(self, url: str, timeout: float) -> None:
        # No Origin header: Chromium refuses DevTools websockets from origins it was not told to allow.
        self._ws = websocket.create_connection(url, timeout=timeout, suppress_origin=True)
        self._next_id = 0
        self.events: dict[str, list[dict[str, Any]]] = {}

    def call(self, method: str, params: Mapping[str, Any] | None = None, *, session: str = "", timeout: float) -> Any:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": dict(params or {})}
        if session:
            message["sessionId"] = session
        self._ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            answer = self._receive(deadline, f"{method} (no answer)")
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    def pump(self, deadline: float, what: str) -> None:
        """Wait for one more message (an event is queued); BrowserError at ``deadline``."""
        self._receive(deadline, what)

    def _receive(self, deadline: float, what: str) -> dict[str, Any]:
        left = deadline - time.monotonic()
        if left <= 0:
            raise BrowserError(f"timed out waiting for {what}")
        self._ws.settimeout(left)
        try:
            message: dict[str, Any] = json.loads(self._ws.recv())
        except websocket.WebSocketTimeoutException:
            raise BrowserError(f"timed out waiting for {what}") from None
        if "method" in message:
            self.events.setdefault(message.get("sessionId", ""), []).append(message)
        return message

    def close(self) -> None:
        self._ws.close()


@dataclass
class Page:
    """A tab in its own browser context: evaluate JS in it, read what its requests did."""

    _connection: _Connection = field(repr=False)
    session: str
    origin: str
    timeout: float
    exchanges: dict[str, Exchange] = field(default_factory=dict)
    """Requests by the protocol's request id, in the order they were sent (preflights have their own id)."""
    _raw_status: dict[str, int] = field(default_factory=dict, repr=False)

    def evaluate(self, expression: str) -> Any:
        """The value of ``expression`` (awaited when it is a promise), as JSON; a thrown error is BrowserError."""
        result = self._connection.call(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            session=self.session,
            timeout=self.timeout,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise BrowserError(f"{expression[:120]!r} threw: {details.get('exception', details).get('description')}")
        return result["result"].get("value")

    def exchange(self, url: str, *, kind: str | None = None, answered: bool = False) -> Exchange:
        """The last request for ``url`` (of resource type ``kind``, Preflight excluded unless named), once done.

        ``answered``: also wait for the server's status. Chromium reports the status of an answer it withholds from
        the page (CORS, ORB) in an event of its own, which may come after the failure; a request that was never
        answered then ends in BrowserError after the page's timeout.
        """
        deadline = time.monotonic() + self.timeout
        while True:
            self._digest()
            found = [
                e
                for e in self.exchanges.values()
                if e.url == url and (e.kind == kind if kind else e.kind != "Preflight")
            ]
            if found and found[-1].done and (found[-1].status is not None or not answered):
                return found[-1]
            self._connection.pump(deadline, f"the browser's {'answer to' if answered else 'request for'} {url[:160]}")

    def requested(self, url: str) -> list[Exchange]:
        """Every request the page sent for ``url`` so far, preflights included."""
        self._digest()
        return [e for e in self.exchanges.values() if e.url == url]

    def _digest(self) -> None:
        for event in self._connection.events.pop(self.session, []):
            method, params = event["method"], event.get("params", {})
            exchange = self.exchanges.get(params.get("requestId", ""))
            if method == "Network.responseReceivedExtraInfo":
                # The status as it came off the wire: the only record of an answer that CORS then withheld
                # from the page (no responseReceived follows), and it may arrive before the request's own event.
                self._raw_status[params["requestId"]] = int(params["statusCode"])
            elif method == "Network.requestWillBeSent":
                request, kind = params["request"], params.get("type", "Other")
                # Chromium sends its own CORS preflight as type Other and names it Preflight only in the answer
                # (which a refused one may not get); a page's own OPTIONS is a Fetch.
                if request["method"] == "OPTIONS" and kind == "Other":
                    kind = "Preflight"
                self.exchanges[params["requestId"]] = Exchange(request["url"], request["method"], kind)
            elif exchange is None:
                continue
            elif method == "Network.responseReceived":
                exchange.status = int(params["response"]["status"])
            elif method == "Network.loadingFinished":
                exchange.finished = True
            elif method == "Network.loadingFailed":
                exchange.error = str(params.get("errorText") or "failed")
                cors = params.get("corsErrorStatus") or {}
                exchange.cors_error = cors.get("corsError")
        for request_id, exchange in self.exchanges.items():
            if exchange.status is None and request_id in self._raw_status:
                exchange.status = self._raw_status[request_id]


@dataclass
class Chromium:
    """A running headless Chromium; :meth:`open` loads a page, :meth:`stop` ends the browser."""

    process: subprocess.Popen[bytes]
    profile: Path
    log: Path
    _connection: _Connection = field(repr=False)
    timeout: float = 15.0

    @contextmanager
    def open(self, url: str) -> Iterator[Page]:
        """Load ``url`` in a new tab of a new browser context (own caches); the context is disposed afterwards."""
        call = self._connection.call
        context = call("Target.createBrowserContext", timeout=self.timeout)["browserContextId"]
        session = ""
        try:
            target = call(
                "Target.createTarget",
                {"url": "about:blank", "browserContextId": context},
                timeout=self.timeout,
            )["targetId"]
            session = call("Target.attachToTarget", {"targetId": target, "flatten": True}, timeout=self.timeout)[
                "sessionId"
            ]
            page = Page(self._connection, session, origin="", timeout=self.timeout)
            for domain in ("Page", "Network", "Runtime"):
                call(f"{domain}.enable", session=session, timeout=self.timeout)
            self._navigate(page, url)
            page.origin = str(page.evaluate("window.location.origin"))
            yield page
        finally:
            call("Target.disposeBrowserContext", {"browserContextId": context}, timeout=self.timeout)
            # Browser-wide events (targets coming and going) and the closed page's are read by nobody.
            for queue in ("", session):
                self._connection.events.pop(queue, None)

    def _navigate(self, page: Page, url: str) -> None:
        navigated = self._connection.call("Page.navigate", {"url": url}, session=page.session, timeout=self.timeout)
        if navigated.get("errorText"):
            raise BrowserError(f"loading {url} failed: {navigated['errorText']}")
        deadline = time.monotonic() + self.timeout
        while not any(e["method"] == "Page.loadEventFired" for e in self._connection.events.get(page.session, [])):
            self._connection.pump(deadline, f"the load event of {url}")
        document = page.exchange(url, kind="Document")
        if document.status != 200:
            raise BrowserError(f"loading {url} answered {document.status} ({document.error})")

    def stop(self) -> None:
        """Close the browser (politely, then by signal) and remove its profile."""
        # Already gone, or not answering: terminated below.
        with suppress(BrowserError, OSError, websocket.WebSocketException):
            self._connection.call("Browser.close", timeout=5)
        self._connection.close()
        _end_group(self.process)
        shutil.rmtree(self.profile, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the browser's own output, for error messages."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def resolver_rules(names: Mapping[str, int], *, https: bool) -> str:
    """``--host-resolver-rules`` that send each name's default port to its loopback port, and nothing elsewhere.

    ``127.0.0.1`` itself is left alone (the emulators' URLs name it); every other host resolves to nothing, so the
    browser never reaches beyond the loopback servers the test started.
    """
    default_port = 443 if https else 80
    rules = [f"MAP {name}:{default_port} 127.0.0.1:{port}" for name, port in sorted(names.items())]
    return ", ".join([*rules, "EXCLUDE 127.0.0.1", "MAP * ~NOTFOUND"])


def spki_hash(certificate_pem: bytes) -> str:
    """Base64 of the SHA-256 of a PEM certificate's public key (SubjectPublicKeyInfo), as Chromium's flag takes it."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = x509.load_pem_x509_certificate(certificate_pem).public_key()
    return base64.b64encode(
        hashlib.sha256(key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).digest()
    ).decode()


def start_chromium(
    workdir: Path,
    names: Mapping[str, int],
    *,
    https: bool,
    trusted: Sequence[bytes] = (),
    timeout: float = 30.0,
) -> Chromium:
    """Start headless Chromium whose host names ``names`` lead to their loopback ports (see :func:`resolver_rules`).

    ``https`` picks the default port mapped (443, else 80); ``trusted`` are the PEM server certificates (leaves, not
    the CA: Chromium matches the served certificate's key) the browser accepts although no CA it knows signed them.
    Returns once the DevTools endpoint answers; raises :class:`BrowserError` with the browser's output when it does
    not within ``timeout`` seconds.
    """
    if not CHROMIUM.exists():
        raise BrowserError(f"Chromium not found at {CHROMIUM}; {BOOTSTRAP_HINT}")
    profile = workdir / "chromium-profile"
    profile.mkdir(parents=True, exist_ok=True)
    log = workdir / "chromium.log"
    command = [
        str(CHROMIUM),
        *_FLAGS,
        f"--user-data-dir={profile}",
        f"--host-resolver-rules={resolver_rules(names, https=https)}",
        *([f"--ignore-certificate-errors-spki-list={','.join(spki_hash(pem) for pem in trusted)}"] if trusted else []),
        "about:blank",
    ]
    with log.open("wb") as out:
        # Its own process group: Debian's /usr/bin/chromium is a wrapper script, and the browser's zygotes and crash
        # handler are its children; stop() ends the whole group so none outlives the tests.
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    active = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    try:
        # Chromium writes the port it picked and the browser target's path once the endpoint listens.
        while not (active.exists() and len(active.read_text().splitlines()) >= 2):
            if process.poll() is not None or time.monotonic() > deadline:
                raise BrowserError(f"Chromium did not start (status {process.poll()}); its output:\n{_tail(log)}")
            time.sleep(0.05)
        port, path = active.read_text().splitlines()[:2]
        connection = _Connection(f"ws://127.0.0.1:{port}{path}", timeout)
    except BaseException:
        _end_group(process)
        raise
    return Chromium(process, profile, log, connection)


def _end_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the browser's process group, SIGKILL whatever is left after 10 s, and reap the browser."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signum)
        try:
            process.wait(timeout=10)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and _group_alive(process.pid):
                time.sleep(0.05)
            if not _group_alive(process.pid):
                return
        except subprocess.TimeoutExpired:
            continue


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _tail(log: Path) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-20:]) if log.exists() else "(no output)"


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A browser that refuses the certificate (a test of exactly that) or drops a connection is no server error.
        if not isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError)):
            super().handle_error(request, client_address)


class PageServer:
    """A loopback HTTP(S) server for fixed pages: ``pages`` maps a path to ``(content type, body)``.

    One server answers for every origin name the browser maps to its port; ``tls`` (a server SSLContext) makes it
    HTTPS. It runs in a daemon thread until :meth:`stop`.
    """

    def __init__(self, pages: Mapping[str, tuple[str, bytes]], *, tls: ssl.SSLContext | None = None) -> None:
        served = dict(pages)

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = served.get(self.path.partition("?")[0])
                if found is None:
                    self.send_error(404)
                    return
                content_type, body = found
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the browser's own record (Page.exchange) is what tests read

        self._server = _Server(("127.0.0.1", 0), Handler)
        if tls is not None:
            # The handshake happens on first read, in the request's own thread, not in the accepting loop.
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True, do_handshake_on_connect=False)
        self.scheme = "https" if tls is not None else "http"
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="page-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


# --- the origins the browser tests give their pages -----------------------------------------------------------

ALLOWED = "www.allowed.test"
"""The origin name a stack lists in ``corsOrigins``."""
REFUSED = "www.refused.test"
"""An origin name no stack lists."""
ELSEWHERE = "blog.elsewhere.test"
"""A third site that only embeds images."""


@dataclass
class Browsing:
    """Headless Chromium reaching the page server under every name above, over ``scheme``."""

    chromium: Chromium
    scheme: str

    def origin(self, name: str) -> str:
        """The origin a page served under ``name`` has (no port: the default port is mapped)."""
        return f"{self.scheme}://{name}"

    def open(self, name: str) -> AbstractContextManager[Page]:
        """The probe page loaded from ``name``'s origin, in a fresh browser context."""
        return self.chromium.open(f"{self.origin(name)}/probes.html")


def png(width: int, height: int) -> bytes:
    """A real PNG image of ``width`` x ``height`` pixels (a browser decodes it, so ``<img>`` reports its size)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 90)).save(buffer, "PNG")
    return buffer.getvalue()
