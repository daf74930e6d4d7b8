"""THE table of config keys: every key a stack config or a registry entry may set, declared once. Pure Python.

Each :class:`ConfigKey` row gives the name, type, default (one value, or one per cloud from its capability table),
bounds or allowed values, where it applies, whether it is secret and a one-line description. From the table come:
the spec's keys, types and defaults (``core/spec.py`` reads every key through it), which clouds accept a key
(``inapplicable_why``), the reference page ``docs/reference/config-keys.md`` and the JSON Schemas in ``schema/``
(``python -m divio_storage_infra.core.generate``). Checks between keys stay in ``core/validation/``.

Adding a key: one row here (and a field of the same name in snake_case on ``StorageSpec``), plus its cross-field
checks in ``core/validation/`` if it has any; then run the generator.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from divio_storage_infra.core.clouds import CLOUDS, CloudCapabilities, CloudName
from divio_storage_infra.core.clouds.base import Family

KeyType = Literal["string", "boolean", "integer", "string-list", "string-map", "date"]
"""How a value is read: ``date`` is an ISO ``YYYY-MM-DD`` string; ``string-map`` maps names to strings."""
Scope = Literal["spec", "stack", "registry"]
"""Where a key is set: ``spec`` keys in stack configs and registry entries alike, ``stack`` keys only in a
website's stack config (the program reads them as credentials), ``registry`` keys only in registry entries."""

_CAMEL_RE = re.compile(r"[a-z][a-zA-Z0-9]*")


@dataclass(frozen=True)
class Applies:
    """Which clouds accept a key: those of ``family`` (all when None) whose capability ``feature`` is true.

    ``missing`` says why a cloud of the right family lacking the feature refuses the key (``{cloud}`` is its name);
    without it the error lists the clouds the key applies to.
    """

    family: Family | None = None
    feature: str | None = None
    missing: str = ""
    credential: str | None = None
    """The credential mode the cloud must offer (``static`` for the keys a program reads as credentials)."""

    def __call__(self, caps: CloudCapabilities) -> bool:
        """True when the key applies to the cloud of ``caps``."""
        if self.family is not None and caps.family != self.family:
            return False
        if self.credential is not None and self.credential not in caps.credentials:
            return False
        return self.feature is None or bool(getattr(caps, self.feature))


EVERY_CLOUD = Applies()
S3_FAMILY = Applies(family="s3")
AZURE_ONLY = Applies(family="azure")


@dataclass(frozen=True)
class ConfigKey:
    """One config key. Refuses to exist without a description, with a non-camelCase name or a default out of bounds."""

    name: str
    type: KeyType
    description: str
    default: object = None
    """The value when the key is not set (None: no value); see ``cloud_default`` for defaults that vary by cloud."""
    cloud_default: Callable[[CloudCapabilities], object] | None = None
    """The default for one cloud, from its capability table (then ``default`` is unused)."""
    low: int | None = None
    high: int | None = None
    unit: str = ""
    """What an integer counts (``days``, ``seconds``), for errors and docs."""
    values: tuple[str, ...] = ()
    """The allowed values of a string (or of each item of a list); empty: any the cross-field checks accept."""
    applies: Applies = EVERY_CLOUD
    required: bool = False
    secret: bool = False
    scope: Scope = "spec"

    def __post_init__(self) -> None:
        where = f"config key {self.name!r}"
        if not _CAMEL_RE.fullmatch(self.name):
            raise ValueError(f"{where}: names are camelCase letters and digits")
        if not self.description.strip() or "\n" in self.description:
            raise ValueError(f"{where}: a one-line description is required (the reference docs show it)")
        if self.type == "integer":
            if self.low is None or self.high is None or not self.unit:
                raise ValueError(f"{where}: an integer key needs low, high and unit")
            if self.cloud_default is None and not (isinstance(self.default, int) and self.low <= self.default):
                raise ValueError(f"{where}: the default {self.default!r} is not a whole number within the bounds")
            if isinstance(self.default, int) and self.default > self.high:
                raise ValueError(f"{where}: the default {self.default!r} is above {self.high}")
        if self.values and isinstance(self.default, str) and self.default not in self.values:
            raise ValueError(f"{where}: the default {self.default!r} is not one of its values")

    @property
    def field(self) -> str:
        """The spec attribute that holds the key (snake_case of the name)."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.name).lower()

    def default_for(self, caps: CloudCapabilities | None) -> object:
        """The default on the cloud of ``caps`` (the plain default when the cloud is not known yet)."""
        if self.cloud_default is not None and caps is not None:
            return self.cloud_default(caps)
        return self.default

    def clouds(self) -> tuple[CloudName, ...]:
        """The clouds the key applies to, in table order."""
        return tuple(name for name, caps in _clouds().items() if self.applies(caps))


def _clouds() -> dict[CloudName, CloudCapabilities]:
    return {caps.name: caps for caps in CLOUDS.values()}


def _versioning_default(caps: CloudCapabilities) -> bool:
    # On where old versions can also expire (S3 family with lifecycle rules); Azure has blob soft delete instead.
    return caps.family == "s3" and caps.expires_noncurrent_versions


def _credentials_default(caps: CloudCapabilities) -> str:
    return caps.default_credentials


_STATIC_KEYS = Applies(family="s3", credential="static")
_CREDENTIAL_MODES = tuple(dict.fromkeys(mode for caps in CLOUDS.values() for mode in caps.credentials))
_DAYS = "days"

KEYS: tuple[ConfigKey, ...] = (
    ConfigKey("website", "string", "The website's slug: lowercase letters, digits and single hyphens.", required=True),
    ConfigKey("environment", "string", "The environment's slug, e.g. live or stage.", required=True),
    ConfigKey("cloud", "string", "Where the stores live.", default="aws", values=tuple(CLOUDS)),
    ConfigKey("region", "string", "AWS region, Exoscale zone or the generic provider's region.", applies=S3_FAMILY),
    ConfigKey(
        "endpoint",
        "string",
        "The provider's endpoint host[:port], without scheme or path.",
        applies=Applies(family="s3", feature="custom_endpoint"),
    ),
    ConfigKey("location", "string", "The Azure location, e.g. switzerlandnorth.", applies=AZURE_ONLY),
    ConfigKey("corsOrigins", "string-list", "Exact origins (scheme://host[:port]) browsers may read from.", default=()),
    ConfigKey("allowUploads", "boolean", "Let the CORS origins upload (PUT/POST) too, not only read.", default=False),
    ConfigKey("allowWildcardOrigin", "boolean", "Accept '*' in corsOrigins (every site may read).", default=False),
    ConfigKey(
        "corsMaxAgeSeconds",
        "integer",
        "How long browsers cache a CORS preflight answer.",
        default=3600,
        low=0,
        high=86400,
        unit="seconds",
    ),
    ConfigKey("publicStorage", "boolean", "Declare the public store (world-readable objects).", default=True),
    ConfigKey("privateStorage", "boolean", "Declare the private store (signed URLs only).", default=False),
    ConfigKey(
        "credentials",
        "string",
        "What the app's DSNs carry; the first mode a cloud offers is its default.",
        cloud_default=_credentials_default,
        values=_CREDENTIAL_MODES,
    ),
    ConfigKey("mediaDomain", "string", "A custom host name that serves the public store."),
    ConfigKey(
        "versioning",
        "boolean",
        "Keep old versions of objects; on where the cloud can also expire them.",
        cloud_default=_versioning_default,
    ),
    ConfigKey(
        "noncurrentVersionExpirationDays",
        "integer",
        "With versioning: delete old versions after this many days.",
        default=30,
        low=1,
        high=3650,
        unit=_DAYS,
    ),
    ConfigKey(
        "abortIncompleteMultipartUploadDays",
        "integer",
        "Abort multipart uploads left incomplete after this many days.",
        default=7,
        low=1,
        high=365,
        unit=_DAYS,
        applies=Applies(
            family="s3",
            feature="lifecycle",
            missing="{cloud} has no lifecycle rules, so incomplete uploads cannot be aborted; remove it",
        ),
    ),
    ConfigKey(
        "accessLogBucket",
        "string",
        "An existing bucket that receives both stores' access logs under <website>/<environment>/<role>/.",
        applies=Applies(
            family="s3",
            feature="access_logging",
            missing="{cloud} has no server access logging; remove accessLogBucket",
        ),
    ),
    ConfigKey("tags", "string-map", "Your own tags, added to website, environment and managed-by.", default=()),
    ConfigKey("protect", "boolean", "Protect buckets, accounts and containers against deletion.", default=True),
    ConfigKey("bucketName", "string", "The public bucket's name instead of the derived one.", applies=S3_FAMILY),
    ConfigKey(
        "privateBucketName", "string", "The private bucket's name instead of the derived one.", applies=S3_FAMILY
    ),
    ConfigKey(
        "accountSku",
        "string",
        "The storage account's SKU (redundancy).",
        default="Standard_LRS",
        values=("Standard_LRS", "Standard_GRS", "Standard_RAGRS", "Standard_ZRS", "Standard_GZRS", "Standard_RAGZRS"),
        applies=AZURE_ONLY,
    ),
    ConfigKey(
        "resourceGroupName", "string", "An existing resource group instead of one of its own.", applies=AZURE_ONLY
    ),
    ConfigKey(
        "storageAccountName", "string", "The storage account's name instead of the derived one.", applies=AZURE_ONLY
    ),
    ConfigKey(
        "blobSoftDeleteDays",
        "integer",
        "Keep deleted and overwritten blobs restorable this many days.",
        default=7,
        low=1,
        high=365,
        unit=_DAYS,
        applies=AZURE_ONLY,
    ),
    ConfigKey(
        "containerSoftDeleteDays",
        "integer",
        "Keep deleted containers restorable this many days.",
        default=7,
        low=1,
        high=365,
        unit=_DAYS,
        applies=AZURE_ONLY,
    ),
    ConfigKey(
        "sasStart", "date", "With credentials: sas, the SAS's first day of validity (YYYY-MM-DD).", applies=AZURE_ONLY
    ),
    ConfigKey(
        "sasLifetimeDays",
        "integer",
        "With credentials: sas, how long each SAS is valid from sasStart.",
        default=90,
        low=1,
        high=365,
        unit=_DAYS,
        applies=AZURE_ONLY,
    ),
    ConfigKey(
        "sasPermissions",
        "string",
        "With credentials: sas, the letters of racwdl (read, add, create, write, delete, list) the SAS grants.",
        default="racwdl",
        applies=AZURE_ONLY,
    ),
    ConfigKey("adopt", "boolean", "Take over existing buckets or account and containers (import).", default=False),
    ConfigKey(
        "publicPrefixes",
        "string-list",
        "Key prefixes the public bucket's policy makes world-readable; empty: every key.",
        default=(),
        applies=Applies(
            family="s3",
            feature="bucket_policy",
            missing="{cloud} has no bucket policies to grant public read by prefix",
        ),
    ),
    ConfigKey("subscriptionId", "string", "With adopt: the existing account's subscription id.", applies=AZURE_ONLY),
    ConfigKey(
        "containerName", "string", "The public store's existing container (default public-media).", applies=AZURE_ONLY
    ),
    ConfigKey(
        "privateContainerName",
        "string",
        "The private store's existing container (default private-media).",
        applies=AZURE_ONLY,
    ),
    ConfigKey(
        "accessKeys",
        "string-list",
        "The IAM user's key slots that exist; both during a rotation.",
        default=("a",),
        values=("a", "b"),
        applies=Applies(family="s3", feature="iam"),
    ),
    ConfigKey(
        "activeAccessKey",
        "string",
        "The key slot whose key the DSNs carry.",
        default="a",
        values=("a", "b"),
        applies=Applies(family="s3", feature="iam"),
    ),
    ConfigKey(
        "activeAccountKey",
        "string",
        "The account key the DSN carries or that signs the SAS.",
        default="key1",
        values=("key1", "key2"),
        applies=AZURE_ONLY,
    ),
    ConfigKey(
        "backup", "boolean", "Back up each store into a backup of its own that nobody reads anonymously.", default=False
    ),
    ConfigKey(
        "backupRegion",
        "string",
        "With backup: the backup buckets' AWS region or Exoscale zone (S3-compatible: default the region).",
        applies=S3_FAMILY,
    ),
    ConfigKey("backupLocation", "string", "With backup: the backup account's Azure location.", applies=AZURE_ONLY),
    ConfigKey(
        "backupRetentionDays",
        "integer",
        "With backup: how long a backup keeps what it holds (Object Lock retention, point-in-time window).",
        default=35,
        low=1,
        high=364,
        unit=_DAYS,
    ),
    ConfigKey(
        "accessKeyId",
        "string",
        "With credentials: static, the provider's access key id (a website's stack config only).",
        applies=_STATIC_KEYS,
        scope="stack",
    ),
    ConfigKey(
        "secretAccessKey",
        "string",
        "With credentials: static, its secret key: set it with pulumi config set --secret.",
        applies=_STATIC_KEYS,
        secret=True,
        scope="stack",
    ),
    ConfigKey(
        "credentialsKey",
        "string",
        "With credentials: static, the name of a key in the platform stack's secret config s3Credentials.",
        applies=_STATIC_KEYS,
        scope="registry",
    ),
)
"""Every config key, in the order the spec reads them and the docs list them."""


def _index(keys: tuple[ConfigKey, ...]) -> dict[str, ConfigKey]:
    """The keys by name; a name twice is an error at import."""
    index: dict[str, ConfigKey] = {}
    for key in keys:
        if key.name in index:
            raise ValueError(f"config key {key.name!r} is in the table twice")
        index[key.name] = key
    return index


BY_NAME: dict[str, ConfigKey] = _index(KEYS)
"""Every key by name."""
SPEC_KEYS: tuple[ConfigKey, ...] = tuple(k for k in KEYS if k.scope == "spec")
"""The keys of a storage spec (a stack config's and a registry entry's)."""
CONFIG_KEYS: tuple[str, ...] = tuple(k.name for k in SPEC_KEYS)
"""The spec keys' names, in table order."""
CREDENTIAL_KEYS: tuple[str, ...] = tuple(k.name for k in KEYS if k.scope == "stack")
"""Stack config keys that hold credentials: read as secrets by the program, never part of a spec."""


def key(name: str) -> ConfigKey:
    """The row of ``name``; KeyError for a name that is not in the table."""
    return BY_NAME[name]


def cloud_keys(cloud: str) -> frozenset[str]:
    """The spec keys that apply to ``cloud`` only among some clouds (the cloud-specific keys it accepts)."""
    return frozenset(k.name for k in SPEC_KEYS if k.applies is not EVERY_CLOUD and k.applies(CLOUDS[cloud]))


def clouds_for_key(name: str) -> tuple[str, ...]:
    """The clouds a key applies to, sorted."""
    return tuple(sorted(BY_NAME[name].clouds()))


def inapplicable_why(name: str, cloud: str) -> str | None:
    """Why ``cloud`` refuses key ``name`` (None where it applies): the capability it lacks, or the clouds it is for."""
    row = BY_NAME[name]
    caps = CLOUDS[cloud]
    if row.applies(caps):
        return None
    if row.applies.missing and (row.applies.family is None or row.applies.family == caps.family):
        return row.applies.missing.format(cloud=cloud)
    return f"only applies to cloud {' / '.join(clouds_for_key(name))}, not {cloud}; remove it"
