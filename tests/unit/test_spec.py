"""Spec validation: every rule rejects bad input with one error naming the field, the value and what is allowed."""

from __future__ import annotations

from typing import Any

import pytest

from divio_storage_infra.core.errors import SpecError
from divio_storage_infra.core.spec import CONFIG_KEYS, StorageSpec

AWS: dict[str, Any] = {"website": "example", "environment": "live", "region": "eu-central-1"}
AZURE: dict[str, Any] = {"website": "example", "environment": "live", "cloud": "azure", "location": "switzerlandnorth"}


def error_for(raw: dict[str, Any]) -> SpecError:
    with pytest.raises(SpecError) as info:
        StorageSpec.from_dict(raw)
    return info.value


def test_minimal_aws_spec_has_secure_defaults() -> None:
    spec = StorageSpec.from_dict(AWS)
    assert spec.cloud == "aws"
    assert spec.cors_origins == ()
    assert spec.allow_uploads is False
    assert spec.public_storage is True
    assert spec.private_storage is False
    assert spec.credentials == "none"
    assert spec.protect is True
    # Durable by default: old versions kept 30 days, incomplete uploads aborted after 7, no access logs unless asked.
    assert spec.versioning is True
    assert spec.noncurrent_version_expiration_days == 30
    assert spec.abort_incomplete_multipart_upload_days == 7
    assert spec.access_log_bucket is None
    assert spec.tag_map == {"website": "example", "environment": "live", "managed-by": "divio-storage-infra"}


def test_pulumi_config_strings_are_coerced() -> None:
    spec = StorageSpec.from_dict(
        {**AWS, "privateStorage": "true", "protect": "false", "corsMaxAgeSeconds": "600", "corsOrigins": "https://a.io"}
    )
    assert spec.private_storage is True
    assert spec.protect is False
    assert spec.cors_max_age_seconds == 600
    assert spec.cors_origins == ("https://a.io",)


def test_spec_is_frozen() -> None:
    spec = StorageSpec.from_dict(AWS)
    with pytest.raises(AttributeError):
        spec.website = "other"  # type: ignore[misc]


def test_to_dict_round_trips() -> None:
    raw = {**AWS, "corsOrigins": ["https://www.example.com"], "privateStorage": True, "tags": {"team": "web"}}
    spec = StorageSpec.from_dict(raw)
    assert StorageSpec.from_dict(spec.to_dict()) == spec
    assert spec.to_dict() == raw


@pytest.mark.parametrize(
    ("raw", "field", "value", "allowed"),
    [
        ({**AWS, "website": "My_Site"}, "website", "'My_Site'", "lowercase letters, digits and single hyphens"),
        ({**AWS, "website": "-site"}, "website", "'-site'", "starting and ending with a letter or digit"),
        ({**AWS, "website": "a--b"}, "website", "'a--b'", "single hyphens"),
        ({**AWS, "website": "a" * 64}, "website", "'" + "a" * 60 + "…' (64 characters)", "1-63"),
        ({"environment": "live", "region": "eu-central-1"}, "website", "required", "a lowercase slug"),
        ({**AWS, "environment": "Live"}, "environment", "'Live'", "lowercase"),
        ({**AWS, "cloud": "gcp"}, "cloud", "'gcp'", "aws, exoscale, s3-compatible, azure"),
        ({**AWS, "region": "eu-cental-1"}, "region", "'eu-cental-1'", "did you mean 'eu-central-1'"),
        ({"website": "example", "environment": "live"}, "region", "required", "for cloud aws"),
        ({**AWS, "corsOrigins": ["*"]}, "corsOrigins", "'*'", "allowWildcardOrigin: true"),
        ({**AWS, "corsOrigins": ["www.example.com"]}, "corsOrigins", "'www.example.com'", "scheme://host[:port]"),
        ({**AWS, "corsOrigins": ["https://example.com/"]}, "corsOrigins", "'https://example.com/'", "trailing slash"),
        ({**AWS, "corsOrigins": ["https://example.com/app"]}, "corsOrigins", "'https://example.com/app'", "no path"),
        ({**AWS, "corsOrigins": ["ftp://example.com"]}, "corsOrigins", "'ftp://example.com'", "http or https"),
        ({**AWS, "corsOrigins": ["https://example.com:99999"]}, "corsOrigins", "99999", "port from 1 to 65535"),
        ({**AWS, "corsOrigins": ["https://a.io", "https://a.io"]}, "corsOrigins", "['https://a.io']", "at most once"),
        ({**AWS, "allowUploads": True}, "allowUploads", "True", "at least one entry in corsOrigins"),
        ({**AWS, "corsMaxAgeSeconds": 90000}, "corsMaxAgeSeconds", "90000", "from 0 to 86400"),
        ({**AWS, "privateStorage": "yes"}, "privateStorage", "'yes'", "true or false"),
        ({**AWS, "bucketName": "a" * 64}, "bucketName", "'" + "a" * 60 + "…' (64 characters)", "3 to 63 characters"),
        ({**AWS, "bucketName": "ab"}, "bucketName", "'ab'", "3 to 63 characters"),
        ({**AWS, "bucketName": "my..bucket"}, "bucketName", "'my..bucket'", "'..'"),
        ({**AWS, "bucketName": "192.168.10.20"}, "bucketName", "'192.168.10.20'", "IP address"),
        ({**AWS, "bucketName": "My-Bucket"}, "bucketName", "'My-Bucket'", "lowercase"),
        ({**AWS, "bucketName": "xn--bucket"}, "bucketName", "'xn--bucket'", "reserves the prefixes"),
        ({**AWS, "privateBucketName": "private-b"}, "privateBucketName", "'private-b'", "privateStorage is false"),
        (
            {**AWS, "privateStorage": True, "bucketName": "same-b", "privateBucketName": "same-b"},
            "privateBucketName",
            "'same-b'",
            "must differ",
        ),
        (
            {**AWS, "publicStorage": False, "credentials": "iam-user"},
            "credentials",
            "'iam-user'",
            "credentials need at least one bucket",
        ),
        ({**AWS, "publicStorage": False}, "publicStorage", "False", "at least one store"),
        ({**AWS, "credentials": "static"}, "credentials", "'static'", "offers none, iam-user"),
        ({**AWS, "mediaDomain": "https://media.example.com"}, "mediaDomain", "https://media.example.com", "no scheme"),
        ({**AWS, "mediaDomain": "localhost"}, "mediaDomain", "'localhost'", "fully qualified"),
        (
            {**AWS, "versioning": False, "noncurrentVersionExpirationDays": 10},
            "noncurrentVersionExpirationDays",
            "10",
            "only applies with versioning: true",
        ),
        (
            {**AZURE, "noncurrentVersionExpirationDays": 10},
            "noncurrentVersionExpirationDays",
            "10",
            "off by default on azure (blob soft delete",
        ),
        (
            {**AWS, "abortIncompleteMultipartUploadDays": 0},
            "abortIncompleteMultipartUploadDays",
            "0",
            "from 1 to 365",
        ),
        (
            {**AZURE, "abortIncompleteMultipartUploadDays": 3},
            "abortIncompleteMultipartUploadDays",
            "3",
            "only applies to cloud",
        ),
        ({**AWS, "accessLogBucket": "Logs_Bucket"}, "accessLogBucket", "'Logs_Bucket'", "lowercase"),
        (
            {**AWS, "bucketName": "acme-media", "accessLogBucket": "acme-media"},
            "accessLogBucket",
            "'acme-media'",
            "another bucket than the website's own",
        ),
        ({**AZURE, "accessLogBucket": "platform-logs"}, "accessLogBucket", "'platform-logs'", "only applies to cloud"),
        (
            {**AWS, "versioning": True, "noncurrentVersionExpirationDays": 0},
            "noncurrentVersionExpirationDays",
            "0",
            "from 1 to 3650",
        ),
        ({**AWS, "tags": {"aws:owner": "x"}}, "tags", "'aws:owner'", "may not start with aws:"),
        ({**AWS, "tags": {"website": "x"}}, "tags", "'website'", "set by the component itself"),
        ({**AWS, "tags": {"team": 5}}, "tags.team", "5", "tag values are strings"),
        ({**AWS, "regoin": "eu-central-1"}, "regoin", "[not shown]", "did you mean 'region'"),
        ({**AWS, "location": "westeurope"}, "location", "'westeurope'", "only applies to cloud azure"),
        ({**AWS, "sasStart": "2026-01-01"}, "sasStart", "'2026-01-01'", "only applies to cloud azure"),
        ({**AZURE, "region": "eu-central-1"}, "region", "'eu-central-1'", "only applies to cloud"),
        ({**AZURE, "bucketName": "my-bucket"}, "bucketName", "'my-bucket'", "only applies to cloud"),
        ({**AZURE, "location": "swizerlandnorth"}, "location", "'swizerlandnorth'", "did you mean 'switzerlandnorth'"),
        ({**AZURE, "credentials": "iam-user"}, "credentials", "'iam-user'", "account-key, sas, none"),
        (
            {**AZURE, "corsOrigins": [f"https://s{i}.example.com" for i in range(6)]},
            "corsOrigins",
            "'https://s3.example.com', … (6 items)]",
            "at most 5 CORS rules",
        ),
        ({**AZURE, "accountSku": "Premium_LRS"}, "accountSku", "'Premium_LRS'", "Standard_LRS"),
        ({**AZURE, "storageAccountName": "Has-Hyphen"}, "storageAccountName", "'Has-Hyphen'", "3 to 24 lowercase"),
        ({**AZURE, "credentials": "sas"}, "sasStart", "required", "ISO date"),
        (
            {**AZURE, "credentials": "sas", "sasStart": "01/02/2026"},
            "sasStart",
            "'01/02/2026'",
            "calendar date YYYY-MM-DD",
        ),
        (
            {**AZURE, "credentials": "sas", "sasStart": "2026-01-01", "sasPermissions": "rwx"},
            "sasPermissions",
            "'rwx'",
            "racwdl",
        ),
        ({**AZURE, "sasLifetimeDays": 30}, "sasLifetimeDays", "30", "only applies with credentials: sas"),
        ({**AZURE, "blobSoftDeleteDays": 0}, "blobSoftDeleteDays", "0", "from 1 to 365"),
        ({**AZURE, "resourceGroupName": "bad/name"}, "resourceGroupName", "'bad/name'", "letters, digits"),
        ({**AWS, "cloud": "exoscale", "region": "ch-zrh-9"}, "region", "'ch-zrh-9'", "ch-gva-2"),
        (
            {**AWS, "cloud": "exoscale", "region": "ch-gva-2", "credentials": "iam-user"},
            "credentials",
            "'iam-user'",
            "no IAM API",
        ),
        (
            {**AWS, "cloud": "s3-compatible", "region": "us-east-1", "endpoint": "https://minio.local"},
            "endpoint",
            "'https://minio.local'",
            "without scheme or path",
        ),
        (
            {**AWS, "cloud": "s3-compatible", "region": "us-east-1"},
            "endpoint",
            "required",
            "for cloud s3-compatible",
        ),
    ],
)
def test_invalid_value_is_named_with_what_is_allowed(raw: dict[str, Any], field: str, value: str, allowed: str) -> None:
    error = error_for(raw)
    matching = [p for p in error.problems if p.field == field]
    assert matching, f"no problem reported for {field}: {error}"
    text = str(error)
    assert f"{field}: " in text
    assert value in text
    assert allowed in text


def test_a_missing_key_reads_required_and_what_to_set() -> None:
    error = error_for({"environment": "live", "region": "eu-central-1"})
    assert str(error) == "invalid storage spec: website: required; set a lowercase slug such as 'my-site'"
    assert "None" not in str(error_for({"website": "example", "environment": "live"}))


def test_every_problem_is_reported_at_once() -> None:
    error = error_for({"website": "Bad", "environment": "live", "region": "nowhere", "corsOrigins": ["*"]})
    assert {p.field for p in error.problems} == {"website", "region", "corsOrigins"}
    assert str(error).count("\n  - ") == 3


def test_wildcard_origin_is_allowed_only_when_asked_for_and_alone() -> None:
    spec = StorageSpec.from_dict({**AWS, "corsOrigins": ["*"], "allowWildcardOrigin": True})
    assert spec.cors_origins == ("*",)
    error = error_for({**AWS, "corsOrigins": ["*", "https://a.io"], "allowWildcardOrigin": True})
    assert "list it alone" in str(error)


def test_non_mapping_is_rejected() -> None:
    with pytest.raises(SpecError, match="expected a mapping"):
        StorageSpec.from_dict(["website"])  # type: ignore[arg-type]


def test_sas_expiry_is_start_plus_lifetime() -> None:
    spec = StorageSpec.from_dict({**AZURE, "credentials": "sas", "sasStart": "2026-01-01", "sasLifetimeDays": 31})
    assert spec.sas_expiry == "2026-02-01T00:00:00Z"
    assert StorageSpec.from_dict(AZURE).sas_expiry is None


def test_sas_permissions_are_normalised_to_azure_order() -> None:
    spec = StorageSpec.from_dict({**AZURE, "credentials": "sas", "sasStart": "2026-01-01", "sasPermissions": "lwr"})
    assert spec.sas_permissions == "rwl"


def test_config_keys_are_camel_case_and_unique() -> None:
    assert len(set(CONFIG_KEYS)) == len(CONFIG_KEYS)
    assert all("_" not in key for key in CONFIG_KEYS)


EXOSCALE: dict[str, Any] = {"website": "example", "environment": "live", "cloud": "exoscale", "region": "ch-gva-2"}
GENERIC: dict[str, Any] = {
    "website": "example",
    "environment": "live",
    "cloud": "s3-compatible",
    "region": "us-east-1",
    "endpoint": "objects.example.net",
}


@pytest.mark.parametrize(
    ("raw", "versioning"),
    [
        # On where old versions can expire (the S3 counterpart of soft delete) ...
        (AWS, True),
        (GENERIC, True),
        # ... off where they would be kept forever (Exoscale: no lifecycle rules) or soft delete covers it (Azure).
        (EXOSCALE, False),
        (AZURE, False),
        # An explicit choice wins either way.
        ({**AWS, "versioning": False}, False),
        ({**GENERIC, "versioning": "false"}, False),
        ({**EXOSCALE, "versioning": True}, True),
        ({**AZURE, "versioning": True}, True),
    ],
)
def test_versioning_default_follows_what_the_cloud_can_expire(raw: dict[str, Any], versioning: bool) -> None:
    spec = StorageSpec.from_dict(raw)
    assert spec.versioning is versioning
    # The default is not written back: a spec round-trips to the keys that were given.
    assert ("versioning" in spec.to_dict()) is ("versioning" in raw)
    assert StorageSpec.from_dict(spec.to_dict()) == spec


def test_durability_keys_are_read() -> None:
    spec = StorageSpec.from_dict(
        {
            **AWS,
            "noncurrentVersionExpirationDays": "45",
            "abortIncompleteMultipartUploadDays": 2,
            "accessLogBucket": "platform-access-logs",
        }
    )
    assert spec.versioning is True
    assert spec.noncurrent_version_expiration_days == 45
    assert spec.abort_incomplete_multipart_upload_days == 2
    assert spec.access_log_bucket == "platform-access-logs"
    assert StorageSpec.from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({**EXOSCALE, "abortIncompleteMultipartUploadDays": 3}, "abortIncompleteMultipartUploadDays", "no lifecycle"),
        ({**EXOSCALE, "accessLogBucket": "platform-logs"}, "accessLogBucket", "no server access logging"),
        ({**GENERIC, "accessLogBucket": "platform-logs"}, "accessLogBucket", "no server access logging"),
        ({**EXOSCALE, "noncurrentVersionExpirationDays": 9}, "noncurrentVersionExpirationDays", "off by default"),
    ],
)
def test_durability_asks_only_what_the_provider_can_declare(raw: dict[str, Any], field: str, message: str) -> None:
    error = error_for(raw)
    assert [p.field for p in error.problems] == [field]
    assert message in error.problems[0].allowed
