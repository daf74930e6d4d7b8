"""The table of config keys: rows refuse to exist incomplete, and the spec is exactly the table."""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any

import pytest

from divio_storage_infra.core import configkeys
from divio_storage_infra.core.clouds import CLOUDS
from divio_storage_infra.core.configkeys import KEYS, SPEC_KEYS, ConfigKey, _index, key
from divio_storage_infra.core.errors import SpecError
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.core.validation.problems import Collector

MINIMAL: dict[str, dict[str, Any]] = {
    "aws": {"region": "eu-central-1"},
    "exoscale": {"region": "ch-gva-2"},
    "s3-compatible": {"region": "us-east-1", "endpoint": "objects.example.net"},
    "azure": {"location": "switzerlandnorth"},
}


@pytest.mark.parametrize("description", ["", "   ", "two\nlines"])
def test_a_key_added_without_a_description_fails(description: str) -> None:
    with pytest.raises(ValueError, match="'backupRetentionDays': a one-line description is required"):
        ConfigKey("backupRetentionDays", "integer", description, default=30, low=1, high=3650, unit="days")


def test_a_row_with_a_bad_name_bounds_or_default_fails() -> None:
    with pytest.raises(ValueError, match="camelCase"):
        ConfigKey("backup_region", "string", "Where backups live.")
    with pytest.raises(ValueError, match="needs low, high and unit"):
        ConfigKey("backupDays", "integer", "Days.", default=3)
    with pytest.raises(ValueError, match="above 10"):
        ConfigKey("backupDays", "integer", "Days.", default=30, low=1, high=10, unit="days")
    with pytest.raises(ValueError, match="not one of its values"):
        ConfigKey("backupTier", "string", "Tier.", default="cold", values=("hot", "cool"))


def test_a_key_in_the_table_twice_fails() -> None:
    with pytest.raises(ValueError, match="'website' is in the table twice"):
        _index((*KEYS, key("website")))


def test_the_spec_holds_exactly_the_spec_keys_of_the_table() -> None:
    spec_fields = [f.name for f in fields(StorageSpec) if f.name != "given"]
    assert spec_fields == [row.field for row in SPEC_KEYS]
    # No field has a default of its own: the table's is the only one.
    assert all(f.default is MISSING for f in fields(StorageSpec) if f.name != "given")


@pytest.mark.parametrize("cloud", list(CLOUDS))
def test_every_default_comes_from_the_table(cloud: str) -> None:
    spec = StorageSpec.from_dict({"website": "shop", "environment": "live", "cloud": cloud, **MINIMAL[cloud]})
    for row in SPEC_KEYS:
        if row.name in ("website", "environment", "cloud", *MINIMAL[cloud]):
            continue
        expected = row.default_for(CLOUDS[cloud])
        assert getattr(spec, row.field) == expected, row.name


def test_a_row_without_cross_field_checks_is_read_by_its_type(monkeypatch: pytest.MonkeyPatch) -> None:
    # Adding a key is adding a row: the generic reader types, bounds and defaults it from the table alone.
    row = ConfigKey("backupRetentionDays", "integer", "Days backups are kept.", default=30, low=1, high=3650, unit="d")
    monkeypatch.setitem(configkeys.BY_NAME, row.name, row)
    c = Collector({"backupRetentionDays": "45"})
    assert c.read(row) == 45 and not c.problems
    c = Collector({"backupRetentionDays": 0})
    assert c.read(row) == 30
    assert [str(p) for p in c.problems] == [
        "backupRetentionDays: 0 is not allowed; expected a whole number of d from 1 to 3650"
    ]
    assert Collector({}).read(row) == 30


def test_allowed_values_of_a_plain_row_are_checked() -> None:
    with pytest.raises(SpecError, match="accountSku: 'Premium' is not allowed; expected one of Standard_LRS"):
        StorageSpec.from_dict(
            {"website": "a", "environment": "b", "cloud": "azure", **MINIMAL["azure"], "accountSku": "Premium"}
        )
    c = Collector({"activeAccountKey": "key3"})
    assert c.read(key("activeAccountKey")) == "key1"
    assert "expected one of key1, key2" in str(c.problems[0])
