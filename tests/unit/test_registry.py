"""The platform registry: every error class, all errors in one report, names injective over large registries."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from divio_storage_infra.core import naming
from divio_storage_infra.core.registry import EntryProblem, RegistryError, validate_registry
from divio_storage_infra.core.spec import ENVIRONMENT_MAX, WEBSITE_MAX

AWS = {"region": "eu-central-1"}
AZURE = {"cloud": "azure", "location": "switzerlandnorth"}
EXO = {"cloud": "exoscale", "region": "ch-gva-2", "credentials": "static"}


def problems_of(raw: Any, **kwargs: Any) -> list[EntryProblem]:
    with pytest.raises(RegistryError) as raised:
        validate_registry(raw, **kwargs)
    problems = raised.value.problems
    assert all(isinstance(p, EntryProblem) for p in problems)
    return problems  # type: ignore[return-value]


def one(problems: list[EntryProblem], field: str) -> EntryProblem:
    found = [p for p in problems if p.field == field]
    assert len(found) == 1, [str(p) for p in problems]
    return found[0]


def test_defaults_apply_entries_override_and_tags_merge() -> None:
    registry = validate_registry(
        {
            "defaults": {**AWS, "versioning": True, "tags": {"team": "web", "tier": "gold"}},
            "websites": [
                {"website": "shop", "environment": "live"},
                {"website": "shop", "environment": "stage", "versioning": False, "tags": {"tier": "silver"}},
                {"website": "portal", "environment": "live", **AZURE, "region": None, "versioning": None},
            ],
        }
    )
    live, stage, portal = (e.spec for e in registry.entries)
    assert (live.versioning, dict(live.tags)) == (True, {"team": "web", "tier": "gold"})
    assert (stage.versioning, dict(stage.tags)) == (False, {"team": "web", "tier": "silver"})
    # `key: null` drops a default that does not apply to the entry's cloud.
    assert (portal.cloud, portal.region, portal.versioning) == ("azure", None, False)
    assert [e.position for e in registry.entries] == [0, 1, 2]


def test_every_error_class_is_reported_at_once_each_naming_its_entry() -> None:
    legacy = {"website": "old", "environment": "live", **AWS}
    problems = problems_of(
        {
            "defaults": {**AWS, "bogus": 1, "website": "x"},
            "websites": [
                {"website": "shop", "environment": "live"},
                {"website": "shop", "environment": "live"},  # duplicate pair
                {"website": "Shop", "environment": "live", "regoin": "x"},  # invalid value, unknown key
                {"website": "a", "environment": "live", "bucketName": naming.public_bucket_name(_spec("shop", "live"))},
                {"website": "b", "environment": "live", **AZURE, "region": None, "storageAccountName": "acct01"},
                {"website": "c", "environment": "live", **AZURE, "region": None, "storageAccountName": "acct01"},
                {"website": "d", "environment": "live", **AZURE, "region": None, "resourceGroupName": "rg-x"},
                {"website": "e", "environment": "live", **AZURE, "region": None},
                {"website": "x", "environment": "live", **EXO, "credentials": "iam-user"},  # cloud cannot use it
                {"website": "y", "environment": "live", **EXO},  # no credentialsKey
                {"website": "z", "environment": "live", **EXO, "credentialsKey": "nope"},
                {"website": "w", "environment": "live", "credentialsKey": "exo-main"},  # not static
                {"website": "v", "environment": "live", **EXO, "credentialsKey": "exo-main", "secretAccessKey": "s"},
                "not a mapping",
                legacy,
            ],
            "extra": True,
        },
        source="websites.yaml",
        credentials_keys=["exo-main"],
    )
    assert one(problems, "extra").entry == "registry"
    assert one(problems, "bogus").entry == "defaults"
    assert [p.entry for p in problems if p.field == "website"] == ["defaults", "websites[2] (Shop/live)"]
    dup = one(problems, "website/environment")
    assert (dup.position, dup.website, dup.environment, dup.value) == (1, "shop", "live", "shop/live")
    assert "websites[0] (shop/live)" in dup.allowed
    assert one(problems, "regoin").position == 2
    bad_slug = [p for p in problems if p.position == 2 and p.field == "website"]
    assert bad_slug and "lowercase" in bad_slug[0].allowed
    bucket = one(problems, "bucketName")
    assert (bucket.position, bucket.website) == (3, "a")
    assert "websites[0] (shop/live)" in bucket.allowed and "bucketName (generated)" in bucket.allowed
    account = one(problems, "storageAccountName")
    assert (account.position, account.value) == (5, "acct01")
    assert "websites[4] (b/live)" in account.allowed
    # d uses an existing group, e creates its own under another name: no clash.
    assert not [p for p in problems if p.field.startswith("resourceGroupName")]
    creds = one(problems, "credentials")
    assert (creds.position, creds.value) == (8, "iam-user")
    assert "Exoscale" in creds.allowed
    keys = [p for p in problems if p.field == "credentialsKey"]
    assert [(p.position, p.value) for p in keys] == [(9, None), (10, "nope"), (11, "exo-main")]
    assert "has: exo-main" in keys[1].allowed
    secret = one(problems, "secretAccessKey")
    assert (secret.position, secret.value) == (12, "[not shown]")
    assert one(problems, "(entry)").position == 13
    # Everything in one message, each line naming its entry, no secret value.
    message = str(RegistryError(list(problems), context="websites.yaml"))
    assert message.startswith(f"invalid website registry websites.yaml: {len(problems)} problems\n")
    assert "  - websites[10] (z/live): credentialsKey: 'nope' is not allowed" in message
    assert "'s'" not in message


def _spec(website: str, environment: str, **extra: Any) -> Any:
    from divio_storage_infra.core.spec import StorageSpec

    return StorageSpec.from_dict({"website": website, "environment": environment, **(extra or AWS)})


def test_created_resource_group_cannot_be_another_entrys_existing_group() -> None:
    created = naming.resource_group_name(_spec("e", "live", **AZURE))
    problems = problems_of(
        {
            "defaults": AZURE,
            "websites": [
                {"website": "e", "environment": "live"},
                {"website": "f", "environment": "live", "resourceGroupName": created},
                {"website": "g", "environment": "live", "resourceGroupName": created},
            ],
        }
    )
    # f and g share an existing group (allowed); both clash with the group e creates and would delete.
    assert [(p.position, p.field) for p in problems] == [(1, "resourceGroupName"), (2, "resourceGroupName")]
    assert all("websites[0] (e/live) uses it too as its resourceGroupName (generated)" in p.allowed for p in problems)


def test_iam_user_collisions_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    # The old scheme cut IAM user names at 64 characters without a hash; the check must catch what it allowed.
    monkeypatch.setattr(naming, "iam_user_name", lambda spec: f"{spec.website}-{spec.environment}-media"[:64])
    long = "a" * 58 + "-bcd"  # 62 characters: two environments starting with "l" share the first 64
    problems = problems_of(
        {
            "defaults": {**AWS, "credentials": "iam-user"},
            "websites": [
                {"website": long, "environment": "live"},
                {"website": long, "environment": "lxve"},
            ],
        }
    )
    assert [(p.position, p.field) for p in problems] == [(1, "(IAM user)")]


def test_logical_name_collisions_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    # Under the legacy `<website>-<environment>` scheme shop-eu/live and shop/eu-live shared one logical name.
    monkeypatch.setattr(naming, "logical_name", naming.legacy_logical_name)
    problems = problems_of(
        {
            "defaults": AWS,
            "websites": [{"website": "shop-eu", "environment": "live"}, {"website": "shop", "environment": "eu-live"}],
        }
    )
    clash = one(problems, "(logical name)")
    assert (clash.position, clash.value) == (1, "shop-eu-live")


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ([], "(registry)"),
        ({"websites": []}, "websites"),
        ({"defaults": [1], "websites": [{"website": "a", "environment": "b", **AWS}]}, "defaults"),
        (
            {"defaults": {"accessKeyId": "AKIA"}, "websites": [{"website": "a", "environment": "b", **AWS}]},
            "accessKeyId",
        ),
    ],
)
def test_shape_errors(raw: Any, field: str) -> None:
    problems = problems_of(raw)
    assert field in [p.field for p in problems]
    assert "AKIA" not in str(RegistryError(list(problems)))


# --- injectivity: no two website/environment pairs share any name ------------------------------------------------

_ALNUM = string.ascii_lowercase + string.digits


def _slugs(max_size: int) -> st.SearchStrategy[str]:
    """Valid slugs, many long and hyphen-heavy: runs of 1-3 characters joined by single hyphens."""
    runs = st.lists(st.text(alphabet="ab1", min_size=1, max_size=3), min_size=1, max_size=max_size)
    return runs.map(lambda parts: "-".join(parts)[:max_size].strip("-")).filter(bool)


_pairs = st.lists(st.tuples(_slugs(WEBSITE_MAX), _slugs(ENVIRONMENT_MAX)), min_size=2, max_size=120, unique=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=_pairs, cloud=st.sampled_from(["aws", "azure"]))
def test_large_generated_registries_validate_with_distinct_names(pairs: list[tuple[str, str]], cloud: str) -> None:
    extra = {**AWS, "credentials": "iam-user", "privateStorage": True} if cloud == "aws" else AZURE
    registry = validate_registry({"defaults": extra, "websites": [{"website": w, "environment": e} for w, e in pairs]})
    specs = [entry.spec for entry in registry.entries]
    names: dict[str, list[str]] = {
        "logical": [naming.logical_name(s) for s in specs],
        "iam": [naming.iam_user_name(s) for s in specs],
        "group": [naming.resource_group_name(s) for s in specs],
    }
    if cloud == "aws":
        names["buckets"] = [naming.bucket_name(s, role) for s in specs for role in ("media", "private")]
    else:
        names["accounts"] = [naming.storage_account_name(s) for s in specs]
    for kind, values in names.items():
        assert len(set(values)) == len(values), kind
    for spec in specs:
        assert len(naming.iam_user_name(spec)) <= 64
        assert len(naming.resource_group_name(spec)) <= 90


@settings(max_examples=300, deadline=None)
@given(
    a=st.tuples(_slugs(WEBSITE_MAX), _slugs(ENVIRONMENT_MAX)), b=st.tuples(_slugs(WEBSITE_MAX), _slugs(ENVIRONMENT_MAX))
)
def test_logical_names_split_back_into_their_pair(a: tuple[str, str], b: tuple[str, str]) -> None:
    """The readable names are injective by construction, not only by hash: equal names mean equal pairs."""
    sa, sb = _spec(*a), _spec(*b)
    if a != b:
        assert naming.logical_name(sa) != naming.logical_name(sb)
    # Every name whose readable form is kept splits back unambiguously.
    name = naming.logical_name(sa)
    website, _, environment = name.partition("--") if "--" in name else name.rpartition("-")
    assert (website, environment) == a
