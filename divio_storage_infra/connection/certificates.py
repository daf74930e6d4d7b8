"""The certificate a TLS server shows, read without trusting it, to say why verifying it failed.

When verification fails, the ``ssl`` module says only "unable to get local issuer certificate"; the operator needs
to know which CA issued the certificate (to find the bundle to name), when it expired, or which names it covers.
:func:`peer_certificate` opens one more connection (through the same proxy, bounded by the connect timeout),
takes the certificate from the handshake without verifying it, and sends nothing.
"""

from __future__ import annotations

import http.client
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from divio_storage_infra.connection.settings import ConnectionSettings


@dataclass(frozen=True)
class PeerCertificate:
    """What a message needs of a certificate: issuer and subject names, the host names it covers, its validity."""

    issuer: str
    subject: str
    names: str
    not_before: str
    not_after: str


def peer_certificate(url: str, settings: ConnectionSettings) -> PeerCertificate | None:
    """The certificate the server of ``url`` presents, or None when it cannot be had (nothing is raised)."""
    parts = urlsplit(url)
    if parts.hostname is None:
        return None
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    port = parts.port or 443
    proxy = settings.proxies_for(url).get("https")
    try:
        if proxy:
            proxy_parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
            connection = http.client.HTTPSConnection(
                str(proxy_parts.hostname), proxy_parts.port or 80, timeout=settings.connect_timeout, context=context
            )
            connection.set_tunnel(parts.hostname, port)
        else:
            connection = http.client.HTTPSConnection(
                parts.hostname, port, timeout=settings.connect_timeout, context=context
            )
        try:
            connection.connect()
            sock = connection.sock
            der = sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None
        finally:
            connection.close()
    except (OSError, http.client.HTTPException, ValueError):
        return None
    return _read(der) if der else None


def _read(der: bytes) -> PeerCertificate | None:
    try:
        from cryptography import x509
    except ImportError:  # cryptography comes with azure-storage-blob; without it the message names less
        return None
    try:
        certificate = x509.load_der_x509_certificate(der)
    except ValueError:
        return None
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = ", ".join(str(name.value) for name in extension.value)
    except x509.ExtensionNotFound:
        names = ""
    return PeerCertificate(
        issuer=_short(certificate.issuer.rfc4514_string()),
        subject=_short(certificate.subject.rfc4514_string()),
        names=_short(names),
        not_before=certificate.not_valid_before_utc.strftime("%Y-%m-%d %H:%M UTC"),
        not_after=certificate.not_valid_after_utc.strftime("%Y-%m-%d %H:%M UTC"),
    )


def _short(text: str, limit: int = 120) -> str:
    printable = "".join(char for char in text if char.isprintable())
    return printable if len(printable) <= limit else printable[: limit - 1] + "\u2026"
