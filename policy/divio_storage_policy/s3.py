"""Rules for S3 buckets on AWS and S3-compatible providers (pulumi-aws 7 resources, and their legacy V2 tokens)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from divio_storage_policy.model import (
    PUBLIC,
    STORE_TAG,
    UNKNOWN,
    Resource,
    Violation,
    as_list,
    children,
    config_list,
    linked,
    matches_any,
    of_types,
    parse_document,
    shown,
    violation,
)

BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
OWNERSHIP = ("aws:s3/bucketOwnershipControls:BucketOwnershipControls",)
ACCESS_BLOCKS = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
BUCKET_POLICIES = ("aws:s3/bucketPolicy:BucketPolicy",)
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
CORS = (
    "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration",
    "aws:s3/bucketCorsConfigurationV2:BucketCorsConfigurationV2",
)
ACLS = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
OBJECTS = ("aws:s3/bucketObject:BucketObject", "aws:s3/bucketObjectv2:BucketObjectv2")

PUBLIC_CANNED_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})
PUBLIC_GRANTEES = ("acs.amazonaws.com/groups/global/AllUsers", "acs.amazonaws.com/groups/global/AuthenticatedUsers")
ACCESS_BLOCK_FLAGS = ("blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets")
ACL_BLOCK_FLAGS = ("blockPublicAcls", "ignorePublicAcls")
ENCRYPTION_ALGORITHMS = frozenset({"AES256", "aws:kms", "aws:kms:dsse"})


@dataclass(frozen=True)
class Capabilities:
    """What an S3 provider supports (mirrors the project's S3 provider table; a test keeps the two equal)."""

    family: str
    public_access_block: bool
    ownership_controls: bool
    bucket_policy: bool
    server_side_encryption: bool
    versioning: bool
    lifecycle: bool
    """Lifecycle rules, which expire old versions: versioning is on by default only where both exist (by design,
    e.g. off on Exoscale, where old versions would be kept and billed forever)."""

    @property
    def versioning_by_default(self) -> bool:
        """Whether the library turns versioning on by default on this provider (as its config table does)."""
        return self.versioning and self.lifecycle


CAPABILITIES: dict[str, Capabilities] = {
    "aws": Capabilities("aws", True, True, True, True, True, True),
    "exoscale": Capabilities("exoscale", False, False, False, False, True, False),
    "s3-compatible": Capabilities("s3-compatible", False, False, True, False, True, True),
}
EXOSCALE_HOST_SUFFIX = ".exo.io"


def capabilities(bucket: Resource) -> Capabilities:
    """The bucket's provider family: AWS unless its provider sets an S3 endpoint (Exoscale by host name)."""
    host = _s3_endpoint_host(bucket.provider.props) if bucket.provider is not None else None
    if host is None:
        return CAPABILITIES["aws"]
    if host == EXOSCALE_HOST_SUFFIX[1:] or host.endswith(EXOSCALE_HOST_SUFFIX):
        return CAPABILITIES["exoscale"]
    return CAPABILITIES["s3-compatible"]


def _s3_endpoint_host(props: Mapping[str, Any]) -> str | None:
    # Provider inputs reach policies JSON-encoded ("[{\"s3\": ...}]") or as data, depending on the engine path.
    endpoints = parse_document(props.get("endpoints"))
    for entry in as_list(endpoints):
        if isinstance(entry, Mapping):
            url = entry.get("s3")
            if isinstance(url, str) and url:
                return (urlsplit(url if "://" in url else f"https://{url}").hostname or "").lower()
    return None


def is_public_bucket(bucket: Resource, config: Mapping[str, Any]) -> bool:
    """Whether the stack marks ``bucket`` as a public media store (tag, or its name in ``publicBuckets``)."""
    return bucket.tag(STORE_TAG) == PUBLIC or matches_any(
        bucket.props.get("bucket"), config_list(config, "publicBuckets")
    )


def _parts(resources: Sequence[Resource], bucket: Resource, types: Sequence[str]) -> list[Resource]:
    return list(children(types, resources, bucket, BUCKETS, key="bucket", owner_key="bucket"))


def _owner(resources: Sequence[Resource], part: Resource) -> Resource | None:
    return linked(BUCKETS, resources, part, key="bucket", owner_key="bucket")


# --- s3-no-public-acls (resource) ----------------------------------------------------------------------------------


def no_public_acls(resource: Resource, config: Mapping[str, Any]) -> Iterator[Violation]:
    """Buckets, bucket ACLs and objects grant nothing to AllUsers/AuthenticatedUsers through ACLs."""
    fix = "drop the ACL (ACLs stay disabled); the media bucket is public through its bucket policy (GetObject only)"
    if resource.type in (*BUCKETS, *ACLS, *OBJECTS):
        acl = resource.props.get("acl")
        if isinstance(acl, str) and acl in PUBLIC_CANNED_ACLS:
            yield violation(resource, "acl", f"is the public canned ACL {shown(acl)}", fix)
    grants: list[Any] = []
    if resource.type in BUCKETS:
        grants = as_list(resource.props.get("grants"))
    elif resource.type in ACLS:
        grants = as_list(resource.get("accessControlPolicy", "grants"))
    for index, grant in enumerate(grants):
        if not isinstance(grant, Mapping):
            continue
        grantee = grant.get("grantee") if resource.type in ACLS else grant
        uri = grantee.get("uri") if isinstance(grantee, Mapping) else None
        if isinstance(uri, str) and uri.endswith(PUBLIC_GRANTEES):
            prop = f"accessControlPolicy.grants[{index}]" if resource.type in ACLS else f"grants[{index}]"
            yield violation(resource, prop, f"grants to {uri.rsplit('/', 1)[-1]}", fix)


# --- s3-acls-disabled (stack) --------------------------------------------------------------------------------------


def acls_disabled(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Violation]:
    """Every bucket whose provider has ownership controls declares BucketOwnerEnforced (ACLs disabled)."""
    fix = 'declare aws.s3.BucketOwnershipControls for it with rule.objectOwnership "BucketOwnerEnforced"'
    for bucket in of_types(resources, BUCKETS):
        if not capabilities(bucket).ownership_controls:
            continue
        controls = _parts(resources, bucket, OWNERSHIP)
        if not controls:
            yield violation(bucket, "ownership controls", "are not declared, so object ACLs stay enabled", fix)
    for control in of_types(resources, OWNERSHIP):
        value = control.get("rule", "objectOwnership")
        if value is not UNKNOWN and value != "BucketOwnerEnforced":
            yield violation(
                control,
                "rule.objectOwnership",
                f"is {shown(value)}, which keeps ACLs enabled",
                'set it to "BucketOwnerEnforced"',
            )


# --- s3-block-public-access (stack) --------------------------------------------------------------------------------


def block_public_access(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Violation]:
    """Private buckets block all four kinds of public access; a public media bucket still blocks public ACLs."""
    for bucket in of_types(resources, BUCKETS):
        if not capabilities(bucket).public_access_block:
            continue
        public = is_public_bucket(bucket, config)
        required = ACL_BLOCK_FLAGS if public else ACCESS_BLOCK_FLAGS
        kind = "public media bucket" if public else "private bucket"
        blocks = _parts(resources, bucket, ACCESS_BLOCKS)
        if not blocks:
            yield violation(
                bucket,
                "public access block",
                f"is not declared for this {kind}",
                f"declare aws.s3.BucketPublicAccessBlock for it with {', '.join(f'{f}=true' for f in required)}",
            )
        for block in blocks:
            off = [
                flag for flag in required if block.props.get(flag) is not UNKNOWN and block.props.get(flag) is not True
            ]
            if off:
                yield violation(
                    block,
                    ", ".join(off),
                    f"{'is' if len(off) == 1 else 'are'} not true on the {kind} {shown(bucket.props.get('bucket'))}",
                    f"set {', '.join(f'{f}=true' for f in off)}"
                    + ("" if public else " (or tag the bucket media-store=public if it is the public media store)"),
                )


# --- s3-public-read-only (stack) -----------------------------------------------------------------------------------


def _is_public_principal(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return "*" in as_list(principal.get("AWS"))
    return False


def _statements(document: Any) -> list[Mapping[str, Any]]:
    if not isinstance(document, Mapping):
        return []
    return [s for s in as_list(document.get("Statement")) if isinstance(s, Mapping)]


def _bucket_policy_documents(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str, Any, Resource | None]]:
    """(resource, property, decoded document, bucket) for every bucket policy and inline bucket ``policy``."""
    for policy in of_types(resources, BUCKET_POLICIES):
        yield policy, "policy", parse_document(policy.props.get("policy")), _owner(resources, policy)
    for bucket in of_types(resources, BUCKETS):
        if bucket.props.get("policy") is not None:
            yield bucket, "policy", parse_document(bucket.props.get("policy")), bucket


def public_read_only(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Violation]:
    """A statement that allows every principal grants only s3:GetObject on objects of a public media bucket."""
    names = config_list(config, "publicBuckets")
    for resource, prop, document, bucket in _bucket_policy_documents(resources):
        for index, statement in enumerate(_statements(document)):
            if statement.get("Effect") != "Allow":
                continue
            if not (_is_public_principal(statement.get("Principal")) or "NotPrincipal" in statement):
                continue
            label = f"{prop} Statement[{index}]{_sid(statement)}"
            problems: list[str] = []
            public = (
                is_public_bucket(bucket, config)
                if bucket is not None
                else matches_any(resource.props.get("bucket"), names)
            )
            if not public:
                problems.append("the bucket is not marked as a public media store")
            if "NotPrincipal" in statement or "NotAction" in statement or "NotResource" in statement:
                problems.append("uses NotPrincipal/NotAction/NotResource, which grant more than they name")
            actions = [a for a in as_list(statement.get("Action")) if a is not UNKNOWN]
            extra = [a for a in actions if not (isinstance(a, str) and a.lower() == "s3:getobject")]
            if extra:
                problems.append(f"allows {', '.join(map(str, extra))} (only s3:GetObject may be public)")
            buckets_level = [
                r for r in as_list(statement.get("Resource")) if isinstance(r, str) and "/" not in r.split(":::", 1)[-1]
            ]
            if buckets_level:
                problems.append(f"applies to the bucket itself ({', '.join(buckets_level)}), not only its objects")
            if problems:
                yield violation(
                    resource,
                    label,
                    "grants to every principal: " + "; ".join(problems),
                    "grant the public only s3:GetObject on arn:...:::<bucket>/*, and only on the bucket tagged "
                    "media-store=public (or listed in this policy's publicBuckets config)",
                )


def _sid(statement: Mapping[str, Any]) -> str:
    sid = statement.get("Sid")
    return f" ({sid})" if isinstance(sid, str) and sid else ""


# --- s3-tls-only (stack) -------------------------------------------------------------------------------------------


def _denies_insecure_transport(statement: Mapping[str, Any]) -> bool:
    if statement.get("Effect") != "Deny" or not _is_public_principal(statement.get("Principal")):
        return False
    actions = [str(a).lower() for a in as_list(statement.get("Action"))]
    if not ({"s3:*", "*"} & set(actions)):
        return False
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return False
    secure = None
    for operator, clauses in condition.items():
        if str(operator).lower() == "bool" and isinstance(clauses, Mapping):
            for key, value in clauses.items():
                if str(key).lower() == "aws:securetransport":
                    secure = [str(v).lower() for v in as_list(value)]
    if secure != ["false"]:
        return False
    targets = [str(r) for r in as_list(statement.get("Resource"))]
    objects = any(t == "*" or t.endswith("/*") for t in targets)
    bucket = any(t == "*" or "/" not in t.split(":::", 1)[-1] for t in targets)
    return objects and bucket


def tls_only(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Violation]:
    """Every bucket that can have a policy has one that denies requests without TLS (aws:SecureTransport)."""
    documents: dict[str, list[Any]] = {}
    for _resource, _prop, document, bucket in _bucket_policy_documents(resources):
        if bucket is not None:
            documents.setdefault(bucket.urn, []).append(document)
    for bucket in of_types(resources, BUCKETS):
        if not capabilities(bucket).bucket_policy:
            continue
        found = documents.get(bucket.urn, [])
        if any(d is UNKNOWN for d in found):
            continue
        if not any(_denies_insecure_transport(s) for d in found for s in _statements(d)):
            yield violation(
                bucket,
                "bucket policy",
                "has no statement denying requests without TLS" if found else "is not declared, so plain HTTP works",
                'add a Deny statement for Principal "*", Action "s3:*" on the bucket and its objects with '
                'Condition {"Bool": {"aws:SecureTransport": "false"}}',
            )


# --- s3-encryption-at-rest (stack) ---------------------------------------------------------------------------------


def _algorithms(configuration: Any) -> list[Any]:
    rules = configuration.get("rules") if isinstance(configuration, Mapping) else None
    if rules is None and isinstance(configuration, Mapping):
        rules = configuration.get("rule")  # the deprecated inline form has one rule
    found = []
    for rule in as_list(rules):
        default = rule.get("applyServerSideEncryptionByDefault") if isinstance(rule, Mapping) else None
        if isinstance(default, Mapping):
            found.append(default.get("sseAlgorithm"))
    return found


def encryption_at_rest(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Violation]:
    """Every bucket whose provider supports default encryption declares it (AES256, aws:kms or aws:kms:dsse)."""
    for bucket in of_types(resources, BUCKETS):
        if not capabilities(bucket).server_side_encryption:
            continue
        algorithms = [a for part in _parts(resources, bucket, ENCRYPTION) for a in _algorithms(part.props)]
        algorithms += _algorithms(bucket.props.get("serverSideEncryptionConfiguration"))
        if UNKNOWN in algorithms or any(a in ENCRYPTION_ALGORITHMS for a in algorithms):
            continue
        yield violation(
            bucket,
            "server-side encryption",
            "is not declared" if not algorithms else f"uses {', '.join(map(str, algorithms))}",
            'declare aws.s3.BucketServerSideEncryptionConfiguration with sseAlgorithm "AES256" (or "aws:kms")',
        )


# --- versioning (stack, S3 half of storage-versioning) -------------------------------------------------------------


def versioning(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Violation]:
    """Every bucket has versioning enabled where the library turns it on by default (versioning and lifecycle
    rules to expire old versions); elsewhere (Exoscale) versioning off is by design, not a violation."""
    for bucket in of_types(resources, BUCKETS):
        if not capabilities(bucket).versioning_by_default:
            continue
        states = [p.get("versioningConfiguration", "status") for p in _parts(resources, bucket, VERSIONING)]
        inline = bucket.get("versioning", "enabled")
        if UNKNOWN in states or inline is UNKNOWN or "Enabled" in states or inline is True:
            continue
        yield violation(
            bucket,
            "versioning",
            "is not enabled, so an overwrite or delete loses the data",
            'declare aws.s3.BucketVersioning for it with versioningConfiguration.status "Enabled"',
        )


# --- CORS (the S3 half of the storage-cors-* rules) ----------------------------------------------------------------


def cors_rules(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str, Mapping[str, Any], Resource | None]]:
    """(resource, property path, rule, owning bucket) for every S3 CORS rule, standalone or inline."""
    for cors in of_types(resources, CORS):
        for index, rule in enumerate(as_list(cors.props.get("corsRules"))):
            if isinstance(rule, Mapping):
                yield cors, f"corsRules[{index}]", rule, _owner(resources, cors)
    for bucket in of_types(resources, BUCKETS):
        for index, rule in enumerate(as_list(bucket.props.get("corsRules"))):
            if isinstance(rule, Mapping):
                yield bucket, f"corsRules[{index}]", rule, bucket
