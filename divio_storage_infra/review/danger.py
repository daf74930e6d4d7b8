"""Dangerous changes in a plan diff: data loss, public access, wider CORS or credentials, weaker protection.

Each finding names its class, website and resource. Checks that compare a store's settings (public access,
CORS, credentials) apply only to stores that already exist in BASE: a new website's public bucket or first CORS
origins are what it asked for, not a change to something people rely on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from divio_storage_infra.review.backup_dangers import backup_weakened
from divio_storage_infra.review.model import PlanDiff, ResourceDiff
from divio_storage_infra.review.plans import Plan, Resource
from divio_storage_infra.review.values import parse_json_text

DATA_LOSS = "data-loss"
PUBLIC_ACCESS = "public-access"
CORS_WIDENED = "cors-widened"
CREDENTIALS_WIDENED = "credentials-widened"
PROTECTION_OFF = "protection-off"

CLASSES: dict[str, str] = {
    DATA_LOSS: "deletes or replaces a resource that holds data",
    PUBLIC_ACCESS: "makes a private store (more) public",
    CORS_WIDENED: "lets more browser origins, methods or headers in",
    CREDENTIALS_WIDENED: "gives credentials more rights or a longer life",
    PROTECTION_OFF: "turns off protection, versioning, soft delete, encryption or the TLS-only rule",
}
"""Every danger class with what it means (the order of the danger section)."""

BUCKET = "aws:s3/bucket:Bucket"
ACCOUNT = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"
GROUP = "azure-native:resources:ResourceGroup"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
S3_CORS = "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"

DATA_BEARING: frozenset[str] = frozenset({BUCKET, ACCOUNT, CONTAINER, GROUP})
"""Types whose deletion deletes user data (a resource group deletes every account in it)."""

_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
_CONTAINER_LEVELS = {"None": 0, "Blob": 1, "Container": 2}
_TLS_ORDER = {"TLS1_0": 0, "TLS1_1": 1, "TLS1_2": 2, "TLS1_3": 3}


@dataclass(frozen=True)
class Finding:
    """One dangerous change: class, website, resource and a sentence saying what happens."""

    danger: str
    website: str
    urn: str
    type: str
    name: str
    message: str
    blocked_by_protection: bool | None = None


@dataclass(frozen=True)
class _Grant:
    action: str
    resource: str
    condition: str | None

    @property
    def key(self) -> str:
        """The action as IAM compares it (case-insensitive)."""
        return self.action.lower()


class _Context:
    """Indexes over both plans that the checks share."""

    def __init__(self, diff: PlanDiff) -> None:
        self.diff = diff
        self.base_stores = _stores(diff.base)
        self.head_stores = _stores(diff.head)
        self.base_buckets = {key[1] for key in self.base_stores if key[0] == "s3"}
        self._by_store_type = _by_store_type(diff.base)
        self._head_by_store_type = _by_store_type(diff.head)

    def counterpart(self, item: ResourceDiff) -> Resource | None:
        """The BASE resource to compare with: the matched one, else one of the same type on the same store."""
        if item.base is not None:
            return item.base
        key = store_key(item.current)
        return self._by_store_type.get((item.current.type, key)) if key is not None else None

    def dropped(self, item: ResourceDiff) -> bool:
        """Whether a removed resource leaves its store behind without a resource of its type (a setting lost)."""
        if item.head is not None:
            return False
        key = store_key(item.current)
        return key is not None and key in self.head_stores and (item.current.type, key) not in self._head_by_store_type

    def existed(self, resource: Resource) -> bool:
        """Whether the store this resource configures exists in BASE."""
        key = store_key(resource)
        return key is not None and key in self.base_stores

    def remains(self, resource: Resource) -> bool:
        """Whether the store this resource configures still exists in HEAD."""
        key = store_key(resource)
        return key is not None and key in self.head_stores


def store_key(resource: Resource) -> tuple[str, str] | None:
    """The store a resource belongs to: ("s3", bucket name) or ("azure", account name); None if neither."""
    if resource.type.startswith("aws:s3/"):
        bucket = resource.inputs.get("bucket")
        return ("s3", bucket) if isinstance(bucket, str) else None
    if resource.type.startswith("azure-native:storage:"):
        account = resource.inputs.get("accountName")
        return ("azure", account) if isinstance(account, str) else None
    return None


def _by_store_type(plan: Plan) -> dict[tuple[str, tuple[str, str]], Resource]:
    found: dict[tuple[str, tuple[str, str]], Resource] = {}
    for resource in plan.resources.values():
        key = store_key(resource)
        if key is not None:
            found.setdefault((resource.type, key), resource)
    return found


def _stores(plan: Plan) -> set[tuple[str, str]]:
    return {key for r in plan.resources.values() if r.type in (BUCKET, ACCOUNT) and (key := store_key(r)) is not None}


def find_dangers(diff: PlanDiff) -> list[Finding]:
    """Every dangerous change in ``diff``, in class order, then website and URN."""
    context = _Context(diff)
    findings: list[Finding] = []
    for item in diff.resource_diffs():
        if item.action == "same":
            continue
        for check in _CHECKS:
            findings.extend(check(item, context))
    findings.extend(_sas_findings(diff))
    order = list(CLASSES)
    unique = {(f.danger, f.urn, f.message): f for f in findings}
    return sorted(unique.values(), key=lambda f: (order.index(f.danger), f.website, f.urn, f.message))


def _finding(item: ResourceDiff, danger: str, message: str, blocked: bool | None = None) -> Finding:
    r = item.current
    return Finding(danger, item.website, r.urn, r.type, r.name, message, blocked)


# --- data loss -------------------------------------------------------------------------------------------------


def _data_loss(item: ResourceDiff, context: _Context) -> Iterator[Finding]:
    resource = item.current
    if resource.type not in DATA_BEARING or item.action not in ("remove", "replace"):
        return
    base = item.base
    assert base is not None
    protected = base.protect
    if protected:
        guard = "protection blocks it: protect is on in BASE, so the operation fails until it is lifted"
    else:
        guard = "nothing blocks it: protect is off in BASE"
    if item.action == "remove":
        what = "deleted"
        if base.retain_on_delete:
            what = "removed from the stack (retainOnDelete keeps the cloud resource and its data)"
    else:
        what = "replaced (deleted and created anew) because " + ", ".join(item.replace_reasons)
        what += " changes"
    yield _finding(item, DATA_LOSS, f"{what}; its data goes with it; {guard}", protected)


# --- public access -----------------------------------------------------------------------------------------------


def _public_access(item: ResourceDiff, context: _Context) -> Iterator[Finding]:
    resource = item.current
    base = context.counterpart(item)
    if resource.type in (PUBLIC_ACCESS_BLOCK, OWNERSHIP) and base is not None and context.existed(resource):
        if item.head is not None:
            after = item.head.inputs
        elif context.dropped(item):
            after = {}
        else:
            return
        if resource.type == PUBLIC_ACCESS_BLOCK:
            turned_off = [f for f in _ACCESS_FLAGS if base.inputs.get(f) is True and after.get(f) is not True]
            if turned_off:
                yield _finding(item, PUBLIC_ACCESS, "public access block turned off: " + ", ".join(turned_off))
        else:
            before_owner, after_owner = (
                _get(base.inputs, "rule", "objectOwnership"),
                _get(after, "rule", "objectOwnership"),
            )
            if before_owner == "BucketOwnerEnforced" and after_owner != "BucketOwnerEnforced":
                yield _finding(
                    item,
                    PUBLIC_ACCESS,
                    f"ACLs re-enabled: object ownership {before_owner} -> {after_owner or '(none)'}",
                )
    elif resource.type == BUCKET_POLICY and item.head is not None and context.existed(resource):
        before_grants = _grants(base.inputs.get("policy") if base else None, public_only=True)
        new = _uncovered(_grants(item.head.inputs.get("policy"), public_only=True), before_grants)
        if new:
            yield _finding(item, PUBLIC_ACCESS, "the bucket policy grants everyone (Principal *) " + _describe(new))
    elif resource.type == CONTAINER and item.base is not None and item.head is not None:
        before_level = str(item.base.inputs.get("publicAccess", "None"))
        after_level = str(item.head.inputs.get("publicAccess", "None"))
        if _CONTAINER_LEVELS.get(after_level, 2) > _CONTAINER_LEVELS.get(before_level, 2):
            yield _finding(item, PUBLIC_ACCESS, f"container public access {before_level} -> {after_level}")
    elif (
        resource.type == ACCOUNT
        and item.base is not None
        and item.head is not None
        and item.base.inputs.get("allowBlobPublicAccess") is not True
        and item.head.inputs.get("allowBlobPublicAccess") is True
    ):
        yield _finding(item, PUBLIC_ACCESS, "account-level public blob access turned on (allowBlobPublicAccess)")


# --- CORS ------------------------------------------------------------------------------------------------------


def _cors_sets(resource: Resource | None) -> dict[str, set[str]]:
    sets: dict[str, set[str]] = {"origins": set(), "methods": set(), "headers": set(), "exposed headers": set()}
    if resource is None:
        return sets
    rules = resource.inputs.get("corsRules")
    if resource.type == BLOB_SERVICE:
        rules = _get(resource.inputs, "cors", "corsRules")
    for rule in rules if isinstance(rules, list) else []:
        if not isinstance(rule, dict):
            continue
        sets["origins"].update(str(o) for o in _as_list(rule.get("allowedOrigins")))
        sets["methods"].update(str(m).upper() for m in _as_list(rule.get("allowedMethods")))
        sets["headers"].update(str(h).lower() for h in _as_list(rule.get("allowedHeaders")))
        exposed = rule.get("exposeHeaders", rule.get("exposedHeaders"))
        sets["exposed headers"].update(str(h).lower() for h in _as_list(exposed))
    return sets


def _cors(item: ResourceDiff, context: _Context) -> Iterator[Finding]:
    resource = item.current
    if resource.type not in (S3_CORS, BLOB_SERVICE) or item.head is None or not context.existed(resource):
        return
    before = _cors_sets(context.counterpart(item))
    after = _cors_sets(item.head)
    parts = []
    for kind in before:
        new = after[kind] - before[kind]
        if not new:
            continue
        wildcard = " (any origin)" if kind == "origins" and "*" in new else ""
        parts.append(f"new {kind}{wildcard}: " + ", ".join(sorted(new)))
    if parts:
        yield _finding(item, CORS_WIDENED, "CORS widened: " + "; ".join(parts))


# --- credentials -------------------------------------------------------------------------------------------------


def _credentials(item: ResourceDiff, context: _Context) -> Iterator[Finding]:
    resource = item.current
    if resource.type == USER_POLICY and item.head is not None:
        base = item.base
        before = _grants(base.inputs.get("policy") if base else None, public_only=False)
        new = _uncovered(_grants(item.head.inputs.get("policy"), public_only=False), before)
        if base is None:
            # A new user's rights matter only where they reach existing data (or everything).
            new = [g for g in new if g.resource == "*" or _bucket_of(g.resource) in context.base_buckets]
        if new:
            yield _finding(item, CREDENTIALS_WIDENED, "the IAM policy grants " + _describe(new))
    elif (
        resource.type == ACCOUNT
        and item.base is not None
        and item.head is not None
        and item.base.inputs.get("allowSharedKeyAccess") is False
        and item.head.inputs.get("allowSharedKeyAccess") is not False
    ):
        message = "shared-key access turned on: the account key (full access) works again"
        yield _finding(item, CREDENTIALS_WIDENED, message)


def _sas_findings(diff: PlanDiff) -> Iterator[Finding]:
    components_report = False
    for item in diff.resource_diffs():
        if item.base is None or item.head is None or item.head.custom:
            continue
        before, after = item.base.outputs.get("sas_terms"), item.head.outputs.get("sas_terms")
        components_report = components_report or isinstance(after, dict)
        for message in _sas_widening(before, after):
            yield _finding(item, CREDENTIALS_WIDENED, message)
    if components_report:
        return  # the stack output repeats a component's terms; its findings name the website already
    before_terms, after_terms = diff.base.outputs.get("sas_terms"), diff.head.outputs.get("sas_terms")
    messages = list(_sas_widening(before_terms, after_terms)) if isinstance(before_terms, dict) else []
    for message in messages:
        yield Finding(CREDENTIALS_WIDENED, "(stack outputs)", "", "stack output", "sas_terms", message)


def _sas_widening(before: Any, after: Any) -> Iterator[str]:
    if not isinstance(after, dict):
        return
    if not isinstance(before, dict):
        yield "SAS tokens are issued where there were none (" + _sas_summary(after) + ")"
        return
    new_permissions = sorted(set(str(after.get("permissions", ""))) - set(str(before.get("permissions", ""))))
    if new_permissions:
        yield f"SAS permissions widened: {before.get('permissions')} -> {after.get('permissions')}"
    old_life, new_life = _lifetime(before), _lifetime(after)
    if old_life is not None and new_life is not None and new_life > old_life:
        yield f"SAS lifetime longer: {old_life:g} -> {new_life:g} days"
    new_containers = sorted(
        set(map(str, _as_list(after.get("containers")))) - set(map(str, _as_list(before.get("containers"))))
    )
    if new_containers:
        yield "SAS tokens for more containers: " + ", ".join(new_containers)
    if "http" in str(after.get("protocols", "")).replace("https", "") and "http" not in str(
        before.get("protocols", "")
    ).replace("https", ""):
        yield f"SAS protocols widened: {before.get('protocols')} -> {after.get('protocols')}"


def _sas_summary(terms: dict[str, Any]) -> str:
    life = _lifetime(terms)
    return f"permissions {terms.get('permissions')}" + (f", {life:g} days" if life is not None else "")


def _lifetime(terms: dict[str, Any]) -> float | None:
    try:
        start = datetime.fromisoformat(str(terms["start"]).replace("Z", "+00:00"))
        expiry = datetime.fromisoformat(str(terms["expiry"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None
    return (expiry - start).total_seconds() / 86400


# --- protection ------------------------------------------------------------------------------------------------


def _protection(item: ResourceDiff, context: _Context) -> Iterator[Finding]:
    base, head, resource = item.base, item.head, item.current
    if base is not None and head is not None and base.protect and not head.protect:
        yield _finding(item, PROTECTION_OFF, "protect turned off: deleting it no longer fails")
    if (
        resource.type == BUCKET
        and base is not None
        and head is not None
        and base.inputs.get("forceDestroy") is not True
        and head.inputs.get("forceDestroy") is True
    ):
        yield _finding(item, PROTECTION_OFF, "forceDestroy turned on: deleting the bucket deletes every object")
    if base is None:
        return
    dropped = context.dropped(item)
    if resource.type == VERSIONING:
        before = _get(base.inputs, "versioningConfiguration", "status")
        after = _get(head.inputs, "versioningConfiguration", "status") if head else None
        if before == "Enabled" and (dropped or (head is not None and after != "Enabled")):
            yield _finding(item, PROTECTION_OFF, f"versioning turned off: {before} -> {after or '(removed)'}")
    elif resource.type == ENCRYPTION and (dropped or (head is not None and not head.inputs.get("rules"))):
        yield _finding(item, PROTECTION_OFF, "default encryption at rest removed")
    elif resource.type == BUCKET_POLICY and (dropped or head is not None):
        if _has_tls_deny(base.inputs.get("policy")) and not (head and _has_tls_deny(head.inputs.get("policy"))):
            yield _finding(item, PROTECTION_OFF, "the TLS-only rule (deny aws:SecureTransport false) is gone")
    elif resource.type == BLOB_SERVICE and (dropped or head is not None):
        after_inputs = head.inputs if head else {}
        if base.inputs.get("isVersioningEnabled") is True and after_inputs.get("isVersioningEnabled") is not True:
            yield _finding(item, PROTECTION_OFF, "blob versioning turned off")
        for key, label in (("deleteRetentionPolicy", "blob"), ("containerDeleteRetentionPolicy", "container")):
            if _get(base.inputs, key, "enabled") is True and _get(after_inputs, key, "enabled") is not True:
                yield _finding(item, PROTECTION_OFF, f"{label} soft delete turned off")
    elif resource.type == ACCOUNT and head is not None:
        if base.inputs.get("enableHttpsTrafficOnly") is True and head.inputs.get("enableHttpsTrafficOnly") is not True:
            yield _finding(item, PROTECTION_OFF, "the TLS-only rule is off: enableHttpsTrafficOnly turned off")
        before_tls, after_tls = base.inputs.get("minimumTlsVersion"), head.inputs.get("minimumTlsVersion")
        if _TLS_ORDER.get(str(after_tls), -1) < _TLS_ORDER.get(str(before_tls), -1):
            yield _finding(item, PROTECTION_OFF, f"minimum TLS version lowered: {before_tls} -> {after_tls}")


def _backups(item: ResourceDiff, context: _Context) -> Iterator[Finding]:
    for message in backup_weakened(item):
        yield _finding(item, PROTECTION_OFF, message)


_CHECKS: tuple[Callable[[ResourceDiff, _Context], Iterable[Finding]], ...] = (
    _data_loss,
    _public_access,
    _cors,
    _credentials,
    _protection,
    _backups,
)


# --- policy documents ------------------------------------------------------------------------------------------


def _statements(policy: Any) -> list[dict[str, Any]]:
    document = parse_json_text(policy)
    if not isinstance(document, dict):
        return []
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    return [s for s in statements if isinstance(s, dict)] if isinstance(statements, list) else []


def _everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any("*" in _as_list(value) for value in principal.values())
    return False


def _grants(policy: Any, *, public_only: bool) -> list[_Grant]:
    grants: list[_Grant] = []
    for statement in _statements(policy):
        if statement.get("Effect") != "Allow":
            continue
        if public_only and not _everyone(statement.get("Principal")):
            continue
        # NotAction / NotResource allow everything but a list: as wide as "*" for this purpose.
        actions = ["*"] if "NotAction" in statement else _as_list(statement.get("Action"))
        resources = ["*"] if "NotResource" in statement else _as_list(statement.get("Resource"))
        condition = statement.get("Condition")
        cond_text = json.dumps(condition, sort_keys=True) if condition else None
        grants.extend(_Grant(str(a), str(r), cond_text) for a in actions for r in resources)
    return grants


def _uncovered(grants: list[_Grant], before: list[_Grant]) -> list[_Grant]:
    """Grants that no earlier grant already allowed (wildcards in the earlier ones count)."""
    result = []
    for grant in grants:
        if not any(
            fnmatchcase(grant.key, old.key)
            and fnmatchcase(grant.resource, old.resource)
            and (old.condition is None or old.condition == grant.condition)
            for old in before
        ):
            result.append(grant)
    return sorted(set(result), key=lambda g: (g.action, g.resource, g.condition or ""))


def _describe(grants: list[_Grant]) -> str:
    shown = [f"{g.action} on {g.resource}" + (" (with a condition)" if g.condition else "") for g in grants[:6]]
    more = f" and {len(grants) - 6} more" if len(grants) > 6 else ""
    return "new rights: " + "; ".join(shown) + more


def _has_tls_deny(policy: Any) -> bool:
    for statement in _statements(policy):
        if statement.get("Effect") != "Deny":
            continue
        condition = statement.get("Condition")
        flag = _get(condition, "Bool", "aws:SecureTransport") if isinstance(condition, dict) else None
        if str(flag).lower() == "false":
            return True
    return False


def _bucket_of(arn: str) -> str:
    prefix = "arn:aws:s3:::"
    return arn[len(prefix) :].split("/", 1)[0] if arn.startswith(prefix) else ""


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _get(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
