"""The S3 component under Pulumi's mock runtime: every child's type, inputs, parent, dependencies and options."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from support.policy_lint import findings

from divio_storage_infra.components.s3 import TYPE, S3MediaStorage, S3MediaStorageArgs
from divio_storage_infra.core import naming, policies
from divio_storage_infra.core.dsn import parse_dsn
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.preview import mockrun
from divio_storage_infra.preview.mockrun import Declared, DeclaredResource, Secret

BASE: dict[str, Any] = {"website": "example", "environment": "live", "region": "eu-central-1"}
FAKE_SECRET = "wJalr/XUtnFEMI+K7MDENG=bPxRfiCY"
FAKE_KEY_ID = "AKIAEXAMPLEKEY"

CORS = {
    "none": {},
    "some": {"corsOrigins": ["https://www.example.com", "https://example.com"]},
    "uploads": {"corsOrigins": ["https://www.example.com"], "allowUploads": True},
}


def aws_mocks() -> mockrun.EchoMocks:
    """Answers what AWS computes: the access key's id and secret, the user's ARN."""
    return mockrun.EchoMocks(
        outputs={
            "aws:iam/accessKey:AccessKey": lambda a: {"id": FAKE_KEY_ID, "secret": FAKE_SECRET},
            "aws:iam/user:User": lambda a: {"arn": f"arn:aws:iam::123456789012:user/{a.inputs['name']}"},
        }
    )


def declare(**overrides: Any) -> tuple[StorageSpec, Declared]:
    spec = StorageSpec.from_dict({**BASE, **overrides})
    declared = mockrun.run(
        lambda: S3MediaStorage("example-live", S3MediaStorageArgs(spec=spec)), mocks=aws_mocks(), stack="example-live"
    )
    return spec, declared


def component(declared: Declared) -> DeclaredResource:
    return declared.one(TYPE)


def outputs(declared: Declared) -> dict[str, Any]:
    return declared.component_outputs[component(declared).urn]


COMBINATIONS = [
    pytest.param(
        private, credentials, cors, versioning, id=f"private={private}-{credentials}-cors={cors}-v={versioning}"
    )
    for private, credentials, cors, versioning in itertools.product(
        (False, True), ("none", "iam-user"), tuple(CORS), (False, True)
    )
]


@pytest.mark.parametrize(("private", "credentials", "cors", "versioning"), COMBINATIONS)
def test_declared_graph(private: bool, credentials: str, cors: str, versioning: bool) -> None:
    spec, declared = declare(privateStorage=private, credentials=credentials, versioning=versioning, **CORS[cors])
    root = component(declared)
    public_name = naming.public_bucket_name(spec)
    private_name = naming.private_bucket_name(spec)
    roles = ["media", *(["private"] if private else [])]

    expected_names = set()
    for role in roles:
        expected_names |= {
            f"example-live-{role}",
            f"example-live-{role}-ownership",
            f"example-live-{role}-public-access",
            f"example-live-{role}-encryption",
            f"example-live-{role}-policy",
        }
        if versioning:
            expected_names |= {f"example-live-{role}-versioning", f"example-live-{role}-lifecycle"}
    if cors != "none":
        expected_names.add("example-live-media-cors")
    if credentials == "iam-user":
        expected_names |= {"example-live-user", "example-live-user-policy", "example-live-access-key"}
    children = [r for r in declared.resources if r is not root]
    assert {r.name for r in children} == expected_names
    assert len(children) == len(expected_names)

    for child in children:
        assert child.parent == root.urn, child.name
        # Every child is protected, not only the buckets: removing the website must change nothing at all.
        assert child.protect is True, child.name

    for role, bucket_name, public in (("media", public_name, True), ("private", private_name, False)):
        if role not in roles:
            continue
        bucket = declared.one("aws:s3/bucket:Bucket", f"example-live-{role}")
        assert bucket.inputs["bucket"] == bucket_name
        assert bucket.inputs["forceDestroy"] is False
        assert bucket.inputs["region"] == "eu-central-1"
        assert bucket.inputs["tags"] == spec.tag_map

        ownership = declared.one(
            "aws:s3/bucketOwnershipControls:BucketOwnershipControls", f"example-live-{role}-ownership"
        )
        assert ownership.inputs["bucket"] == bucket_name
        assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}

        block = declared.one(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", f"example-live-{role}-public-access"
        )
        assert block.inputs["bucket"] == bucket_name
        assert block.inputs["blockPublicAcls"] is True
        assert block.inputs["ignorePublicAcls"] is True
        assert block.inputs["blockPublicPolicy"] is (not public)
        assert block.inputs["restrictPublicBuckets"] is (not public)

        encryption = declared.one(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            f"example-live-{role}-encryption",
        )
        assert encryption.inputs["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]

        policy = declared.one("aws:s3/bucketPolicy:BucketPolicy", f"example-live-{role}-policy")
        # The bucket through its input; the public access block and ownership controls through depends_on.
        assert policy.dependencies == sorted([bucket.urn, block.urn, ownership.urn])
        document = json.loads(policy.inputs["policy"])
        expected = (policies.public_bucket_policy if public else policies.private_bucket_policy)(
            bucket_name, "eu-central-1"
        )
        assert document == expected
        assert findings(policy.inputs["policy"]) == []
        public_statements = [s for s in document["Statement"] if s["Effect"] == "Allow"]
        assert bool(public_statements) is public
        assert all(s["Action"] == "s3:GetObject" for s in public_statements)

        if versioning:
            ver = declared.one("aws:s3/bucketVersioning:BucketVersioning", f"example-live-{role}-versioning")
            assert ver.inputs["versioningConfiguration"] == {"status": "Enabled"}
            life = declared.one(
                "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", f"example-live-{role}-lifecycle"
            )
            assert ver.urn in life.dependencies
            (rule,) = life.inputs["rules"]
            assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
            assert rule["status"] == "Enabled"

    if cors != "none":
        cors_config = declared.one("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration")
        assert cors_config.inputs["bucket"] == public_name
        (rule,) = cors_config.inputs["corsRules"]
        assert rule["allowedOrigins"] == CORS[cors]["corsOrigins"]
        uploads = cors == "uploads"
        assert rule["allowedMethods"] == (["GET", "HEAD", "POST", "PUT"] if uploads else ["GET", "HEAD"])
        assert rule["exposeHeaders"] == ["ETag"]
        assert rule["maxAgeSeconds"] == 3600
        assert "*" not in rule["allowedHeaders"]

    out = outputs(declared)
    assert out["public_bucket_name"] == public_name
    assert out["public_bucket_arn"] == f"arn:aws:s3:::{public_name}"
    assert out["media_url"] == f"https://{public_name}.s3.eu-central-1.amazonaws.com/"
    assert isinstance(out["storage_dsn"], Secret)
    if private:
        assert out["private_bucket_name"] == private_name
        assert isinstance(out["private_storage_dsn"], Secret)
    else:
        assert "private_bucket_name" not in out
        assert "private_storage_dsn" not in out

    bucket_names = [public_name, *([private_name] if private else [])]
    access = policies.access_policy(bucket_names, "eu-central-1")
    if credentials == "iam-user":
        user = declared.one("aws:iam/user:User")
        assert user.inputs["name"] == "example-live-media"
        user_policy = declared.one("aws:iam/userPolicy:UserPolicy")
        assert json.loads(user_policy.inputs["policy"]) == access
        assert findings(user_policy.inputs["policy"]) == []
        assert user.urn in user_policy.dependencies
        key = declared.one("aws:iam/accessKey:AccessKey")
        assert key.inputs["user"] == "example-live-media"
        assert out["access_key_id"] == FAKE_KEY_ID
        assert "access_policy_json" not in out
        dsn = parse_dsn(out["storage_dsn"].value)
        assert (dsn.access_key_id, dsn.secret) == (FAKE_KEY_ID, FAKE_SECRET)
    else:
        assert declared.by_type("aws:iam/user:User") == []
        assert json.loads(out["access_policy_json"]) == access
        dsn = parse_dsn(out["storage_dsn"].value)
        assert dsn.access_key_id is None and dsn.secret is None


def test_dsns_follow_the_contract() -> None:
    _, declared = declare(privateStorage=True, credentials="iam-user", mediaDomain="media.example.com")
    out = outputs(declared)
    public = parse_dsn(out["storage_dsn"].value)
    assert public.bucket == out["public_bucket_name"]
    assert public.endpoint_host == "s3.eu-central-1.amazonaws.com"
    assert public.acl == "bucket-owner-full-control"
    assert public.custom_domain == "media.example.com"
    assert public.signed_urls is False
    private = parse_dsn(out["private_storage_dsn"].value)
    assert private.bucket == out["private_bucket_name"]
    assert private.signed_urls is True
    assert private.custom_domain is None
    assert private.acl == "bucket-owner-full-control"
    assert out["media_url"] == "https://media.example.com/"


def test_secret_never_appears_outside_secret_markers() -> None:
    _, declared = declare(privateStorage=True, credentials="iam-user")

    def plain(value: Any) -> str:
        if isinstance(value, Secret):
            return "[secret]"
        if isinstance(value, dict):
            return json.dumps({k: plain(v) for k, v in value.items()})
        if isinstance(value, list):
            return json.dumps([plain(v) for v in value])
        return str(value)

    everything = [plain(r.inputs) for r in declared.resources] + [plain(o) for o in declared.component_outputs.values()]
    assert not any(FAKE_SECRET in text for text in everything)


def test_protect_false_is_an_explicit_choice() -> None:
    _, declared = declare(privateStorage=True, protect=False)
    assert [r.protect for r in declared.by_type("aws:s3/bucket:Bucket")] == [False, False]
    assert [r.name for r in declared.resources if r.protect] == []


def test_private_only_website() -> None:
    spec, declared = declare(publicStorage=False, privateStorage=True, credentials="iam-user")
    buckets = declared.by_type("aws:s3/bucket:Bucket")
    assert [b.inputs["bucket"] for b in buckets] == [naming.private_bucket_name(spec)]
    out = outputs(declared)
    assert "storage_dsn" not in out and "media_url" not in out
    assert isinstance(out["private_storage_dsn"], Secret)


def test_explicit_bucket_names_and_tags() -> None:
    _, declared = declare(
        privateStorage=True, bucketName="acme-media", privateBucketName="acme-private", tags={"team": "web"}
    )
    buckets = {b.name: b for b in declared.by_type("aws:s3/bucket:Bucket")}
    assert buckets["example-live-media"].inputs["bucket"] == "acme-media"
    assert buckets["example-live-private"].inputs["bucket"] == "acme-private"
    assert buckets["example-live-media"].inputs["tags"]["team"] == "web"


def test_cors_max_age_and_versioning_days_are_configurable() -> None:
    _, declared = declare(
        corsOrigins=["https://a.example.com"], corsMaxAgeSeconds=120, versioning=True, noncurrentVersionExpirationDays=7
    )
    (rule,) = declared.one("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration").inputs["corsRules"]
    assert rule["maxAgeSeconds"] == 120
    (life,) = declared.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"]
    assert life["noncurrentVersionExpiration"] == {"noncurrentDays": 7}


def test_rejects_non_s3_spec() -> None:
    spec = StorageSpec.from_dict({"website": "w", "environment": "e", "cloud": "azure", "location": "westeurope"})
    with pytest.raises(ValueError, match="needs an S3 cloud"):
        mockrun.run(lambda: S3MediaStorage("w-e", S3MediaStorageArgs(spec=spec)))
