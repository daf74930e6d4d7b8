"""Masking the secret of a DSN that may be malformed, for error messages and reports.

The rule is to over-mask: a part is shown only when it has the plain shape of what belongs there (a host name,
a port of ASCII digits, a short lowercase parameter value); anything else, and everything before the last ``@``,
is replaced by ``***``. Text that is not ``scheme://...`` at all shows only its length (and a known scheme).
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

from divio_storage_infra.core.errors import Shown, looks_like_secret, looks_like_secret_key_name

MASK = "***"

_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,15})://")
_KNOWN_SCHEMES = ("s3", "az", "http", "https")
_USER_RE = re.compile(r"[A-Za-z0-9._~-]{1,128}")
_ACCOUNT_RE = re.compile(r"[a-z0-9]{3,24}")
_HOST_RE = re.compile(r"[A-Za-z0-9_.-]{1,253}")
_PORT_RE = re.compile(r"[0-9]{1,5}")  # [0-9], not \d or isdigit(): ASCII digits only
_PATH_RE = re.compile(r"[A-Za-z0-9._~/-]{0,200}")
_PARAM_KEY_RE = re.compile(r"[A-Za-z0-9_]{1,32}")
_PLAIN_VALUE_RE = re.compile(r"[a-z0-9._-]{1,32}")
_URL_PARAMS = ("url", "endpoint_url")
_DIGITS_RE = re.compile(r"[0-9]{8}")


def mask_dsn(text: str) -> str:
    """``text`` with anything that may be a secret replaced by ``***``; safe on malformed input, may over-mask."""
    return Shown(_mask(text, params=True))


def mask_url(text: str) -> str:
    """A URL (``url`` or ``endpoint_url``) or a host (``domain``) masked for an error: userinfo, query, fragment."""
    if not isinstance(text, str):
        return Shown(f"<{type(text).__name__}>")
    if _SCHEME_RE.match(text):
        return Shown(_mask(text, params=False))
    # A host has no path: anything after a '/' may be the rest of a secret.
    head, slash, _ = _mask_rest(text, params=False, trusted=False).partition("/")
    return Shown(f"{head}/{MASK}" if slash else head)


def shown_token(value: str | None) -> object:
    """A short parameter value (``acl``, ``auth``, ``region_name``...) as an error may show it, or a stand-in.

    Shown only when it is 1-32 lowercase letters, digits, dots, hyphens or underscores: no generated secret
    has that shape.
    """
    if value is None or _plain(value):
        return value
    return Shown(f"<{len(value)} characters, not shown>")


def _plain(value: str) -> bool:
    """A short lowercase token that cannot be a secret (a run of 8+ digits may be one: ``KEY:4815162342``)."""
    return bool(_PLAIN_VALUE_RE.fullmatch(value)) and not looks_like_secret(value) and not _DIGITS_RE.search(value)


def _opaque(text: str) -> str:
    scheme = text.partition(":")[0]
    if ":" in text and scheme.lower() in _KNOWN_SCHEMES:
        return f"<{len(text)} characters starting {scheme}:, not a well-formed URL>"
    return f"<{len(text)} characters, not a URL>"


def _mask(text: str, *, params: bool) -> str:
    if not isinstance(text, str):
        return f"<{type(text).__name__}, not a URL>"
    match = _SCHEME_RE.match(text)
    if match is None:
        # Not URL-shaped (a mistyped separator, a bare secret pasted by mistake): show none of it.
        return _opaque(text)
    # In a DSN, host[:port] without a user part may be "KEY:SECRET" with the host forgotten; in a URL it is a host.
    return f"{match[1]}://{_mask_rest(text[match.end() :], params=params, trusted=not params)}"


def _mask_rest(rest: str, *, params: bool, trusted: bool) -> str:
    """Everything after ``scheme://``: userinfo, host[:port], path, query, fragment."""
    at = rest.rfind("@")
    userinfo = ""
    if at >= 0:
        # The last '@' anywhere: a secret with raw '/', '?', '#' or '@' ends the netloc early, so the netloc
        # cannot be trusted to hold the whole secret.
        userinfo = _mask_userinfo(rest[:at]) + "@"
        rest = rest[at + 1 :]
    ends = [i for i in (rest.find(c) for c in "/?#") if i >= 0]
    netloc_end = min(ends, default=len(rest))
    hostport = _mask_hostport(rest[:netloc_end], trusted=trusted or bool(userinfo))
    tail = rest[netloc_end:]
    tail, hash_, fragment = tail.partition("#")
    path, question, query = tail.partition("?")
    # A masked netloc may be a secret cut short by a raw '/': then the path may hold the rest of it.
    plain_path = MASK not in hostport and _PATH_RE.fullmatch(path) and not _secret_segment(path)
    out = userinfo + hostport + (path if plain_path or not path else f"/{MASK}")
    if question:
        out += "?" + (mask_query(query) if params else (MASK if query else ""))
    if hash_:
        out += "#" + (MASK if fragment else "")
    return out


def _secret_segment(path: str) -> bool:
    return any(looks_like_secret(segment) or _DIGITS_RE.search(segment) for segment in path.split("/"))


def _mask_userinfo(userinfo: str) -> str:
    user, colon, _ = userinfo.partition(":")
    if colon:
        return f"{user}:{MASK}" if _USER_RE.fullmatch(user) and not looks_like_secret(user) else MASK
    # No ':' at all: an account name (az://account@...) or a secret pasted without its key.
    return user if _ACCOUNT_RE.fullmatch(user) and _plain(user) else MASK


def _mask_hostport(netloc: str, *, trusted: bool) -> str:
    """``host[:port]`` when it has that shape; without a user part before it, only a dotted host is trusted.

    ``KEY:4815162342`` (the host forgotten) reads as host:port; without a dot in the "host" it is masked whole.
    """
    if not netloc:
        return ""
    host, colon, port = netloc.partition(":") if netloc.count(":") == 1 else (netloc, "", "")
    plain_host = bool(_HOST_RE.fullmatch(host)) and (trusted or "." in host) and not looks_like_secret(host)
    plain_port = not colon or (bool(_PORT_RE.fullmatch(port)) and 1 <= int(port) <= 65535)
    if plain_host and plain_port:
        return netloc
    if colon and (plain_host or (_USER_RE.fullmatch(host) and not looks_like_secret(host))):
        # A forgotten host: the part before ':' is the key id (or a host), the "port" may be the secret.
        return f"{host}:{MASK}"
    return MASK


def mask_query(query: str) -> str:
    """A DSN's query string with every value that may be a secret masked; plain values are kept as given."""
    parts = []
    for part in query.split("&"):
        key, eq, value = part.partition("=")
        if not _PARAM_KEY_RE.fullmatch(key) or looks_like_secret_key_name(key):
            parts.append(MASK if part else "")
            continue
        if not eq:
            parts.append(key)
            continue
        decoded = unquote_plus(value, errors="replace")
        if key in _URL_PARAMS or key == "domain":
            masked = mask_url(decoded)
            parts.append(f"{key}={value if masked == decoded else masked}")
        elif not value or _plain(decoded):
            parts.append(f"{key}={value}")
        else:
            parts.append(f"{key}={MASK}")
    return "&".join(parts)
