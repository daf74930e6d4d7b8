"""The frozen, validated description of one website's media storage. Pure Python, no Pulumi import.

A spec is built from a plain mapping whose keys are the stack config keys (camelCase, without the
``divio-storage:`` namespace), so a Pulumi stack config and a platform registry entry are the same thing.
Every invalid value is reported in one :class:`SpecError` before any resource is declared; the checks live in
``core/validation/``, one module per group of keys, and what each cloud supports in ``core/clouds/``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from divio_storage_infra.core.clouds import CLOUDS as CLOUD_TABLES
from divio_storage_infra.core.clouds import S3_CLOUDS, capabilities
from divio_storage_infra.core.clouds.base import CloudName, Credentials
from divio_storage_infra.core.configkeys import CONFIG_KEYS, SPEC_KEYS
from divio_storage_infra.core.errors import SpecError
from divio_storage_infra.core.validation import azure, identity, placement, stores
from divio_storage_infra.core.validation.adoption import read_adoption
from divio_storage_infra.core.validation.azure import AZURE_SKUS, SAS_PERMISSION_LETTERS
from divio_storage_infra.core.validation.backup import read_backup
from divio_storage_infra.core.validation.cors import cors
from divio_storage_infra.core.validation.credentials import credentials as read_credentials
from divio_storage_infra.core.validation.durability import read_durability
from divio_storage_infra.core.validation.identity import ENVIRONMENT_MAX, WEBSITE_MAX
from divio_storage_infra.core.validation.problems import Collector
from divio_storage_infra.core.validation.rotation import read_rotation
from divio_storage_infra.core.validation.tags import tags as read_tags

Cloud = CloudName
CLOUDS: tuple[Cloud, ...] = tuple(t.name for t in CLOUD_TABLES.values())
"""Every cloud, in the order error messages list them."""

__all__ = [
    "AZURE_SKUS",
    "CLOUDS",
    "CONFIG_KEYS",
    "ENVIRONMENT_MAX",
    "S3_CLOUDS",
    "SAS_PERMISSION_LETTERS",
    "WEBSITE_MAX",
    "Cloud",
    "Credentials",
    "StorageSpec",
]


@dataclass(frozen=True, kw_only=True)
class StorageSpec:
    """One website's media storage in one environment; immutable and valid by construction.

    Build it with :meth:`from_dict`; the direct constructor skips validation and is for internal use. Every field
    is a key of the table of config keys (:mod:`divio_storage_infra.core.configkeys`), which holds its default.
    """

    website: str
    environment: str
    cloud: Cloud
    region: str | None
    """S3 family: AWS region, Exoscale zone, or the generic provider's region name."""
    endpoint: str | None
    """Generic S3-compatible only: the endpoint host (``host[:port]``, no scheme or path)."""
    location: str | None
    """Azure only: the Azure location, e.g. ``switzerlandnorth``."""
    cors_origins: tuple[str, ...]
    allow_uploads: bool
    allow_wildcard_origin: bool
    cors_max_age_seconds: int
    public_storage: bool
    private_storage: bool
    credentials: Credentials
    media_domain: str | None
    versioning: bool
    """Keep old versions of objects; from_dict defaults it by cloud (off where they could not expire, and on Azure)."""
    noncurrent_version_expiration_days: int
    abort_incomplete_multipart_upload_days: int
    """S3 family with lifecycle rules: abort multipart uploads left incomplete after this many days."""
    access_log_bucket: str | None
    """AWS: an existing bucket that receives both stores' server access logs under ``<website>/<env>/<role>/``."""
    tags: tuple[tuple[str, str], ...]
    protect: bool
    bucket_name: str | None
    private_bucket_name: str | None
    account_sku: str
    resource_group_name: str | None
    storage_account_name: str | None
    blob_soft_delete_days: int
    container_soft_delete_days: int
    sas_start: str | None
    """Azure SAS: first day of validity (ISO date); the expiry is ``sas_start + sas_lifetime_days``."""
    sas_lifetime_days: int
    sas_permissions: str
    adopt: bool
    """Take over existing buckets / account and containers (Pulumi ``import``) instead of creating them."""
    public_prefixes: tuple[str, ...]
    """Key prefixes the public bucket's policy makes world-readable; empty: every key (S3 with bucket policies)."""
    subscription_id: str | None
    """Azure, with ``adopt``: the subscription of the existing account (part of the import ids)."""
    container_name: str | None
    """Azure: the public store's existing container (default ``public-media``)."""
    private_container_name: str | None
    """Azure: the private store's existing container (default ``private-media``)."""
    access_keys: tuple[str, ...]
    """IAM user key slots that exist (``a``, ``b``); two during a rotation."""
    active_access_key: str
    """The key slot whose key the DSNs carry."""
    active_account_key: str
    """Azure: the account key the DSN carries (``account-key``) or that signs the SAS (``sas``)."""
    backup: bool
    """Back up each store into its own backup (docs/backup.md)."""
    backup_region: str | None
    """S3 family, with ``backup``: the backup buckets' region or zone (None: the stores' own region)."""
    backup_location: str | None
    """Azure, with ``backup``: the backup account's location."""
    backup_retention_days: int
    """With ``backup``: Object Lock default retention / point-in-time restore window, in days (default 35)."""
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
        # Validation keeps sas_start within 2000-2099 and the lifetime within a year, so this cannot overflow.
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


_CAMEL: dict[str, str] = {k.field: k.name for k in SPEC_KEYS}


def _build(raw: Mapping[str, Any], *, context: str) -> StorageSpec:
    """Read every key through the table, run the cross-field checks in the order problems are reported, and build
    the spec from the values read; raise one SpecError for every problem."""
    if not isinstance(context, str):
        context = ""
    if not isinstance(raw, Mapping):
        raise SpecError.one("(spec)", raw, "expected a mapping of config keys", context=context)
    c = Collector(identity.string_keys(raw))
    identity.non_string_keys(c, raw)
    identity.unknown_keys(c, CONFIG_KEYS)
    website = identity.slug(c, "website", WEBSITE_MAX)
    environment = identity.slug(c, "environment", ENVIRONMENT_MAX)
    cloud = identity.cloud(c, context=context)
    c.caps = capabilities(cloud)
    identity.inapplicable_keys(c, cloud, CONFIG_KEYS)
    _check(c, cloud)
    for row in SPEC_KEYS:
        if row.name not in c.values:
            c.read(row)  # a key without cross-field checks: its type, bounds and values from the table
    if c.problems:
        named = website and environment and not any(p.field in ("website", "environment") for p in c.problems)
        raise SpecError(c.problems, context=context or (f"{website}-{environment}" if named else ""))
    values = {row.field: c.values[row.name] for row in SPEC_KEYS}
    return StorageSpec(**values, given=frozenset(k for k in c.raw if k in CONFIG_KEYS))


def _check(c: Collector, cloud: Cloud) -> None:
    """The cross-field checks, group by group (``core/validation/``); each keeps the values the spec holds."""
    caps = capabilities(cloud)
    where = placement.placement(c, cloud)
    browser = cors(c, caps)
    wanted = stores.stores(c)
    credentials = read_credentials(c, caps)
    stores.check_some_store(c, wanted, credentials, browser)
    media_domain = stores.media_domain(c, wanted)
    read_durability(c, cloud)
    stores.check_capabilities(c, caps, origins=browser.origins)
    read_tags(c)
    names = stores.bucket_names(c, caps, wanted)
    placement.check_dsn(
        c,
        caps,
        where,
        bucket_name=names.public,
        private_bucket_name=names.private,
        media_domain=media_domain,
    )
    azure.azure_settings(c, caps, credentials)
    read_adoption(c, caps, wanted)
    read_rotation(c, credentials)
    read_backup(c, cloud, where)
