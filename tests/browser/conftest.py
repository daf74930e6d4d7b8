"""The browser tests' world: one page server answering as several origins, and one headless Chromium per scheme.

The pages are served from loopback under the origin names of :mod:`support.browser` (``--host-resolver-rules``
maps each to the server's port), over the scheme the emulator speaks: an HTTPS page may not call an HTTP store
(mixed content), so the page's scheme follows the store's.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from support.browser import ALLOWED, ELSEWHERE, REFUSED, Browsing, PageServer, start_chromium

from divio_storage_infra.localstores.tlsca import LocalCA

PROBES = Path(__file__).with_name("probes.html")


def _page_tls(ca: LocalCA) -> tuple[ssl.SSLContext, bytes]:
    """The page server's TLS context and its certificate (PEM), issued by the suite's CA for the origin names."""
    issued = ca.issue("pages", [ALLOWED, REFUSED, ELSEWHERE])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(issued.cert, issued.key)
    return context, issued.cert.read_bytes()


def served_certificate(url: str) -> bytes:
    """The certificate (PEM) the TLS server at ``url`` serves, verified against the CA the environment names
    (``SSL_CERT_FILE``), so the browser is told to accept only what a correctly configured client trusts."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 443
    context = ssl.create_default_context()
    with (
        socket.create_connection((host, port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return ssl.DER_cert_to_PEM_cert(der).encode()


@pytest.fixture(scope="session")
def browsing(tmp_path_factory: pytest.TempPathFactory, tls_ca: LocalCA) -> Iterator[Callable[[str], Browsing]]:
    """``browsing(store_url)``: the page server and Chromium for pages that use the store at ``store_url``, started
    on first use. The pages' scheme is the store's (an HTTPS page may not call an HTTP store); over HTTPS the browser
    accepts the page server's certificate and the store's, nothing else."""
    started: dict[tuple[str, bytes], tuple[PageServer, Browsing]] = {}

    def get(store_url: str) -> Browsing:
        scheme = urlsplit(store_url).scheme
        store_certificate = served_certificate(store_url) if scheme == "https" else b""
        if (scheme, store_certificate) not in started:
            workdir = tmp_path_factory.mktemp(f"browser-{scheme}")
            tls, certificate = _page_tls(tls_ca) if scheme == "https" else (None, b"")
            pages = PageServer({"/probes.html": ("text/html; charset=utf-8", PROBES.read_bytes())}, tls=tls)
            try:
                names = dict.fromkeys((ALLOWED, REFUSED, ELSEWHERE), pages.port)
                trusted = [certificate, store_certificate] if tls else []
                chromium = start_chromium(workdir, names, https=tls is not None, trusted=trusted)
            except BaseException:
                pages.stop()
                raise
            started[scheme, store_certificate] = (pages, Browsing(chromium, scheme))
        return started[scheme, store_certificate][1]

    yield get
    for pages, browser in started.values():
        browser.chromium.stop()
        pages.stop()
