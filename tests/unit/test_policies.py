"""Policy documents: least privilege, TLS-only, never public listing, and clean under a real IAM linter."""

from __future__ import annotations

import json

import pytest
from support.policy_lint import findings

from divio_storage_infra.core import policies

REGION = "eu-central-1"


def statements(document: policies.PolicyDocument) -> list[dict[str, object]]:
    result = document["Statement"]
    assert isinstance(result, list)
    return result


def test_linter_catches_a_broken_policy() -> None:
    # The "no finding" assertions below only mean something if the linter does flag real mistakes.
    broken = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObjects", "Resource": "arn:aws:s3:::b/*"}],
    }
    assert findings(broken)
    too_wide = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b"}],
    }
    assert findings(too_wide)


@pytest.mark.parametrize(
    "document",
    [
        policies.public_bucket_policy("example-live-media-abc", REGION),
        policies.private_bucket_policy("example-live-private-abc", REGION),
        policies.access_policy(["example-live-media-abc"], REGION),
        policies.access_policy(["example-live-media-abc", "example-live-private-abc"], REGION),
        policies.access_policy(["cn-bucket"], "cn-north-1"),
    ],
)
def test_every_policy_passes_the_linter(document: policies.PolicyDocument) -> None:
    assert findings(policies.to_json(document)) == []


def test_unpinned_acl_grant_is_still_a_finding() -> None:
    # The accepted PutObjectAcl finding must not hide an ACL grant without the owner-ACL condition.
    document = policies.access_policy(["b"], REGION)
    document["Statement"][2].pop("Condition")
    assert any("PERMISSIONS_MANAGEMENT_ACTIONS" in f for f in findings(document))
    document = policies.access_policy(["b"], REGION)
    document["Statement"][1]["Action"] = [*document["Statement"][1]["Action"], "s3:PutObjectAcl"]
    assert any("PERMISSIONS_MANAGEMENT_ACTIONS" in f for f in findings(document))


def test_acl_grant_is_pinned_to_the_owner_acl() -> None:
    document = policies.access_policy(["b"], REGION)
    acl_statements = [s for s in statements(document) if s.get("Action") == "s3:PutObjectAcl"]
    assert acl_statements == [
        {
            "Sid": "UploadWithOwnerAclOnly",
            "Effect": "Allow",
            "Action": "s3:PutObjectAcl",
            "Resource": ["arn:aws:s3:::b/*"],
            "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
        }
    ]


def test_public_policy_reads_objects_only_and_denies_plain_http() -> None:
    allow, deny = statements(policies.public_bucket_policy("b", REGION))
    assert allow == {
        "Sid": "PublicReadObjects",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*",
    }
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]


def test_private_policy_grants_nothing() -> None:
    document = policies.private_bucket_policy("p", REGION)
    assert [s["Effect"] for s in statements(document)] == ["Deny"]


def test_access_policy_is_limited_to_the_websites_buckets() -> None:
    document = policies.access_policy(["a", "b"], REGION)
    resources: list[str] = []
    for statement in statements(document):
        assert statement["Effect"] == "Allow"
        actions = statement["Action"]
        actions = [actions] if isinstance(actions, str) else actions
        assert isinstance(actions, list)
        assert all(a.startswith("s3:") and "*" not in a for a in actions)
        resource = statement["Resource"]
        assert isinstance(resource, list)
        resources += resource
    assert sorted(set(resources)) == ["arn:aws:s3:::a", "arn:aws:s3:::a/*", "arn:aws:s3:::b", "arn:aws:s3:::b/*"]
    assert "*" not in json.dumps(document).replace("/*", "")


def test_access_policy_needs_a_bucket() -> None:
    with pytest.raises(ValueError, match="at least one bucket"):
        policies.access_policy([], REGION)


@pytest.mark.parametrize(
    ("region", "partition"), [("eu-central-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")]
)
def test_arn_uses_the_regions_partition(region: str, partition: str) -> None:
    assert policies.bucket_arn("b", region) == f"arn:{partition}:s3:::b"


def test_json_is_deterministic() -> None:
    a = policies.to_json(policies.access_policy(["x", "y"], REGION))
    b = policies.to_json(policies.access_policy(["x", "y"], REGION))
    assert a == b
    assert json.loads(a) == policies.access_policy(["x", "y"], REGION)
