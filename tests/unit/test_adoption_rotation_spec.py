"""The spec keys of adoption and rotation, the import ids and migration order, and reading a SAS's expiry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from divio_storage_infra.core import adoption, sas
from divio_storage_infra.core.errors import SpecError
from divio_storage_infra.core.spec import StorageSpec

AWS: dict[str, Any] = {"website": "shop", "environment": "live", "region": "eu-central-1"}
AZURE: dict[str, Any] = {"website": "shop", "environment": "live", "cloud": "azure", "location": "westeurope"}
SUBSCRIPTION = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"


def problems(raw: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as error:
        StorageSpec.from_dict(raw)
    return [(p.field, p.allowed) for p in error.value.problems]


def test_defaults_change_nothing() -> None:
    spec = StorageSpec.from_dict({**AWS, "credentials": "iam-user"})
    assert (spec.adopt, spec.public_prefixes, spec.access_keys, spec.active_access_key) == (False, (), ("a",), "a")
    assert StorageSpec.from_dict(AZURE).active_account_key == "key1"
    assert "adopt" not in spec.to_dict() and "accessKeys" not in spec.to_dict()


def test_adopt_needs_the_existing_names() -> None:
    found = problems({**AWS, "adopt": True, "privateStorage": True})
    assert [f for f, _ in found] == ["bucketName", "privateBucketName"]
    assert all("adopt: true takes over the existing" in why for _, why in found)
    found = problems({**AZURE, "adopt": True})
    assert [f for f, _ in found] == ["storageAccountName", "resourceGroupName", "subscriptionId"]
    spec = StorageSpec.from_dict(
        {
            **AZURE,
            "adopt": "true",
            "storageAccountName": "shopmedia1",
            "resourceGroupName": "rg",
            "subscriptionId": SUBSCRIPTION,
        }
    )
    assert spec.adopt and spec.subscription_id == SUBSCRIPTION


@pytest.mark.parametrize(
    ("raw", "field", "why"),
    [
        ({**AZURE, "subscriptionId": SUBSCRIPTION}, "subscriptionId", "only applies with adopt: true"),
        ({**AZURE, "subscriptionId": "not-a-guid"}, "subscriptionId", "expected an Azure subscription id"),
        ({**AZURE, "containerName": "Media"}, "containerName", "expected 3-63 lowercase"),
        ({**AZURE, "privateContainerName": "uploads"}, "privateContainerName", "privateStorage is false"),
        (
            {**AZURE, "privateStorage": True, "privateContainerName": "public-media"},
            "privateContainerName",
            "must differ",
        ),
        ({**AWS, "publicPrefixes": ["media/*"]}, "publicPrefixes", "no wildcards"),
        ({**AWS, "publicPrefixes": ["/media/"]}, "publicPrefixes", "not starting with /"),
        ({**AWS, "publicPrefixes": []}, "publicPrefixes", "expected 1-20 different key prefixes"),
        ({**AWS, "publicPrefixes": ["a/", "a/"]}, "publicPrefixes", "expected 1-20 different key prefixes"),
        (
            {**AWS, "publicStorage": False, "privateStorage": True, "publicPrefixes": ["a/"]},
            "publicPrefixes",
            "publicStorage is false",
        ),
        (
            {**AWS, "cloud": "exoscale", "region": "ch-gva-2", "publicPrefixes": ["a/"]},
            "publicPrefixes",
            "exoscale has no bucket policies",
        ),
        ({**AWS, "accessKeys": ["a", "b"]}, "accessKeys", "only applies with credentials: iam-user"),
        ({**AWS, "credentials": "iam-user", "accessKeys": ["a", "c"]}, "accessKeys", "one or both of the key slots"),
        ({**AWS, "credentials": "iam-user", "accessKeys": []}, "accessKeys", "one or both of the key slots"),
        ({**AWS, "credentials": "iam-user", "activeAccessKey": "b"}, "activeAccessKey", "does not list (it lists a)"),
        ({**AWS, "credentials": "iam-user", "activeAccessKey": "z"}, "activeAccessKey", "expected a or b"),
        ({**AZURE, "credentials": "none", "activeAccountKey": "key2"}, "activeAccountKey", "account-key or sas"),
        ({**AZURE, "activeAccountKey": "key3"}, "activeAccountKey", "expected key1 or key2"),
        ({**AWS, "activeAccountKey": "key2"}, "activeAccountKey", "only applies to cloud azure"),
    ],
)
def test_refused(raw: dict[str, Any], field: str, why: str) -> None:
    found = problems(raw)
    assert any(f == field and why in allowed for f, allowed in found), found


def test_key_slots() -> None:
    base = {**AWS, "credentials": "iam-user"}
    assert StorageSpec.from_dict({**base, "accessKeys": ["b", "a"]}).access_keys == ("a", "b")
    assert StorageSpec.from_dict({**base, "accessKeys": "a,b", "activeAccessKey": "b"}).active_access_key == "b"
    # The only slot is the active one.
    assert StorageSpec.from_dict({**base, "accessKeys": ["b"]}).active_access_key == "b"


def test_migration_order_puts_the_policy_first_and_ownership_before_the_access_block() -> None:
    order = adoption.configuration_order(adopt=True)
    assert order.index("policy") < order.index("acl") < order.index("ownership") < order.index("public-access")
    assert adoption.configuration_order(adopt=False) == adoption.SECURE_ORDER
    assert set(adoption.SECURE_ORDER) | {"acl"} == set(adoption.ADOPT_ORDER)
    # What must match the live resource is never ignored.
    assert not {"accountName", "resourceGroupName", "location", "kind", "sku"} & set(
        adoption.ACCOUNT_IGNORED_WHILE_ADOPTING
    )


def test_import_ids() -> None:
    assert adoption.bucket_import_id("legacy-media") == "legacy-media"
    account = adoption.storage_account_import_id(SUBSCRIPTION, "rg", "acct")
    assert (
        account == f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct"
    )
    assert (
        adoption.container_import_id(SUBSCRIPTION, "rg", "acct", "media")
        == f"{account}/blobServices/default/containers/media"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-04-01", dt.datetime(2026, 4, 1, tzinfo=dt.UTC)),
        ("2026-04-01T10:30Z", dt.datetime(2026, 4, 1, 10, 30, tzinfo=dt.UTC)),
        ("2026-04-01T10:30:15Z", dt.datetime(2026, 4, 1, 10, 30, 15, tzinfo=dt.UTC)),
        ("2026-04-01T10:30:15.1234567Z", dt.datetime(2026, 4, 1, 10, 30, 15, tzinfo=dt.UTC)),
        ("2026-02-30", None),
        ("tomorrow", None),
        ("2026-04-01T10:30:15", None),
    ],
)
def test_sas_times(text: str, expected: dt.datetime | None) -> None:
    assert sas.parse_time(text) == expected


def test_token_expiry_and_assessment() -> None:
    token = "sv=2022-11-02&sr=c&sp=r&st=2026-01-01T00%3A00%3A00Z&se=2026-04-01T00%3A00%3A00Z&sig=abc"
    expires = sas.token_expiry(token)
    assert expires == dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    assert sas.token_expiry("sv=2022-11-02&sig=abc") is None
    assert sas.token_expiry("se=2026-01-01&se=2027-01-01") is None
    now = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    state = sas.assess(expires, now=now)
    assert (state.days_left, state.expired, state.warn) == (30, False, False)
    assert sas.assess(expires, now=now + dt.timedelta(hours=13)).warn is True  # 29 days and 23 hours left
    late = sas.assess(expires, now=dt.datetime(2026, 4, 3, 1, tzinfo=dt.UTC))
    assert (late.expired, late.warn, late.days_left) == (True, False, -2)
    assert late.sentence() == "the SAS expired on 2026-04-01 00:00 UTC (2 days ago)"
    assert sas.assess(expires, now=expires).expired is True
