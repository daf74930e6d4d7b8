"""Durability rules in the pure core: the lifecycle rules a bucket gets, log prefixes, versioning defaults."""

from __future__ import annotations

import itertools

import pytest

from divio_storage_infra.core.clouds import S3_PROVIDERS
from divio_storage_infra.core.validation.durability import (
    LifecycleRule,
    access_log_prefix,
    lifecycle_rules,
    versioning_default,
    versioning_off_why,
)


@pytest.mark.parametrize("versioning", [False, True])
def test_lifecycle_rules_abort_uploads_always_and_expire_versions_only_with_versioning(versioning: bool) -> None:
    rules = lifecycle_rules(versioning=versioning, noncurrent_days=12, abort_days=3)
    expected = [LifecycleRule(id="abort-incomplete-multipart-uploads", abort_incomplete_multipart_upload_days=3)]
    if versioning:
        expected += [
            LifecycleRule(id="expire-noncurrent-versions", noncurrent_version_expiration_days=12),
            LifecycleRule(id="remove-expired-delete-markers", expired_object_delete_marker=True),
        ]
    assert rules == expected
    # S3 requires unique rule ids within the one configuration of a bucket.
    assert len({rule.id for rule in rules}) == len(rules)


def test_access_log_prefixes_never_overlap() -> None:
    stores = list(itertools.product(("shop", "shop-live", "a"), ("live", "stage", "live-2"), ("media", "private")))
    prefixes = [access_log_prefix(*store) for store in stores]
    assert access_log_prefix("shop", "live", "private") == "shop/live/private/"
    # No prefix is another's prefix, so no store's logs are listed under another store's.
    for one, other in itertools.permutations(prefixes, 2):
        assert not other.startswith(one), (one, other)


def test_versioning_defaults_follow_the_capability_table() -> None:
    assert {cloud: versioning_default(cloud) for cloud in (*S3_PROVIDERS, "azure")} == {
        "aws": True,
        "exoscale": False,
        "s3-compatible": True,
        "azure": False,
    }
    assert versioning_off_why("aws") is None
    assert "no lifecycle rules" in str(versioning_off_why("exoscale"))
    assert "soft delete" in str(versioning_off_why("azure"))
