"""The platform's storage rules as pure functions over resource records, shared by the CrossGuard pack and the CLI.

Everything here but :mod:`.crossguard` uses the standard library only, so the rules run (and are tested) without
pulumi-policy; :mod:`.crossguard` wraps them in pulumi-policy's validation policies.
"""

from divio_storage_policy.catalog import POLICIES, PolicyRule, run_resource_rule, run_stack_rule
from divio_storage_policy.model import UNKNOWN, Resource, Violation

__all__ = ["POLICIES", "UNKNOWN", "PolicyRule", "Resource", "Violation", "run_resource_rule", "run_stack_rule"]
