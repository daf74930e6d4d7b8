"""The generic ``s3-compatible`` provider on a real S3-compatible server: SeaweedFS (``weed mini`` on loopback).

The per-website program runs under the mock runtime with ``credentials: static``; the key pair in stack config is
SeaweedFS's one identity, so the declared provider, the applier and the app all sign with the key the DSN carries
(SeaweedFS checks every signature). The applier (``divio_storage_infra.localstores``) applies what was declared
(buckets, policies, versioning, lifecycle rules, CORS) to SeaweedFS over TLS. Unlike moto, SeaweedFS matches CORS
origins exactly and evaluates policy conditions: the TLS-only deny is held as declared, and a plain-HTTP server
shows that it then denies everything (which is why the applier leaves it out there). What SeaweedFS does not
support is shown here too, next to the capability table entry that keeps it out of the declared graph.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests
from botocore.exceptions import ClientError
from support.emulators import SEAWEEDFS_KEY, Emulator, s3_client, s3_target

from divio_storage_infra.app.settings import storages_entry
from divio_storage_infra.cli.main import main
from divio_storage_infra.core import naming, policies
from divio_storage_infra.core.clouds import S3_PROVIDERS
from divio_storage_infra.core.errors import SpecError
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.localstores.apply_s3 import AwsApplied, apply_aws
from divio_storage_infra.localstores.declared import declare_website, exported
from divio_storage_infra.localstores.localdsn import with_endpoint_url
from divio_storage_infra.preview.mockrun import Declared

pytestmark = [pytest.mark.emulator, pytest.mark.usefixtures("django_settings")]

ORIGIN = "https://www.example.net"
EVIL = f"{ORIGIN}.evil"  # moto would let this through (prefix match); S3 and SeaweedFS must not
SPEC = StorageSpec.from_dict(
    {
        "website": "weed-site",
        "environment": "live",
        "cloud": "s3-compatible",
        "region": "us-east-1",
        "endpoint": "objects.example.net",
        "credentials": "static",
        "privateStorage": True,
        "corsOrigins": [ORIGIN],
    }
)


@dataclass
class Site:
    """The declared website applied to SeaweedFS, with its exported DSNs plus the ``endpoint_url`` extension."""

    weed: Emulator
    declared: Declared
    applied: AwsApplied
    dsn: str
    private_dsn: str

    @property
    def public(self) -> str:
        """The public bucket's name."""
        return naming.public_bucket_name(SPEC)

    @property
    def private(self) -> str:
        """The private bucket's name."""
        return naming.private_bucket_name(SPEC)

    def admin(self) -> Any:
        """A client signing with the provider's key (the one identity)."""
        return s3_client(self.weed.url, SEAWEEDFS_KEY, region="us-east-1")

    def put(self, bucket: str, body: bytes, acl: str = "private") -> str:
        """Upload an object with the provider's key and the given canned ACL; its key."""
        key = f"probe/{uuid.uuid4().hex}.txt"
        self.admin().put_object(Bucket=bucket, Key=key, Body=body, ACL=acl)
        return key


def applied_site(weed: Emulator) -> Site:
    """The declared website applied to ``weed``, with its DSNs pointing there."""
    declared = declare_website(SPEC, SEAWEEDFS_KEY)
    return Site(
        weed=weed,
        declared=declared,
        applied=apply_aws(declared, s3_target(weed)),
        dsn=with_endpoint_url(exported(declared, "storage_dsn"), weed.url),
        private_dsn=with_endpoint_url(exported(declared, "private_storage_dsn"), weed.url),
    )


@pytest.fixture(scope="module")
def site(seaweedfs: Emulator) -> Site:
    return applied_site(seaweedfs)


def preflight(site: Site, bucket: str, origin: str, method: str = "GET") -> requests.Response:
    return requests.options(
        f"{site.weed.url}/{bucket}/any.txt",
        headers={"Origin": origin, "Access-Control-Request-Method": method},
        timeout=10,
    )


def error_code(call: Any, **kwargs: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    response = raised.value.response
    return str(response["Error"]["Code"]), int(response["ResponseMetadata"]["HTTPStatusCode"])


# --- what was declared is what SeaweedFS holds --------------------------------------------------------------------


def test_declared_configuration_is_held_by_the_server(site: Site) -> None:
    admin = site.admin()
    assert set(site.applied.buckets.values()) == {site.public, site.private}
    for bucket in (site.public, site.private):
        assert admin.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        rules = admin.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        # Incomplete uploads aborted after 7 days; old versions after 30; orphaned delete markers removed.
        assert [(r["ID"], r["Status"]) for r in rules] == [
            ("abort-incomplete-multipart-uploads", "Enabled"),
            ("expire-noncurrent-versions", "Enabled"),
            ("remove-expired-delete-markers", "Enabled"),
        ]
        assert rules[0]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
        assert rules[1]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
        assert rules[2]["Expiration"] == {"ExpiredObjectDeleteMarker": True}
    held = json.loads(admin.get_bucket_policy(Bucket=site.public)["Policy"])
    # Over TLS the whole declared policy is held, the TLS-only deny included (and public reads still work).
    assert [(s["Sid"], s["Action"], s["Principal"]) for s in held["Statement"]] == [
        ("PublicReadObjects", "s3:GetObject", "*"),
        ("DenyInsecureTransport", "s3:*", "*"),
    ]
    assert site.applied.without_tls_deny == []
    cors = admin.get_bucket_cors(Bucket=site.public)["CORSRules"]
    assert [rule["AllowedOrigins"] for rule in cors] == [[ORIGIN]]


# --- behaviour an app and a browser rely on -------------------------------------------------------------------


def test_public_object_is_readable_anonymously_but_the_bucket_is_not_listable(site: Site) -> None:
    # Uploaded with the DSN's ACL (private): public through the bucket policy alone.
    key = site.put(site.public, b"public media")
    response = requests.get(f"{site.weed.url}/{site.public}/{key}", timeout=10)
    assert response.status_code == 200
    assert response.content == b"public media"
    for listing in ("", "?list-type=2", "?versions"):
        assert requests.get(f"{site.weed.url}/{site.public}{listing}", timeout=10).status_code == 403, listing


def test_private_object_is_refused_anonymously_and_readable_through_a_presigned_url(site: Site) -> None:
    key = site.put(site.private, b"private media")
    assert requests.get(f"{site.weed.url}/{site.private}/{key}", timeout=10).status_code == 403
    assert requests.get(f"{site.weed.url}/{site.private}", timeout=10).status_code == 403
    url = site.admin().generate_presigned_url("get_object", Params={"Bucket": site.private, "Key": key}, ExpiresIn=60)
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == b"private media"
    # A signature for another key does not open this one.
    other = urlsplit(url)._replace(path=f"/{site.private}/{key}x").geturl()
    assert requests.get(other, timeout=10).status_code == 403


def test_cors_allows_exactly_the_configured_origin(site: Site) -> None:
    allowed = preflight(site, site.public, ORIGIN)
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    for origin in (EVIL, "https://example.net", "http://www.example.net", "https://evil.example"):
        refused = preflight(site, site.public, origin)
        assert refused.status_code == 403, origin
        assert "Access-Control-Allow-Origin" not in refused.headers, origin
    # The private store declares no CORS: no browser origin is allowed there.
    assert preflight(site, site.private, ORIGIN).status_code == 403


@pytest.mark.parametrize("reader", ["django-storage-url", "app_settings"])
@pytest.mark.parametrize("store", ["public", "private"])
def test_exported_dsn_works_for_the_app(site: Site, dsn_setting: Any, reader: str, store: str) -> None:
    from django.core.files.base import ContentFile  # type: ignore[import-untyped]

    dsn = site.dsn if store == "public" else site.private_dsn
    if reader == "django-storage-url":
        storage = dsn_setting(dsn)
        # Production: the provider's own host, path-style, the region from the DSN, the static key pair.
        assert storage.endpoint_url == "https://objects.example.net/"
        assert storage.addressing_style == "path"
        assert storage.region_name == "us-east-1"
        # Offline the provider's host cannot be reached: only where the client connects changes.
        storage.endpoint_url = site.weed.url
    else:
        entry = storages_entry(dsn)
        from django.utils.module_loading import import_string  # type: ignore[import-untyped]

        storage = import_string(entry["BACKEND"])(**entry["OPTIONS"])
        assert storage.endpoint_url == site.weed.url
    # SeaweedFS checks the signature: only the exact key pair from the DSN (secret percent-decoded) gets in.
    assert (storage.access_key, storage.secret_key) == SEAWEEDFS_KEY
    assert storage.bucket_name == (site.public if store == "public" else site.private)
    assert storage.object_parameters == {"ACL": "private"}

    body = f"{store} media via {reader}".encode()
    name: str = storage.save(f"uploads/{uuid.uuid4().hex} photo.txt", ContentFile(body))
    with storage.open(name, "rb") as handle:
        assert handle.read() == body
    url = storage.url(name)
    if store == "public":
        assert url == f"{site.weed.url}/{site.public}/{quote(name)}", "a public file has a plain, unsigned URL"
    else:
        assert "X-Amz-Signature=" in url
        assert requests.get(urlsplit(url)._replace(query="").geturl(), timeout=10).status_code == 403
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == body
    storage.delete(name)
    assert not storage.exists(name)


def test_check_passes_and_refuses_the_look_alike_origin(
    site: Site, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DEFAULT_STORAGE_DSN", site.dsn)
    monkeypatch.setenv("PRIVATE_STORAGE_DSN", site.private_dsn)
    code = main(["check", "--origin", ORIGIN, "--refused-origin", EVIL, "--format", "json"])
    out = capsys.readouterr().out
    report = json.loads(out)
    assert code == 0, out
    assert report["summary"] == {"pass": 11, "fail": 0, "skip": 0}
    probes = {p["probe"] for store in report["stores"] for p in store["probes"]}
    assert {f"cors-allowed {ORIGIN}", f"cors-refused {EVIL}", "anonymous-refused", "signed-read"} <= probes
    assert SEAWEEDFS_KEY[1] not in out and quote(SEAWEEDFS_KEY[1], safe="") not in out


# --- the declared TLS-only statement is enforced by a real server -------------------------------------------------


def test_tls_only_statement_denies_plain_http(seaweedfs_http: Emulator) -> None:
    """The whole declared policy (DenyInsecureTransport included) on a plain-HTTP server: even the owner is
    refused, which is why the applier leaves that statement out there (and keeps it over TLS, see above)."""
    admin = s3_client(seaweedfs_http.url, SEAWEEDFS_KEY, region="us-east-1")
    bucket = f"tls-only-{uuid.uuid4().hex[:12]}"
    admin.create_bucket(Bucket=bucket)
    admin.put_object(Bucket=bucket, Key="x.txt", Body=b"x")
    document = policies.public_bucket_policy(bucket, "us-east-1")
    assert any(s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} for s in document["Statement"])
    admin.put_bucket_policy(Bucket=bucket, Policy=policies.to_json(document))
    assert requests.get(f"{seaweedfs_http.url}/{bucket}/x.txt", timeout=10).status_code == 403
    assert error_code(admin.get_object, Bucket=bucket, Key="x.txt") == ("AccessDenied", 403)


def test_applier_leaves_the_tls_only_statement_out_over_plain_http(seaweedfs_http: Emulator) -> None:
    spec = StorageSpec.from_dict({**SPEC.to_dict(), "website": "weed-plain", "privateStorage": False})
    applied = apply_aws(declare_website(spec, SEAWEEDFS_KEY), s3_target(seaweedfs_http))
    bucket = naming.public_bucket_name(spec)
    assert applied.without_tls_deny == [bucket]
    admin = s3_client(seaweedfs_http.url, SEAWEEDFS_KEY, region="us-east-1")
    admin.put_object(Bucket=bucket, Key="a.txt", Body=b"public over http")
    held = json.loads(admin.get_bucket_policy(Bucket=bucket)["Policy"])
    assert [s["Sid"] for s in held["Statement"]] == ["PublicReadObjects"]
    assert requests.get(f"{seaweedfs_http.url}/{bucket}/a.txt", timeout=10).content == b"public over http"


# --- what SeaweedFS does not support, and the capability table that keeps it out -----------------------------------


def test_public_access_blocks_are_not_implemented_and_not_declared(site: Site) -> None:
    assert S3_PROVIDERS["s3-compatible"].public_access_block is False
    assert site.declared.by_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock") == []
    block = {k: True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")}
    code = error_code(site.admin().put_public_access_block, Bucket=site.private, PublicAccessBlockConfiguration=block)
    assert code == ("NotImplemented", 501)


def test_access_logging_is_not_supported_and_not_declarable(site: Site) -> None:
    assert S3_PROVIDERS["s3-compatible"].access_logging is False
    assert site.declared.by_type("aws:s3/bucketLogging:BucketLogging") == []
    admin = site.admin()
    status = {"LoggingEnabled": {"TargetBucket": site.public, "TargetPrefix": "logs/"}}
    # SeaweedFS has no PutBucketLogging: it takes the request for a CreateBucket of an existing bucket ...
    assert error_code(admin.put_bucket_logging, Bucket=site.private, BucketLoggingStatus=status) == (
        "BucketAlreadyOwnedByYou",
        409,
    )
    # ... and nothing is logged.
    assert "LoggingEnabled" not in admin.get_bucket_logging(Bucket=site.private)
    with pytest.raises(SpecError, match="no server access logging"):
        StorageSpec.from_dict({**SPEC.to_dict(), "accessLogBucket": "platform-logs"})
