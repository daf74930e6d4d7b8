"""What went wrong on the way to a store, in words an operator can act on, never the library's own message.

The SDKs wrap the same few failures in many layers (botocore's ``SSLError`` around urllib3's around the ``ssl``
module's; azure-core's ``ServiceRequestError`` around requests' around urllib3's). :func:`describe` looks through
all of them for the cause and names it: an untrusted certificate (with its issuer), an expired one, a host name
mismatch, plain HTTP on a TLS port, a TLS handshake that never finished, a refused connection, an unknown host,
a proxy that would not connect, a timeout, an answer that is not HTTP, a connection dropped without an answer.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from http.client import BadStatusLine, LineTooLong, RemoteDisconnected
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from divio_storage_infra.connection.bodies import BodyTooLarge

if TYPE_CHECKING:
    from divio_storage_infra.connection.cutoff import Window
    from divio_storage_infra.connection.settings import ConnectionSettings

# OpenSSL's verification results that mean "no CA in the bundle vouches for this certificate".
_UNTRUSTED_CODES = frozenset({2, 18, 19, 20, 21, 27})
_EXPIRED_CODE = 10
_NOT_YET_VALID_CODE = 9
_HOSTNAME_CODE = 62
_HOSTNAME_CODES = frozenset({_HOSTNAME_CODE, 64})
# What OpenSSL says when the other end answers a ClientHello with something that is not TLS (plain HTTP).
_NOT_TLS_MARKERS = ("WRONG_VERSION_NUMBER", "record layer failure", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST")
_NOT_HTTP_MARKERS = ("BadStatusLine", "LineTooLong", "InvalidHeader", "HeaderParsingError", "InvalidChunkLength")


@dataclass(frozen=True)
class Failure:
    """One failure in words; ``unreachable`` when nothing answered at all (later requests would not fare better)."""

    words: str
    unreachable: bool = False


def causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and everything it wraps (causes, contexts, args, SDK wrappers' inner errors), each once."""
    seen: set[int] = set()
    stack: list[Any] = [error]
    while stack:
        current = stack.pop(0)
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        kwargs = getattr(current, "kwargs", None)
        inner = [current.__cause__, current.__context__, getattr(current, "inner_exception", None)]
        inner += [getattr(current, "reason", None), getattr(current, "exc_value", None)]
        inner += [kwargs.get("error") if isinstance(kwargs, dict) else None]
        stack.extend(inner)
        stack.extend(getattr(current, "args", ()))


def find_cause(error: BaseException, kinds: tuple[type[BaseException], ...]) -> BaseException | None:
    """The first exception of ``kinds`` among :func:`causes` of ``error``."""
    return next((cause for cause in causes(error) if isinstance(cause, kinds)), None)


def _text(error: BaseException) -> str:
    """Names and messages of the whole chain, for recognising a failure only (never printed)."""
    return " | ".join(f"{type(cause).__name__}: {cause}" for cause in causes(error))


def is_dropped(error: BaseException) -> bool:
    """True when the server closed or reset a connection without answering (a stale keep-alive connection), the
    one transport failure worth a retry."""
    text = _text(error)
    if "timed out" in text.lower() or "Timeout" in text:
        return False
    # Over TLS a connection closed under a request shows as an EOF of the TLS layer (with or without close_notify).
    if find_cause(error, (ssl.SSLEOFError, ssl.SSLZeroReturnError)) is not None or "EOF occurred in violation" in text:
        return True
    if find_cause(error, (ssl.SSLError,)) is not None:
        return False
    if find_cause(error, (RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return True
    if find_cause(error, (BadStatusLine, LineTooLong)) is not None:
        return False  # an answer that is not HTTP (RemoteDisconnected, a BadStatusLine too, is handled above)
    return "RemoteDisconnected" in text or "Connection reset by peer" in text


def failed_url(error: BaseException) -> str | None:
    """``scheme://host:port`` of the request ``error`` came from, as the SDK's error names it (botocore's
    ``endpoint_url``, requests' request); None when no layer names it. Path and query (a SAS) are left out."""
    for cause in causes(error):
        kwargs = getattr(cause, "kwargs", None)
        url = kwargs.get("endpoint_url") if isinstance(kwargs, dict) else None
        url = url or getattr(getattr(cause, "request", None), "url", None)
        if isinstance(url, str) and "://" in url:
            parts = urlsplit(url)
            return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
    return None


def never_sent(error: BaseException) -> bool:
    """True when the request cannot have reached the server: no connection, no TLS session, or no proxy tunnel
    was made (so nothing it would have written can exist)."""
    text = _text(error)
    if is_dropped(error):
        return False  # a connection that was open: the request may have arrived before it closed
    if find_cause(error, (ssl.SSLError, ConnectionRefusedError)) is not None:
        return True
    markers = ("NameResolutionError", "gaierror", "ConnectTimeout", "ProxyError", "handshake operation timed out")
    return any(marker in text for marker in markers)


def describe(
    error: BaseException,
    *,
    url: str,
    settings: ConnectionSettings,
    window: Window | None = None,
    target: str | None = None,
) -> Failure | None:
    """Words for a failed exchange with ``url`` (None when ``error`` is no transport failure: an answer the
    SDK did not like is for the caller to explain). ``window`` is the time window the request ran in."""
    target = target or urlsplit(url).netloc
    if window is not None and window.expired:
        return _expired(window, target, handshake=window.handshake or raised_in_handshake(error))
    text = _text(error)
    if is_dropped(error):
        return Failure(f"{target} closed the connection without answering (also when tried again)")
    verification = find_cause(error, (ssl.SSLCertVerificationError,))
    if isinstance(verification, ssl.SSLCertVerificationError):
        return Failure(_certificate(verification.verify_code, verification.verify_message, url, settings, target), True)
    if "CertificateError" in text or "doesn't match" in text:
        # urllib3 matches host names itself (its own CertificateError) where OpenSSL is not asked to.
        return Failure(_certificate(_HOSTNAME_CODE, "host name mismatch", url, settings, target), unreachable=True)
    if "handshake operation timed out" in text:
        return Failure(
            f"{target} accepted the connection but did not finish the TLS handshake within "
            f"{settings.connect_timeout:g} s (--timeout)",
            unreachable=True,
        )
    tls = find_cause(error, (ssl.SSLError,))
    if tls is not None or "SSLError" in text:
        if any(marker in text for marker in _NOT_TLS_MARKERS):
            return Failure(
                f"{target} does not speak TLS on this port (it answered the TLS handshake in plain text, as plain "
                "HTTP does): use http:// for it, or the port that serves HTTPS",
                unreachable=True,
            )
        reason = getattr(tls, "reason", None) or "no reason given"
        return Failure(f"the TLS connection to {target} failed ({reason})", unreachable=True)
    return _connection(error, text, url, settings, target)


def raised_in_handshake(error: BaseException) -> bool:
    """True when an exception of ``error``'s chain was raised inside a TLS handshake (``SSLSocket.do_handshake``).

    The window's own look at its sockets can miss a handshake that a retry started just before the window ended;
    the traceback of the failure says where the request was when its socket was shut down.
    """
    for cause in causes(error):
        trace = cause.__traceback__
        while trace is not None:
            if trace.tb_frame.f_code.co_name == "do_handshake":
                return True
            trace = trace.tb_next
    return False


def _expired(window: Window, target: str, *, handshake: bool) -> Failure:
    if window.reason == "deadline":
        return Failure(f"{target} did not finish answering before the run's deadline")
    if handshake:
        return Failure(
            f"{target} accepted the connection but did not finish the TLS handshake within {window.seconds:g} s "
            "(the deadline per request, --timeout)",
            unreachable=True,
        )
    return Failure(
        f"{target} did not finish answering within {window.seconds:g} s (the deadline per request, --timeout)"
    )


def _connection(error: BaseException, text: str, url: str, settings: ConnectionSettings, target: str) -> Failure | None:
    lowered = text.lower()
    proxy = settings.proxy_shown(url)
    if proxy is not None and ("ProxyError" in text or "Tunnel connection failed" in text or "ProxyConnection" in text):
        status = re.search(r"Tunnel connection failed: (\d{3}[A-Za-z ]{0,40})", text)
        said = f" (it answered {status.group(1).strip()})" if status else ""
        return Failure(f"the proxy {proxy} did not connect to {target}{said}", unreachable=True)
    if "NameResolutionError" in text or "name or service not known" in lowered or "gaierror" in text:
        return Failure(f"cannot resolve {urlsplit(url).hostname}: DNS has no record for it (yet)", unreachable=True)
    if find_cause(error, (ConnectionRefusedError,)) is not None or "refused" in lowered:
        return Failure(f"cannot reach {target}: connection refused", unreachable=True)
    if "ConnectTimeout" in text or "connect timeout" in lowered:
        return Failure(f"cannot reach {target}: no answer within {settings.connect_timeout:g} s", unreachable=True)
    if find_cause(error, (BodyTooLarge,)) is not None:
        return Failure(f"{target} sent an answer too large to be a probe's: {find_cause(error, (BodyTooLarge,))}")
    if "ReadTimeout" in text or "read timeout" in lowered or "timed out" in lowered:
        return Failure(f"{target} accepted the connection but sent nothing for {settings.read_timeout:g} s (--timeout)")
    if is_dropped(error):
        return Failure(f"{target} closed the connection without answering (also when tried again)")
    if find_cause(error, (BadStatusLine, LineTooLong)) is not None or any(m in text for m in _NOT_HTTP_MARKERS):
        return Failure(f"{target} answered, but the answer is not HTTP (protocol error)")
    if "NewConnectionError" in text or "EndpointConnectionError" in text:
        return Failure(f"cannot reach {target}: no connection could be made", unreachable=True)
    if "ConnectionError" in text or "ProtocolError" in text or "ConnectionClosedError" in text:
        return Failure(f"{target} broke the connection off")
    return None


def _certificate(code: int, message: str, url: str, settings: ConnectionSettings, target: str) -> str:
    from divio_storage_infra.connection.certificates import peer_certificate

    seen = peer_certificate(url, settings)
    trusted = (
        f"the CA bundle {settings.ca_bundle} (from {settings.ca_source})"
        if settings.ca_bundle
        else ("the default CA bundle (none named: --ca-bundle, AWS_CA_BUNDLE, REQUESTS_CA_BUNDLE, SSL_CERT_FILE)")
    )
    if code == _EXPIRED_CODE:
        when = f" on {seen.not_after}" if seen else ""
        return f"the TLS certificate of {target} expired{when}; the server must renew it"
    if code == _NOT_YET_VALID_CODE:
        when = f" before {seen.not_before}" if seen else ""
        return f"the TLS certificate of {target} is not valid yet{when} (or this machine's clock is wrong)"
    if code in _HOSTNAME_CODES:
        names = f" (it names {seen.names})" if seen and seen.names else ""
        return f"the TLS certificate of {target} is for another host name{names}, not {urlsplit(url).hostname}"
    if code in _UNTRUSTED_CODES:
        issuer = f"its issuer {seen.issuer}" if seen else "its issuer"
        return (
            f"the TLS certificate of {target} is not trusted: {issuer} is not a CA of {trusted}; name the CA that "
            "issued it with --ca-bundle or one of those variables"
        )
    return f"the TLS certificate of {target} was refused: {message}"
