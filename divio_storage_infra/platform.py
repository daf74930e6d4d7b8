"""The platform program: every website of a registry file in one stack, with the library's components.

``stacks/platform/`` runs :func:`main` on its ``websites.yaml``. The whole registry (and the static keys it names)
is validated before any resource is declared, so one bad entry never half-declares the platform. S3-compatible
websites that share an endpoint, region and key share one explicit pulumi-aws provider; AWS websites use the
default provider (each bucket carries its own region). Static keys come from the stack's secret config value
``s3Credentials`` (``{<name>: {accessKeyId: ..., secretAccessKey: <secure>}}``); a registry entry only names one
with ``credentialsKey``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from divio_storage_infra import planblocks
from divio_storage_infra.components.providers import endpoint_provider
from divio_storage_infra.components.website import WebsiteMediaStorage, WebsiteMediaStorageArgs
from divio_storage_infra.core.clouds import capabilities
from divio_storage_infra.core.errors import Problem, SpecError
from divio_storage_infra.core.registry import EntryProblem, PlatformEntry, Registry, RegistryError, validate_registry
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.yamlfile import YamlFileError, parse, read_text

CREDENTIALS_CONFIG = "s3Credentials"
"""The platform stack's secret config key holding the static S3 keys by name."""
_KEY_FIELDS = ("accessKeyId", "secretAccessKey")


@dataclass(frozen=True)
class StaticKey:
    """One named static key of an S3-compatible provider: the key id and the secret (a Pulumi secret)."""

    access_key_id: pulumi.Output[str]
    secret_access_key: pulumi.Output[str]


def load_registry(path: Path, *, credentials_keys: list[str] | None = None) -> Registry:
    """Read and validate the registry file; RegistryError (a SpecError) lists every problem."""
    try:
        raw = parse(path, read_text(path))
    except YamlFileError as error:
        raise RegistryError([EntryProblem("(file)", path.name, str(error))], context=path.name) from None
    return validate_registry(raw, source=path.name, credentials_keys=credentials_keys)


def static_keys(namespace: str | None = None) -> dict[str, StaticKey]:
    """The named static keys in the stack's ``s3Credentials`` config (must be secret); {} without it.

    Read from the raw config, so that a malformed value is one clear SpecError, never echoed.
    """
    key = f"{namespace or pulumi.get_project()}:{CREDENTIALS_CONFIG}"
    text = runtime_config.get_config(key)
    if text is None:
        return {}
    where = f"{pulumi.get_project()}:{CREDENTIALS_CONFIG}"
    if not runtime_config.is_config_secret(key):
        raise SpecError.one(
            CREDENTIALS_CONFIG,
            "[not shown]",
            f"it holds secret keys: set it with `pulumi config set --secret --path '{CREDENTIALS_CONFIG}.<name>."
            "secretAccessKey' ...`",
            context=where,
        )
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise SpecError.one(CREDENTIALS_CONFIG, "[not shown]", "expected a mapping of key names", context=where)
    problems: list[Problem] = []
    keys: dict[str, StaticKey] = {}
    for name, entry in sorted(value.items()):
        if not isinstance(entry, dict) or sorted(entry) != sorted(_KEY_FIELDS):
            fields = sorted(entry) if isinstance(entry, dict) else "[not shown]"
            problems.append(Problem(f"{CREDENTIALS_CONFIG}.{name}", fields, "expected accessKeyId and secretAccessKey"))
            continue
        if not all(isinstance(entry[f], str) and entry[f] for f in _KEY_FIELDS):
            problems.append(Problem(f"{CREDENTIALS_CONFIG}.{name}", "[not shown]", "expected two non-empty strings"))
            continue
        keys[name] = StaticKey(
            access_key_id=pulumi.Output.from_input(entry["accessKeyId"]),
            secret_access_key=pulumi.Output.secret(entry["secretAccessKey"]),
        )
    if problems:
        raise SpecError(problems, context=where)
    return keys


@dataclass
class ProviderCache:
    """One explicit pulumi-aws provider per S3-compatible (cloud, endpoint host, region, key name).

    Create one per program run: providers are resources of that run (a plan runs programs repeatedly in one
    process, each with fresh mocks), so a cache kept across runs would hand out resources of an earlier one.
    """

    keys: dict[str, StaticKey]
    providers: dict[tuple[str, str, str, str], pulumi.ProviderResource] = field(default_factory=dict)

    def provider(self, entry: PlatformEntry) -> pulumi.ProviderResource | None:
        """The shared provider of ``entry``'s endpoint and key; None for AWS (the default provider)."""
        spec = entry.spec
        caps = capabilities(spec.cloud)
        if not caps.explicit_provider:
            return None
        host = caps.endpoint_host(spec.region or "", spec.endpoint)
        key_name = entry.credentials_key or "anonymous"
        cache_key = (spec.cloud, host, spec.region or "", key_name)
        provider = self.providers.get(cache_key)
        if provider is None:
            static = self.keys.get(entry.credentials_key) if entry.credentials_key else None
            provider = endpoint_provider(
                provider_name(spec, key_name, host),
                spec,
                static.access_key_id if static else None,
                static.secret_access_key if static else None,
            )
            self.providers[cache_key] = provider
        return provider


def provider_name(spec: StorageSpec, key_name: str, host: str) -> str:
    """``<cloud>:<key>@<host>/<region>``: injective, since no part contains the separator that follows it."""
    return f"{spec.cloud}:{key_name}@{host}/{spec.region}"


def output_name(spec: StorageSpec) -> str:
    """The stack output of one website: ``<website>/<environment>`` (slugs have no ``/``, so it is unique; the
    same as :attr:`PlatformEntry.output_name`)."""
    return f"{spec.website}/{spec.environment}"


def entry_name(entry: PlatformEntry) -> str:
    """The key of a registry entry: its stack output name (what ``plan`` selects entries by)."""
    return entry.output_name


def declare(entries: Sequence[PlatformEntry], keys: dict[str, StaticKey]) -> dict[str, WebsiteMediaStorage]:
    """Declare the websites of ``entries``; returns the components by stack output name."""
    cache = ProviderCache(keys=keys)
    declared: dict[str, WebsiteMediaStorage] = {}
    for entry in entries:
        static = keys.get(entry.credentials_key) if entry.credentials_key else None
        args = WebsiteMediaStorageArgs(
            spec=entry.spec,
            access_key_id=static.access_key_id if static else None,
            secret_access_key=static.secret_access_key if static else None,
            provider=cache.provider(entry),
        )
        declared[output_name(entry.spec)] = WebsiteMediaStorage(entry.logical_name, args)
    return declared


def main(registry_path: Path) -> dict[str, WebsiteMediaStorage]:
    """Validate the registry and the keys it names, then declare every website and export its outputs."""
    keys = static_keys()
    # The program's one hook for the offline plan (a no-op under `pulumi up`, see .planblocks): `plan` may declare
    # the registry's websites over several runs and processes, loading and validating the whole file once in each.
    entries = planblocks.entries(
        lambda: load_registry(registry_path, credentials_keys=sorted(keys)).entries, entry_name
    )
    declared = declare(entries, keys)
    for name, storage in declared.items():
        outputs: dict[str, Any] = {k: v for k, v in storage.outputs().items() if v is not None and v != []}
        pulumi.export(name, outputs)
    return declared
