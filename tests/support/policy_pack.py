"""The CrossGuard pack under test: its rules, the example stacks' real plan documents, and mutations of them.

Each mutation breaks exactly one platform rule in a copy of a real plan document; the tests check that exactly the
targeted policy fires, through the pure rules and through pulumi-policy's own validation policies.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from divio_storage_policy import POLICIES, UNKNOWN, Resource, run_resource_rule, run_stack_rule
from divio_storage_policy.model import Provider

from divio_storage_infra.preview.plan import UNKNOWN_TEXT, build_plan
from divio_storage_infra.preview.stackconfig import load_project, load_stack

ROOT = Path(__file__).resolve().parents[2]
PACK_DIR = ROOT / "policy"

STACKS = ("example-live", "example-exoscale-live", "example-azure-live")
SAS_POLICY = {"sasExpirationPeriod": "90.00:00:00", "expirationAction": "Log"}


@functools.cache
def _plan(stack: str) -> str:
    return json.dumps(build_plan(load_stack(load_project(ROOT), stack)))


def example(stack: str) -> dict[str, Any]:
    """A fresh copy of the stack's real plan document, with the secure defaults another change adds.

    Until the secure-defaults change lands, the example Azure account declares no SAS expiration policy; the copy
    gets one here (only when absent), so the fixture passes both before and after that change.
    """
    document: dict[str, Any] = json.loads(_plan(stack))
    for resource in document["resources"]:
        if resource["type"] == "azure-native:storage:StorageAccount":
            resource["inputs"].setdefault("sasPolicy", dict(SAS_POLICY))
    return document


def records(document: Mapping[str, Any]) -> list[Resource]:
    """The plan's resources as rule records (what the pack's adapter builds from CrossGuard's arguments)."""
    by_urn = {r["urn"]: r for r in document["resources"]}

    def plain(value: Any) -> Any:
        if value == UNKNOWN_TEXT:
            return UNKNOWN
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    def provider(urn: str | None) -> Provider | None:
        found = by_urn.get(urn or "")
        return Provider(found["type"], found["name"], plain(found["inputs"])) if found else None

    return [
        Resource(
            type=r["type"],
            urn=r["urn"],
            name=r["name"],
            props=plain(r["inputs"]),
            protect=r["protect"],
            provider=provider(r["provider"]),
            property_dependencies={k: tuple(v) for k, v in r["propertyDependencies"].items()},
        )
        for r in document["resources"]
    ]


def violations(
    document: Mapping[str, Any], config: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, list[Any]]:
    """Policy name -> violations of every rule over the document (resource rules run once per resource)."""
    config = config or {}
    resources = records(document)
    found: dict[str, list[Any]] = {}
    for rule in POLICIES:
        settings = config.get(rule.name, {})
        if rule.kind == "resource":
            hits = [v for r in resources for v in run_resource_rule(rule, r, settings)]
        else:
            hits = run_stack_rule(rule, resources, settings)
        if hits:
            found[rule.name] = hits
    return found


def find(document: Mapping[str, Any], type_suffix: str, name: str) -> dict[str, Any]:
    """The plan resource of type ``...<type_suffix>`` named ``name``."""
    (resource,) = [r for r in document["resources"] if r["type"].endswith(type_suffix) and r["name"] == name]
    return resource


def _policy(resource: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(resource["inputs"]["policy"])
    return document


def _set_policy(resource: dict[str, Any], document: dict[str, Any]) -> None:
    resource["inputs"]["policy"] = json.dumps(document, indent=2, sort_keys=True)


def _add(
    document: dict[str, Any], like: dict[str, Any], type_: str, name: str, inputs: dict[str, Any], **extra: Any
) -> None:
    added = copy.deepcopy(like)
    added.update(
        type=type_,
        name=name,
        urn=like["urn"].rsplit("$", 1)[0] + f"${type_}::{name}",
        inputs=inputs,
        protect=False,
        dependencies=[],
        propertyDependencies={},
        **extra,
    )
    document["resources"].append(added)


@dataclass(frozen=True)
class Mutation:
    """A change to one example's plan document that breaks exactly the rule ``policy`` checks."""

    id: str
    stack: str
    policy: str
    resource: str
    """The logical name the violation message must name."""
    change: Callable[[dict[str, Any]], None]

    def apply(self) -> dict[str, Any]:
        """The mutated copy of the stack's plan document."""
        document = example(self.stack)
        self.change(document)
        return document


BUCKET = "aws:s3/bucket:Bucket"
MEDIA, PRIVATE = "example-live-media", "example-live-private"
MEDIA_BUCKET = "example-live-media-6joctd7v"


def _m(doc: dict[str, Any], suffix: str, name: str) -> dict[str, Any]:
    return find(doc, suffix, name)["inputs"]


def _public_grant_on_private(doc: dict[str, Any]) -> None:
    resource = find(doc, "BucketPolicy", f"{PRIVATE}-policy")
    policy = _policy(resource)
    policy["Statement"].append(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::x/*"}
    )
    _set_policy(resource, policy)


def _public_listing(doc: dict[str, Any]) -> None:
    resource = find(doc, "BucketPolicy", f"{MEDIA}-policy")
    policy = _policy(resource)
    policy["Statement"][0]["Action"] = ["s3:GetObject", "s3:ListBucket"]
    policy["Statement"][0]["Resource"] = [f"arn:aws:s3:::{MEDIA_BUCKET}", f"arn:aws:s3:::{MEDIA_BUCKET}/*"]
    _set_policy(resource, policy)


def _drop_tls(doc: dict[str, Any]) -> None:
    resource = find(doc, "BucketPolicy", f"{PRIVATE}-policy")
    policy = _policy(resource)
    policy["Statement"] = [s for s in policy["Statement"] if s["Effect"] != "Deny"]
    _set_policy(resource, policy)


def _remove(doc: dict[str, Any], suffix: str, name: str) -> None:
    doc["resources"].remove(find(doc, suffix, name))


def _user_statement(doc: dict[str, Any], sid: str, change: Callable[[dict[str, Any]], None]) -> None:
    resource = find(doc, "UserPolicy", "example-live-user-policy")
    policy = _policy(resource)
    (statement,) = [s for s in policy["Statement"] if s["Sid"] == sid]
    change(statement)
    _set_policy(resource, policy)


def _managed_wildcard(doc: dict[str, Any]) -> None:
    user = find(doc, "iam/user:User", "example-live-user")
    document = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": f"arn:aws:s3:::{MEDIA_BUCKET}/*"}],
        }
    )
    _add(doc, user, "aws:iam/policy:Policy", "extra", {"policy": document})
    policy_urn = doc["resources"][-1]["urn"]
    _add(
        doc,
        user,
        "aws:iam/userPolicyAttachment:UserPolicyAttachment",
        "extra-attachment",
        {"user": "example-live-media", "policyArn": UNKNOWN_TEXT},
    )
    doc["resources"][-1]["propertyDependencies"] = {"policyArn": [policy_urn]}


def _bucket_acl(doc: dict[str, Any]) -> None:
    grant = {
        "grantee": {"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"},
        "permission": "READ",
    }
    _add(
        doc,
        find(doc, "BucketOwnershipControls", f"{MEDIA}-ownership"),
        "aws:s3/bucketAcl:BucketAcl",
        "media-acl",
        {"bucket": MEDIA_BUCKET, "accessControlPolicy": {"grants": [grant], "owner": {"id": "x"}}},
    )


def _public_object(doc: dict[str, Any]) -> None:
    _add(
        doc,
        find(doc, "BucketOwnershipControls", f"{MEDIA}-ownership"),
        "aws:s3/bucketObject:BucketObject",
        "index",
        {"bucket": MEDIA_BUCKET, "key": "index.html", "acl": "public-read"},
    )


def _generic_endpoint(doc: dict[str, Any]) -> None:
    provider = find(doc, "providers:aws", "example-ch-live-exoscale")
    provider["inputs"]["endpoints"] = json.dumps([{"s3": "https://objects.example.net"}])


AZ_ACCOUNT, AZ_PUBLIC, AZ_PRIVATE = "example-live-account", "example-live-public-media", "example-live-private-media"
AZ_SERVICE = "example-live-blob-service"


def _tagged_backup(doc: dict[str, Any]) -> None:
    # A backup bucket (tag media-store=backup) without an Object Lock configuration.
    _m(doc, "s3/bucket:Bucket", PRIVATE)["tags"]["media-store"] = "backup"


def _replicated_deletes(doc: dict[str, Any]) -> None:
    bucket = find(doc, "s3/bucket:Bucket", PRIVATE)
    rule = {
        "id": "backup",
        "status": "Enabled",
        "deleteMarkerReplication": {"status": "Enabled"},
        "destination": {"bucket": "arn:aws:s3:::example-live-private-backup"},
    }
    inputs = {"bucket": bucket["inputs"]["bucket"], "role": "arn:aws:iam::123456789012:role/r", "rules": [rule]}
    _add(doc, bucket, "aws:s3/bucketReplicationConfig:BucketReplicationConfig", f"{PRIVATE}-replication", inputs)


MUTATIONS: tuple[Mutation, ...] = (
    Mutation("backup-not-locked", "example-live", "storage-backup-retention", PRIVATE, _tagged_backup),
    Mutation(
        "replicated-deletes",
        "example-live",
        "s3-replication-keeps-deletes-out",
        f"{PRIVATE}-replication",
        _replicated_deletes,
    ),
    Mutation(
        "bucket-public-acl",
        "example-live",
        "s3-no-public-acls",
        MEDIA,
        lambda d: _m(d, "s3/bucket:Bucket", MEDIA).update(acl="public-read"),
    ),
    Mutation("bucket-acl-all-users", "example-live", "s3-no-public-acls", "media-acl", _bucket_acl),
    Mutation("object-public-read", "example-live", "s3-no-public-acls", "index", _public_object),
    Mutation(
        "no-ownership-controls",
        "example-live",
        "s3-acls-disabled",
        PRIVATE,
        lambda d: _remove(d, "BucketOwnershipControls", f"{PRIVATE}-ownership"),
    ),
    Mutation(
        "object-writer",
        "example-live",
        "s3-acls-disabled",
        f"{MEDIA}-ownership",
        lambda d: _m(d, "BucketOwnershipControls", f"{MEDIA}-ownership")["rule"].update(objectOwnership="ObjectWriter"),
    ),
    Mutation(
        "private-not-restricted",
        "example-live",
        "s3-block-public-access",
        f"{PRIVATE}-public-access",
        lambda d: _m(d, "BucketPublicAccessBlock", f"{PRIVATE}-public-access").update(restrictPublicBuckets=False),
    ),
    Mutation(
        "private-no-access-block",
        "example-live",
        "s3-block-public-access",
        PRIVATE,
        lambda d: _remove(d, "BucketPublicAccessBlock", f"{PRIVATE}-public-access"),
    ),
    Mutation(
        "public-acls-unblocked",
        "example-live",
        "s3-block-public-access",
        f"{MEDIA}-public-access",
        lambda d: _m(d, "BucketPublicAccessBlock", f"{MEDIA}-public-access").update(blockPublicAcls=False),
    ),
    Mutation("public-listing", "example-live", "s3-public-read-only", f"{MEDIA}-policy", _public_listing),
    Mutation(
        "public-grant-on-private", "example-live", "s3-public-read-only", f"{PRIVATE}-policy", _public_grant_on_private
    ),
    Mutation("no-tls-deny", "example-live", "s3-tls-only", PRIVATE, _drop_tls),
    Mutation(
        "no-bucket-policy",
        "example-live",
        "s3-tls-only",
        PRIVATE,
        lambda d: _remove(d, "BucketPolicy", f"{PRIVATE}-policy"),
    ),
    Mutation(
        "no-encryption",
        "example-live",
        "s3-encryption-at-rest",
        MEDIA,
        lambda d: _remove(d, "BucketServerSideEncryptionConfiguration", f"{MEDIA}-encryption"),
    ),
    Mutation(
        "cors-wildcard",
        "example-live",
        "storage-cors-no-wildcard-origin",
        f"{MEDIA}-cors",
        lambda d: _m(d, "BucketCorsConfiguration", f"{MEDIA}-cors")["corsRules"][0]["allowedOrigins"].append("*"),
    ),
    Mutation(
        "cors-uploads-no-opt-in",
        "example-live",
        "storage-cors-uploads-opt-in",
        f"{MEDIA}-cors",
        lambda d: _m(d, "s3/bucket:Bucket", MEDIA)["tags"].pop("cors-uploads"),
    ),
    Mutation(
        "bucket-unprotected",
        "example-live",
        "storage-protected",
        MEDIA,
        lambda d: find(d, "s3/bucket:Bucket", MEDIA).update(protect=False),
    ),
    Mutation(
        "versioning-suspended",
        "example-live",
        "storage-versioning",
        PRIVATE,
        lambda d: _m(d, "BucketVersioning", f"{PRIVATE}-versioning")["versioningConfiguration"].update(
            status="Suspended"
        ),
    ),
    Mutation(
        "iam-s3-wildcard",
        "example-live",
        "iam-no-s3-wildcard",
        "example-live-user-policy",
        lambda d: _user_statement(d, "ReadWriteWebsiteObjects", lambda s: s.update(Action="s3:*")),
    ),
    Mutation("iam-managed-s3-wildcard", "example-live", "iam-no-s3-wildcard", "extra", _managed_wildcard),
    Mutation(
        "iam-wildcard-resource",
        "example-live",
        "iam-no-wildcard-resource",
        "example-live-user-policy",
        lambda d: _user_statement(d, "ReadWriteWebsiteObjects", lambda s: s.update(Resource="*")),
    ),
    Mutation(
        "iam-account-wide",
        "example-live",
        "iam-no-account-wide-actions",
        "example-live-user-policy",
        lambda d: _user_statement(d, "ListWebsiteBuckets", lambda s: s["Action"].append("s3:ListAllMyBuckets")),
    ),
    Mutation(
        "exoscale-cors-put",
        "example-exoscale-live",
        "storage-cors-uploads-opt-in",
        "example-ch-live-media-cors",
        lambda d: _m(d, "BucketCorsConfiguration", "example-ch-live-media-cors")["corsRules"][0][
            "allowedMethods"
        ].append("PUT"),
    ),
    # On AWS versioning is on by default; on Exoscale it is off by design (nothing expires old versions there), so
    # only the AWS bucket without it is a violation (tests/unit/test_policy_pack.py checks the Exoscale side).
    Mutation(
        "aws-no-versioning",
        "example-live",
        "storage-versioning",
        "example-live-private",
        lambda d: _remove(d, "BucketVersioning", "example-live-private-versioning"),
    ),
    Mutation(
        "exoscale-unprotected",
        "example-exoscale-live",
        "storage-protected",
        "example-ch-live-private",
        lambda d: find(d, "s3/bucket:Bucket", "example-ch-live-private").update(protect=False),
    ),
    # The same buckets at a generic S3-compatible endpoint can (so must) have a TLS-only policy.
    Mutation(
        "s3-compatible-no-tls-policy",
        "example-exoscale-live",
        "s3-tls-only",
        "example-ch-live-media",
        _generic_endpoint,
    ),
    Mutation(
        "azure-http",
        "example-azure-live",
        "azure-https-only",
        AZ_ACCOUNT,
        lambda d: _m(d, "StorageAccount", AZ_ACCOUNT).update(enableHttpsTrafficOnly=False),
    ),
    Mutation(
        "azure-tls10",
        "example-azure-live",
        "azure-min-tls-1-2",
        AZ_ACCOUNT,
        lambda d: _m(d, "StorageAccount", AZ_ACCOUNT).update(minimumTlsVersion="TLS1_0"),
    ),
    Mutation(
        "azure-no-tls-setting",
        "example-azure-live",
        "azure-min-tls-1-2",
        AZ_ACCOUNT,
        lambda d: _m(d, "StorageAccount", AZ_ACCOUNT).pop("minimumTlsVersion"),
    ),
    Mutation(
        "azure-container-listing",
        "example-azure-live",
        "azure-no-container-public-access",
        AZ_PUBLIC,
        lambda d: _m(d, "BlobContainer", AZ_PUBLIC).update(publicAccess="Container"),
    ),
    Mutation(
        "azure-private-blobs-public",
        "example-azure-live",
        "azure-public-blob-scope",
        AZ_PRIVATE,
        lambda d: _m(d, "BlobContainer", AZ_PRIVATE).update(publicAccess="Blob"),
    ),
    Mutation(
        "azure-account-not-marked",
        "example-azure-live",
        "azure-public-blob-scope",
        AZ_ACCOUNT,
        lambda d: _m(d, "StorageAccount", AZ_ACCOUNT)["tags"].update({"media-store": "private"}),
    ),
    Mutation(
        "azure-no-sas-policy",
        "example-azure-live",
        "azure-sas-expiration-policy",
        AZ_ACCOUNT,
        lambda d: _m(d, "StorageAccount", AZ_ACCOUNT).pop("sasPolicy"),
    ),
    Mutation(
        "azure-no-versioning-or-soft-delete",
        "example-azure-live",
        "storage-versioning",
        AZ_ACCOUNT,
        lambda d: _m(d, "BlobServiceProperties", AZ_SERVICE).update(
            isVersioningEnabled=False, deleteRetentionPolicy={"enabled": False}
        ),
    ),
    Mutation(
        "azure-cors-wildcard",
        "example-azure-live",
        "storage-cors-no-wildcard-origin",
        AZ_SERVICE,
        lambda d: _m(d, "BlobServiceProperties", AZ_SERVICE)["cors"]["corsRules"][0].update(allowedOrigins=["*"]),
    ),
    Mutation(
        "azure-cors-uploads-no-opt-in",
        "example-azure-live",
        "storage-cors-uploads-opt-in",
        AZ_SERVICE,
        lambda d: _m(d, "StorageAccount", AZ_ACCOUNT)["tags"].pop("cors-uploads"),
    ),
    Mutation(
        "azure-container-unprotected",
        "example-azure-live",
        "storage-protected",
        AZ_PRIVATE,
        lambda d: find(d, "BlobContainer", AZ_PRIVATE).update(protect=False),
    ),
)
