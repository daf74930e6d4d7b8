"""Run a Python CrossGuard policy pack over a plan document, as ``pulumi preview --policy-pack DIR`` would.

The pack's ``__main__.py`` runs with pulumi-policy's ``PolicyPack`` replaced by a recorder, so any Python pack
works unchanged; each policy is then called with the arguments the engine would build from the plan: resource
validations once per resource (inputs, options, provider), stack validations once with every resource, its
parent and (property) dependencies. Unknown values reach the pack as the engine's unknown sentinels and secrets
as ``[secret]``. Enforcement levels follow pulumi's precedence: the config file, the pack's initial config, the
policy's own level, the pack's level, advisory.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import inspect
import json
import runpy
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from divio_storage_infra.preview.plan import UNKNOWN_TEXT

INSTALL_HINT = "--policy-pack needs pulumi-policy: pip install 'divio-storage-infra[policy]'"
LEVELS = ("advisory", "mandatory", "remediate", "disabled")
ALL = "all"
"""The config key whose enforcement level applies to every policy without its own."""
ENFORCEMENT_KEY = "enforcementLevel"


class PolicyPackError(Exception):
    """The pack or its config cannot be loaded; the message names the file and what is wrong."""


@dataclass(frozen=True)
class LoadedPack:
    """What the pack's ``__main__.py`` passed to ``PolicyPack``."""

    name: str
    policies: list[Any]
    enforcement_level: str | None
    initial_config: Mapping[str, Any]


def load_pack(directory: Path) -> LoadedPack:
    """Run ``directory/__main__.py`` with ``PolicyPack`` recorded instead of served."""
    try:
        import pulumi_policy
        import pulumi_policy.policy as policy_module
    except ImportError as error:
        raise PolicyPackError(INSTALL_HINT) from error
    main = directory / "__main__.py"
    if not main.is_file():
        raise PolicyPackError(f"{directory}: no __main__.py (a Python policy pack is a directory with __main__.py)")
    captured: list[LoadedPack] = []

    def record(
        name: str, policies: list[Any], enforcement_level: Any = None, initial_config: Any = None, **_: Any
    ) -> None:
        level = enforcement_level.value if enforcement_level is not None else None
        config = {k: (v.value if hasattr(v, "value") else v) for k, v in (initial_config or {}).items()}
        captured.append(LoadedPack(name, list(policies), level, config))

    with _importable(directory), _replaced(pulumi_policy, policy_module, record):
        try:
            runpy.run_path(str(main), run_name="__main__")
        except Exception as error:  # noqa: BLE001 - a broken pack is the user's input, reported in one line
            raise PolicyPackError(f"{main}: the pack failed to load: {type(error).__name__}: {error}") from None
    if len(captured) != 1:
        raise PolicyPackError(f"{main}: expected one PolicyPack(...), found {len(captured)}")
    return captured[0]


@contextlib.contextmanager
def _importable(directory: Path) -> Iterator[None]:
    """The pack's directory first on sys.path; modules it imported from there are forgotten afterwards."""
    saved_path = list(sys.path)
    before = set(sys.modules)
    sys.path.insert(0, str(directory.resolve()))
    try:
        yield
    finally:
        sys.path[:] = saved_path
        root = str(directory.resolve())
        for name in set(sys.modules) - before:
            origin = getattr(sys.modules[name], "__file__", None) or ""
            if origin.startswith(root):
                del sys.modules[name]


@contextlib.contextmanager
def _replaced(package: Any, module: Any, recorder: Any) -> Iterator[None]:
    saved = package.PolicyPack, module.PolicyPack
    package.PolicyPack = module.PolicyPack = recorder
    try:
        yield
    finally:
        package.PolicyPack, module.PolicyPack = saved


def read_config(path: Path, pack: LoadedPack | None = None) -> dict[str, Any]:
    """A ``--policy-pack-config`` file: JSON mapping policy names (or ``all``) to a level or {enforcementLevel, ...}.

    With ``pack``, every policy name and setting must be one the pack has (PolicyPackError naming the unknown one,
    with the closest known name): a misspelt name would otherwise be ignored, and the policy run at its default.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PolicyPackError(f"{path}: cannot read: {error.strerror}") from None
    except ValueError as error:
        raise PolicyPackError(f"{path}: not JSON: {error}") from None
    if not isinstance(data, dict):
        raise PolicyPackError(f"{path}: expected a JSON object of policy names to levels or settings")
    for key, value in data.items():
        level = value.get("enforcementLevel") if isinstance(value, dict) else value
        if level is not None and level not in LEVELS:
            excerpt = json.dumps(level)[:40]
            raise PolicyPackError(f"{path}: {key}: enforcement level {excerpt} is not one of {', '.join(LEVELS)}")
    if pack is not None:
        check_config(data, pack, path)
    return data


def check_config(config: Mapping[str, Any], pack: LoadedPack, path: Path | str) -> None:
    """Raise PolicyPackError for a policy name or a setting in ``config`` that ``pack`` does not have."""
    policies = {policy.name: policy for policy in pack.policies}
    for key, value in config.items():
        if key != ALL and key not in policies:
            raise PolicyPackError(
                f"{path}: {_excerpt(key)} is not a policy of the pack {pack.name}"
                + _did_you_mean(key, [ALL, *policies])
                + f"; its policies: {', '.join(sorted(policies))} (or {ALL})"
            )
        if not isinstance(value, dict):
            continue
        allowed = [ENFORCEMENT_KEY, *(_setting_names(policies[key]) if key != ALL else [])]
        for setting in value:
            if setting not in allowed:
                raise PolicyPackError(
                    f"{path}: {key}: {_excerpt(setting)} is not a setting of this policy"
                    + _did_you_mean(setting, allowed)
                    + f"; its settings: {', '.join(sorted(allowed))}"
                )


def _setting_names(policy: Any) -> list[str]:
    schema = getattr(policy, "config_schema", None)
    properties = getattr(schema, "properties", None)
    return sorted(properties) if isinstance(properties, Mapping) else []


def _excerpt(value: str) -> str:
    return json.dumps(value[:60], ensure_ascii=False)


def _did_you_mean(given: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(given, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def run_pack(
    document: Mapping[str, Any], pack: LoadedPack, config: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The violations of every enabled policy of ``pack`` over the plan ``document``, sorted by URN and policy.

    Each is ``{"policy", "description", "enforcement", "urn", "message"}`` (``urn`` null for the stack).
    """
    from pulumi_policy import (
        PolicyResource,
        ResourceValidationArgs,
        ResourceValidationPolicy,
        StackValidationArgs,
        StackValidationPolicy,
    )
    from pulumi_policy.proxy import UnknownValueError

    settings = _settings(pack, config or {})
    records = list(document["resources"])
    found: list[dict[str, Any]] = []
    for policy in pack.policies:
        level, properties = _level(policy, pack, settings)
        if level == "disabled":
            continue
        level = "mandatory" if level == "remediate" else level

        def report(message: str, urn: str | None = None, *, _policy: Any = policy, _level: str = level) -> None:
            found.append(
                {
                    "policy": _policy.name,
                    "description": _policy.description,
                    "enforcement": _level,
                    "urn": urn or None,
                    "message": message,
                }
            )

        def unknown(error: Any, *, _policy: Any = policy) -> None:
            # The engine reports a policy that reads an unknown value as an advisory note, not a violation.
            found.append(
                {
                    "policy": _policy.name,
                    "description": _policy.description,
                    "enforcement": "advisory",
                    "urn": None,
                    "message": f"can't run policy '{_policy.name}' during preview: {error.message}",
                }
            )

        if isinstance(policy, ResourceValidationPolicy):
            # One call per resource, as the engine makes: an unknown read skips only that resource.
            for record in records:
                args = ResourceValidationArgs(
                    record["type"],
                    _props(record["inputs"]),
                    record["urn"],
                    record["name"],
                    _options(record),
                    _provider(record, records),
                    properties,
                )

                # A resource validation's violations are about its resource, whatever URN it passes.
                def about(message: str, _urn: str | None = None, *, _record: Mapping[str, Any] = record) -> None:
                    report(message, _record["urn"])

                try:
                    _settle(policy.validate(args, about))
                except UnknownValueError as error:
                    unknown(error)
        elif isinstance(policy, StackValidationPolicy):
            try:
                _settle(
                    policy.validate(StackValidationArgs(_stack_resources(records, PolicyResource), properties), report)
                )
            except UnknownValueError as error:
                unknown(error)
    return sorted(found, key=lambda v: (v["urn"] or "", v["policy"], v["message"]))


def _settings(pack: LoadedPack, config: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for source in (pack.initial_config, config):
        for key, value in source.items():
            base = merged.get(key, {})
            value = value if isinstance(value, dict) else {"enforcementLevel": value}
            merged[key] = {**(base if isinstance(base, dict) else {}), **value}
    return merged


def _level(policy: Any, pack: LoadedPack, settings: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None]:
    own = settings.get(policy.name, {})
    every = settings.get("all", {})
    level = (
        own.get("enforcementLevel")
        or every.get("enforcementLevel")
        or (policy.enforcement_level.value if policy.enforcement_level is not None else None)
        or pack.enforcement_level
        or "advisory"
    )
    properties = {k: v for k, v in own.items() if k != "enforcementLevel"}
    return str(level), properties or None


def _settle(result: Any) -> None:
    if inspect.isawaitable(result):
        asyncio.run(_wait(result))


async def _wait(result: Any) -> None:
    await result


def _props(inputs: Mapping[str, Any]) -> Any:
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

    def unknowns(value: Any) -> Any:
        if value == UNKNOWN_TEXT:
            return UNKNOWN_STRING_VALUE
        if isinstance(value, dict):
            return {k: unknowns(v) for k, v in value.items()}
        if isinstance(value, list):
            return [unknowns(v) for v in value]
        return value

    return unknown_checking_proxy(unknowns(dict(inputs)))


def _options(record: Mapping[str, Any]) -> Any:
    from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions

    return PolicyResourceOptions(
        protect=bool(record["protect"]),
        ignore_changes=list(record["ignoreChanges"]),
        delete_before_replace=bool(record["deleteBeforeReplace"]),
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=list(record["additionalSecretOutputs"]),
        parent=record["parent"],
    )


def _provider(record: Mapping[str, Any], records: Sequence[Mapping[str, Any]]) -> Any:
    """The explicit provider the plan lists (default providers are not in the plan: None)."""
    from pulumi_policy import PolicyProviderResource

    urn = record.get("provider")
    for other in records:
        if urn is not None and other["urn"] == urn:
            return PolicyProviderResource(other["type"], _props(other["inputs"]), other["urn"], other["name"])
    return None


def _stack_resources(records: Sequence[Mapping[str, Any]], policy_resource: Any) -> list[Any]:
    resources = {
        r["urn"]: policy_resource(
            r["type"], _props(r["inputs"]), r["urn"], r["name"], _options(r), _provider(r, records), None, [], {}
        )
        for r in records
    }
    for record in records:
        resource = resources[record["urn"]]
        resource.parent = resources.get(record["parent"] or "")
        resource.dependencies = [resources[u] for u in record["dependencies"] if u in resources]
        resource.property_dependencies = {
            k: [resources[u] for u in v if u in resources] for k, v in record["propertyDependencies"].items()
        }
    return list(resources.values())
