"""Keys under a namespace one typo away from ``divio-storage:`` are named, with the key they were meant as."""

from __future__ import annotations

import pytest

from divio_storage_infra.core.errors import NOT_SHOWN
from divio_storage_infra.core.validation.namespaces import near_miss_keys


@pytest.mark.parametrize(
    "namespace", ["divio_storage", "divio-storge", "Divio-Storage", "divio.storage", "dvio-storage"]
)
def test_a_near_miss_namespace_is_named_with_the_key_meant(namespace: str) -> None:
    problems = near_miss_keys(
        {f"{namespace}:website": "shop", f"{namespace}:secretAccessKey": "s3cr3t"}, "divio-storage"
    )
    assert [p.field for p in problems] == [f"{namespace}:secretAccessKey", f"{namespace}:website"]
    assert problems[1].allowed.endswith("did you mean 'divio-storage:website'?")
    assert all(p.value is NOT_SHOWN for p in problems)  # the value may be a secret put under the wrong name


def test_other_namespaces_and_the_right_one_pass() -> None:
    keys = [
        "divio-storage:website",
        "aws:region",
        "azure-native:location",
        "divio-storage-platform:s3Credentials",
        "plain",
    ]
    assert near_miss_keys(keys, "divio-storage") == []
