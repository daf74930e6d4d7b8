"""Splitting a DSN into its parts, the way django-storage-url's furl does, before a scheme reads them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, unquote_plus, urlsplit

from divio_storage_infra.core.dsn.errors import DsnError
from divio_storage_infra.core.dsn.mask import MASK, mask_dsn, mask_query, mask_url
from divio_storage_infra.core.dsn.values import endpoint_url_problem
from divio_storage_infra.core.errors import has_control_characters

URL_RE = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<netloc>[^/?#]*)(?P<path>[^?#]*)"
    r"(?:\?(?P<query>[^#]*))?(?P<fragment>#.*)?$",
    re.DOTALL,
)
"""A URL as the parts django-storage-url reads: scheme, netloc, path, query, fragment."""
_HOST_RE = re.compile(r"^[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?$")
_PORT_RE = re.compile(r"^[0-9]{1,5}$")  # ASCII digits: str.isdigit() accepts '²', which int() then refuses
_PARAM_KEY_RE = re.compile(r"^[A-Za-z0-9_]{1,32}$")
DSN_MAX = 4096
"""Longest DSN read, in characters (an Azure DSN with a SAS is a few hundred)."""
LABEL_MAX = 63
"""Longest label of a host name (DNS; django-storage-url crashes on longer ones)."""
_DOMAIN_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?$")


@dataclass(frozen=True)
class DsnParts:
    """A DSN split into its decoded parts, with what every scheme checks already checked.

    ``user`` and ``password`` are percent-decoded (None when absent); ``host`` is lowercased, ``port`` is the
    digits after it or ``""``; ``params`` are the decoded query parameters (a value is None for ``key`` without
    ``=``). ``custom_domain``, ``url`` and ``endpoint_url`` are the validated common parameters.
    """

    scheme: str
    user: str | None
    password: str | None = field(repr=False)
    host: str
    port: str
    path: str
    params: Mapping[str, str | None]
    custom_domain: str | None
    url: str | None
    endpoint_url: str | None
    masked: str
    """The DSN with its secret masked, for error messages."""
    text: str = field(repr=False)
    """The DSN as given, stripped of surrounding white space."""

    @property
    def host_port(self) -> str:
        """``host[:port]`` as the DSN gives it (host lowercased)."""
        return f"{self.host}:{self.port}" if self.port else self.host

    def required(self, key: str) -> str | None:
        """A known parameter's value: absent is None, but present without a value is an error."""
        return required(self.params, key)

    def unknown_params(self, known: tuple[str, ...]) -> tuple[str, ...]:
        """The parameters not in ``known``, sorted."""
        return tuple(sorted(k for k in self.params if k not in known))


def split_dsn(dsn: str, schemes: tuple[str, ...]) -> DsnParts:
    """Split ``dsn`` into :class:`DsnParts`; raises DsnError (masked) for what no scheme could read."""
    if not isinstance(dsn, str):
        raise DsnError.one("dsn", type(dsn).__name__, "expected the DSN as a string")
    text = dsn.strip()
    masked = mask_dsn(text)
    if len(text) > DSN_MAX:
        raise DsnError.one("dsn", masked, f"expected at most {DSN_MAX} characters (this one has {len(text)})")
    if has_control_characters(text):
        raise DsnError.one(
            "dsn", masked, "expected no control characters or unpaired surrogates; percent-encode them in values"
        )
    match = URL_RE.match(text)
    if match is None:
        shapes = " or ".join(f"{scheme}://..." for scheme in schemes)
        raise DsnError.one("dsn", masked, f"expected {shapes} (see docs/dsn.md)")
    scheme = match["scheme"].lower()
    if scheme not in schemes:
        raise DsnError.one("scheme", masked, f"expected {' or '.join(schemes)}")
    if match["fragment"] is not None:
        raise DsnError.one("dsn", masked, "expected no '#': percent-encode it in the secret and in values")
    netloc = match["netloc"]
    if "@" not in netloc and "@" in text[match.end("netloc") :]:
        # A raw '/', '?' or '#' in the secret ended the host part early; the rest would be misread.
        raise DsnError.one("dsn", masked, "expected '/', '?', '#' and '@' in the key and secret percent-encoded")
    if netloc.count("@") > 1:
        raise DsnError.one("dsn", masked, "expected at most one '@': percent-encode '@' in the key and secret")
    userinfo, at, hostport = netloc.rpartition("@")
    user: str | None = None
    password: str | None = None
    if at:
        raw_user, colon, raw_password = userinfo.partition(":")
        try:
            user = unquote(raw_user, errors="strict")
            password = unquote(raw_password, errors="strict") if colon else None
        except UnicodeDecodeError:
            raise DsnError.one("dsn", masked, "expected the key and secret percent-encoded as UTF-8") from None
        if has_control_characters(user) or (password is not None and has_control_characters(password)):
            raise DsnError.one("dsn", masked, "expected a key and secret without control characters")
    host, port = hostport, ""
    if ":" in hostport:
        host, _, port = hostport.rpartition(":")
        if not _PORT_RE.fullmatch(port) or not 1 <= int(port) <= 65535:
            raise DsnError.one("dsn", masked, "expected host[:port] with a port from 1 to 65535")
    host = host.lower()  # as furl does
    if not _HOST_RE.fullmatch(host) or ".." in host:
        raise DsnError.one("host", masked, "expected a host name of letters, digits, dots and hyphens")
    if len(host) > 253 or any(len(label) > LABEL_MAX for label in host.split(".")):
        raise DsnError.one("host", masked, f"expected a host name of at most 253 characters, labels of 1-{LABEL_MAX}")
    params = parse_query(match["query"], masked)
    endpoint_url = required(params, "endpoint_url")
    if endpoint_url is not None and (problem := endpoint_url_problem("endpoint_url", endpoint_url)):
        raise DsnError([problem])
    custom_domain, url = _media_params(params)
    return DsnParts(
        scheme=scheme,
        user=user,
        password=password,
        host=host,
        port=port,
        path=match["path"],
        params=params,
        custom_domain=custom_domain,
        url=url,
        endpoint_url=endpoint_url,
        masked=masked,
        text=text,
    )


def masked_exact(dsn: str) -> str:
    """Mask the password of a DSN that parsed: its netloc is trustworthy, so keep everything else verbatim."""
    match = URL_RE.match(dsn)
    if match is None:  # pragma: no cover - parse_dsn only accepts what matches
        return mask_dsn(dsn)
    netloc = match["netloc"]
    if "@" in netloc:
        userinfo, _, hostport = netloc.partition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{hostport}" if colon else f"{user}@{hostport}"
    # Query values the parser does not know (or that name a secret) are masked too; known ones stay verbatim.
    query = f"?{mask_query(match['query'])}" if match["query"] is not None else ""
    return f"{match['scheme']}://{netloc}{match['path']}{query}"


def parse_query(query: str | None, masked: str) -> dict[str, str | None]:
    """Query parameters decoded as django-storage-url's furl does ('+' is a space); duplicates are an error."""
    out: dict[str, str | None] = {}
    for part in (query or "").split("&"):
        if not part:
            continue
        raw_key, sep, raw_value = part.partition("=")
        try:
            key = unquote_plus(raw_key, errors="strict")
            value = unquote_plus(raw_value, errors="strict") if sep else None
        except UnicodeDecodeError:
            raise DsnError.one("dsn", masked, "expected query values percent-encoded as UTF-8") from None
        name = key if _PARAM_KEY_RE.fullmatch(key) else "query parameter"
        if has_control_characters(key) or (value is not None and has_control_characters(value)):
            raise DsnError.one(name, masked, "expected query parameters without control characters")
        if key in out:
            raise DsnError.one(name, masked, "expected each query parameter at most once")
        out[key] = value
    return out


def required(params: Mapping[str, str | None], key: str) -> str | None:
    """A known parameter's value: absent is None, but present without a value is an error."""
    if key not in params:
        return None
    value = params[key]
    if not value:
        raise DsnError.one(key, value, "expected a value (key=value), percent-encoded")
    return value


def _media_params(params: Mapping[str, str | None]) -> tuple[str | None, str | None]:
    """(custom_domain, url) from ``domain`` / ``url``; django-storage-url takes the host of ``url`` first."""
    domain = required(params, "domain")
    if domain is not None and (not _DOMAIN_RE.fullmatch(domain) or not _port_ok(domain)):
        raise DsnError.one(
            "domain", mask_url(domain), "expected a host name such as media.example.com (no scheme or path)"
        )
    url = required(params, "url")
    if url is not None:
        try:
            parts = urlsplit(url)
        except ValueError:  # e.g. an unclosed '[' of an IPv6 address
            parts = urlsplit("")
        if "@" in url:
            # A raw '/' in a password splits 'https://u:se/cret@host' early: refuse any '@', never read it as a host.
            raise DsnError.one("url", mask_url(url), "expected the media base URL without credentials (no '@')")
        if parts.query or parts.fragment or "?" in url or "#" in url:
            # django-storages appends file names to it: a query string would end up in the middle of every link.
            raise DsnError.one("url", mask_url(url), "expected the media base URL without a query string or fragment")
        if (
            parts.scheme not in ("http", "https")
            or not _DOMAIN_RE.fullmatch(parts.netloc)
            or not _port_ok(parts.netloc)
        ):
            raise DsnError.one("url", mask_url(url), "expected the media base URL, http(s)://host[:port][/path]")
        domain = parts.netloc
    return domain, url


def _port_ok(host_port: str) -> bool:
    """True unless ``host:port`` has a port outside 1-65535 (the shape is checked by the caller)."""
    _, colon, port = host_port.partition(":")
    return not colon or (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535)
