"""Physical names: every valid spec yields valid, stable names, and distinct websites never share one.

S3 bucket names and Azure storage account names are globally unique and part of the resource identity: a name
that changes between runs would replace live storage, and two websites with one name would collide at creation.
"""

from __future__ import annotations

import random
import re
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from divio_storage_infra.core import naming
from divio_storage_infra.core.errors import SpecError
from divio_storage_infra.core.rules import check_account_name, check_bucket_name
from divio_storage_infra.core.spec import ENVIRONMENT_MAX, WEBSITE_MAX, StorageSpec

_ALNUM = string.ascii_lowercase + string.digits
_RESOURCE_GROUP_RE = re.compile(r"^[-\w._()]{0,89}[-\w_()]$")


def _slugs(max_size: int) -> st.SearchStrategy[str]:
    """Valid slugs: lowercase alphanumeric runs joined by single hyphens, up to ``max_size`` characters."""
    runs = st.lists(st.text(alphabet=_ALNUM, min_size=1, max_size=max_size), min_size=1, max_size=6)
    # Cutting a long slug may leave a trailing hyphen; strip it so the slug stays valid.
    return runs.map(lambda parts: "-".join(parts)[:max_size].rstrip("-"))


websites = _slugs(WEBSITE_MAX)
environments = _slugs(ENVIRONMENT_MAX)


def azure_spec(website: str, environment: str, **extra: Any) -> StorageSpec:
    """A valid Azure spec for one website and environment."""
    return StorageSpec.from_dict(
        {"website": website, "environment": environment, "cloud": "azure", "location": "switzerlandnorth", **extra}
    )


def aws_spec(website: str, environment: str, **extra: Any) -> StorageSpec:
    """A valid AWS spec for one website and environment."""
    return StorageSpec.from_dict({"website": website, "environment": environment, "region": "eu-central-1", **extra})


@settings(max_examples=300, deadline=None)
@given(website=websites, environment=environments)
def test_every_valid_spec_gives_valid_stable_account_and_group_names(website: str, environment: str) -> None:
    spec = azure_spec(website, environment)
    name = naming.storage_account_name(spec)
    assert check_account_name(name) is None, name
    assert 3 <= len(name) <= 24
    # Stable: a spec built again from the same config gives the same name (no randomness, no clock).
    assert naming.storage_account_name(azure_spec(website, environment)) == name
    # The hash is the tail, never cut; the readable head is the letters and digits of website + environment.
    assert name.endswith(naming.short_hash("azure", website, environment))
    head = name[: -naming.HASH_LENGTH]
    assert (website + environment).replace("-", "").startswith(head)

    group = naming.resource_group_name(spec)
    assert _RESOURCE_GROUP_RE.match(group), group
    assert naming.resource_group_name(azure_spec(website, environment)) == group


@settings(max_examples=300, deadline=None)
@given(website=websites, environment=environments)
def test_every_valid_spec_gives_valid_stable_distinct_bucket_names(website: str, environment: str) -> None:
    spec = aws_spec(website, environment)
    public = naming.public_bucket_name(spec)
    private = naming.private_bucket_name(spec)
    for name in (public, private):
        assert check_bucket_name(name) is None, name
        assert 3 <= len(name) <= 63
    assert public != private
    again = aws_spec(website, environment)
    assert (naming.public_bucket_name(again), naming.private_bucket_name(again)) == (public, private)
    assert public.endswith(naming.short_hash(website, environment, "media"))
    assert private.endswith(naming.short_hash(website, environment, "private"))


def test_longest_slugs_still_give_valid_names() -> None:
    website = "a" * (WEBSITE_MAX - 2) + "-b"
    environment = "e" * ENVIRONMENT_MAX
    account = naming.storage_account_name(azure_spec(website, environment))
    assert check_account_name(account) is None
    assert len(account) == 24
    spec = aws_spec(website, environment)
    for name in (naming.public_bucket_name(spec), naming.private_bucket_name(spec)):
        assert check_bucket_name(name) is None
        assert len(name) <= 63


def test_names_are_pinned() -> None:
    """The naming scheme is a contract: changing it would rename (replace) every deployed account and bucket."""
    assert naming.storage_account_name(azure_spec("example", "live")) == "examplelive64t9mmb4"
    assert naming.resource_group_name(azure_spec("example", "live")) == "example-live-media"
    spec = aws_spec("example", "live")
    assert naming.public_bucket_name(spec) == "example-live-media-6joctd7v"
    assert naming.private_bucket_name(spec) == "example-live-private-3t7o9q9u"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # Same readable part once hyphens are dropped (account names have no hyphens).
        (("my-site", "live"), ("mysite", "live")),
        # The website/environment boundary moves, the concatenation stays.
        (("ab", "cd"), ("abc", "d")),
        # Long slugs that share everything the readable part has room for.
        (("a" * 58 + "-xyz", "live"), ("a" * 58 + "-xyw", "live")),
        # Same website, different environment.
        (("example", "live"), ("example", "stage")),
    ],
)
def test_near_identical_websites_get_different_names(first: tuple[str, str], second: tuple[str, str]) -> None:
    assert naming.storage_account_name(azure_spec(*first)) != naming.storage_account_name(azure_spec(*second))
    a, b = aws_spec(*first), aws_spec(*second)
    assert naming.public_bucket_name(a) != naming.public_bucket_name(b)
    assert naming.private_bucket_name(a) != naming.private_bucket_name(b)


def _sample_pairs(count: int, seed: int) -> list[tuple[str, str]]:
    """``count`` distinct (website, environment) pairs, many long and many alike, from a seeded generator."""
    rng = random.Random(seed)
    environments = ["live", "stage", "test", "dev", "preview-1", "preview-2", "qa"]
    prefixes = ["shop", "blog", "my-site", "a" * 40, "the-quite-long-website-name-of-a-customer"]
    pairs: set[tuple[str, str]] = set()
    while len(pairs) < count:
        prefix = rng.choice(prefixes)
        tail = "".join(rng.choices(_ALNUM, k=rng.randint(1, 20)))
        website = f"{prefix}-{tail}"[:WEBSITE_MAX].rstrip("-")
        pairs.add((website, rng.choice(environments)))
    return sorted(pairs)


def test_large_sample_of_distinct_websites_has_no_name_collisions() -> None:
    pairs = _sample_pairs(20_000, seed=20240601)
    accounts = {naming.storage_account_name(azure_spec(w, e)) for w, e in pairs}
    assert len(accounts) == len(pairs)
    buckets: set[str] = set()
    for website, environment in pairs:
        spec = aws_spec(website, environment)
        buckets.add(naming.public_bucket_name(spec))
        buckets.add(naming.private_bucket_name(spec))
    assert len(buckets) == 2 * len(pairs)


def test_explicit_names_are_used_as_given_and_validated() -> None:
    assert naming.storage_account_name(azure_spec("example", "live", storageAccountName="mediaacct01")) == (
        "mediaacct01"
    )
    assert naming.resource_group_name(azure_spec("example", "live", resourceGroupName="rg-shared")) == "rg-shared"
    spec = aws_spec("example", "live", bucketName="my.media.bucket", privateStorage=True, privateBucketName="my-priv")
    assert naming.public_bucket_name(spec) == "my.media.bucket"
    assert naming.private_bucket_name(spec) == "my-priv"
    with pytest.raises(SpecError) as info:
        azure_spec("example", "live", storageAccountName="Media-Account")
    assert info.value.problems[0].field == "storageAccountName"
    with pytest.raises(SpecError) as info:
        aws_spec("example", "live", bucketName="Bad..Name")
    assert info.value.problems[0].field == "bucketName"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # The website/environment boundary moves inside a hyphenated concatenation.
        (("shop-eu", "live"), ("shop", "eu-live")),
        # Long slugs that agree on the first 64 characters of the readable IAM user name.
        (("a" * 58 + "-bcd", "live"), ("a" * 58 + "-bcd", "lxve")),
    ],
)
def test_iam_users_groups_and_logical_names_never_shared(first: tuple[str, str], second: tuple[str, str]) -> None:
    a, b = aws_spec(*first), aws_spec(*second)
    assert naming.iam_user_name(a) != naming.iam_user_name(b)
    assert naming.logical_name(a) != naming.logical_name(b)
    assert naming.resource_group_name(azure_spec(*first)) != naming.resource_group_name(azure_spec(*second))
    for spec in (a, b):
        assert len(naming.iam_user_name(spec)) <= 64


def test_names_of_existing_stacks_are_kept_where_unambiguous() -> None:
    """Without a hyphen in the environment, logical, IAM user and group names are what deployed stacks have."""
    spec = aws_spec("shop-eu", "live")
    assert (naming.logical_name(spec), naming.iam_user_name(spec)) == ("shop-eu-live", "shop-eu-live-media")
    assert naming.resource_group_name(azure_spec("shop-eu", "live")) == "shop-eu-live-media"
    hyphenated = aws_spec("shop", "eu-live")
    assert naming.logical_name(hyphenated) == "shop--eu-live"
    assert naming.legacy_logical_name(hyphenated) == "shop-eu-live"
    assert naming.iam_user_name(hyphenated) == "shop-eu-live-media-" + naming.short_hash("media", "shop", "eu-live")
