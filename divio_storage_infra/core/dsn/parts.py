"""Splitting a DSN into its parts, the way django-storage-url's furl does, before a scheme reads them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, unquote_plus, urlsplit

from divio_storage_infra.core.dsn.errors import DsnError
from divio_storage_infra.core.dsn.mask import MASK, mask_dsn
from divio_storage_infra.core.dsn.values import endpoint_url_problem

URL_RE = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<netloc>[^/?#]*)(?P<path>[^?#]*)"
    r"(?:\?(?P<query>[^#]*))?(?P<fragment>#.*)?$",
    re.DOTALL,
)
"""A URL as the parts django-storage-url reads: scheme, netloc, path, query, fragment."""
_HOST_RE = re.compile(r"^[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?$")
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
    match = URL_RE.match(text)
    if match is None:
        shapes = " or ".join(f"{scheme}://..." for scheme in schemes)
        raise DsnError.one("dsn", masked, f"expected {shapes} (see docs/dsn.md)")
    scheme = match["scheme"].lower()
    if scheme not in schemes:
        raise DsnError.one("scheme", scheme, f"expected {' or '.join(schemes)}")
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
    host, port = hostport, ""
    if ":" in hostport:
        host, _, port = hostport.rpartition(":")
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise DsnError.one("dsn", masked, "expected host[:port] with a port from 1 to 65535")
    host = host.lower()  # as furl does
    if not _HOST_RE.match(host) or ".." in host:
        raise DsnError.one("host", masked, "expected a host name of letters, digits, dots and hyphens")
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
    if "@" not in match["netloc"]:
        return dsn  # no user part, no secret
    userinfo, _, hostport = match["netloc"].partition("@")
    user, colon, _ = userinfo.partition(":")
    masked_userinfo = f"{user}:{MASK}" if colon else user
    return f"{match['scheme']}://{masked_userinfo}@{hostport}{dsn[match.end('netloc') :]}"


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
        if key in out:
            raise DsnError.one(key, masked, "expected each query parameter at most once")
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
    if domain is not None and not _DOMAIN_RE.match(domain):
        raise DsnError.one("domain", domain, "expected a host name such as media.example.com (no scheme or path)")
    url = required(params, "url")
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
            raise DsnError.one("url", url, "expected the media base URL, http(s)://host[/path]")
        domain = parts.netloc
    return domain, url
