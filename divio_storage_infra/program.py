"""The per-website Pulumi program: stack config -> spec -> :class:`WebsiteMediaStorage` -> stack outputs.

``Pulumi.yaml`` at the repository root runs this through ``__main__.py``; ``divio-storage plan`` runs the same
file under the mock runtime.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from divio_storage_infra.components.website import WebsiteMediaStorage, WebsiteMediaStorageArgs
from divio_storage_infra.core import naming
from divio_storage_infra.core.configkeys import CREDENTIAL_KEYS
from divio_storage_infra.core.errors import NOT_SHOWN, Problem, SpecError
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.core.validation.credentials import credential_value_problems
from divio_storage_infra.core.validation.namespaces import near_miss_keys

NAMESPACE = "divio-storage"


def _decode(value: Any) -> Any:
    # Pulumi passes structured config (lists, maps) as JSON text and scalars as plain strings.
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):  # RecursionError: thousands of nested levels; the spec refuses it
            return value
    return value


def _all_config() -> dict[str, Any]:
    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}


def config_values(namespace: str = NAMESPACE) -> dict[str, Any]:
    """Every ``namespace:key`` config value of the current stack as ``{key: value}``, structured values decoded."""
    merged = _all_config()
    prefix = f"{namespace}:"
    return {key[len(prefix) :]: _decode(value) for key, value in sorted(merged.items()) if key.startswith(prefix)}


def load_spec(values: dict[str, Any] | None = None) -> StorageSpec:
    """The stack's spec from config (credential keys excluded); raises SpecError before anything is declared."""
    if values is None and (misplaced := near_miss_keys(_all_config(), NAMESPACE)):
        # Named as what they are, instead of the spec's "website: required" for keys that are there, misspelt.
        raise SpecError(misplaced, context=pulumi.get_stack())
    raw = config_values() if values is None else values
    if not isinstance(raw, dict):
        raise SpecError.one("(config)", raw, "expected a mapping of config keys", context=pulumi.get_stack())
    spec_raw = {k: v for k, v in raw.items() if k not in CREDENTIAL_KEYS}
    spec = StorageSpec.from_dict(spec_raw, context=pulumi.get_stack())
    given = [k for k in CREDENTIAL_KEYS if k in raw]
    if given and (problems := credential_value_problems(raw, CREDENTIAL_KEYS)):
        # Checked where they are read: a credential that would break the DSN later fails now, never echoed.
        raise SpecError(problems, context=pulumi.get_stack())
    if spec.credentials == "static":
        missing = [k for k in CREDENTIAL_KEYS if k not in raw]
        if missing:
            hints = {
                "accessKeyId": "`pulumi config set accessKeyId ...`",
                "secretAccessKey": "`pulumi config set --secret secretAccessKey ...`",
            }
            raise SpecError(
                [Problem(k, None, f"credentials: static needs it; set it with {hints[k]}") for k in missing],
                context=pulumi.get_stack(),
            )
        if not runtime_config.is_config_secret(f"{NAMESPACE}:secretAccessKey"):
            # The value itself is never echoed, not even in this error.
            raise SpecError.one(
                "secretAccessKey",
                NOT_SHOWN,
                "it must be a secret: `pulumi config set --secret secretAccessKey ...`",
                context=pulumi.get_stack(),
            )
    elif given:
        raise SpecError(
            [Problem(k, NOT_SHOWN, "only applies with credentials: static") for k in given],
            context=pulumi.get_stack(),
        )
    return spec


def main() -> WebsiteMediaStorage:
    """Declare one website's storage from stack config and export its outputs (DSNs as secrets)."""
    spec = load_spec()
    config = pulumi.Config(NAMESPACE)
    args = WebsiteMediaStorageArgs(spec=spec)
    if spec.credentials == "static":
        args.access_key_id = config.require("accessKeyId")
        args.secret_access_key = config.require_secret("secretAccessKey")
    name = naming.logical_name(spec)
    legacy = naming.legacy_logical_name(spec)
    # Stacks deployed before names were made injective used the legacy name; the alias keeps their resources
    # (the engine gives every child named "<name>-..." the matching alias too). Without a hyphen in the
    # environment both names are the same and nothing changes.
    opts = pulumi.ResourceOptions(aliases=[pulumi.Alias(name=legacy)]) if legacy != name else None
    storage = WebsiteMediaStorage(name, args, opts)
    for key, value in storage.outputs().items():
        if value is not None and value != []:
            pulumi.export(key, value)
    return storage
