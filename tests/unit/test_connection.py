"""The shared connection settings: which CA bundle, which proxy, when to retry and for how long, and the cutoff
that ends requests in flight."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
from support.faults import make_pki

from divio_storage_infra.connection import (
    ConnectionSettings,
    ConnectionSettingsError,
    Cutoff,
    Retrying,
    retry_after_seconds,
    settings_from_environment,
)
from divio_storage_infra.connection.retry import backoff


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Four PEM bundles, one per way of naming a CA."""
    folder = tmp_path_factory.mktemp("bundles")
    pki = make_pki(folder)
    found = {}
    for name in ("option", "AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        found[name] = folder / f"{name}.pem"
        found[name].write_bytes(pki.bundle.read_bytes())
    return found


def test_the_ca_bundle_is_found_in_order(bundles: dict[str, Path]) -> None:
    everything = {name: str(path) for name, path in bundles.items() if name != "option"}
    first = settings_from_environment(ca_bundle=str(bundles["option"]), environ=everything)
    assert (first.ca_bundle, first.ca_source) == (str(bundles["option"]), "--ca-bundle")
    assert first.verify == str(bundles["option"])
    for name in ("AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        found = settings_from_environment(environ=everything)
        assert (found.ca_bundle, found.ca_source) == (everything[name], name)
        del everything[name]
    none = settings_from_environment(environ={"REQUESTS_CA_BUNDLE": "  "})
    assert none.ca_bundle is None and none.verify is True


def test_an_unusable_bundle_names_where_it_came_from(tmp_path: Path) -> None:
    with pytest.raises(ConnectionSettingsError) as missing:
        settings_from_environment(environ={"AWS_CA_BUNDLE": str(tmp_path / "nope.pem")})
    assert "AWS_CA_BUNDLE" in str(missing.value) and "not found" in str(missing.value)
    empty = tmp_path / "empty.pem"
    empty.write_text("not a certificate")
    with pytest.raises(ConnectionSettingsError) as not_pem:
        settings_from_environment(ca_bundle=str(empty), environ={})
    assert "--ca-bundle" in str(not_pem.value) and "PEM" in str(not_pem.value)


@pytest.mark.parametrize(
    ("environ", "url", "expected"),
    [
        ({}, "https://s3.example.com", {}),
        ({"HTTPS_PROXY": "http://proxy:3128"}, "https://s3.example.com", {"https": "http://proxy:3128"}),
        (
            {"https_proxy": "http://p:1", "HTTP_PROXY": "http://q:2"},
            "https://a.b",
            {"https": "http://p:1", "http": "http://q:2"},
        ),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "example.com"}, "https://s3.example.com", {}),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "127.0.0.1"}, "https://127.0.0.1:9000/x", {}),
        ({"HTTPS_PROXY": "http://p:1", "no_proxy": "*"}, "https://anything", {}),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "other.org"}, "https://s3.example.com", {"https": "http://p:1"}),
    ],
)
def test_proxies_follow_https_proxy_and_no_proxy(environ: dict[str, str], url: str, expected: dict[str, str]) -> None:
    assert ConnectionSettings(environ=environ).proxies_for(url) == expected


def test_a_proxy_is_shown_without_its_password() -> None:
    settings = ConnectionSettings(environ={"HTTPS_PROXY": "http://user:hunter2@proxy.corp:3128"})
    assert settings.proxy_shown("https://s3.example.com/b") == "http://proxy.corp:3128"


def test_retry_after_reads_seconds_and_dates() -> None:
    assert retry_after_seconds("1") == 1.0
    assert retry_after_seconds(" 2.5 ") == 2.5
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0


def test_retries_are_bounded_by_attempts_longest_wait_and_time_left() -> None:
    rule = Retrying(ConnectionSettings(attempts=3, max_retry_wait=5.0))
    assert rule.wait(1, 1.0) == 1.0
    assert rule.wait(2, None) is not None
    assert rule.wait(3, 0.0) is None, "a fourth try was allowed with attempts=3"
    assert rule.wait(1, 6.0) is None, "a wait longer than max_retry_wait was accepted"
    for attempt in range(1, 10):
        assert 0 < backoff(attempt) <= 5.0
    cutoff = Cutoff()
    windowed = Retrying(ConnectionSettings(), cutoff)
    with cutoff.window(0.5):
        assert windowed.wait(1, 1.0) is None, "a wait past the request's time was accepted"
        assert windowed.wait(1, 0.1) == 0.1
    cutoff.cut("budget")
    assert windowed.wait(1, 0.0) is None, "a retry after the cut was accepted"
    assert rule.retriable_answer(503, None) and rule.retriable_answer(400, "SlowDown")
    assert not rule.retriable_answer(400, None) and not rule.retriable_answer(403, "AccessDenied")


def _silent_server() -> tuple[socket.socket, threading.Event]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    done = threading.Event()

    def hold() -> None:
        client, _ = listener.accept()
        done.wait(10)
        client.close()

    threading.Thread(target=hold, daemon=True).start()
    return listener, done


def test_a_window_ends_a_blocked_read_at_its_time() -> None:
    listener, done = _silent_server()
    cutoff = Cutoff()
    try:
        started = time.monotonic()
        with cutoff.window(0.3) as window:
            sock = socket.create_connection(listener.getsockname(), timeout=10)
            data = sock.recv(10)  # blocks: the server sends nothing
        took = time.monotonic() - started
        sock.close()
    finally:
        done.set()
        listener.close()
    assert data == b"" and window.expired and not window.handshake
    assert took < 2, took


def test_sockets_of_unwatched_threads_are_not_cut() -> None:
    listener, done = _silent_server()
    cutoff = Cutoff()
    try:
        sock = socket.create_connection(listener.getsockname(), timeout=1)  # made outside any window
        with cutoff.window(0.1):
            time.sleep(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(10)  # still open: only the socket's own timeout ends the wait
        sock.close()
    finally:
        done.set()
        listener.close()


def test_the_run_deadline_counts_from_start_and_can_be_extended() -> None:
    cutoff = Cutoff(0.2)
    time.sleep(0.3)
    cutoff.start()
    assert not cutoff.passed
    with cutoff.window(5) as window:
        assert window.seconds <= 0.2 and window.reason == "deadline"
    time.sleep(0.25)
    assert cutoff.passed
    cutoff.extend(1.0)
    assert not cutoff.passed
