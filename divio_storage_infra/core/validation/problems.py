"""Reading raw config values while collecting every problem instead of stopping at the first.

Types, defaults and bounds come from the table of config keys (:mod:`divio_storage_infra.core.configkeys`); every
value read is kept in :attr:`Collector.values`, from which the spec is built.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

from divio_storage_infra.core.clouds import CloudCapabilities
from divio_storage_infra.core.configkeys import BY_NAME, ConfigKey
from divio_storage_infra.core.errors import MISSING, Problem, has_control_characters

_T = TypeVar("_T")
_NUMBER_RE = re.compile(r"-?[0-9]{1,18}")  # ASCII digits, and short: int() of 5,000 digits is an error
_CONTROL = "expected text without control characters (NUL, newline, ...) or unpaired surrogates"


class Collector:
    """Reads raw values, collecting every problem instead of stopping at the first."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.problems: list[Problem] = []
        self.values: dict[str, Any] = {}
        """Every key read so far, by name: its value, or its default (also where the value was refused)."""
        self.caps: CloudCapabilities | None = None
        """The cloud's table once the cloud is known: the defaults that vary by cloud come from it."""

    def default(self, key: str) -> Any:
        """The table's default of ``key`` on this cloud (None for a key without a default or not in the table)."""
        row = BY_NAME.get(key)
        return None if row is None else row.default_for(self.caps)

    def keep(self, key: str, value: _T) -> _T:
        """Record ``value`` as what the spec holds for ``key`` (after normalising or cross-field checks)."""
        self.values[key] = value
        return value

    def missing(self, key: str, allowed: str) -> None:
        """Record that the required ``key`` is not set; ``allowed`` says what to set it to."""
        self.problems.append(Problem(key, MISSING, allowed))

    def bad(self, key: str, value: object, allowed: str) -> None:
        """Record that ``key`` has ``value``, and what is allowed instead."""
        self.problems.append(Problem(key, value, allowed))

    def given(self, key: str) -> bool:
        """True when the raw mapping sets ``key`` explicitly."""
        return key in self.raw

    def string(self, key: str) -> str | None:
        """A string value, or the table's default (absent, or not a string: then a problem is recorded)."""
        table_default = self.default(key)
        default = table_default if isinstance(table_default, str) else None
        return self.keep(key, self._string(key, default))

    def _string(self, key: str, default: str | None) -> str | None:
        value = self.raw.get(key, default)
        if value is None:
            return value
        if isinstance(value, str):
            if has_control_characters(value):
                self.bad(key, value, _CONTROL)
                return default
            return value
        self.bad(key, value, "expected a string")
        return default

    def boolean(self, key: str) -> bool:
        """A boolean (``true`` / ``false`` strings too), or the table's default."""
        default = bool(self.default(key))
        value = self.raw.get(key, default)
        if isinstance(value, bool):
            return self.keep(key, value)
        # Pulumi config stores plain values as strings.
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return self.keep(key, value.lower() == "true")
        self.bad(key, value, "expected true or false")
        return self.keep(key, default)

    def integer(self, key: str) -> int:
        """A whole number within the table's bounds (numeric strings too), or the table's default."""
        row = BY_NAME[key]
        default = row.default_for(self.caps)
        if not isinstance(default, int) or row.low is None or row.high is None:
            raise TypeError(f"config key {key!r} is not an integer key with bounds in the table")
        return self.keep(key, self._integer(key, default, row.low, row.high, row.unit))

    def _integer(self, key: str, default: int, low: int, high: int, unit: str) -> int:
        value = self.raw.get(key, default)
        number: int | None = None
        if isinstance(value, bool):
            number = None
        elif isinstance(value, int):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str) and _NUMBER_RE.fullmatch(value.strip()):
            number = int(value.strip())  # Pulumi config stores numbers as strings
        if number is None or not low <= number <= high:
            self.bad(key, value, f"expected a whole number of {unit} from {low} to {high}")
            return default
        return number

    def string_list(self, key: str) -> tuple[str, ...]:
        """A list of strings (a comma-separated string too), or ``()``; the caller keeps what the spec holds."""
        value = self.raw.get(key, [])
        if isinstance(value, str):
            # `pulumi config set` without --path gives a string; accept JSON-free comma lists too.
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            self.bad(key, value, "expected a list of strings")
            return ()
        if any(has_control_characters(v) for v in value):
            self.bad(key, next(v for v in value if has_control_characters(v)), _CONTROL)
            return ()
        return tuple(value)

    def read(self, row: ConfigKey) -> Any:
        """Read a key no cross-field check reads, by its type in the table; allowed values are checked here."""
        if row.type == "boolean":
            return self.boolean(row.name)
        if row.type == "integer":
            return self.integer(row.name)
        if row.type == "string-list":
            items = self.string_list(row.name) if self.given(row.name) else self.default(row.name)
            if row.values and any(item not in row.values for item in items):
                self.bad(row.name, self.raw[row.name], f"expected items from {', '.join(row.values)}")
                items = self.default(row.name)
            return self.keep(row.name, tuple(items))
        if row.type == "string-map":
            return self.keep(row.name, self._string_map(row.name))
        value = self.string(row.name)
        if value is not None and row.values and value not in row.values:
            self.bad(row.name, value, f"expected one of {', '.join(row.values)}")
            return self.keep(row.name, self.default(row.name))
        return value

    def _string_map(self, key: str) -> tuple[tuple[str, str], ...]:
        value = self.raw.get(key, {})
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and not has_control_characters(k + v) for k, v in value.items()
        ):
            self.bad(key, value, "expected a mapping of names to strings")
            return ()
        return tuple(sorted(value.items()))
