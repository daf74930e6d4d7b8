"""The browser tests' world: one page server answering as several origins, and one headless Chromium per scheme.

The pages are served from loopback under the origin names of :mod:`support.browser` (``--host-resolver-rules``
maps each to the server's port), over the scheme the emulator speaks: an HTTPS page may not call an HTTP store
(mixed content), so the page's scheme follows the store's.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.browser import ALLOWED, ELSEWHERE, REFUSED, Browsing, PageServer, start_chromium

PROBES = Path(__file__).with_name("probes.html")


def _page_tls(workdir: Path) -> ssl.SSLContext:
    import trustme

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(ALLOWED, REFUSED, ELSEWHERE).configure_cert(context)
    ca.cert_pem.write_to_path(str(workdir / "pages-ca.pem"))
    return context


@pytest.fixture(scope="session")
def browsing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Browsing]]:
    """``browsing(scheme)``: the page server and Chromium for pages of that scheme, started on first use."""
    started: dict[str, tuple[PageServer, Browsing]] = {}

    def get(scheme: str) -> Browsing:
        if scheme not in started:
            workdir = tmp_path_factory.mktemp(f"browser-{scheme}")
            tls = _page_tls(workdir) if scheme == "https" else None
            pages = PageServer({"/probes.html": ("text/html; charset=utf-8", PROBES.read_bytes())}, tls=tls)
            try:
                names = dict.fromkeys((ALLOWED, REFUSED, ELSEWHERE), pages.port)
                chromium = start_chromium(workdir, names, https=scheme == "https")
            except BaseException:
                pages.stop()
                raise
            started[scheme] = (pages, Browsing(chromium, scheme))
        return started[scheme][1]

    yield get
    for pages, browser in started.values():
        browser.chromium.stop()
        pages.stop()
