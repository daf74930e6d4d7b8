"""The pack's policies: name, description, kind, default enforcement, config schema and the rule that checks it.

Resource rules see one resource (``check(resource, config)``); stack rules see every resource of the stack
(``check(resources, config)``) because they join a bucket with its access block, policy or account.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from divio_storage_policy import azure, backup, iam, s3
from divio_storage_policy.model import (
    ALLOWED,
    CORS_ANY_ORIGIN_TAG,
    CORS_UPLOADS_TAG,
    UNKNOWN,
    Resource,
    Violation,
    as_list,
    shown,
    violation,
)

Kind = Literal["resource", "stack"]
Enforcement = Literal["advisory", "mandatory"]
ResourceCheck = Callable[[Resource, Mapping[str, Any]], Iterator[Violation]]
StackCheck = Callable[[Sequence[Resource], Mapping[str, Any]], Iterator[Violation]]

UPLOAD_METHODS = frozenset({"PUT", "POST", "DELETE", "PATCH", "MERGE"})
PROTECTED_TYPES = (*s3.BUCKETS, *azure.ACCOUNTS, *azure.CONTAINERS)


@dataclass(frozen=True)
class PolicyRule:
    """One policy of the pack; ``check`` is a resource or a stack rule according to ``kind``."""

    name: str
    description: str
    kind: Kind
    enforcement: Enforcement
    check: Callable[..., Iterator[Violation]]
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """JSON schema of the policy's own config properties (besides ``enforcementLevel``)."""


def run_resource_rule(rule: PolicyRule, resource: Resource, config: Mapping[str, Any]) -> list[Violation]:
    """The violations of a resource rule for one resource."""
    assert rule.kind == "resource", rule.name
    return list(rule.check(resource, config))


def run_stack_rule(rule: PolicyRule, resources: Sequence[Resource], config: Mapping[str, Any]) -> list[Violation]:
    """The violations of a stack rule for the whole stack."""
    assert rule.kind == "stack", rule.name
    return list(rule.check(resources, config))


def _cors(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str, Mapping[str, Any], Resource | None]]:
    yield from s3.cors_rules(resources)
    yield from azure.cors_rules(resources)


def _opted_in(store: Resource | None, tag: str, config: Mapping[str, Any], key: str) -> bool:
    return config.get(key) is True or (store is not None and store.tag(tag) == ALLOWED)


def cors_no_wildcard_origin(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Violation]:
    """No CORS rule allows a wildcard origin unless its store is tagged ``cors-any-origin=allowed``."""
    for resource, prop, rule, store in _cors(resources):
        origins = [o for o in as_list(rule.get("allowedOrigins")) if isinstance(o, str) and "*" in o]
        if origins and not _opted_in(store, CORS_ANY_ORIGIN_TAG, config, "allowWildcardOrigins"):
            yield violation(
                resource,
                f"{prop}.allowedOrigins",
                f"contains {', '.join(shown(o) for o in origins)}, so every site's scripts can read the media",
                "list the website's origins; or, to mean it, tag the bucket/account cors-any-origin=allowed",
            )


def cors_uploads_opt_in(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Violation]:
    """No CORS rule allows upload methods unless its store is tagged ``cors-uploads=allowed``."""
    for resource, prop, rule, store in _cors(resources):
        methods = [str(m) for m in as_list(rule.get("allowedMethods")) if m is not UNKNOWN]
        uploads = sorted({m for m in methods if m.upper() in UPLOAD_METHODS})
        if uploads and not _opted_in(store, CORS_UPLOADS_TAG, config, "allowUploads"):
            yield violation(
                resource,
                f"{prop}.allowedMethods",
                f"allows {', '.join(uploads)} from browsers without an upload opt-in",
                "allow GET and HEAD only; for direct browser uploads tag the bucket/account cors-uploads=allowed",
            )


def protected(resource: Resource, config: Mapping[str, Any]) -> Iterator[Violation]:
    """Buckets, storage accounts and containers hold user data: they carry the ``protect`` resource option."""
    if resource.type in PROTECTED_TYPES and not resource.protect:
        yield violation(
            resource,
            "protect (resource option)",
            "is off, so `pulumi destroy` or a replacement deletes the data",
            "declare it with ResourceOptions(protect=True); unprotect on purpose before deleting it",
        )


def versioning(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Violation]:
    """Buckets have versioning on; Azure accounts have blob versioning or soft delete on."""
    yield from s3.versioning(resources, config)
    yield from azure.versioning_or_soft_delete(resources, config)


_PUBLIC_BUCKETS = {
    "publicBuckets": {
        "type": "array",
        "items": {"type": "string"},
        "description": "Names (shell patterns) of buckets that are public media stores besides those tagged "
        "media-store=public.",
    }
}
_OPT_IN = {
    "allowWildcardOrigins": {"type": "boolean", "description": "Allow wildcard CORS origins on every store."},
    "allowUploads": {"type": "boolean", "description": "Allow CORS upload methods on every store."},
}

POLICIES: tuple[PolicyRule, ...] = (
    PolicyRule(
        "storage-backup-retention",
        "AWS backup buckets lock objects (Object Lock default retention) and backup accounts keep point-in-time "
        "restore for at least minBackupRetentionDays (default 7).",
        "stack",
        "mandatory",
        backup.backup_retention,
        {"minBackupRetentionDays": {"type": "integer", "minimum": 1, "description": "Least retention of a backup."}},
    ),
    PolicyRule(
        "s3-replication-keeps-deletes-out",
        "S3 replication rules never replicate delete markers into a backup.",
        "stack",
        "mandatory",
        backup.replication_keeps_deletes_out,
    ),
    PolicyRule(
        "s3-no-public-acls",
        "S3 buckets, bucket ACLs and objects grant nothing to AllUsers or AuthenticatedUsers through ACLs.",
        "resource",
        "mandatory",
        s3.no_public_acls,
    ),
    PolicyRule(
        "s3-acls-disabled",
        "S3 buckets disable ACLs: ownership controls with objectOwnership BucketOwnerEnforced.",
        "stack",
        "mandatory",
        s3.acls_disabled,
    ),
    PolicyRule(
        "s3-block-public-access",
        "Private S3 buckets block all four kinds of public access; public media buckets still block public ACLs.",
        "stack",
        "mandatory",
        s3.block_public_access,
        _PUBLIC_BUCKETS,
    ),
    PolicyRule(
        "s3-public-read-only",
        "A bucket policy grants every principal only s3:GetObject on objects, only on a public media bucket.",
        "stack",
        "mandatory",
        s3.public_read_only,
        _PUBLIC_BUCKETS,
    ),
    PolicyRule(
        "s3-tls-only",
        "Every bucket that can have a policy denies requests without TLS.",
        "stack",
        "mandatory",
        s3.tls_only,
    ),
    PolicyRule(
        "s3-encryption-at-rest",
        "Buckets declare default server-side encryption where the provider supports it.",
        "stack",
        "mandatory",
        s3.encryption_at_rest,
    ),
    PolicyRule(
        "storage-cors-no-wildcard-origin",
        "CORS rules of buckets and storage accounts name their origins; a wildcard needs an explicit opt-in.",
        "stack",
        "mandatory",
        cors_no_wildcard_origin,
        {"allowWildcardOrigins": _OPT_IN["allowWildcardOrigins"]},
    ),
    PolicyRule(
        "storage-cors-uploads-opt-in",
        "CORS rules allow upload methods (PUT, POST, DELETE, ...) only with an explicit opt-in.",
        "stack",
        "mandatory",
        cors_uploads_opt_in,
        {"allowUploads": _OPT_IN["allowUploads"]},
    ),
    PolicyRule(
        "storage-protected",
        "Buckets, storage accounts and blob containers are protected against deletion (protect option).",
        "resource",
        "advisory",
        protected,
    ),
    PolicyRule(
        "storage-versioning",
        "Buckets have versioning on; storage accounts have blob versioning or soft delete on.",
        "stack",
        "advisory",
        versioning,
    ),
    PolicyRule(
        "azure-https-only",
        "Storage accounts accept HTTPS only.",
        "resource",
        "mandatory",
        azure.https_only,
    ),
    PolicyRule(
        "azure-min-tls-1-2",
        "Storage accounts require TLS 1.2 or newer.",
        "resource",
        "mandatory",
        azure.minimum_tls,
    ),
    PolicyRule(
        "azure-no-container-public-access",
        "No blob container allows anonymous listing (publicAccess Container).",
        "resource",
        "mandatory",
        azure.no_container_public_access,
    ),
    PolicyRule(
        "azure-public-blob-scope",
        "Anonymous blob reads only on the media container of a storage account marked public.",
        "stack",
        "mandatory",
        azure.public_blob_scope,
        {
            "publicAccounts": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Storage account names (shell patterns) that are public media stores besides those "
                "tagged media-store=public.",
            },
            "publicContainers": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Names of the containers that may allow anonymous blob reads (default: public-media).",
            },
        },
    ),
    PolicyRule(
        "azure-sas-expiration-policy",
        "Storage accounts have a SAS expiration policy.",
        "resource",
        "mandatory",
        azure.sas_expiration_policy,
    ),
    PolicyRule(
        "iam-no-s3-wildcard",
        "Policies attached to a storage user never allow s3:* (or *).",
        "stack",
        "mandatory",
        iam.no_s3_wildcard,
    ),
    PolicyRule(
        "iam-no-wildcard-resource",
        "Policies attached to a storage user never apply to every resource or every bucket.",
        "stack",
        "mandatory",
        iam.no_wildcard_resource,
    ),
    PolicyRule(
        "iam-no-account-wide-actions",
        "Policies attached to a storage user never allow account-wide S3 actions (ListAllMyBuckets, CreateBucket...).",
        "stack",
        "mandatory",
        iam.no_account_wide_actions,
    ),
)
