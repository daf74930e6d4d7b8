"""The capability tables: one per cloud, complete and consistent with the spec, the DSN layer and each other."""

from __future__ import annotations

import importlib
from typing import Any, get_args

import pytest

from divio_storage_infra.core.clouds import (
    CLOUDS,
    S3_CLOUDS,
    S3_PROVIDERS,
    CloudCapabilities,
    capabilities,
    cloud_for_dsn,
)
from divio_storage_infra.core.clouds.base import CloudName, Credentials
from divio_storage_infra.core.configkeys import EVERY_CLOUD, SPEC_KEYS, cloud_keys, clouds_for_key, inapplicable_why
from divio_storage_infra.core.dsn import azure_dsn, parse_dsn, s3_dsn
from divio_storage_infra.core.errors import SpecError
from divio_storage_infra.core.spec import CONFIG_KEYS, StorageSpec
from divio_storage_infra.core.validation.placement import CHECKS

# A minimal valid spec per cloud: what each cloud's placement needs.
MINIMAL: dict[str, dict[str, Any]] = {
    "aws": {"region": "eu-central-1"},
    "exoscale": {"region": "ch-gva-2"},
    "s3-compatible": {"region": "us-east-1", "endpoint": "objects.example.net"},
    "azure": {"location": "switzerlandnorth"},
}


def _spec(cloud: str, **extra: Any) -> StorageSpec:
    return StorageSpec.from_dict({"website": "shop", "environment": "live", "cloud": cloud, **MINIMAL[cloud], **extra})


def _problems(cloud: str, **extra: Any) -> list[tuple[str, str]]:
    try:
        _spec(cloud, **extra)
    except SpecError as error:
        return [(p.field, p.allowed) for p in error.problems]
    return []


def test_every_cloud_name_has_its_own_table_module() -> None:
    assert list(CLOUDS) == list(get_args(CloudName)) == list(MINIMAL)
    for name in CLOUDS:
        module = importlib.import_module(f"divio_storage_infra.core.clouds.{name.replace('-', '_')}")
        tables = [v for v in vars(module).values() if isinstance(v, CloudCapabilities)]
        assert tables == [CLOUDS[name]]
        assert capabilities(name) is CLOUDS[name]
        assert CLOUDS[name].name == name


def test_every_cloud_has_a_placement_check() -> None:
    assert set(CHECKS) == set(CLOUDS)


CLOUD_SPECIFIC_KEYS = frozenset(k.name for k in SPEC_KEYS if k.applies is not EVERY_CLOUD)


@pytest.mark.parametrize("name", list(CLOUDS))
def test_a_clouds_keys_are_config_keys_and_apply_there(name: str) -> None:
    keys = cloud_keys(name)
    assert keys <= set(CONFIG_KEYS)
    for key in keys:
        assert name in clouds_for_key(key)
        # Given on this cloud, the key is never "only for other clouds" (its value may still be checked).
        assert not any(field == key and "only applies to cloud" in why for field, why in _problems(name, **{key: 1}))


@pytest.mark.parametrize("name", list(CLOUDS))
def test_a_cloud_specific_key_of_another_cloud_is_refused(name: str) -> None:
    foreign = sorted(CLOUD_SPECIFIC_KEYS - cloud_keys(name))
    assert foreign, f"{name} accepts every cloud-specific key; the table says nothing"
    for key in foreign:
        expected = inapplicable_why(key, name)
        assert expected is not None
        assert (key, expected) in _problems(name, **{key: "x"})


def test_a_key_a_cloud_lacks_the_feature_for_says_which_feature() -> None:
    # One source of truth: what the durability checks refuse is what the table calls inapplicable.
    assert cloud_keys("exoscale") == {"region", "bucketName", "privateBucketName", "backupRegion"}
    assert "accessLogBucket" not in cloud_keys("s3-compatible")
    assert inapplicable_why("accessLogBucket", "exoscale") == (
        "exoscale has no server access logging; remove accessLogBucket"
    )
    assert "no lifecycle rules" in str(inapplicable_why("abortIncompleteMultipartUploadDays", "exoscale"))
    assert inapplicable_why("abortIncompleteMultipartUploadDays", "azure") == (
        "only applies to cloud aws / s3-compatible, not azure; remove it"
    )


def test_a_key_no_table_lists_applies_to_every_cloud() -> None:
    common = [k for k in CONFIG_KEYS if k not in CLOUD_SPECIFIC_KEYS]
    assert "corsOrigins" in common and "protect" in common
    for key in common:
        assert clouds_for_key(key) == tuple(sorted(CLOUDS))


@pytest.mark.parametrize("name", list(CLOUDS))
def test_credential_modes_default_and_why(name: str) -> None:
    table = CLOUDS[name]
    modes = set(get_args(Credentials))
    assert table.credentials and len(set(table.credentials)) == len(table.credentials)
    assert set(table.credentials) <= modes
    assert _spec(name).credentials == table.default_credentials == table.credentials[0]
    for mode in sorted(modes - set(table.credentials)):
        why = table.credentials_why.get(mode, f"cloud {name} offers {', '.join(table.credentials)}")
        assert ("credentials", why) in _problems(name, credentials=mode)
    # A reason is only given for a mode the cloud lacks.
    assert set(table.credentials_why) <= modes - set(table.credentials)


def test_the_s3_family_is_what_the_s3_component_serves() -> None:
    s3 = {name for name, t in CLOUDS.items() if t.family == "s3"}
    assert S3_CLOUDS == s3 == set(S3_PROVIDERS)
    assert all(t.dsn_scheme == ("s3" if t.family == "s3" else "az") for t in CLOUDS.values())
    for name in CLOUDS:
        assert _spec(name).is_s3 == (name in s3)


@pytest.mark.parametrize("name", sorted(S3_CLOUDS))
def test_a_dsn_at_a_clouds_endpoint_is_recognised_as_that_cloud(name: str) -> None:
    table = CLOUDS[name]
    spec = _spec(name)
    host = table.endpoint_host(spec.region or "", spec.endpoint)
    parsed = parse_dsn(s3_dsn(bucket="shop-live-media", endpoint_host=host, acl=table.object_acl(public=True)))
    assert parsed.cloud == name
    assert cloud_for_dsn("s3", host) == name


def test_an_azure_dsn_is_recognised_as_azure() -> None:
    host = CLOUDS["azure"].endpoint_host("switzerlandnorth", None)
    parsed = parse_dsn(azure_dsn(account="shoplive", container="public-media"))
    assert parsed.endpoint_host == host
    assert parsed.cloud == "azure" == cloud_for_dsn("az", host)


def test_what_a_table_lacks_the_spec_refuses() -> None:
    # Exoscale has versioning but no lifecycle rules: old versions cannot be set to expire there.
    assert CLOUDS["exoscale"].versioning and not CLOUDS["exoscale"].lifecycle
    assert [f for f, _ in _problems("exoscale", versioning=True, noncurrentVersionExpirationDays=5)] == [
        "noncurrentVersionExpirationDays"
    ]
    assert _problems("aws", versioning=True, noncurrentVersionExpirationDays=5) == []


def test_object_acl_follows_ownership_controls_and_bucket_policies() -> None:
    assert CLOUDS["aws"].object_acl(public=True) == "bucket-owner-full-control"
    assert CLOUDS["exoscale"].object_acl(public=True) == "public-read"  # no bucket policy: public via ACL
    assert CLOUDS["exoscale"].object_acl(public=False) == "private"
    assert CLOUDS["s3-compatible"].object_acl(public=True) == "private"  # public via its bucket policy


def test_limits_in_the_tables_reach_the_spec() -> None:
    azure = CLOUDS["azure"]
    assert azure.max_cors_rules is not None
    origins = [f"https://site{i}.example.com" for i in range(azure.max_cors_rules + 1)]
    assert ("corsOrigins", f"{azure.max_cors_rules_why}; this lists {len(origins)}") in _problems(
        "azure", corsOrigins=origins
    )
    assert _problems("aws", corsOrigins=origins) == []
    assert CLOUDS["exoscale"].bucket_name_dots_why
    assert ("bucketName", CLOUDS["exoscale"].bucket_name_dots_why) in _problems("exoscale", bucketName="a.b.c")
    assert _problems("aws", bucketName="a.b.c") == []
