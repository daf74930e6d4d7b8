"""The S3 component under Pulumi's mock runtime: every child's type, inputs, parent, dependencies and options."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pulumi
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


CONSUMER = "test:app:Consumer"
APP_OUTPUTS = ("storage_dsn", "private_storage_dsn", "media_url")
LOG_BUCKET = "platform-access-logs"


def declare(**overrides: Any) -> tuple[StorageSpec, Declared]:
    """Run the component for ``BASE`` + ``overrides``, plus an app (``CONSUMER``) that takes every app output."""
    spec = StorageSpec.from_dict({**BASE, **overrides})

    def program() -> None:
        storage = S3MediaStorage("example-live", S3MediaStorageArgs(spec=spec))
        # What an app's deployment does with the outputs: its property dependencies are what it waits for.
        consumed = {name: getattr(storage, name) for name in APP_OUTPUTS if getattr(storage, name) is not None}
        pulumi.CustomResource(CONSUMER, "app", consumed)

    declared = mockrun.run(program, mocks=aws_mocks(), stack="example-live")
    return spec, declared


def component(declared: Declared) -> DeclaredResource:
    return declared.one(TYPE)


def revealed(dsn: Any) -> str:
    """A DSN output's text, whether it is a secret (with credentials) or not (``credentials: none``)."""
    return str(dsn.value if isinstance(dsn, Secret) else dsn)


def outputs(declared: Declared) -> dict[str, Any]:
    return declared.component_outputs[component(declared).urn]


def config_chain(declared: Declared, role: str) -> list[DeclaredResource]:
    """The configuration resources of one bucket in registration order."""
    bucket = declared.one("aws:s3/bucket:Bucket", f"example-live-{role}")
    return [r for r in declared.resources if r.inputs.get("bucket") == bucket.inputs["bucket"] and r is not bucket]


def assert_chained(declared: Declared, role: str, expected: list[str]) -> None:
    """The bucket's configuration is declared in ``expected`` order (name suffixes), each waiting for the one before
    and for the bucket (through its input), and for nothing else."""
    bucket = declared.one("aws:s3/bucket:Bucket", f"example-live-{role}")
    chain = config_chain(declared, role)
    assert [r.name for r in chain] == [f"example-live-{role}-{suffix}" for suffix in expected]
    previous: DeclaredResource | None = None
    for resource in chain:
        wanted = {bucket.urn} | ({previous.urn} if previous else set())
        assert set(resource.dependencies) == wanted, resource.name
        assert resource.property_dependencies["bucket"] == [bucket.urn], resource.name
        previous = resource


def assert_outputs_wait_for_everything(declared: Declared, private: bool, credentials: str) -> None:
    """Every app output depends on its bucket and all of the bucket's configuration (and the key's policy)."""
    app = declared.one(CONSUMER)
    deps = app.property_dependencies
    for output, role in (("storage_dsn", "media"), ("media_url", "media"), ("private_storage_dsn", "private")):
        if role == "private" and not private:
            assert output not in deps
            continue
        bucket = declared.one("aws:s3/bucket:Bucket", f"example-live-{role}")
        wanted = {bucket.urn} | {r.urn for r in config_chain(declared, role)}
        if credentials == "iam-user" and output != "media_url":
            wanted |= {declared.one(t).urn for t in ("aws:iam/userPolicy:UserPolicy", "aws:iam/accessKey:AccessKey")}
        assert set(deps[output]) == wanted, output


COMBINATIONS = [
    pytest.param(
        private,
        credentials,
        cors,
        versioning,
        logging,
        id=f"private={private}-{credentials}-cors={cors}-v={versioning}-log={logging}",
    )
    for private, credentials, cors, versioning, logging in itertools.product(
        (False, True), ("none", "iam-user"), tuple(CORS), ("default", False), (False, True)
    )
]


@pytest.mark.parametrize(("private", "credentials", "cors", "versioning", "logging"), COMBINATIONS)
def test_declared_graph(private: bool, credentials: str, cors: str, versioning: Any, logging: bool) -> None:
    extra: dict[str, Any] = {} if versioning == "default" else {"versioning": versioning}
    if logging:
        extra["accessLogBucket"] = LOG_BUCKET
    spec, declared = declare(privateStorage=private, credentials=credentials, **CORS[cors], **extra)
    versioned = versioning == "default"  # on by default on AWS
    assert spec.versioning is versioned
    root = component(declared)
    public_name = naming.public_bucket_name(spec)
    private_name = naming.private_bucket_name(spec)
    roles = ["media", *(["private"] if private else [])]

    expected_names = set()
    for role in roles:
        chain = ["ownership", "public-access", "policy", "encryption"]
        chain += ["versioning", "lifecycle"] if versioned else ["lifecycle"]
        chain += ["cors"] if role == "media" and cors != "none" else []
        chain += ["logging"] if logging else []
        # Ownership controls, access block, policy, then the rest, one at a time (S3's OperationAborted).
        assert_chained(declared, role, chain)
        expected_names |= {f"example-live-{role}", *(f"example-live-{role}-{suffix}" for suffix in chain)}
    if credentials == "iam-user":
        expected_names |= {"example-live-user", "example-live-user-policy", "example-live-access-key"}
    children = [r for r in declared.resources if r is not root and r.type != CONSUMER]
    assert {r.name for r in children} == expected_names
    assert len(children) == len(expected_names)
    assert_outputs_wait_for_everything(declared, private, credentials)

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
        # The role and opt-in markers the CrossGuard pack reads, on top of the spec's tags.
        markers = {"media-store": "public" if public else "private"}
        if spec.allow_uploads:
            markers["cors-uploads"] = "allowed"
        assert bucket.inputs["tags"] == {**spec.tag_map, **markers}

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
        # After the public access block, which waits for the ownership controls.
        assert set(policy.dependencies) == {bucket.urn, block.urn}
        assert set(block.dependencies) == {bucket.urn, ownership.urn}
        document = json.loads(policy.inputs["policy"])
        expected = (policies.public_bucket_policy if public else policies.private_bucket_policy)(
            bucket_name, "eu-central-1"
        )
        assert document == expected
        assert findings(policy.inputs["policy"]) == []
        public_statements = [s for s in document["Statement"] if s["Effect"] == "Allow"]
        assert bool(public_statements) is public
        assert all(s["Action"] == "s3:GetObject" for s in public_statements)

        life = declared.one(
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", f"example-live-{role}-lifecycle"
        )
        every_object = {"filter": {"prefix": ""}, "status": "Enabled"}
        rules = [
            {
                **every_object,
                "id": "abort-incomplete-multipart-uploads",
                "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7},
            }
        ]
        if versioned:
            ver = declared.one("aws:s3/bucketVersioning:BucketVersioning", f"example-live-{role}-versioning")
            assert ver.inputs["versioningConfiguration"] == {"status": "Enabled"}
            assert ver.urn in life.dependencies
            rules += [
                {
                    **every_object,
                    "id": "expire-noncurrent-versions",
                    "noncurrentVersionExpiration": {"noncurrentDays": 30},
                },
                {
                    **every_object,
                    "id": "remove-expired-delete-markers",
                    "expiration": {"expiredObjectDeleteMarker": True},
                },
            ]
        else:
            assert declared.by_type("aws:s3/bucketVersioning:BucketVersioning") == []
        # One lifecycle configuration per bucket holds every rule (S3 keeps only one).
        assert life.inputs["rules"] == rules

        if logging:
            log = declared.one("aws:s3/bucketLogging:BucketLogging", f"example-live-{role}-logging")
            assert log.inputs == {
                "bucket": bucket_name,
                "region": "eu-central-1",
                "targetBucket": LOG_BUCKET,
                "targetPrefix": f"example/live/{role}/",
            }
        else:
            assert declared.by_type("aws:s3/bucketLogging:BucketLogging") == []

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
    # A DSN is a secret when it carries credentials; without, it is shown as it is.
    assert isinstance(out["storage_dsn"], Secret) == (credentials != "none")
    if private:
        assert out["private_bucket_name"] == private_name
        assert isinstance(out["private_storage_dsn"], Secret) == (credentials != "none")
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
        dsn = parse_dsn(revealed(out["storage_dsn"]))
        assert (dsn.access_key_id, dsn.secret) == (FAKE_KEY_ID, FAKE_SECRET)
    else:
        assert declared.by_type("aws:iam/user:User") == []
        assert json.loads(out["access_policy_json"]) == access
        dsn = parse_dsn(revealed(out["storage_dsn"]))
        assert dsn.access_key_id is None and dsn.secret is None


def test_dsns_follow_the_contract() -> None:
    _, declared = declare(privateStorage=True, credentials="iam-user", mediaDomain="media.example.com")
    out = outputs(declared)
    public = parse_dsn(revealed(out["storage_dsn"]))
    assert public.bucket == out["public_bucket_name"]
    assert public.endpoint_host == "s3.eu-central-1.amazonaws.com"
    assert public.acl == "bucket-owner-full-control"
    assert public.custom_domain == "media.example.com"
    assert public.signed_urls is False
    private = parse_dsn(revealed(out["private_storage_dsn"]))
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
        corsOrigins=["https://a.example.com"],
        corsMaxAgeSeconds=120,
        noncurrentVersionExpirationDays=9,
        abortIncompleteMultipartUploadDays=2,
    )
    (rule,) = declared.one("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration").inputs["corsRules"]
    assert rule["maxAgeSeconds"] == 120
    abort, noncurrent, _ = declared.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs[
        "rules"
    ]
    assert abort["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 2}
    assert noncurrent["noncurrentVersionExpiration"] == {"noncurrentDays": 9}


def test_rejects_non_s3_spec() -> None:
    spec = StorageSpec.from_dict({"website": "w", "environment": "e", "cloud": "azure", "location": "westeurope"})
    with pytest.raises(ValueError, match="needs an S3 cloud"):
        mockrun.run(lambda: S3MediaStorage("w-e", S3MediaStorageArgs(spec=spec)))
