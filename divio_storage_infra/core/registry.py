"""The platform registry: many websites' specs in one document, validated whole. Pure Python, no Pulumi import.

The registry (``stacks/platform/websites.yaml``) is a mapping with ``defaults:`` (any spec key, applied to every
entry) and ``websites:`` (a list of mappings with the per-website config keys; ``website`` and ``environment``
required; an entry's keys override the defaults, ``tags`` are merged, ``key: null`` drops a default).
:func:`validate_registry` checks every entry and every pair of entries and raises one :class:`RegistryError`
listing every problem, each naming its entry, before a platform program declares anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from divio_storage_infra.core import naming
from divio_storage_infra.core.configkeys import CREDENTIAL_KEYS, KEYS
from divio_storage_infra.core.errors import Problem, SpecError
from divio_storage_infra.core.spec import CONFIG_KEYS, StorageSpec

TOP_LEVEL_KEYS: tuple[str, ...] = ("defaults", "websites")
CREDENTIALS_KEY = next(row.name for row in KEYS if row.scope == "registry")
"""Registry-only key: which static S3 key of the platform stack's secret config an entry uses (its name)."""
SECRET_CONFIG_KEYS: tuple[str, ...] = CREDENTIAL_KEYS
"""Keys a registry never holds: secrets live in the platform stack's secret config, named by ``credentialsKey``."""
ENTRY_KEYS: tuple[str, ...] = (*CONFIG_KEYS, CREDENTIALS_KEY)
_KEY_NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class EntryProblem(Problem):
    """A problem of one registry entry: its position in ``websites`` (None for the registry or its defaults)."""

    position: int | None = None
    website: str | None = None
    environment: str | None = None

    @property
    def entry(self) -> str:
        """The entry as people find it: ``websites[3] (shop/live)``, ``defaults`` or ``registry``."""
        if self.position is None:
            return self.website or "registry"
        who = "/".join(part or "?" for part in (self.website, self.environment))
        return f"websites[{self.position}] ({who})"

    def __str__(self) -> str:
        return f"{self.entry}: {super().__str__()}"


class RegistryError(SpecError):
    """The registry is invalid; ``problems`` (:class:`EntryProblem`) lists every problem of every entry."""

    def __init__(self, problems: list[Problem], *, context: str = "") -> None:
        super().__init__(problems, context=context)
        where = f" {context}" if context else ""
        count = len(self.problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        # Replaces SpecError's message: every problem on its own line, however many there are.
        self.args = (f"invalid website registry{where}: {count} problem{'' if count == 1 else 's'}\n{lines}",)

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class PlatformEntry:
    """One valid registry entry: its position, spec and (``credentials: static``) the name of its key."""

    position: int
    spec: StorageSpec
    credentials_key: str | None = None

    @property
    def logical_name(self) -> str:
        """The logical (URN) name of the website's component; unique in the registry."""
        return naming.logical_name(self.spec)

    @property
    def output_name(self) -> str:
        """The website's stack output in a platform stack, ``<website>/<environment>`` (slugs have no ``/``): what
        the offline plan selects entries by."""
        return f"{self.spec.website}/{self.spec.environment}"


@dataclass(frozen=True)
class Registry:
    """A validated registry: every entry valid, no two sharing a website/environment pair or any name."""

    entries: tuple[PlatformEntry, ...]

    def credentials_keys(self) -> list[str]:
        """The static key names the entries use, sorted."""
        return sorted({e.credentials_key for e in self.entries if e.credentials_key is not None})


def validate_registry(raw: Any, *, source: str = "", credentials_keys: Collection[str] | None = None) -> Registry:
    """Validate a loaded registry document, or raise one RegistryError listing every problem.

    ``credentials_keys``: the static key names the platform stack's config holds; when given, an entry naming
    another one is an error. ``source`` names the file in the error message.
    """
    problems: list[Problem] = []

    def bad(
        field: str, value: object, allowed: str, position: int | None = None, who: tuple[Any, Any] = (None, None)
    ) -> None:
        website, environment = (part if isinstance(part, str) else None for part in who)
        problems.append(EntryProblem(field, value, allowed, position, website, environment))

    if not isinstance(raw, Mapping):
        bad("(registry)", _excerpt(raw), "expected a mapping with 'defaults' and 'websites'")
        raise RegistryError(problems, context=source)
    for key in sorted(str(k) for k in raw if k not in TOP_LEVEL_KEYS):
        bad(key, _excerpt(raw[key]), f"unknown top-level key; expected {' and '.join(TOP_LEVEL_KEYS)}")

    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        bad("defaults", _excerpt(defaults), "expected a mapping of spec keys applied to every entry")
        defaults = {}
    defaults = dict(defaults)
    for key in ("website", "environment", *SECRET_CONFIG_KEYS):
        if key in defaults:
            allowed = _secret_hint(key) if key in SECRET_CONFIG_KEYS else "set it in each entry, not in defaults"
            bad(key, "[not shown]" if key in SECRET_CONFIG_KEYS else defaults[key], allowed, who=("defaults", None))
            del defaults[key]
    for key in sorted(str(k) for k in defaults if k not in ENTRY_KEYS):
        bad(key, _excerpt(defaults[key]), "unknown key", who=("defaults", None))
        del defaults[key]

    websites = raw.get("websites")
    if not isinstance(websites, list) or not websites:
        bad("websites", _excerpt(websites), "expected a non-empty list of mappings, one per website and environment")
        raise RegistryError(problems, context=source)

    entries: list[PlatformEntry] = []
    for position, item in enumerate(websites):
        if not isinstance(item, Mapping):
            bad("(entry)", _excerpt(item), "expected a mapping of spec keys", position)
            continue
        who = (item.get("website"), item.get("environment"))

        def bad_entry(field: str, value: object, allowed: str, p: int = position, w: tuple[Any, Any] = who) -> None:
            bad(field, value, allowed, p, w)

        entry = _entry(position, item, defaults, credentials_keys, bad_entry)
        if entry is not None:
            entries.append(entry)

    problems.extend(_collisions(entries))
    if problems:
        raise RegistryError(problems, context=source)
    return Registry(entries=tuple(entries))


def _entry(
    position: int,
    item: Mapping[str, Any],
    defaults: Mapping[str, Any],
    credentials_keys: Collection[str] | None,
    bad: Callable[[str, object, str], None],
) -> PlatformEntry | None:
    """One entry merged over the defaults and validated; None (problems reported) when it is invalid."""
    found = False

    def report(field: str, value: object, allowed: str) -> None:
        nonlocal found
        found = True
        bad(field, value, allowed)

    merged: dict[str, Any] = {**defaults, **item}
    if isinstance(defaults.get("tags"), Mapping) and isinstance(item.get("tags"), Mapping):
        merged["tags"] = {**defaults["tags"], **item["tags"]}
    for key in [k for k, v in item.items() if v is None and k in defaults]:
        del merged[key]  # `key: null` in an entry drops that default (e.g. a region default on an Azure entry)
    for key in SECRET_CONFIG_KEYS:
        if key in merged:
            report(key, "[not shown]", _secret_hint(key))
            del merged[key]
    key_name = merged.pop(CREDENTIALS_KEY, None)
    spec: StorageSpec | None = None
    try:
        spec = StorageSpec.from_dict(merged)
    except SpecError as error:
        for p in error.problems:
            origin = p.field.split(".", 1)[0]
            field = f"{p.field} (from defaults)" if origin in defaults and origin not in item else p.field
            report(field, p.value, p.allowed)
    credentials = spec.credentials if spec is not None else merged.get("credentials")
    if credentials == "static":
        if key_name is None:
            report(
                CREDENTIALS_KEY,
                None,
                "credentials: static needs the name of a key in the platform stack's secret config "
                "(the registry never holds the key itself)",
            )
        elif not isinstance(key_name, str) or not _KEY_NAME_RE.match(key_name):
            report(CREDENTIALS_KEY, _excerpt(key_name), "expected a key name: lowercase letters, digits, hyphens")
        elif credentials_keys is not None and key_name not in credentials_keys:
            known = ", ".join(sorted(credentials_keys)) or "none"
            report(CREDENTIALS_KEY, key_name, f"the platform stack's config has no such key; it has: {known}")
    elif key_name is not None and spec is not None:
        report(CREDENTIALS_KEY, _excerpt(key_name), f"only applies with credentials: static, not {credentials}")
    if found or spec is None:
        return None
    return PlatformEntry(position=position, spec=spec, credentials_key=key_name)


def _collisions(entries: list[PlatformEntry]) -> list[Problem]:
    """Every pair of entries sharing a website/environment pair, a logical name or a physical name."""
    problems: list[Problem] = []
    pairs: dict[tuple[str, str], PlatformEntry] = {}
    unique: list[PlatformEntry] = []
    for entry in entries:
        spec = entry.spec
        first = pairs.setdefault((spec.website, spec.environment), entry)
        if first is entry:
            unique.append(entry)
        else:
            problems.append(_clash(entry, "website/environment", f"{spec.website}/{spec.environment}", "pair", first))

    # (kind, name) -> first entry that uses it; the kinds are separate namespaces.
    seen: dict[tuple[str, str], tuple[PlatformEntry, str]] = {}

    def claim(entry: PlatformEntry, kind: str, field: str, name: str, *, shareable: bool = False) -> None:
        first = seen.setdefault((kind, name), (entry, field))
        if first[0] is not entry and not (shareable and first[1] == field):
            problems.append(_clash(entry, field, name, kind, first[0], first[1]))

    for entry in unique:
        spec = entry.spec
        claim(entry, "logical name", "(logical name)", naming.logical_name(spec))
        if spec.is_s3:
            for role, wanted, key in (
                ("media", spec.public_storage, "bucketName"),
                ("private", spec.private_storage, "privateBucketName"),
            ):
                if wanted:
                    field = key if key in spec.given else f"{key} (generated)"
                    claim(entry, "bucket name", field, naming.bucket_name(spec, role))
            if spec.credentials == "iam-user":
                claim(entry, "IAM user name", "(IAM user)", naming.iam_user_name(spec))
        else:
            claim(entry, "storage account name", "storageAccountName", naming.storage_account_name(spec))
            # Several websites may live in one existing group; a group one of them creates (and would delete)
            # is its own.
            created = spec.resource_group_name is None
            field = "resourceGroupName (generated)" if created else "resourceGroupName"
            claim(entry, "resource group", field, naming.resource_group_name(spec), shareable=not created)
    return problems


def _clash(
    entry: PlatformEntry, field: str, name: str, kind: str, first: PlatformEntry, first_field: str | None = None
) -> EntryProblem:
    other = f"websites[{first.position}] ({first.spec.website}/{first.spec.environment})"
    via = f" as its {first_field}" if first_field and first_field != field else ""
    return EntryProblem(
        field,
        name,
        f"each {kind} at most once in the registry; {other} uses it too{via}",
        entry.position,
        entry.spec.website,
        entry.spec.environment,
    )


def _secret_hint(key: str) -> str:
    return (
        f"a registry never holds {key}; keep static keys in the platform stack's secret config and name one "
        f"with {CREDENTIALS_KEY}"
    )


def _excerpt(value: object, limit: int = 80) -> object:
    """Values as given, long ones cut: an error message stays readable whatever was pasted into the file."""
    text = repr(value)
    return value if len(text) <= limit else text[: limit - 3] + "..."
