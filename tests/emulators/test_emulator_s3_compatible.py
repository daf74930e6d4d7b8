"""S3-compatible providers (a generic endpoint, Exoscale SOS) behave as declared, with moto as their endpoint.

The per-website program runs under the mock runtime with ``credentials: static`` from stack config (the secret key
a secret config key); :mod:`apply_declared` applies the explicit ``pulumi:providers:aws`` and every resource
declared with it to moto's server. The exported DSNs are used exactly as exported, credentials included (moto's
auth is off, so it accepts any key pair), plus this project's ``endpoint_url`` extension. django-storage-url
ignores ``endpoint_url`` and would connect to the provider's real host, so only its storage's endpoint is pointed
at moto; this project's ``STORAGES`` entry honours the extension itself.

Where moto differs from a real S3-compatible provider: it accepts any region name (``ch-gva-2``) and never
redirects between regions, it does not check the key pair while auth is off, it serves path-style only on
loopback, and the TLS-only bucket policy statement is dropped by the applier (plain HTTP). It does honour bucket
policies and canned object ACLs for anonymous reads, which is what separates the two providers here: the generic
endpoint's public bucket is public through its policy (objects uploaded ``private``), Exoscale's through each
object's ``public-read`` ACL (no bucket policies on SOS).
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests
from botocore.exceptions import ClientError
from support.emulators import Emulator, s3_client, s3_target

from divio_storage_infra.app.settings import storages_entry
from divio_storage_infra.cli.main import main
from divio_storage_infra.core import naming
from divio_storage_infra.core.dsn import ParsedDsn, parse_dsn
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.localstores.applier import UnappliedResource
from divio_storage_infra.localstores.apply_s3 import AwsApplied, apply_aws
from divio_storage_infra.localstores.declared import declare_website, exported
from divio_storage_infra.localstores.localdsn import with_endpoint_url
from divio_storage_infra.preview.mockrun import Declared, DeclaredResource, Secret

pytestmark = [pytest.mark.emulator, pytest.mark.usefixtures("django_settings")]

KEY_ID = "COMPATKEY0123456789"
# Characters that must survive percent-encoding in the DSN and django-storage-url's decoding of it.
SECRET = "compat/secret+with=odd%chars"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
PROVIDER_TYPE = "pulumi:providers:aws"
BUCKET_TYPE = "aws:s3/bucket:Bucket"

GENERIC = StorageSpec.from_dict(
    {
        "website": "compat-emu",
        "environment": "live",
        "cloud": "s3-compatible",
        "region": "us-east-1",
        "endpoint": "objects.example.net",
        "credentials": "static",
        "privateStorage": True,
        "corsOrigins": ["https://www.example.net"],
        "versioning": True,
    }
)
EXOSCALE = StorageSpec.from_dict(
    {
        "website": "sos-emu",
        "environment": "live",
        "cloud": "exoscale",
        "region": "ch-gva-2",
        "credentials": "static",
        "privateStorage": True,
        "corsOrigins": ["https://www.example.ch"],
        "versioning": True,
    }
)
SPECS = {"s3-compatible": GENERIC, "exoscale": EXOSCALE}


@dataclass
class Site:
    """One website's declared storage applied to the auth-off moto server, and its exported DSNs + endpoint_url."""

    spec: StorageSpec
    moto: Emulator
    declared: Declared
    applied: AwsApplied
    dsn: str
    private_dsn: str

    @property
    def public_bucket(self) -> str:
        """The public bucket's name as the naming layer derives it."""
        return naming.public_bucket_name(self.spec)

    @property
    def private_bucket(self) -> str:
        """The private bucket's name as the naming layer derives it."""
        return naming.private_bucket_name(self.spec)

    @property
    def endpoint_host(self) -> str:
        """The provider's real endpoint host, which the DSN names and moto stands in for."""
        return str(parse_dsn(self.dsn).endpoint_host)


def applied_sites(moto: Emulator) -> dict[str, Site]:
    """Both websites, declared once and applied to ``moto``."""
    out: dict[str, Site] = {}
    for cloud, spec in SPECS.items():
        declared = declare_website(spec, (KEY_ID, SECRET))
        out[cloud] = Site(
            spec=spec,
            moto=moto,
            declared=declared,
            applied=apply_aws(declared, s3_target(moto)),
            dsn=with_endpoint_url(exported(declared, "storage_dsn"), moto.url),
            private_dsn=with_endpoint_url(exported(declared, "private_storage_dsn"), moto.url),
        )
    return out


@pytest.fixture(scope="module")
def sites(moto: Emulator) -> dict[str, Site]:
    """Both websites applied to the session's moto server (over TLS)."""
    return applied_sites(moto)


@pytest.fixture(params=sorted(SPECS))
def site(request: pytest.FixtureRequest, sites: dict[str, Site]) -> Site:
    """Each S3-compatible website in turn."""
    return sites[request.param]


def app_storage(site: Site, dsn: str, reader: str, dsn_setting: Any) -> Any:
    """The storage a Divio app builds from ``dsn``: django-storage-url's, or this project's STORAGES entry."""
    parsed = parse_dsn(dsn)
    if reader == "django-storage-url":
        storage = dsn_setting(dsn)
        # Production: the provider's own host, path-style where the provider needs it, the DSN's key pair.
        assert storage.endpoint_url == f"https://{site.endpoint_host}/"
        assert storage.region_name == site.spec.region
        assert storage.addressing_style == ("path" if site.spec.cloud == "s3-compatible" else "auto")
        # Offline the provider's host cannot be reached: only where the client connects changes.
        storage.endpoint_url = site.moto.url
    else:
        from django.utils.module_loading import import_string  # type: ignore[import-untyped]

        entry = storages_entry(dsn)
        storage = import_string(entry["BACKEND"])(**entry["OPTIONS"])
        assert storage.endpoint_url == site.moto.url
    assert (storage.access_key, storage.secret_key) == (KEY_ID, SECRET), "the static key pair from stack config"
    assert storage.bucket_name == parsed.bucket
    return storage


def save(storage: Any, body: bytes) -> str:
    """Save a file through the storage and read it back with the DSN's credentials."""
    from django.core.files.base import ContentFile  # type: ignore[import-untyped]

    name: str = storage.save(f"uploads/{uuid.uuid4().hex} photo.txt", ContentFile(body))
    assert storage.exists(name)
    with storage.open(name, "rb") as handle:
        assert handle.read() == body
    return name


def anonymous_grants(site: Site, bucket: str, key: str) -> list[str]:
    """The permissions the object's ACL grants to everyone (AllUsers)."""
    grants = s3_client(site.moto.url).get_object_acl(Bucket=bucket, Key=key)["Grants"]
    return [str(g["Permission"]) for g in grants if g["Grantee"].get("URI") == ALL_USERS]


def missing(call: Any, **kwargs: Any) -> str:
    """The error code of a bucket configuration read that must fail (nothing of the kind was applied)."""
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    code: str = raised.value.response["Error"]["Code"]
    return code


# --- what was declared is what moto holds -------------------------------------------------------------------------


def test_the_declared_provider_reached_moto_with_its_region_and_key(site: Site) -> None:
    provider = site.declared.one(PROVIDER_TYPE)
    assert isinstance(provider.inputs["accessKey"], Secret) and isinstance(provider.inputs["secretKey"], Secret)
    applied = site.applied.providers[provider.name]
    assert list(site.applied.providers) == [provider.name]
    assert applied.endpoints == {"s3": f"https://{site.endpoint_host}"}
    assert applied.region == site.spec.region
    assert applied.key == (KEY_ID, SECRET)
    # The provider's addressing style and the app's (from the DSN) must agree, or pulumi and the app disagree.
    assert applied.path_style == (parse_dsn(site.dsn).addressing_style == "path")
    assert site.applied.bucket_providers == {site.public_bucket: provider.name, site.private_bucket: provider.name}


def test_applied_buckets_match_the_declared_ones(site: Site) -> None:
    declared_names = {str(b.inputs["bucket"]) for b in site.declared.by_type(BUCKET_TYPE)}
    assert declared_names == set(site.applied.buckets.values()) == {site.public_bucket, site.private_bucket}
    admin = s3_client(site.moto.url)
    held = {b["Name"] for b in admin.list_buckets()["Buckets"]}
    assert declared_names <= held
    location = None if site.spec.region == "us-east-1" else site.spec.region
    for bucket in declared_names:
        assert admin.get_bucket_location(Bucket=bucket).get("LocationConstraint") == location
        assert admin.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        # Not declared for these providers, so not in moto either (AWS buckets get all three).
        assert missing(admin.get_public_access_block, Bucket=bucket) == "NoSuchPublicAccessBlockConfiguration"
        assert missing(admin.get_bucket_ownership_controls, Bucket=bucket) == "OwnershipControlsNotFoundError"
        assert missing(admin.get_bucket_encryption, Bucket=bucket) == "ServerSideEncryptionConfigurationNotFoundError"
        if site.spec.cloud == "s3-compatible":
            rules = admin.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
            assert [r["ID"] for r in rules] == [
                "abort-incomplete-multipart-uploads",
                "expire-noncurrent-versions",
                "remove-expired-delete-markers",
            ]
            assert rules[0]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
            assert rules[1]["NoncurrentVersionExpiration"]["NoncurrentDays"] == (
                site.spec.noncurrent_version_expiration_days
            )
        else:
            assert missing(admin.get_bucket_lifecycle_configuration, Bucket=bucket) == "NoSuchLifecycleConfiguration"
    cors = admin.get_bucket_cors(Bucket=site.public_bucket)["CORSRules"]
    assert [rule["AllowedOrigins"] for rule in cors] == [list(site.spec.cors_origins)]
    assert missing(admin.get_bucket_cors, Bucket=site.private_bucket) == "NoSuchCORSConfiguration"
    # The private bucket's only declared statement is the TLS-only deny, which plain HTTP cannot carry.
    assert missing(admin.get_bucket_policy, Bucket=site.private_bucket) == "NoSuchBucketPolicy"
    if site.spec.cloud == "s3-compatible":
        held_policy = json.loads(admin.get_bucket_policy(Bucket=site.public_bucket)["Policy"])
        assert [(s["Sid"], s["Action"]) for s in held_policy["Statement"]] == [("PublicReadObjects", "s3:GetObject")]
    else:
        assert missing(admin.get_bucket_policy, Bucket=site.public_bucket) == "NoSuchBucketPolicy"


# --- the app's path: store through the exported DSN, fetch it back ---------------------------------------------


@pytest.mark.parametrize("reader", ["django-storage-url", "app_settings"])
def test_public_file_is_saved_and_served_anonymously(site: Site, dsn_setting: Any, reader: str) -> None:
    storage = app_storage(site, site.dsn, reader, dsn_setting)
    assert storage.bucket_name == site.public_bucket
    expected_acl = "private" if site.spec.cloud == "s3-compatible" else "public-read"
    assert storage.object_parameters == {"ACL": expected_acl}
    assert storage.querystring_auth is False
    name = save(storage, b"public media")
    url = storage.url(name)
    assert url == f"{site.moto.url}/{site.public_bucket}/{quote(name)}", "a public file has a plain, unsigned URL"
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == b"public media"
    # The generic endpoint makes it public through the bucket policy, Exoscale through the object's own ACL.
    grants = anonymous_grants(site, site.public_bucket, name)
    assert grants == ([] if site.spec.cloud == "s3-compatible" else ["READ"])
    storage.delete(name)
    assert not storage.exists(name)
    assert requests.get(url, timeout=10).status_code in (403, 404)


@pytest.mark.parametrize("reader", ["django-storage-url", "app_settings"])
def test_private_file_is_served_only_through_a_signed_url(site: Site, dsn_setting: Any, reader: str) -> None:
    storage = app_storage(site, site.private_dsn, reader, dsn_setting)
    assert storage.bucket_name == site.private_bucket
    assert storage.object_parameters == {"ACL": "private"}
    name = save(storage, b"private media")
    url = storage.url(name)
    assert "X-Amz-Signature=" in url
    assert url.startswith(f"{site.moto.url}/{site.private_bucket}/")
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == b"private media"
    unsigned = urlsplit(url)._replace(query="").geturl()
    assert requests.get(unsigned, timeout=10).status_code == 403
    assert anonymous_grants(site, site.private_bucket, name) == []
    storage.delete(name)


def test_exoscale_public_bucket_is_public_only_through_object_acls(sites: dict[str, Site]) -> None:
    """Without a bucket policy (SOS has none), an object uploaded without public-read stays private."""
    site = sites["exoscale"]
    parsed: ParsedDsn = parse_dsn(site.dsn)
    assert parsed.acl == "public-read"
    client = s3_client(site.moto.url, (KEY_ID, SECRET), region=str(site.spec.region))
    key = f"uploads/{uuid.uuid4().hex}.txt"
    client.put_object(Bucket=site.public_bucket, Key=key, Body=b"not public", ACL="private")
    assert requests.get(f"{site.moto.url}/{site.public_bucket}/{key}", timeout=10).status_code == 403
    client.put_object_acl(Bucket=site.public_bucket, Key=key, ACL=parsed.acl)
    assert requests.get(f"{site.moto.url}/{site.public_bucket}/{key}", timeout=10).content == b"not public"
    client.delete_object(Bucket=site.public_bucket, Key=key)


# --- divio-storage check on the exported DSNs ---------------------------------------------------------------------


def test_check_passes_on_the_exported_dsns(
    site: Site, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # From the environment, as the check's help recommends, so the secret stays off the command line.
    monkeypatch.setenv("DEFAULT_STORAGE_DSN", site.dsn)
    monkeypatch.setenv("PRIVATE_STORAGE_DSN", site.private_dsn)
    origins = [arg for origin in site.spec.cors_origins for arg in ("--origin", origin)]
    code = main(["check", *origins, "--format", "json"])
    out = capsys.readouterr().out
    report = json.loads(out)
    assert code == 0, out
    # Public: write, read, public-read, cors-allowed (one origin), cors-refused, delete; private: five.
    assert report["summary"] == {"pass": 11, "fail": 0, "skip": 0}
    assert [(s["store"], s["cloud"], s["endpoint"]) for s in report["stores"]] == [
        ("public", site.spec.cloud, site.moto.url),
        ("private", site.spec.cloud, site.moto.url),
    ]
    assert SECRET not in out and quote(SECRET, safe="") not in out


# --- the applier refuses what it cannot reproduce for an explicit provider -----------------------------------


def _with_provider_inputs(declared: Declared, change: dict[str, Any]) -> Declared:
    """The declared graph with the provider's inputs changed (a value None removes the input)."""
    changed = copy.deepcopy(declared)
    provider = changed.one(PROVIDER_TYPE)
    for key, value in change.items():
        if value is None:
            provider.inputs.pop(key, None)
        else:
            provider.inputs[key] = value
    return changed


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"assumeRole": {"roleArn": "arn:aws:iam::1:role/x"}}, "assumeRole"),
        ({"skipCredentialsValidation": "false"}, "skipCredentialsValidation = true"),
        ({"skipRequestingAccountId": None}, "skipRequestingAccountId = true"),
        ({"endpoints": '[{"s3": "https://objects.example.net", "sts": "https://sts.example.net"}]'}, "no emulator"),
        ({"secretKey": SECRET}, "not a secret"),
    ],
)
def test_applier_refuses_a_provider_it_cannot_reproduce(
    sites: dict[str, Site], change: dict[str, Any], message: str
) -> None:
    declared = _with_provider_inputs(sites["s3-compatible"].declared, change)
    with pytest.raises(AssertionError, match=message):
        apply_aws(declared, s3_target(sites["s3-compatible"].moto))


def test_applier_refuses_a_service_the_provider_has_no_endpoint_for(sites: dict[str, Site]) -> None:
    """An IAM user under an S3-only provider would reach AWS's own IAM with the provider's key."""
    declared = copy.deepcopy(sites["s3-compatible"].declared)
    provider = declared.one(PROVIDER_TYPE)
    bucket = declared.by_type(BUCKET_TYPE)[0]
    user = DeclaredResource(
        **{
            **vars(bucket),
            "urn": bucket.urn.replace(BUCKET_TYPE, "aws:iam/user:User"),
            "type": "aws:iam/user:User",
            "inputs": {"name": "nobody"},
        }
    )
    declared.resources = [provider, user]
    with pytest.raises(UnappliedResource, match="declares no iam endpoint"):
        apply_aws(declared, s3_target(sites["s3-compatible"].moto))
