"""What both schemes' formatters share: percent-encoding and the checks of the values a DSN is formatted from."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from divio_storage_infra.core.dsn.mask import mask_url
from divio_storage_infra.core.errors import NOT_SHOWN, Problem, has_control_characters
from divio_storage_infra.core.rules import check_hostname


def quote_value(value: str) -> str:
    """``value`` percent-encoded with nothing left safe (``/``, ``+``, ``:`` and ``@`` included)."""
    return quote(value, safe="")


def query_string(params: list[tuple[str, str]]) -> str:
    """``key=value`` pairs joined by ``&``, every value percent-encoded (a raw ``+`` would read as a space)."""
    return "&".join(f"{key}={quote_value(value)}" for key, value in params)


SECRET_MAX = 1024
"""Longest key id or secret a DSN is formatted from or read with, in characters (Azure SAS tokens included)."""


def text_problem(name: str, value: object, *, allowed: str) -> Problem | None:
    """Why ``value`` is not a string a DSN can carry (type, control characters, surrogates), or None.

    The value is shown only through :func:`~divio_storage_infra.core.errors.excerpt` (bounded, masked).
    """
    if not isinstance(value, str):
        return Problem(name, f"<{type(value).__name__}>", f"expected a string: {allowed}")
    if has_control_characters(value):
        return Problem(name, value, f"expected no control characters or unpaired surrogates: {allowed}")
    return None


def secret_problem(name: str, value: object) -> Problem | None:
    """Why a key id or secret is unusable, with its value never shown, or None (also for None: absent)."""
    if value is None:
        return None
    if not isinstance(value, str):
        return Problem(name, NOT_SHOWN, f"expected a string, not {type(value).__name__}")
    if not value:
        return Problem(name, "", "expected a non-empty string")
    if len(value) > SECRET_MAX:
        return Problem(name, NOT_SHOWN, f"expected at most {SECRET_MAX} characters (this one has {len(value)})")
    if has_control_characters(value):
        return Problem(name, NOT_SHOWN, "expected no control characters (newline, NUL, ...) or unpaired surrogates")
    return None


def endpoint_url_problem(name: str, value: str) -> Problem | None:
    """Why ``value`` is not an ``http(s)://host[:port][/path]`` endpoint URL, or None."""
    if problem := text_problem(name, value, allowed="http(s)://host[:port][/path]"):
        return problem
    shown = mask_url(value)
    if len(value) > 2048:
        return Problem(name, shown, "expected http(s)://host[:port][/path] of at most 2048 characters")
    try:
        parts = urlsplit(value)
        port = parts.port
        netloc = parts.netloc.rpartition("@")[2]
    except ValueError:
        return Problem(name, shown, "expected http(s)://host[:port][/path] with a valid port")
    if parts.scheme not in ("http", "https") or not parts.hostname or "://" not in value:
        return Problem(name, shown, "expected http(s)://host[:port][/path]")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return Problem(name, shown, "credentials belong in the DSN's user part, not in endpoint_url")
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        return Problem(name, shown, "expected no query string or fragment")
    if port == 0 or any(ch.isspace() for ch in value):
        return Problem(name, shown, "expected http(s)://host[:port][/path] without spaces, port 1-65535")
    _, colon, raw_port = netloc.rpartition("]")[2].partition(":")
    if colon and not (raw_port.isascii() and raw_port.isdigit()):
        # urlsplit's port accepts Unicode digits ('²') and '+1'; clients do not.
        return Problem(name, shown, "expected a port of ASCII digits from 1 to 65535")
    return None


def domain_problem(name: str, value: object) -> Problem | None:
    """Why ``value`` is not a custom media host name, or None."""
    if problem := text_problem(name, value, allowed="a host name such as media.example.com"):
        return problem
    assert isinstance(value, str)  # for mypy: text_problem checked it
    if why := check_hostname(value):
        return Problem(name, mask_url(value), why)
    return None
