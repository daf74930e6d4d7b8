"""Format and parse storage DSNs (see "The DSN contract" in DESIGN.md). Pure Python, no Pulumi import.

The parser reads a DSN the way django-storage-url (Divio's parser) does, including its quirks in splitting the
bucket from the endpoint host, so what it reports is what the app will see. The formatters only return DSNs that
django-storage-url reads back as meant: anything else raises :class:`DsnError` instead of exporting a DSN that
would silently point the app at the wrong bucket, endpoint or region.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs, quote, unquote, unquote_plus, urlsplit

from divio_storage_infra.core.errors import Problem, SpecError
from divio_storage_infra.core.rules import check_account_name, check_bucket_name, check_endpoint, check_hostname

DEFAULT_ACL = "bucket-owner-full-control"
# What django-storage-url uploads with when the DSN names no ACL; AWS rejects it on buckets with ACLs disabled.
DSU_DEFAULT_ACL = "public-read"
AZURE_BLOB_HOST = "blob.core.windows.net"
MASK = "***"

CANNED_ACLS: frozenset[str] = frozenset(
    {
        "private",
        "public-read",
        "public-read-write",
        "authenticated-read",
        "aws-exec-read",
        "bucket-owner-read",
        "bucket-owner-full-control",
        "log-delivery-write",
    }
)
ADDRESSING_STYLES: frozenset[str] = frozenset({"auto", "path", "virtual"})
# The query parameters each scheme understands (django-storage-url's plus endpoint_url); others only warn.
S3_PARAMS: tuple[str, ...] = (
    "auth",
    "acl",
    "qs_auth",
    "domain",
    "url",
    "region_name",
    "addressing_style",
    "endpoint_url",
)
AZURE_PARAMS: tuple[str, ...] = ("domain", "url", "endpoint_url")

# django-storage-url's list, in its order: the first needle found in the host wins, even inside a bucket name.
_AWS_NEEDLES: tuple[str, ...] = (
    ".s3-accesspoint-fips.dualstack.",
    ".s3-fips.dualstack.",
    ".s3-accesspoint.dualstack.",
    ".s3.dualstack.",
    ".s3-accesspoint.",
    ".s3-fips.",
    ".s3-",
    ".s3.",
)
_TRUE = frozenset({"1", "true", "yes", "on"})  # django-storage-url's boolean_str
_FALSE = frozenset({"0", "false", "no", "off"})

_URL_RE = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<netloc>[^/?#]*)(?P<path>[^?#]*)"
    r"(?:\?(?P<query>[^#]*))?(?P<fragment>#.*)?$",
    re.DOTALL,
)
_HOST_SHAPE = "expected <bucket>.<endpoint host>, e.g. media.s3.eu-central-1.amazonaws.com"
_HOST_RE = re.compile(r"^[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?$")
_REGION_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_AUTH_RE = re.compile(r"^[a-z0-9-]{1,32}$")
_DOMAIN_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?$")
_CONTAINER_RE = re.compile(r"^[a-z0-9](?:-?[a-z0-9])+$")


class DsnError(SpecError):
    """A DSN, or a value to format one from, is invalid. The message never contains the secret: it is masked."""

    def __init__(self, problems: list[Problem], *, context: str = "") -> None:
        super().__init__(problems, context=context)
        head = f"invalid storage DSN{f' for {context}' if context else ''}"
        if len(self.problems) == 1:
            message = f"{head}: {self.problems[0]}"
        else:
            message = head + ":\n" + "\n".join(f"  - {p}" for p in self.problems)
        self.args = (message,)


def mask_dsn(text: str) -> str:
    """``text`` with anything that may be a secret replaced by ``***``; safe on malformed input, may over-mask."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        # Not URL-shaped at all: it may be a bare secret pasted by mistake, so show none of it.
        return f"<{len(text)} characters, not a URL>"
    at = rest.rfind("@")
    if at >= 0:
        # The last '@' anywhere: a secret with raw '/', '?', '#' or '@' ends the netloc early, so the netloc
        # cannot be trusted to hold the whole secret.
        user, colon, _ = rest[:at].partition(":")
        userinfo = f"{user}:{MASK}" if colon and "/" not in user else MASK
        return f"{scheme}://{userinfo}{rest[at:]}"
    netloc_end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    host, colon, tail = rest[:netloc_end].partition(":")
    if colon and not tail.isdigit():
        # "key:secret" with the host forgotten reads as host:port; a non-numeric "port" may be the secret.
        return f"{scheme}://{host}:{MASK}{rest[netloc_end:]}"
    return text


def _masked_exact(dsn: str) -> str:
    """Mask the password of a DSN that parsed: its netloc is trustworthy, so keep everything else verbatim."""
    match = _URL_RE.match(dsn)
    if match is None:  # pragma: no cover - parse_dsn only accepts what matches
        return mask_dsn(dsn)
    if "@" not in match["netloc"]:
        return dsn  # no user part, no secret
    userinfo, _, hostport = match["netloc"].partition("@")
    user, colon, _ = userinfo.partition(":")
    masked_userinfo = f"{user}:{MASK}" if colon else user
    return f"{match['scheme']}://{masked_userinfo}@{hostport}{dsn[match.end('netloc') :]}"


@dataclass(frozen=True)
class ParsedDsn:
    """What a storage DSN means, as django-storage-url reads it plus this project's ``endpoint_url`` extension.

    S3 fields: ``bucket``, ``endpoint_host`` (``host[:port]``), ``region``, ``access_key_id``, ``secret``.
    Azure fields: ``account``, ``container``, ``credential_kind`` and ``account_key`` or ``sas_token`` (decoded);
    ``secret`` is then the same credential. Secrets are left out of ``repr``.
    """

    scheme: Literal["s3", "az"]
    endpoint_host: str
    bucket: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret: str | None = field(default=None, repr=False)
    custom_domain: str | None = None
    url: str | None = None
    """The ``url`` parameter (media base URL with scheme), which django-storage-url prefers over ``domain``."""
    signed_urls: bool = False
    acl: str | None = None
    """The ``acl`` parameter as given; None when absent (see :attr:`effective_acl`)."""
    auth: str | None = None
    addressing_style: str | None = None
    location: str = ""
    """S3 key prefix from the DSN's path (django-storage-url's ``location``)."""
    endpoint_url: str | None = None
    account: str | None = None
    container: str | None = None
    credential_kind: Literal["account-key", "sas"] | None = None
    account_key: str | None = field(default=None, repr=False)
    sas_token: str | None = field(default=None, repr=False)
    unknown_params: tuple[str, ...] = ()
    region_name_ignored: bool = False
    """True when ``region_name`` is present but django-storage-url takes the region from an AWS-style host."""
    raw: str = field(default="", repr=False, compare=False)

    def masked(self) -> str:
        """The DSN as given, with the secret replaced by ``***``."""
        return _masked_exact(self.raw) if self.raw else ""

    @property
    def cloud(self) -> str:
        """A best guess at the provider from the host: ``aws``, ``exoscale``, ``s3-compatible`` or ``azure``."""
        if self.scheme == "az":
            return "azure"
        host = self.endpoint_host.partition(":")[0]
        if host.endswith((".amazonaws.com", ".amazonaws.com.cn")):
            return "aws"
        if host.endswith(".exo.io"):
            return "exoscale"
        return "s3-compatible"

    @property
    def has_credentials(self) -> bool:
        """True when the DSN carries a secret (S3 key pair, Azure account key or SAS)."""
        return self.secret is not None

    @property
    def effective_acl(self) -> str | None:
        """The ACL uploads are sent with: the DSN's, else django-storage-url's default (S3 only)."""
        if self.scheme != "s3":
            return None
        return self.acl if self.acl is not None else DSU_DEFAULT_ACL

    @property
    def url_protocol(self) -> str:
        """The media URL scheme with colon, as django-storages wants it: ``https:`` unless ``url`` says otherwise."""
        return f"{urlsplit(self.url).scheme}:" if self.url else "https:"

    @property
    def effective_endpoint_url(self) -> str:
        """Where clients connect: the ``endpoint_url`` extension, else the cloud's HTTPS endpoint."""
        if self.endpoint_url is not None:
            return self.endpoint_url
        if self.scheme == "az":
            return f"https://{self.account}.{self.endpoint_host}"
        return f"https://{self.endpoint_host}"

    @property
    def media_url(self) -> str:
        """The public base URL of the stored files (signed URLs still need their query string)."""
        prefix = f"{self.location.strip('/')}/" if self.location.strip("/") else ""
        if self.scheme == "az":
            if self.custom_domain is not None:
                return f"{self.url_protocol}//{self.custom_domain}/{self.container}/"
            if self.endpoint_url is not None:
                return f"{self.endpoint_url.rstrip('/')}/{self.container}/"
            return azure_media_url(str(self.account), str(self.container))
        if self.custom_domain is not None:
            return f"{self.url_protocol}//{self.custom_domain}/{prefix}"
        if self.endpoint_url is not None:
            # Emulators on loopback cannot resolve virtual-hosted names: path style.
            return f"{self.endpoint_url.rstrip('/')}/{self.bucket}/{prefix}"
        return s3_media_url(str(self.bucket), self.endpoint_host) + prefix

    @property
    def warnings(self) -> tuple[str, ...]:
        """Where django-storage-url (what a Divio app runs) would read this DSN differently or fail on it."""
        out: list[str] = []
        if self.unknown_params:
            out.append(f"unknown parameter(s) {', '.join(self.unknown_params)}: django-storage-url ignores them")
        if self.url is not None and self.custom_domain is not None and self.url_protocol == "http:":
            out.append("url uses http: media links will not be encrypted")
        if self.endpoint_url is not None:
            target = f"https://{self.endpoint_host}/" if self.scheme == "s3" else f"{self.account}.{AZURE_BLOB_HOST}"
            out.append(
                f"endpoint_url is this project's extension: django-storage-url ignores it and connects to {target}"
            )
        if self.scheme == "s3":
            if self.acl is None:
                out.append(
                    "no acl: django-storage-url uploads with public-read, which S3 rejects on buckets with ACLs "
                    f"disabled; add acl={DEFAULT_ACL}"
                )
            if ":" in self.endpoint_host:
                host = self.endpoint_host.partition(":")[0]
                out.append(f"django-storage-url drops the port of the endpoint and connects to https://{host}/")
            if self.signed_urls and self.custom_domain is not None:
                out.append(
                    "qs_auth=true with a custom domain: django-storages does not sign URLs on a custom domain, "
                    "so links to this private bucket will be refused"
                )
            if self.region_name_ignored:
                out.append(f"region_name is ignored: django-storage-url takes region {self.region!r} from the host")
        else:
            if self.credential_kind is None:
                out.append(
                    "no credential: django-storage-url cannot read an az:// DSN without one; this form is for "
                    "apps that authenticate with a managed identity through their own settings"
                )
            if self.endpoint_host != AZURE_BLOB_HOST:
                out.append(
                    f"host {self.endpoint_host!r}: django-storages still connects to "
                    f"{self.account}.{AZURE_BLOB_HOST}; the host only changes the media URL"
                )
        return tuple(out)


def s3_media_url(bucket: str, endpoint_host: str, custom_domain: str | None = None) -> str:
    """The public media base URL of a bucket: ``https://<bucket>.<host>/`` or ``https://<domain>/``."""
    return f"https://{custom_domain}/" if custom_domain else f"https://{bucket}.{endpoint_host}/"


def azure_media_url(account: str, container: str, custom_domain: str | None = None) -> str:
    """The public media base URL of a container: ``https://<account>.blob.core.windows.net/<container>/``.

    With a custom domain: ``https://<domain>/<container>/`` (django-storages keeps the container in the path).
    """
    host = custom_domain or f"{account}.{AZURE_BLOB_HOST}"
    return f"https://{host}/{container}/"


def _q(value: str) -> str:
    return quote(value, safe="")


def _query(params: list[tuple[str, str]]) -> str:
    return "&".join(f"{key}={_q(value)}" for key, value in params)


def _secret_problem(name: str, value: str | None) -> Problem | None:
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


def _endpoint_url_problem(name: str, value: str) -> Problem | None:
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


def _domain_problem(name: str, value: str) -> Problem | None:
    if why := check_hostname(value):
        return Problem(name, value, why)
    return None


def _container_ok(name: str) -> bool:
    """Azure's container rules (3-63 lowercase letters, digits, single hyphens) or a special container."""
    return name in ("$root", "$web") or (3 <= len(name) <= 63 and bool(_CONTAINER_RE.match(name)))


def _split_s3_host(host: str, region_param: str | None, *, shown: str) -> tuple[str, str, str | None, bool]:
    """Split ``<bucket>.<endpoint>`` exactly as django-storage-url does: (bucket, endpoint, region, aws_style).

    ``aws_style`` is True when a ``.s3.``-like needle decided the split; django-storage-url then takes the region
    from the host and ignores ``region_name``.
    """
    for needle in _AWS_NEEDLES:
        bucket, marker, rest = host.partition(needle)
        if not marker:
            continue
        region: str | None = rest.split(".", 1)[0]
        if region == "amazonaws":
            region = None
        elif region in ("control", "control-fips"):
            continue
        return bucket, marker.lstrip(".") + rest, region, True
    labels = host.rsplit(".", 3)
    if len(labels) < 2:
        raise DsnError.one("host", shown, _HOST_SHAPE)
    derived = labels[1].partition("-")[2]
    return labels[0], ".".join(labels[1:]), (region_param if region_param is not None else derived) or None, False


def s3_dsn(
    *,
    bucket: str,
    endpoint_host: str,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    custom_domain: str | None = None,
    signed_urls: bool = False,
    acl: str = DEFAULT_ACL,
    region: str | None = None,
    endpoint_url: str | None = None,
    path_style: bool = False,
) -> str:
    """The S3 DSN for a bucket at ``endpoint_host``; raises DsnError when django-storage-url could not read it back.

    ``region`` is written as ``region_name`` only when the host does not already name it; ``endpoint_url`` is
    this project's emulator extension. ``signed_urls`` (private bucket) excludes ``custom_domain``;
    ``path_style`` adds ``addressing_style=path``.
    """
    problems: list[Problem] = []
    if why := check_bucket_name(bucket):
        problems.append(Problem("bucket", bucket, why))
    if why := check_endpoint(endpoint_host):
        problems.append(Problem("endpoint_host", endpoint_host, why))
    elif ":" in endpoint_host:
        problems.append(
            Problem(
                "endpoint_host",
                endpoint_host,
                "django-storage-url drops the port and connects to https://<host>/; use a host on port 443 "
                "(for an emulator, pass endpoint_url as well)",
            )
        )
    if (access_key_id is None) != (secret_access_key is None):
        problems.append(
            Problem(
                "access_key_id" if access_key_id is None else "secret_access_key",
                None,
                "give both access_key_id and secret_access_key, or neither (the app then uses a role)",
            )
        )
    if access_key_id is not None and (not isinstance(access_key_id, str) or not access_key_id.strip()):
        problems.append(Problem("access_key_id", access_key_id, "expected a non-empty access key id"))
    if problem := _secret_problem("secret_access_key", secret_access_key):
        problems.append(problem)
    if custom_domain is not None:
        if problem := _domain_problem("custom_domain", custom_domain):
            problems.append(problem)
        if signed_urls:
            problems.append(
                Problem(
                    "custom_domain",
                    custom_domain,
                    "a private bucket (signed_urls) is read through signed S3 URLs; django-storages does not sign "
                    "URLs on a custom domain, so leave custom_domain out",
                )
            )
    if acl not in CANNED_ACLS:
        problems.append(Problem("acl", acl, f"expected a canned ACL: {', '.join(sorted(CANNED_ACLS))}"))
    if region is not None and not _REGION_RE.match(region):
        problems.append(Problem("region", region, "expected a region name of lowercase letters, digits and hyphens"))
    if endpoint_url is not None and (problem := _endpoint_url_problem("endpoint_url", endpoint_url)):
        problems.append(problem)
    if problems:
        raise DsnError(problems)

    host = f"{bucket}.{endpoint_host}"
    read_bucket, read_endpoint, read_region, aws_style = _split_s3_host(host, None, shown=host)
    if (read_bucket, read_endpoint) != (bucket, endpoint_host):
        raise DsnError.one(
            "endpoint_host",
            endpoint_host,
            f"django-storage-url would read {host!r} as bucket {read_bucket!r} at endpoint {read_endpoint!r}; "
            "it takes the last three labels as the endpoint unless the host contains '.s3.' or '.s3-', so use "
            "an endpoint host of three labels (or fewer with a bucket name without dots), and a bucket name "
            "without '.s3.' or '.s3-'",
        )
    write_region = region is not None and region != read_region
    if write_region and aws_style:
        raise DsnError.one(
            "region",
            region,
            f"django-storage-url takes the region from an AWS-style host and ignores region_name; "
            f"{endpoint_host!r} names region {read_region!r}: use the endpoint host of region {region!r}",
        )

    userinfo = ""
    if access_key_id is not None and secret_access_key is not None:
        userinfo = f"{_q(access_key_id)}:{_q(secret_access_key)}@"
    params = [("auth", "s3v4"), ("acl", acl)]
    if signed_urls:
        params.append(("qs_auth", "true"))
    if custom_domain is not None:
        params.append(("domain", custom_domain))
    if write_region and region is not None:
        params.append(("region_name", region))
    if path_style:
        # Providers without wildcard DNS for bucket sub-domains; django-storage-url passes it to boto3.
        params.append(("addressing_style", "path"))
    if endpoint_url is not None:
        params.append(("endpoint_url", endpoint_url))
    return f"s3://{userinfo}{host}/?{_query(params)}"


def _sas_problem(token: str) -> Problem | None:
    """Why a SAS token would not be read as one by django-storage-url, or None."""
    if not token.isascii() or any(ch.isspace() for ch in token):
        return Problem("sas_token", MASK, "expected the SAS query string (ASCII, no spaces), e.g. sv=...&sig=...")
    if "sig" not in parse_qs(token):
        return Problem(
            "sas_token",
            MASK,
            "expected a SAS query string with a sig parameter; without it the key reads as an account key",
        )
    return None


def _account_key_problem(key: str) -> Problem | None:
    """Why an account key is not one django-storage-url reads as an account key, or None."""
    try:
        decoded = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        return Problem("account_key", MASK, "expected the account key as Azure shows it: padded standard base64")
    if not decoded:
        return Problem("account_key", MASK, "expected a non-empty base64 account key")
    try:
        text = decoded.decode("ascii")
    except UnicodeDecodeError:
        return None
    if "sig" in parse_qs(text):
        return Problem("account_key", MASK, "this key decodes to a SAS query string; pass it as sas_token")
    return None


def azure_dsn(
    *,
    account: str,
    container: str,
    account_key: str | None = None,
    sas_token: str | None = None,
    custom_domain: str | None = None,
    endpoint_url: str | None = None,
) -> str:
    """The Azure Blob DSN for ``container`` in ``account``, with an account key, a SAS token (base64) or neither.

    Without a credential the DSN is ``az://<account>@blob.core.windows.net/<container>``, for apps using a managed
    identity: django-storage-url cannot read that form. A leading ``?`` of the SAS token is dropped.
    """
    problems: list[Problem] = []
    if why := check_account_name(account):
        problems.append(Problem("account", account, why))
    if not _container_ok(container):
        problems.append(
            Problem(
                "container",
                container,
                "expected 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter "
                "or digit",
            )
        )
    if account_key is not None and sas_token is not None:
        problems.append(Problem("sas_token", MASK, "give account_key or sas_token, not both"))
    credential: str | None = None
    if account_key is not None:
        if problem := _secret_problem("account_key", account_key) or _account_key_problem(account_key):
            problems.append(problem)
        credential = account_key
    elif sas_token is not None:
        token = sas_token.removeprefix("?") if isinstance(sas_token, str) else sas_token
        if problem := _secret_problem("sas_token", token) or _sas_problem(token):
            problems.append(problem)
        else:
            credential = base64.b64encode(token.encode("ascii")).decode("ascii")
    if custom_domain is not None and (problem := _domain_problem("custom_domain", custom_domain)):
        problems.append(problem)
    if endpoint_url is not None and (problem := _endpoint_url_problem("endpoint_url", endpoint_url)):
        problems.append(problem)
    if problems:
        raise DsnError(problems)

    userinfo = f"{account}:{_q(credential)}@" if credential is not None else f"{account}@"
    params: list[tuple[str, str]] = []
    if custom_domain is not None:
        params.append(("domain", custom_domain))
    if endpoint_url is not None:
        params.append(("endpoint_url", endpoint_url))
    query = f"?{_query(params)}" if params else ""
    return f"az://{userinfo}{AZURE_BLOB_HOST}/{container}{query}"


def _parse_query(query: str | None, masked: str) -> dict[str, str | None]:
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


def _required(params: dict[str, str | None], key: str) -> str | None:
    """A known parameter's value: absent is None, but present without a value is an error."""
    if key not in params:
        return None
    value = params[key]
    if not value:
        raise DsnError.one(key, value, "expected a value (key=value), percent-encoded")
    return value


def _media_params(params: dict[str, str | None]) -> tuple[str | None, str | None]:
    """(custom_domain, url) from ``domain`` / ``url``; django-storage-url takes the host of ``url`` first."""
    domain = _required(params, "domain")
    if domain is not None and not _DOMAIN_RE.match(domain):
        raise DsnError.one("domain", domain, "expected a host name such as media.example.com (no scheme or path)")
    url = _required(params, "url")
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
            raise DsnError.one("url", url, "expected the media base URL, http(s)://host[/path]")
        domain = parts.netloc
    return domain, url


def parse_dsn(dsn: str) -> ParsedDsn:
    """Read an ``s3://`` or ``az://`` DSN as django-storage-url does, honouring ``endpoint_url``.

    Raises DsnError (field, masked value, what is allowed) for malformed input, including input on which
    django-storage-url would crash or that it would read into something unusable.
    """
    if not isinstance(dsn, str):
        raise DsnError.one("dsn", type(dsn).__name__, "expected the DSN as a string")
    text = dsn.strip()
    masked = mask_dsn(text)
    match = _URL_RE.match(text)
    if match is None:
        raise DsnError.one("dsn", masked, "expected s3://... or az://... (see DESIGN.md, 'The DSN contract')")
    scheme = match["scheme"].lower()
    if scheme not in ("s3", "az"):
        raise DsnError.one("scheme", scheme, "expected s3 or az")
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
    params = _parse_query(match["query"], masked)
    endpoint_url = _required(params, "endpoint_url")
    if endpoint_url is not None and (problem := _endpoint_url_problem("endpoint_url", endpoint_url)):
        raise DsnError([problem])
    custom_domain, url = _media_params(params)
    path = match["path"]
    if scheme == "az":
        return _parse_az(text, masked, user, password, host, port, path, params, custom_domain, url, endpoint_url)
    return _parse_s3(text, masked, user, password, host, port, path, params, custom_domain, url, endpoint_url)


def _parse_s3(
    text: str,
    masked: str,
    user: str | None,
    password: str | None,
    host: str,
    port: str,
    path: str,
    params: dict[str, str | None],
    custom_domain: str | None,
    url: str | None,
    endpoint_url: str | None,
) -> ParsedDsn:
    if user is not None and password is None:
        raise DsnError.one("dsn", masked, "an access key id needs its secret: s3://<KEY>:<SECRET>@<bucket>.<host>/")
    if user is not None and (not user or not password):
        raise DsnError.one("dsn", masked, "expected a non-empty access key id and secret, or no user part at all")
    region_param = _required(params, "region_name")
    if region_param is not None and not _REGION_RE.match(region_param):
        raise DsnError.one("region_name", region_param, "expected lowercase letters, digits and hyphens")
    bucket, endpoint_host, region, aws_style = _split_s3_host(host, region_param, shown=masked)
    if not bucket:
        raise DsnError.one("host", masked, _HOST_SHAPE)
    acl = _required(params, "acl")
    if acl is not None and acl not in CANNED_ACLS:
        raise DsnError.one("acl", acl, f"expected a canned ACL: {', '.join(sorted(CANNED_ACLS))}")
    qs_auth = _required(params, "qs_auth")
    if qs_auth is not None and qs_auth.lower() not in _TRUE | _FALSE:
        raise DsnError.one("qs_auth", qs_auth, "expected true or false (1/0, yes/no, on/off)")
    auth = _required(params, "auth")
    if auth is not None and not _AUTH_RE.match(auth):
        raise DsnError.one("auth", auth, "expected a signature version such as s3v4")
    style = _required(params, "addressing_style")
    if style is not None and style not in ADDRESSING_STYLES:
        raise DsnError.one("addressing_style", style, f"expected one of {', '.join(sorted(ADDRESSING_STYLES))}")
    return ParsedDsn(
        scheme="s3",
        endpoint_host=f"{endpoint_host}:{port}" if port else endpoint_host,
        bucket=bucket,
        region=region,
        access_key_id=user,
        secret=password,
        custom_domain=custom_domain,
        url=url,
        signed_urls=qs_auth is not None and qs_auth.lower() in _TRUE,
        acl=acl,
        auth=auth,
        # django-storage-url's choice: virtual-hosted names of dotted buckets fail TLS.
        addressing_style=style or ("path" if "." in bucket else "auto"),
        location=path.lstrip("/"),
        endpoint_url=endpoint_url,
        unknown_params=tuple(sorted(k for k in params if k not in S3_PARAMS)),
        region_name_ignored=aws_style and region_param is not None and region_param != region,
        raw=text,
    )


def _parse_az(
    text: str,
    masked: str,
    user: str | None,
    password: str | None,
    host: str,
    port: str,
    path: str,
    params: dict[str, str | None],
    custom_domain: str | None,
    url: str | None,
    endpoint_url: str | None,
) -> ParsedDsn:
    if not user:
        raise DsnError.one("dsn", masked, "az:// DSNs name the account: az://<account>:<key>@blob.core.windows.net/<c>")
    if why := check_account_name(user):
        raise DsnError.one("account", masked, why)
    container = path.strip("/")
    if not _container_ok(container):
        raise DsnError.one(
            "container", container, "expected the container as the path: 3-63 lowercase letters, digits, hyphens"
        )
    kind: Literal["account-key", "sas"] | None = None
    account_key: str | None = None
    sas_token: str | None = None
    if password is not None:
        if not password:
            raise DsnError.one("dsn", masked, "expected a credential after ':' or no ':' at all")
        # django-storage-url pads, then decodes; text with a sig parameter is a SAS, anything else a key. It skips
        # characters outside base64, but Azure cannot use such a key, so they are refused here.
        padded = password + "=" * (-len(password) % 4)
        try:
            decoded = base64.b64decode(padded, validate=True)
        except (binascii.Error, ValueError):
            raise DsnError.one("credential", MASK, "expected a base64 account key or base64 SAS query string") from None
        try:
            token = decoded.decode("ascii")
        except UnicodeDecodeError:
            token = ""
        if token and "sig" in parse_qs(token):
            kind, sas_token = "sas", token
        else:
            kind, account_key = "account-key", padded
    return ParsedDsn(
        scheme="az",
        endpoint_host=f"{host}:{port}" if port else host,
        secret=account_key if kind == "account-key" else sas_token,
        custom_domain=custom_domain,
        url=url,
        endpoint_url=endpoint_url,
        account=user,
        container=container,
        credential_kind=kind,
        account_key=account_key,
        sas_token=sas_token,
        unknown_params=tuple(sorted(k for k in params if k not in AZURE_PARAMS)),
        raw=text,
    )
