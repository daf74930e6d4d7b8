"""S3-compatible providers (Exoscale SOS, generic endpoints) under the mock runtime, and their DSNs in the oracle."""

from __future__ import annotations

import json
from typing import Any

import django
import pulumi
import pytest
from django.conf import settings

from divio_storage_infra.components.s3 import TYPE as S3_TYPE
from divio_storage_infra.core import naming
from divio_storage_infra.core.clouds import S3_PROVIDERS
from divio_storage_infra.core.dsn import parse_dsn
from divio_storage_infra.core.errors import SpecError
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.preview import mockrun
from divio_storage_infra.preview.mockrun import Declared, Secret
from divio_storage_infra.program import main

KEY_ID = "EXOabcdef0123456789"
SECRET = "exo/secret+with=odd%chars"

EXOSCALE: dict[str, Any] = {
    "website": "shop",
    "environment": "live",
    "cloud": "exoscale",
    "region": "ch-gva-2",
    "credentials": "static",
}
GENERIC: dict[str, Any] = {
    "website": "shop",
    "environment": "live",
    "cloud": "s3-compatible",
    "region": "us-east-1",
    "endpoint": "objects.example.net",
    "credentials": "static",
}


def config(
    raw: dict[str, Any], *, secret_is_secret: bool = True, credentials: bool = True
) -> tuple[dict[str, str], list[str]]:
    """Stack config as Pulumi passes it: strings, structured values as JSON, and the secret keys."""
    values = {f"divio-storage:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}
    if credentials:
        values["divio-storage:accessKeyId"] = KEY_ID
        values["divio-storage:secretAccessKey"] = SECRET
    return values, (["divio-storage:secretAccessKey"] if secret_is_secret and credentials else [])


def run_program(raw: dict[str, Any], **kwargs: Any) -> Declared:
    values, secret_keys = config(raw, **kwargs)
    return mockrun.run(main, stack="shop-live", config=values, secret_keys=secret_keys)


def s3_outputs(declared: Declared) -> dict[str, Any]:
    return declared.component_outputs[declared.one(S3_TYPE).urn]


@pytest.fixture(scope="module", autouse=True)
def django_settings() -> None:
    if not settings.configured:
        settings.configure(USE_TZ=True)
        django.setup()


def oracle(dsn: str) -> Any:
    from django_storage_url import get_storage

    return get_storage(dsn)


def test_exoscale_declares_only_what_sos_supports() -> None:
    declared = run_program(
        {**EXOSCALE, "privateStorage": True, "corsOrigins": ["https://www.example.ch"], "versioning": True}
    )
    provider = declared.one("pulumi:providers:aws")
    assert provider.inputs["region"] == "ch-gva-2"
    assert json.loads(provider.inputs["endpoints"]) == [{"s3": "https://sos-ch-gva-2.exo.io"}]
    assert provider.inputs["s3UsePathStyle"] == "false"
    for flag in (
        "skipCredentialsValidation",
        "skipMetadataApiCheck",
        "skipRegionValidation",
        "skipRequestingAccountId",
    ):
        assert provider.inputs[flag] == "true", flag
    # pulumi-aws marks both provider credentials secret; the secret key is wrapped by the component as well.
    assert provider.inputs["accessKey"] == Secret(KEY_ID)
    assert provider.inputs["secretKey"] == Secret(SECRET)

    types = sorted({r.type for r in declared.resources if r.custom})
    assert types == [
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration",
        "aws:s3/bucketVersioning:BucketVersioning",
        "pulumi:providers:aws",
    ]
    for resource in declared.resources:
        if resource.custom and resource.type != "pulumi:providers:aws":
            assert resource.provider is not None and resource.provider.startswith(provider.urn + "::"), resource.name
            # Exoscale regions are not AWS regions: the provider carries the zone, resources carry none.
            assert "region" not in resource.inputs
    assert all(b.protect for b in declared.by_type("aws:s3/bucket:Bucket"))

    notes = s3_outputs(declared)["plan_notes"]
    for missing in ("public access blocks", "ownership controls", "bucket policies", "server-side encryption"):
        assert any(missing in note for note in notes), missing
    assert any("noncurrent versions are kept" in note for note in notes)
    assert declared.outputs["plan_notes"] == notes


def test_exoscale_dsns_read_correctly_by_django_storage_url() -> None:
    spec = StorageSpec.from_dict({**EXOSCALE, "privateStorage": True, "mediaDomain": "media.example.ch"})
    declared = run_program(spec.to_dict() | {"credentials": "static"})
    out = s3_outputs(declared)
    public_dsn = out["storage_dsn"]
    assert isinstance(public_dsn, Secret)
    bucket = naming.public_bucket_name(spec)
    assert public_dsn.value.startswith(f"s3://{KEY_ID}:")
    assert f"@{bucket}.sos-ch-gva-2.exo.io/" in public_dsn.value

    storage = oracle(public_dsn.value)
    assert storage.bucket_name == bucket
    assert storage.endpoint_url == "https://sos-ch-gva-2.exo.io/"
    assert storage.region_name == "ch-gva-2"
    assert (storage.access_key, storage.secret_key) == (KEY_ID, SECRET)
    assert storage.custom_domain == "media.example.ch"
    # Without bucket policies on SOS, public objects are public through their own ACL.
    assert storage.object_parameters == {"ACL": "public-read"}
    assert storage.querystring_auth is False

    private = oracle(out["private_storage_dsn"].value)
    assert private.bucket_name == naming.private_bucket_name(spec)
    assert private.object_parameters == {"ACL": "private"}
    assert private.querystring_auth is True
    assert private.custom_domain is None
    assert out["media_url"] == "https://media.example.ch/"
    # ARNs name AWS resources; an Exoscale bucket has none.
    assert "public_bucket_arn" not in out and "private_bucket_arn" not in out


def test_generic_endpoint_uses_path_style_and_bucket_policies() -> None:
    spec = StorageSpec.from_dict({**GENERIC, "versioning": True})
    declared = run_program({**GENERIC, "versioning": True})
    provider = declared.one("pulumi:providers:aws")
    assert json.loads(provider.inputs["endpoints"]) == [{"s3": "https://objects.example.net"}]
    assert provider.inputs["s3UsePathStyle"] == "true"
    policy = declared.one("aws:s3/bucketPolicy:BucketPolicy")
    document = json.loads(policy.inputs["policy"])
    assert document["Statement"][0]["Action"] == "s3:GetObject"
    assert declared.by_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock") == []
    assert declared.by_type("aws:s3/bucketOwnershipControls:BucketOwnershipControls") == []
    assert len(declared.by_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")) == 1

    dsn = s3_outputs(declared)["storage_dsn"].value
    parsed = parse_dsn(dsn)
    assert parsed.bucket == naming.public_bucket_name(spec)
    assert parsed.endpoint_host == "objects.example.net"
    assert parsed.region == "us-east-1"
    assert parsed.addressing_style == "path"
    storage = oracle(dsn)
    assert storage.bucket_name == naming.public_bucket_name(spec)
    assert storage.endpoint_url == "https://objects.example.net/"
    assert storage.region_name == "us-east-1"
    assert storage.addressing_style == "path"
    # The bucket policy makes objects public, so uploads keep the private canned ACL.
    assert storage.object_parameters == {"ACL": "private"}


def test_aws_declares_no_explicit_provider() -> None:
    declared = run_program({"website": "shop", "environment": "live", "region": "eu-central-1"}, credentials=False)
    assert declared.by_type("pulumi:providers:aws") == []


@pytest.mark.parametrize("cloud", ["exoscale", "s3-compatible"])
def test_iam_user_is_a_clear_error(cloud: str) -> None:
    raw = {**(EXOSCALE if cloud == "exoscale" else GENERIC), "credentials": "iam-user"}
    with pytest.raises(SpecError, match="no IAM API"):
        StorageSpec.from_dict(raw)


def test_static_credentials_must_be_given() -> None:
    with pytest.raises(SpecError, match="secretAccessKey") as info:
        run_program(EXOSCALE, credentials=False)
    assert "pulumi config set --secret secretAccessKey" in str(info.value)


def test_plain_text_secret_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(SpecError, match="must be a secret") as info:
        run_program(EXOSCALE, secret_is_secret=False)
    assert SECRET not in str(info.value)


def test_credentials_without_static_mode_are_refused() -> None:
    with pytest.raises(SpecError, match="only applies with credentials: static"):
        run_program({**EXOSCALE, "credentials": "none"})


def test_secret_never_leaves_the_secret_markers() -> None:
    declared = run_program({**EXOSCALE, "privateStorage": True})
    text = json.dumps(
        [r.inputs for r in declared.resources] + [declared.outputs],
        default=lambda v: "[secret]" if isinstance(v, Secret) else str(v),
    )
    assert SECRET not in text
    assert KEY_ID in text  # the key id is not a secret; proves the dump saw the credentials at all


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        (
            {**EXOSCALE, "versioning": True, "noncurrentVersionExpirationDays": 10},
            "noncurrentVersionExpirationDays",
            "no lifecycle rules",
        ),
        ({**GENERIC, "endpoint": "a.b.c.example.net"}, "endpoint", "three labels"),
        ({**GENERIC, "endpoint": "minio.internal:9000"}, "endpoint", "drops the port"),
        ({**EXOSCALE, "region": "eu-central-1"}, "region", "Exoscale zone"),
    ],
)
def test_provider_limits_are_spec_errors(raw: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        StorageSpec.from_dict(raw)
    assert any(p.field == field and message in p.allowed for p in info.value.problems), str(info.value)


def test_capability_table_is_complete() -> None:
    assert set(S3_PROVIDERS) == {"aws", "exoscale", "s3-compatible"}
    assert S3_PROVIDERS["aws"].iam and not S3_PROVIDERS["exoscale"].iam
    assert S3_PROVIDERS["s3-compatible"].path_style and not S3_PROVIDERS["exoscale"].path_style


CONSUMER = "test:app:Consumer"


def run_with_app(raw: dict[str, Any]) -> Declared:
    """The per-website program plus an app resource that takes the outputs an app consumes."""

    def program() -> None:
        storage = main()
        consumed = {
            name: value
            for name in ("storage_dsn", "private_storage_dsn", "media_url")
            if (value := getattr(storage, name)) is not None
        }
        pulumi.CustomResource(CONSUMER, "app", consumed)

    values, secret_keys = config(raw)
    return mockrun.run(program, stack="shop-live", config=values, secret_keys=secret_keys)


def chain_of(declared: Declared, bucket: str) -> list[str]:
    """The configuration resources of ``bucket`` in registration order, each checked to wait for the one before."""
    bucket_resource = next(r for r in declared.by_type("aws:s3/bucket:Bucket") if r.inputs["bucket"] == bucket)
    chain = [r for r in declared.resources if r.inputs.get("bucket") == bucket and r is not bucket_resource]
    previous = None
    for resource in chain:
        assert set(resource.dependencies) == {bucket_resource.urn} | ({previous.urn} if previous else set())
        previous = resource
    app = declared.one(CONSUMER)
    waits = {bucket_resource.urn, *(r.urn for r in chain)}
    outputs = ("storage_dsn", "media_url") if "-media-" in bucket else ("private_storage_dsn",)
    for output in outputs:
        # The app's outputs wait for the bucket and all of its configuration (static keys have no resource).
        assert set(app.property_dependencies[output]) == waits, output
    return [r.name.rsplit("-", 1)[-1] if not r.name.endswith("-public-access") else "public-access" for r in chain]


@pytest.mark.parametrize("versioning", [None, True, False])
@pytest.mark.parametrize("cors", [False, True])
def test_generic_endpoint_chain_and_durability(versioning: bool | None, cors: bool) -> None:
    raw = {**GENERIC, "privateStorage": True, **({} if versioning is None else {"versioning": versioning})}
    if cors:
        raw["corsOrigins"] = ["https://www.example.net"]
    spec = StorageSpec.from_dict(raw)
    declared = run_with_app(raw)
    versioned = versioning is not False  # on by default: the generic provider has lifecycle rules
    middle = ["versioning", "lifecycle"] if versioned else ["lifecycle"]
    # No ownership controls or public access blocks on a generic endpoint: the policy comes first.
    assert chain_of(declared, naming.public_bucket_name(spec)) == ["policy", *middle, *(["cors"] if cors else [])]
    assert chain_of(declared, naming.private_bucket_name(spec)) == ["policy", *middle]
    for life in declared.by_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"):
        ids = [rule["id"] for rule in life.inputs["rules"]]
        assert ids == ["abort-incomplete-multipart-uploads"] + (
            ["expire-noncurrent-versions", "remove-expired-delete-markers"] if versioned else []
        )
    notes = s3_outputs(declared)["plan_notes"]
    assert any("server access logging" in note for note in notes)
    assert not any("versioning is off by default" in note for note in notes)


@pytest.mark.parametrize("versioning", [None, True, False])
def test_exoscale_durability_and_notes(versioning: bool | None) -> None:
    raw = {
        **EXOSCALE,
        "corsOrigins": ["https://www.example.ch"],
        **({} if versioning is None else {"versioning": versioning}),
    }
    spec = StorageSpec.from_dict(raw)
    declared = run_with_app(raw)
    assert spec.versioning is bool(versioning)
    # No lifecycle rules on SOS: nothing aborts uploads or expires versions, and the plan says so.
    assert declared.by_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration") == []
    assert chain_of(declared, naming.public_bucket_name(spec)) == [*(["versioning"] if versioning else []), "cors"]
    notes = s3_outputs(declared)["plan_notes"]
    assert any("lifecycle rules (incomplete multipart uploads are not aborted)" in note for note in notes)
    off_by_default = [note for note in notes if "versioning is off by default" in note]
    assert len(off_by_default) == (1 if versioning is None else 0)
    if off_by_default:
        assert "no lifecycle rules to expire old versions" in off_by_default[0]
    assert any("noncurrent versions are kept" in note for note in notes) is bool(versioning)


def test_capability_table_has_access_logging_on_aws_only() -> None:
    assert [name for name, p in sorted(S3_PROVIDERS.items()) if p.access_logging] == ["aws"]
    assert [name for name, p in sorted(S3_PROVIDERS.items()) if p.expires_noncurrent_versions] == [
        "aws",
        "s3-compatible",
    ]
