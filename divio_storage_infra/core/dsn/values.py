"""What both schemes' formatters share: percent-encoding and the checks of the values a DSN is formatted from."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from divio_storage_infra.core.dsn.mask import MASK, mask_dsn
from divio_storage_infra.core.errors import Problem
from divio_storage_infra.core.rules import check_hostname


def quote_value(value: str) -> str:
    """``value`` percent-encoded with nothing left safe (``/``, ``+``, ``:`` and ``@`` included)."""
    return quote(value, safe="")


def query_string(params: list[tuple[str, str]]) -> str:
    """``key=value`` pairs joined by ``&``, every value percent-encoded (a raw ``+`` would read as a space)."""
    return "&".join(f"{key}={quote_value(value)}" for key, value in params)


def secret_problem(name: str, value: str | None) -> Problem | None:
    """Why a secret is unusable, with its value masked, or None."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        return Problem(name, MASK if value else value, "expected a non-empty string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return Problem(name, MASK, "expected text without unpaired surrogates (it must encode as UTF-8)")
    return None


def endpoint_url_problem(name: str, value: str) -> Problem | None:
    """Why ``value`` is not an ``http(s)://host[:port][/path]`` endpoint URL, or None."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return Problem(name, mask_dsn(value), "expected http(s)://host[:port][/path] with a valid port")
    if parts.scheme not in ("http", "https") or not parts.hostname or "://" not in value:
        return Problem(name, mask_dsn(value), "expected http(s)://host[:port][/path]")
    if parts.username is not None or parts.password is not None:
        return Problem(name, mask_dsn(value), "credentials belong in the DSN's user part, not in endpoint_url")
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        return Problem(name, value, "expected no query string or fragment")
    if port == 0 or any(ch.isspace() for ch in value):
        return Problem(name, value, "expected http(s)://host[:port][/path] without spaces, port 1-65535")
    return None


def domain_problem(name: str, value: str) -> Problem | None:
    """Why ``value`` is not a custom media host name, or None."""
    if why := check_hostname(value):
        return Problem(name, value, why)
    return None
