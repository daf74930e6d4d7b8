"""What the S3 component declares, applied to moto's server, behaves as the design says.

The per-website program runs under the mock runtime; :mod:`apply_declared` creates its buckets, policies, CORS
rules and IAM user in moto. Anonymous probes run on a server whose auth stays off; the key's rights are probed on
a second server with IAM enforcement on (the ``iam_world`` fixture), because with auth on moto answers every
anonymous request with 500. moto does not enforce public access blocks, ownership controls, CORS methods or
principals other than ``*``: the component tests assert those on the declared inputs.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from support.apply_declared import declared_with
from support.emulators import Emulator, s3_client, s3_target
from support.iam_world import IamWorld

from divio_storage_infra.cli.main import main
from divio_storage_infra.core import naming, policies
from divio_storage_infra.core.dsn import parse_dsn, s3_dsn
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.localstores.applier import UnappliedResource
from divio_storage_infra.localstores.apply_s3 import AwsApplied, apply_aws
from divio_storage_infra.localstores.declared import declare_website, exported
from divio_storage_infra.localstores.localdsn import s3_emulator_dsn
from divio_storage_infra.preview.mockrun import Declared

pytestmark = pytest.mark.emulator

ORIGIN = "https://www.example.com"
SPEC = StorageSpec.from_dict(
    {
        "website": "emulated",
        "environment": "live",
        "region": "eu-central-1",
        "corsOrigins": [ORIGIN, "https://example.com"],
        "privateStorage": True,
        "credentials": "iam-user",
        "versioning": True,
    }
)


@dataclass
class Site:
    """One website's declared storage applied to the auth-off moto server."""

    moto: Emulator
    declared: Declared
    applied: AwsApplied
    dsn: str
    private_dsn: str

    @property
    def public_bucket(self) -> str:
        return naming.public_bucket_name(SPEC)

    @property
    def private_bucket(self) -> str:
        return naming.private_bucket_name(SPEC)

    def client(self) -> Any:
        """boto3 with the website's own key (the one moto issued for the declared AccessKey)."""
        return s3_client(self.moto.url, self.applied.only_key())


def applied_site(moto: Emulator) -> Site:
    """The declared website applied to ``moto``, with its DSNs pointing there."""
    declared = declare_website(SPEC)
    applied = apply_aws(declared, s3_target(moto))
    key = applied.only_key()
    return Site(
        moto=moto,
        declared=declared,
        applied=applied,
        dsn=s3_emulator_dsn(exported(declared, "storage_dsn"), moto.url, key),
        private_dsn=s3_emulator_dsn(exported(declared, "private_storage_dsn"), moto.url, key),
    )


@pytest.fixture(scope="module")
def site(moto: Emulator) -> Site:
    return applied_site(moto)


def put(site: Site, bucket: str, body: bytes = b"media bytes") -> str:
    """Upload as the app does: the website's key and the ACL its DSN names."""
    key = f"uploads/{uuid.uuid4().hex}.txt"
    acl = parse_dsn(site.dsn).effective_acl
    site.client().put_object(Bucket=bucket, Key=key, Body=body, ACL=acl)
    return key


# --- the declared configuration is what moto holds ---------------------------------------------------------------


def test_every_declared_setting_reached_moto(site: Site) -> None:
    admin = s3_client(site.moto.url)
    assert set(site.applied.buckets.values()) == {site.public_bucket, site.private_bucket}
    for bucket, public in ((site.public_bucket, True), (site.private_bucket, False)):
        block = admin.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert block == {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": not public,
            "RestrictPublicBuckets": not public,
        }
        ownership = admin.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
        assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]
        encryption = admin.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        assert encryption[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        assert admin.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        lifecycle = admin.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        abort, noncurrent, markers = lifecycle
        assert abort["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
        assert noncurrent["NoncurrentVersionExpiration"]["NoncurrentDays"] == SPEC.noncurrent_version_expiration_days
        assert markers["Expiration"] == {"ExpiredObjectDeleteMarker": True}
        # No access logs unless the spec names a log bucket.
        assert "LoggingEnabled" not in admin.get_bucket_logging(Bucket=bucket)
    cors = admin.get_bucket_cors(Bucket=site.public_bucket)["CORSRules"]
    assert [rule["AllowedOrigins"] for rule in cors] == [list(SPEC.cors_origins)]
    # The declared documents are the design's, verbatim; moto holds them minus the TLS-only deny, which it would
    # fire on every request (it takes every condition as met, even over TLS); SeaweedFS holds it whole.
    assert site.applied.policies[site.public_bucket] == policies.public_bucket_policy(
        site.public_bucket, "eu-central-1"
    )
    held = json.loads(admin.get_bucket_policy(Bucket=site.public_bucket)["Policy"])
    assert [s["Sid"] for s in held["Statement"]] == ["PublicReadObjects"]
    iam = s3_client(site.moto.url, service="iam")
    inline = iam.get_user_policy(UserName=naming.iam_user_name(SPEC), PolicyName="media-access")["PolicyDocument"]
    expected = policies.access_policy([site.public_bucket, site.private_bucket], "eu-central-1")
    assert (json.loads(inline) if isinstance(inline, str) else inline) == expected


# --- anonymous access: public objects yes, private objects no, listing never --------------------------------------


def test_public_object_is_readable_anonymously(site: Site) -> None:
    key = put(site, site.public_bucket, b"public bytes")
    response = requests.get(f"{site.moto.url}/{site.public_bucket}/{key}", timeout=10)
    assert response.status_code == 200
    assert response.content == b"public bytes"


def test_private_object_is_refused_anonymously_and_served_signed(site: Site) -> None:
    key = put(site, site.private_bucket, b"private bytes")
    assert requests.get(f"{site.moto.url}/{site.private_bucket}/{key}", timeout=10).status_code == 403
    signed = site.client().generate_presigned_url(
        "get_object", Params={"Bucket": site.private_bucket, "Key": key}, ExpiresIn=60
    )
    response = requests.get(signed, timeout=10)
    assert response.status_code == 200
    assert response.content == b"private bytes"


def test_unknown_object_in_public_bucket_is_not_served(site: Site) -> None:
    response = requests.get(f"{site.moto.url}/{site.public_bucket}/no-such-object.txt", timeout=10)
    assert response.status_code in (403, 404)


# --- CORS: the configured origins, nothing else ------------------------------------------------------------------


@pytest.mark.parametrize("origin", [ORIGIN, "https://example.com"])
def test_preflight_from_a_configured_origin_is_allowed(site: Site, origin: str) -> None:
    response = requests.options(
        f"{site.moto.url}/{site.public_bucket}/uploads/any.jpg",
        headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert set(response.headers["Access-Control-Allow-Methods"].replace(" ", "").split(",")) == {"GET", "HEAD"}


@pytest.mark.parametrize(
    # Not "https://www.example.com.evil": moto matches origins as unanchored prefixes, unlike S3 (Azurite covers it).
    "origin",
    ["https://evil.example.net", "http://www.example.com", "https://shop.example.com"],
)
def test_preflight_from_another_origin_is_refused(site: Site, origin: str) -> None:
    response = requests.options(
        f"{site.moto.url}/{site.public_bucket}/uploads/any.jpg",
        headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
        timeout=10,
    )
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers


def test_private_bucket_answers_no_preflight(site: Site) -> None:
    response = requests.options(
        f"{site.moto.url}/{site.private_bucket}/any.jpg",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"},
        timeout=10,
    )
    assert "Access-Control-Allow-Origin" not in response.headers


# --- check, on the store exactly as declared --------------------------------------------------------------------


def test_check_passes_on_the_declared_store(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "check",
            "--dsn",
            site.dsn,
            "--private-dsn",
            site.private_dsn,
            *(arg for origin in SPEC.cors_origins for arg in ("--origin", origin)),
            "--format",
            "json",
        ]
    )
    out = capsys.readouterr().out
    report = json.loads(out)
    assert code == 0, out
    assert report["summary"] == {"pass": 12, "fail": 0, "skip": 0}
    assert site.applied.only_key()[1] not in out


# --- the website's key: its own buckets only (moto with IAM enforcement on) -------------------------------------


def test_website_key_reads_and_writes_its_own_buckets(iam_world: IamWorld) -> None:
    client = s3_client(iam_world.moto.url, iam_world.site.only_key())
    for bucket in iam_world.site.buckets.values():
        client.put_object(Bucket=bucket, Key="own.txt", Body=b"own", ACL="bucket-owner-full-control")
        assert client.get_object(Bucket=bucket, Key="own.txt")["Body"].read() == b"own"
        assert [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])] == ["own.txt"]
        client.delete_object(Bucket=bucket, Key="own.txt")


def _denied(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    code: str = raised.value.response["Error"]["Code"]
    return code


def test_website_key_is_denied_on_another_websites_buckets(iam_world: IamWorld) -> None:
    other_admin_view = s3_client(iam_world.moto.url, iam_world.other.only_key())
    for bucket in iam_world.other.buckets.values():
        other_admin_view.put_object(Bucket=bucket, Key="theirs.txt", Body=b"theirs", ACL="bucket-owner-full-control")
    client = s3_client(iam_world.moto.url, iam_world.site.only_key())
    for bucket in iam_world.other.buckets.values():
        assert _denied(client.get_object, Bucket=bucket, Key="theirs.txt") == "AccessDenied"
        assert _denied(client.put_object, Bucket=bucket, Key="mine.txt", Body=b"x") == "AccessDenied"
        assert _denied(client.delete_object, Bucket=bucket, Key="theirs.txt") == "AccessDenied"
        assert _denied(client.list_objects_v2, Bucket=bucket) == "AccessDenied"


def test_website_key_cannot_create_buckets_or_manage_iam(iam_world: IamWorld) -> None:
    key = iam_world.site.only_key()
    s3 = s3_client(iam_world.moto.url, key)
    assert (
        _denied(
            s3.create_bucket, Bucket="grabbed-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
        )
        == "AccessDenied"
    )
    site_bucket = next(iter(iam_world.site.buckets.values()))
    assert _denied(s3.put_bucket_policy, Bucket=site_bucket, Policy="{}") == "AccessDenied"
    iam = s3_client(iam_world.moto.url, key, service="iam")
    assert _denied(iam.create_access_key, UserName="scope-other-live-media") == "AccessDenied"


def test_check_reports_access_denied_with_another_websites_key(
    iam_world: IamWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """A valid key on a bucket it has no rights on: check names it as denied, not as a bad credential."""
    key_id, secret = iam_world.site.only_key()
    theirs = parse_dsn(iam_world.other_dsn)
    dsn = s3_dsn(
        bucket=str(theirs.bucket),
        endpoint_host=theirs.endpoint_host,
        access_key_id=key_id,
        secret_access_key=secret,
        acl=str(theirs.acl),
        endpoint_url=iam_world.moto.url,
    )
    code = main(["check", "--dsn", dsn, "--format", "json"])
    out = capsys.readouterr().out
    assert code == 1
    write = json.loads(out)["stores"][0]["probes"][0]
    assert (write["probe"], write["status"]) == ("write", "fail")
    assert "access denied (AccessDenied)" in write["detail"]
    assert secret not in out


# --- the applier never skips what it cannot apply ----------------------------------------------------------------


def test_applier_fails_loudly_on_an_unknown_type(moto: Emulator) -> None:
    with pytest.raises(UnappliedResource, match=r"aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration"):
        apply_aws(declared_with("aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration", {}), s3_target(moto))


def test_applier_fails_loudly_on_an_unknown_input(moto: Emulator) -> None:
    bucket = f"applier-{uuid.uuid4().hex[:10]}"
    declared = declared_with(
        "aws:s3/bucket:Bucket", {"bucket": bucket, "forceDestroy": False, "accelerationStatus": "Enabled"}
    )
    with pytest.raises(UnappliedResource, match="accelerationStatus"):
        apply_aws(declared, s3_target(moto))


def test_applier_refuses_conditions_moto_cannot_evaluate(moto: Emulator) -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/*",
                "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            }
        ],
    }
    declared = declared_with("aws:s3/bucketPolicy:BucketPolicy", {"bucket": "b", "policy": json.dumps(document)})
    with pytest.raises(UnappliedResource, match="cannot evaluate the condition"):
        apply_aws(declared, s3_target(moto))


# --- access logs into the platform's log bucket -------------------------------------------------------------------


def log_bucket(moto: Emulator, *, writable_by_logging: bool) -> str:
    """A platform log bucket in eu-central-1; with the policy S3 server access logging needs (see docs/clouds.md)."""
    name = f"platform-logs-{uuid.uuid4().hex[:12]}"
    admin = s3_client(moto.url, region="eu-central-1")
    admin.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    if writable_by_logging:
        statement = {
            "Sid": "S3ServerAccessLogs",
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{name}/*",
        }
        admin.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    return name


def logged_spec(website: str, target: str) -> StorageSpec:
    return StorageSpec.from_dict(
        {
            "website": website,
            "environment": "live",
            "region": "eu-central-1",
            "privateStorage": True,
            "accessLogBucket": target,
        }
    )


def test_access_logs_of_both_stores_go_to_the_log_bucket_under_the_website_prefix(moto: Emulator) -> None:
    target = log_bucket(moto, writable_by_logging=True)
    spec = logged_spec("logged-site", target)
    applied = apply_aws(declare_website(spec), s3_target(moto))
    admin = s3_client(moto.url, region="eu-central-1")
    for role, bucket in (("media", naming.public_bucket_name(spec)), ("private", naming.private_bucket_name(spec))):
        assert bucket in applied.buckets.values()
        assert admin.get_bucket_logging(Bucket=bucket)["LoggingEnabled"] == {
            "TargetBucket": target,
            "TargetPrefix": f"logged-site/live/{role}/",
        }


def test_access_logging_needs_a_log_bucket_the_logging_service_may_write(moto: Emulator) -> None:
    """As on S3: a target bucket that does not let the logging service write is refused when logging is set."""
    spec = logged_spec("unlogged-site", log_bucket(moto, writable_by_logging=False))
    with pytest.raises(ClientError, match="InvalidTargetBucketForLogging"):
        apply_aws(declare_website(spec), s3_target(moto))
