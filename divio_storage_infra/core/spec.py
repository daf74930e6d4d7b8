"""The frozen, validated description of one website's media storage. Pure Python, no Pulumi import.

A spec is built from a plain mapping whose keys are the stack config keys (camelCase, without the
``divio-storage:`` namespace), so a Pulumi stack config and a platform registry entry are the same thing.
Every invalid value is reported in one :class:`SpecError` before any resource is declared.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from divio_storage_infra.core.clouds.s3 import S3_PROVIDERS, S3Provider
from divio_storage_infra.core.dsn import DsnError, s3_dsn
from divio_storage_infra.core.durability import read_durability
from divio_storage_infra.core.errors import Problem, SpecError
from divio_storage_infra.core.regions import AWS_REGIONS, AZURE_LOCATIONS, EXOSCALE_ZONES
from divio_storage_infra.core.rules import (
    check_account_name,
    check_bucket_name,
    check_endpoint,
    check_hostname,
    check_origin,
)

Cloud = Literal["aws", "exoscale", "s3-compatible", "azure"]
CLOUDS: tuple[Cloud, ...] = ("aws", "exoscale", "s3-compatible", "azure")
S3_CLOUDS: frozenset[str] = frozenset({"aws", "exoscale", "s3-compatible"})

Credentials = Literal["none", "iam-user", "static", "account-key", "sas"]
# Which credential modes each cloud offers, and the default (first).
CREDENTIALS_BY_CLOUD: dict[str, tuple[Credentials, ...]] = {
    "aws": ("none", "iam-user"),
    "exoscale": ("static", "none"),
    "s3-compatible": ("static", "none"),
    "azure": ("account-key", "sas", "none"),
}
# Why a mode that other clouds offer is missing, so the error says more than "not allowed".
_CREDENTIALS_WHY: dict[tuple[str, str], str] = {
    ("exoscale", "iam-user"): "Exoscale has no IAM API in this provider set-up; create an API key at Exoscale "
    "and set accessKeyId / secretAccessKey (secret) in stack config with credentials: static",
    ("s3-compatible", "iam-user"): "a generic S3-compatible endpoint has no IAM API here; create a key at the "
    "provider and set accessKeyId / secretAccessKey (secret) in stack config with credentials: static",
}

AZURE_SKUS: tuple[str, ...] = (
    "Standard_LRS",
    "Standard_GRS",
    "Standard_RAGRS",
    "Standard_ZRS",
    "Standard_GZRS",
    "Standard_RAGZRS",
)
SAS_PERMISSION_LETTERS = "racwdl"  # read, add, create, write, delete, list: the order Azure expects
AZURE_MAX_CORS_RULES = 5

_SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
_ENV_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
_S3_REGION_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
_RESOURCE_GROUP_RE = re.compile(r"^[-\w._()]{0,89}[-\w_()]$")
_TAG_KEY_RE = re.compile(r"^[\w .:/=+\-@]{1,128}$")
_TAG_VALUE_RE = re.compile(r"^[\w .:/=+\-@]{0,256}$")

WEBSITE_MAX = 63
ENVIRONMENT_MAX = 20


@dataclass(frozen=True)
class StorageSpec:
    """One website's media storage in one environment; immutable and valid by construction.

    Build it with :meth:`from_dict`; the direct constructor skips validation and is for internal use.
    """

    website: str
    environment: str
    cloud: Cloud = "aws"
    region: str | None = None
    """S3 family: AWS region, Exoscale zone, or the generic provider's region name."""
    endpoint: str | None = None
    """Generic S3-compatible only: the endpoint host (``host[:port]``, no scheme or path)."""
    location: str | None = None
    """Azure only: the Azure location, e.g. ``switzerlandnorth``."""
    cors_origins: tuple[str, ...] = ()
    allow_uploads: bool = False
    allow_wildcard_origin: bool = False
    cors_max_age_seconds: int = 3600
    public_storage: bool = True
    private_storage: bool = False
    credentials: Credentials = "none"
    media_domain: str | None = None
    versioning: bool = True
    """Keep old versions of objects; from_dict defaults it by cloud (off where they could not expire, and on Azure)."""
    noncurrent_version_expiration_days: int = 30
    abort_incomplete_multipart_upload_days: int = 7
    """S3 family with lifecycle rules: abort multipart uploads left incomplete after this many days."""
    access_log_bucket: str | None = None
    """AWS: an existing bucket that receives both stores' server access logs under ``<website>/<env>/<role>/``."""
    tags: tuple[tuple[str, str], ...] = ()
    protect: bool = True
    bucket_name: str | None = None
    private_bucket_name: str | None = None
    # Azure-only settings.
    account_sku: str = "Standard_LRS"
    resource_group_name: str | None = None
    storage_account_name: str | None = None
    blob_soft_delete_days: int = 7
    container_soft_delete_days: int = 7
    sas_start: str | None = None
    """Azure SAS: first day of validity (ISO date); the expiry is ``sas_start + sas_lifetime_days``."""
    sas_lifetime_days: int = 90
    sas_permissions: str = SAS_PERMISSION_LETTERS
    given: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    """The config keys that were set explicitly (the rest took their defaults)."""

    @property
    def is_s3(self) -> bool:
        """True for the S3 family (AWS, Exoscale, generic S3-compatible)."""
        return self.cloud in S3_CLOUDS

    @property
    def stack_name(self) -> str:
        """The conventional Pulumi stack name of this website and environment: ``<website>-<environment>``."""
        return f"{self.website}-{self.environment}"

    @property
    def tag_map(self) -> dict[str, str]:
        """Tags as a dict, with the platform's own ``website`` / ``environment`` / ``managed-by`` tags added."""
        base = {"website": self.website, "environment": self.environment, "managed-by": "divio-storage-infra"}
        return {**base, **dict(self.tags)}

    @property
    def sas_expiry(self) -> str | None:
        """Azure SAS expiry as an ISO timestamp (UTC midnight), or None without a SAS."""
        if self.sas_start is None:
            return None
        start = dt.date.fromisoformat(self.sas_start)
        return f"{(start + dt.timedelta(days=self.sas_lifetime_days)).isoformat()}T00:00:00Z"

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, context: str = "") -> StorageSpec:
        """Validate a mapping of config keys (camelCase) into a spec, or raise one SpecError listing every problem."""
        return _build(raw, context=context)

    def to_dict(self) -> dict[str, Any]:
        """The spec as config keys (camelCase), explicit values only plus the required ones; round-trips."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "given":
                continue
            key = _CAMEL[f.name]
            if key in self.given or key in ("website", "environment"):
                value = getattr(self, f.name)
                if f.name == "tags":
                    value = dict(value)
                elif isinstance(value, tuple):
                    value = list(value)
                out[key] = value
        return out


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


_CAMEL: dict[str, str] = {f.name: _camel(f.name) for f in fields(StorageSpec) if f.name != "given"}
CONFIG_KEYS: tuple[str, ...] = tuple(_CAMEL.values())

# Keys that only make sense for some clouds; anything else is common to all.
_ONLY_FOR: dict[str, frozenset[str]] = {
    "region": S3_CLOUDS,
    "endpoint": frozenset({"s3-compatible"}),
    "bucketName": S3_CLOUDS,
    "privateBucketName": S3_CLOUDS,
    "abortIncompleteMultipartUploadDays": S3_CLOUDS,
    "accessLogBucket": S3_CLOUDS,
    "location": frozenset({"azure"}),
    "accountSku": frozenset({"azure"}),
    "resourceGroupName": frozenset({"azure"}),
    "storageAccountName": frozenset({"azure"}),
    "blobSoftDeleteDays": frozenset({"azure"}),
    "containerSoftDeleteDays": frozenset({"azure"}),
    "sasStart": frozenset({"azure"}),
    "sasLifetimeDays": frozenset({"azure"}),
    "sasPermissions": frozenset({"azure"}),
}


class _Collector:
    """Reads raw values, collecting every problem instead of stopping at the first."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.problems: list[Problem] = []

    def bad(self, key: str, value: object, allowed: str) -> None:
        self.problems.append(Problem(key, value, allowed))

    def string(self, key: str, default: str | None = None) -> str | None:
        value = self.raw.get(key, default)
        if value is None or isinstance(value, str):
            return value
        self.bad(key, value, "expected a string")
        return default

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw.get(key, default)
        if isinstance(value, bool):
            return value
        # Pulumi config stores plain values as strings.
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        self.bad(key, value, "expected true or false")
        return default

    def integer(self, key: str, default: int, low: int, high: int, unit: str) -> int:
        value = self.raw.get(key, default)
        number: int | None = None
        if isinstance(value, bool):
            number = None
        elif isinstance(value, int):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
            number = int(value)  # Pulumi config stores numbers as strings
        if number is None or not low <= number <= high:
            self.bad(key, value, f"expected a whole number of {unit} from {low} to {high}")
            return default
        return number

    def string_list(self, key: str) -> tuple[str, ...]:
        value = self.raw.get(key, [])
        if isinstance(value, str):
            # `pulumi config set` without --path gives a string; accept JSON-free comma lists too.
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            self.bad(key, value, "expected a list of strings")
            return ()
        return tuple(value)


def _check_slug(c: _Collector, key: str, value: str | None, maximum: int) -> str:
    if value is None:
        c.bad(key, None, "it is required: a lowercase slug such as 'my-site'")
        return ""
    if len(value) > maximum or not _SLUG_RE.match(value) or "--" in value:
        c.bad(
            key,
            value,
            f"expected 1-{maximum} lowercase letters, digits and single hyphens, "
            "starting and ending with a letter or digit",
        )
    return value


def _build(raw: Mapping[str, Any], *, context: str) -> StorageSpec:
    if not isinstance(raw, Mapping):
        raise SpecError.one("(spec)", raw, "expected a mapping of config keys", context=context)
    c = _Collector(raw)

    unknown = sorted(k for k in raw if k not in CONFIG_KEYS)
    for key in unknown:
        close = difflib.get_close_matches(key, CONFIG_KEYS, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(sorted(CONFIG_KEYS))}"
        c.bad(key, raw[key], f"unknown key; {hint}")

    website = _check_slug(c, "website", c.string("website"), WEBSITE_MAX)
    environment = _check_slug(c, "environment", c.string("environment"), ENVIRONMENT_MAX)

    cloud_raw = c.string("cloud", "aws")
    if cloud_raw not in CLOUDS:
        c.bad("cloud", cloud_raw, f"expected one of {', '.join(CLOUDS)}")
        raise SpecError(c.problems, context=context)
    cloud: Cloud = cloud_raw

    for key, clouds in _ONLY_FOR.items():
        if key in raw and cloud not in clouds:
            c.bad(key, raw[key], f"only applies to cloud {' / '.join(sorted(clouds))}, not {cloud}; remove it")

    region = c.string("region")
    endpoint = c.string("endpoint")
    location = c.string("location")
    if cloud == "aws":
        if region is None:
            c.bad("region", None, "it is required for cloud aws, e.g. eu-central-1")
        elif region not in AWS_REGIONS:
            close = difflib.get_close_matches(region, sorted(AWS_REGIONS), n=1)
            c.bad("region", region, "expected an AWS region" + (f"; did you mean {close[0]!r}?" if close else ""))
    elif cloud == "exoscale":
        if region is None or region not in EXOSCALE_ZONES:
            c.bad("region", region, f"expected an Exoscale zone: {', '.join(sorted(EXOSCALE_ZONES))}")
    elif cloud == "s3-compatible":
        if region is None or not _S3_REGION_RE.match(region):
            c.bad("region", region, "expected the provider's region name (lowercase letters, digits, hyphens)")
        if endpoint is None:
            c.bad("endpoint", None, "it is required for cloud s3-compatible: the provider's host[:port]")
        elif why := check_endpoint(endpoint):
            c.bad("endpoint", endpoint, why)
        else:
            _check_dsn_endpoint(c, endpoint)
    elif location is None or location not in AZURE_LOCATIONS:
        close = difflib.get_close_matches(location or "", sorted(AZURE_LOCATIONS), n=1)
        c.bad(
            "location",
            location,
            "expected an Azure location name such as switzerlandnorth"
            + (f"; did you mean {close[0]!r}?" if close else ""),
        )

    allow_wildcard = c.boolean("allowWildcardOrigin", False)
    origins = c.string_list("corsOrigins")
    for origin in origins:
        if why := check_origin(origin, allow_wildcard=allow_wildcard):
            c.bad("corsOrigins", origin, why)
    duplicates = sorted({o for o in origins if origins.count(o) > 1})
    if duplicates:
        c.bad("corsOrigins", duplicates, "each origin at most once")
    if cloud == "azure" and len(origins) > AZURE_MAX_CORS_RULES:
        c.bad(
            "corsOrigins",
            list(origins),
            f"Azure allows at most {AZURE_MAX_CORS_RULES} CORS rules per storage account (one per origin); "
            f"this lists {len(origins)}",
        )
    if allow_wildcard and "*" in origins and len(origins) > 1:
        c.bad("corsOrigins", list(origins), "'*' already allows every origin; list it alone")
    allow_uploads = c.boolean("allowUploads", False)
    if allow_uploads and not origins:
        c.bad("allowUploads", True, "browser uploads need at least one entry in corsOrigins")
    max_age = c.integer("corsMaxAgeSeconds", 3600, 0, 86400, "seconds")

    public = c.boolean("publicStorage", True)
    private = c.boolean("privateStorage", False)

    offered = CREDENTIALS_BY_CLOUD[cloud]
    credentials_raw = c.string("credentials", offered[0])
    if credentials_raw not in offered:
        why = _CREDENTIALS_WHY.get((cloud, str(credentials_raw)), f"cloud {cloud} offers {', '.join(offered)}")
        c.bad("credentials", credentials_raw, why)
        credentials_raw = offered[0]
    credentials: Credentials = credentials_raw

    if not public and not private:
        if credentials != "none":
            c.bad(
                "credentials",
                credentials,
                "credentials need at least one bucket: keep publicStorage or set privateStorage: true",
            )
        c.bad("publicStorage", False, "at least one store is needed: keep publicStorage or set privateStorage: true")
    if (origins or allow_uploads) and not public and "corsOrigins" in raw:
        c.bad("corsOrigins", list(origins), "CORS applies to the public store; publicStorage is false")

    media_domain = c.string("mediaDomain")
    if media_domain is not None:
        if why := check_hostname(media_domain):
            c.bad("mediaDomain", media_domain, why)
        if not public:
            c.bad("mediaDomain", media_domain, "a media domain serves the public store; publicStorage is false")

    durability = read_durability(c, cloud)
    if cloud in S3_PROVIDERS:
        _check_capabilities(c, S3_PROVIDERS[cloud], origins=origins)

    tags = _tags(c)
    protect = c.boolean("protect", True)

    bucket_name = c.string("bucketName")
    private_bucket_name = c.string("privateBucketName")
    for key, name in (("bucketName", bucket_name), ("privateBucketName", private_bucket_name)):
        if name is not None and (why := check_bucket_name(name)):
            c.bad(key, name, why)
    if bucket_name is not None and not public:
        c.bad("bucketName", bucket_name, "names the public bucket, but publicStorage is false")
    if private_bucket_name is not None and not private:
        c.bad("privateBucketName", private_bucket_name, "names the private bucket, but privateStorage is false")
    if bucket_name is not None and bucket_name == private_bucket_name:
        c.bad("privateBucketName", private_bucket_name, "must differ from bucketName")
    if cloud == "exoscale":
        for key, name in (("bucketName", bucket_name), ("privateBucketName", private_bucket_name)):
            if name is not None and "." in name:
                c.bad(key, name, "Exoscale DSNs put the bucket in the host; use a name without dots")

    sku = c.string("accountSku", "Standard_LRS")
    if sku not in AZURE_SKUS:
        c.bad("accountSku", sku, f"expected one of {', '.join(AZURE_SKUS)}")
    resource_group = c.string("resourceGroupName")
    if resource_group is not None and not _RESOURCE_GROUP_RE.match(resource_group):
        c.bad(
            "resourceGroupName",
            resource_group,
            "expected 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'",
        )
    account_name = c.string("storageAccountName")
    if account_name is not None and (why := check_account_name(account_name)):
        c.bad("storageAccountName", account_name, why)
    blob_soft = c.integer("blobSoftDeleteDays", 7, 1, 365, "days")
    container_soft = c.integer("containerSoftDeleteDays", 7, 1, 365, "days")
    sas_start = c.string("sasStart")
    sas_lifetime = c.integer("sasLifetimeDays", 90, 1, 365, "days")
    sas_permissions = c.string("sasPermissions", SAS_PERMISSION_LETTERS) or ""
    if cloud == "azure":
        _check_sas(c, raw, credentials, sas_start, sas_permissions)

    if c.problems:
        raise SpecError(c.problems, context=context or (f"{website}-{environment}" if website else ""))

    return StorageSpec(
        website=website,
        environment=environment,
        cloud=cloud,
        region=region,
        endpoint=endpoint,
        location=location,
        cors_origins=origins,
        allow_uploads=allow_uploads,
        allow_wildcard_origin=allow_wildcard,
        cors_max_age_seconds=max_age,
        public_storage=public,
        private_storage=private,
        credentials=credentials,
        media_domain=media_domain,
        versioning=durability.versioning,
        noncurrent_version_expiration_days=durability.noncurrent_version_expiration_days,
        abort_incomplete_multipart_upload_days=durability.abort_incomplete_multipart_upload_days,
        access_log_bucket=durability.access_log_bucket,
        tags=tags,
        protect=protect,
        bucket_name=bucket_name,
        private_bucket_name=private_bucket_name,
        account_sku=sku or "Standard_LRS",
        resource_group_name=resource_group,
        storage_account_name=account_name,
        blob_soft_delete_days=blob_soft,
        container_soft_delete_days=container_soft,
        sas_start=sas_start,
        sas_lifetime_days=sas_lifetime,
        sas_permissions="".join(ch for ch in SAS_PERMISSION_LETTERS if ch in sas_permissions),
        given=frozenset(k for k in raw if k in CONFIG_KEYS),
    )


def _check_dsn_endpoint(c: _Collector, endpoint: str) -> None:
    """The endpoint must survive the DSN: django-storage-url reads bucket and endpoint from the host alone."""
    try:
        s3_dsn(bucket="probe-bucket", endpoint_host=endpoint)
    except DsnError as error:
        for problem in error.problems:
            c.bad("endpoint", endpoint, problem.allowed)


def _check_capabilities(c: _Collector, provider: S3Provider, *, origins: tuple[str, ...]) -> None:
    """A spec that asks for what the provider cannot declare is an error, never a silent drop."""
    if origins and not provider.cors:
        c.bad("corsOrigins", list(origins), f"{provider.name} has no bucket CORS configuration; remove corsOrigins")


def _tags(c: _Collector) -> tuple[tuple[str, str], ...]:
    value = c.raw.get("tags", {})
    if not isinstance(value, Mapping):
        c.bad("tags", value, "expected a mapping of tag names to string values")
        return ()
    out: list[tuple[str, str]] = []
    for key, tag_value in value.items():
        if not isinstance(key, str) or not _TAG_KEY_RE.match(key) or key.lower().startswith("aws:"):
            c.bad("tags", key, "tag names have 1-128 letters, digits, spaces or _.:/=+-@ and may not start with aws:")
            continue
        if key in ("website", "environment", "managed-by"):
            c.bad("tags", key, "website, environment and managed-by are set by the component itself")
            continue
        if not isinstance(tag_value, str) or not _TAG_VALUE_RE.match(tag_value):
            c.bad(f"tags.{key}", tag_value, "tag values are strings of 0-256 letters, digits, spaces or _.:/=+-@")
            continue
        out.append((key, tag_value))
    return tuple(sorted(out))


def _check_sas(
    c: _Collector, raw: Mapping[str, Any], credentials: str, sas_start: str | None, permissions: str
) -> None:
    sas_keys = [k for k in ("sasStart", "sasLifetimeDays", "sasPermissions") if k in raw]
    if credentials != "sas":
        for key in sas_keys:
            c.bad(key, raw[key], "only applies with credentials: sas")
        return
    if sas_start is None:
        c.bad("sasStart", None, "credentials: sas needs the first day of validity as an ISO date, e.g. 2026-01-01")
    else:
        try:
            dt.date.fromisoformat(sas_start)
        except ValueError:
            c.bad("sasStart", sas_start, "expected an ISO date such as 2026-01-01")
    if (
        not permissions
        or any(ch not in SAS_PERMISSION_LETTERS for ch in permissions)
        or len(set(permissions)) != len(permissions)
    ):
        c.bad(
            "sasPermissions",
            permissions,
            "expected letters from 'racwdl' (read, add, create, write, delete, list), each at most once",
        )
