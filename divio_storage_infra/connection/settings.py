"""How the tools reach a store: which CA bundle, which proxy, how long to wait and how often to try again.

Every command that talks to a store (``check``, ``bench``, ``backup``, ``restore``, ``dev``) builds one
:class:`ConnectionSettings` with :func:`settings_from_environment` and hands it to the client factories in
:mod:`divio_storage_infra.connection.clients`, so every request of every SDK trusts the same CA, goes through the
same proxy and is retried the same way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from requests.utils import should_bypass_proxies

from divio_storage_infra.core.errors import SpecError

CA_VARIABLES = ("AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
"""Environment variables naming a CA bundle, in the order they are read (after ``--ca-bundle``)."""

DEFAULT_ATTEMPTS = 4
"""Attempts per request at most (the first and three retries) when the store throttles or drops a connection."""
DEFAULT_MAX_RETRY_WAIT = 20.0
"""Seconds one wait before a retry may last at most, whatever ``Retry-After`` asks (longer: give up instead)."""
BACKOFF_BASE = 0.2
"""Seconds of the first backoff without ``Retry-After``; it doubles per attempt (with jitter), capped at 5 s."""


class ConnectionSettingsError(SpecError):
    """A connection setting (CA bundle option or variable) is unusable; exit status 2, naming where it came from."""

    kind = "connection setting"


@dataclass(frozen=True)
class ConnectionSettings:
    """The settings every request to a store uses.

    ``ca_bundle``: PEM file of the CAs to trust (None: each SDK's default trust, certifi); ``ca_source`` names where
    it came from (``--ca-bundle`` or the variable). ``connect_timeout`` and ``read_timeout``: seconds one connect,
    or one wait for the next bytes, may take (inactivity, not a whole transfer). ``attempts``: tries per request
    for throttling (500/502/503/504, SlowDown, ServerBusy) and dropped connections. ``max_retry_wait``: seconds
    one wait before a retry may last. ``environ``: where proxies are read from (``HTTPS_PROXY``, ``HTTP_PROXY``,
    ``NO_PROXY``, any case).
    """

    ca_bundle: str | None = None
    ca_source: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    attempts: int = DEFAULT_ATTEMPTS
    max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT
    environ: Mapping[str, str] | None = None

    @property
    def verify(self) -> str | bool:
        """What the SDKs take as ``verify`` / ``connection_verify``: the bundle's path, or True for their default."""
        return self.ca_bundle if self.ca_bundle is not None else True

    def proxies_for(self, url: str) -> dict[str, str]:
        """The proxy for ``url`` as ``{"http": ..., "https": ...}`` (empty when none applies or ``NO_PROXY`` says
        so); read from the settings' environment the way curl and requests read it."""
        environ = self.environ if self.environ is not None else os.environ
        found: dict[str, str] = {}
        for scheme in ("http", "https"):
            value = environ.get(f"{scheme}_proxy") or environ.get(f"{scheme.upper()}_PROXY")
            if value:
                found[scheme] = value
        if not found:
            return {}
        no_proxy = environ.get("no_proxy") or environ.get("NO_PROXY") or ""
        # requests' reading of NO_PROXY (host suffixes, ports, CIDR ranges), given the settings' value.
        if no_proxy.strip() == "*" or (no_proxy and should_bypass_proxies(url, no_proxy=no_proxy)):
            return {}
        return found

    def proxy_shown(self, url: str) -> str | None:
        """The proxy ``url`` goes through, without any user:password part, for messages (None: direct)."""
        proxy = self.proxies_for(url).get(urlsplit(url).scheme or "https")
        if proxy is None:
            return None
        parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def find_ca_bundle(option: str | None, environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The CA bundle to use and where it was named: ``--ca-bundle`` first, then :data:`CA_VARIABLES` in order.

    Raises :class:`ConnectionSettingsError` when the named file does not exist or holds no PEM certificate.
    """
    candidates = [("--ca-bundle", option)] + [(name, environ.get(name)) for name in CA_VARIABLES]
    for source, value in candidates:
        if value is None or not value.strip():
            continue
        path = Path(value).expanduser()
        try:
            text = path.read_bytes()[:1_000_000]
        except OSError as error:
            why = "not found" if isinstance(error, FileNotFoundError) else error.strerror or type(error).__name__
            raise ConnectionSettingsError.one(
                source, value, f"a readable PEM file of CA certificates ({why})"
            ) from None
        if b"-----BEGIN CERTIFICATE-----" not in text:
            raise ConnectionSettingsError.one(source, value, "a PEM file holding at least one CA certificate")
        return str(path), source
    return None, None


def settings_from_environment(
    *,
    ca_bundle: str | None = None,
    connect_timeout: float = 5.0,
    read_timeout: float = 20.0,
    attempts: int = DEFAULT_ATTEMPTS,
    environ: Mapping[str, str] | None = None,
) -> ConnectionSettings:
    """Settings from a command's options and the environment (default: ``os.environ``, read once, now).

    ``ca_bundle`` is the ``--ca-bundle`` option; without it the first of ``AWS_CA_BUNDLE``,
    ``REQUESTS_CA_BUNDLE``, ``SSL_CERT_FILE`` that is set names the bundle, and it applies to every SDK (each of
    them reads only some of these variables on its own).
    """
    env = dict(os.environ if environ is None else environ)
    bundle, source = find_ca_bundle(ca_bundle, env)
    return ConnectionSettings(
        ca_bundle=bundle,
        ca_source=source,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        attempts=attempts,
        environ=env,
    )
