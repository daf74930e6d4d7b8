"""The rules as pulumi-policy validation policies: CrossGuard's arguments in, the rules' violations reported out.

The only module of the pack that imports pulumi-policy; the rules themselves see plain :class:`.model.Resource`s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

from divio_storage_policy.catalog import POLICIES, PolicyRule, run_resource_rule, run_stack_rule
from divio_storage_policy.model import UNKNOWN, Provider, Resource

PACK_NAME = "divio-storage"
"""The pack's name (also in PulumiPolicy.yaml's directory name on publish)."""

_UNKNOWNS = frozenset(
    {
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    }
)


def plain(value: Any) -> Any:
    """CrossGuard's property value as plain data: proxies unwrapped, unknown sentinels as UNKNOWN, secrets opened.

    CrossGuard's proxies raise on reading an unknown value, which would skip the whole policy; the rules instead
    skip only the check that needs it. A proxy hands out its raw target under the key ``__target``.
    """
    if isinstance(value, Secret):
        return plain(value.value)
    if isinstance(value, str):
        return UNKNOWN if value in _UNKNOWNS else value
    if isinstance(value, Mapping):
        target = _target(value)
        return {str(k): plain(target[k]) for k in target}
    if isinstance(value, Sequence):
        target = _target(value)
        return [plain(target[i]) for i in range(len(target))]
    return value


def _target(proxy: Any) -> Any:
    try:
        return proxy["__target"]
    except (KeyError, TypeError, IndexError):
        return proxy


def from_validation_args(args: ResourceValidationArgs) -> Resource:
    """The rule record of the resource a resource validation is called for."""
    return Resource(
        type=args.resource_type,
        urn=args.urn,
        name=args.name,
        props=plain(args.props),
        protect=bool(args.opts.protect),
        provider=_provider(args.provider),
    )


def from_policy_resource(resource: PolicyResource) -> Resource:
    """The rule record of one resource of a stack validation."""
    return Resource(
        type=resource.resource_type,
        urn=resource.urn,
        name=resource.name,
        props=plain(resource.props),
        protect=bool(resource.opts.protect),
        provider=_provider(resource.provider),
        property_dependencies={k: tuple(d.urn for d in v) for k, v in resource.property_dependencies.items()},
    )


def _provider(provider: Any) -> Provider | None:
    if provider is None:
        return None
    return Provider(type=provider.resource_type, name=provider.name, props=plain(provider.props))


def _resource_policy(rule: PolicyRule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        for found in run_resource_rule(rule, from_validation_args(args), args.get_config()):
            report(found.message, found.urn)

    return ResourceValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=EnforcementLevel(rule.enforcement),
        config_schema=PolicyConfigSchema({k: dict(v) for k, v in rule.config.items()}) if rule.config else None,
    )


def _stack_policy(rule: PolicyRule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        resources = [from_policy_resource(r) for r in args.resources]
        for found in run_stack_rule(rule, resources, args.get_config()):
            report(found.message, found.urn)

    return StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=EnforcementLevel(rule.enforcement),
        config_schema=PolicyConfigSchema({k: dict(v) for k, v in rule.config.items()}) if rule.config else None,
    )


def policies() -> list[Policy]:
    """Every rule of the catalog as a pulumi-policy policy, in catalog order."""
    return [_resource_policy(r) if r.kind == "resource" else _stack_policy(r) for r in POLICIES]
