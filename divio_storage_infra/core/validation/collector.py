"""Reading raw config values while collecting every problem instead of stopping at the first."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from divio_storage_infra.core.errors import Problem, has_control_characters

_NUMBER_RE = re.compile(r"-?[0-9]{1,18}")  # ASCII digits, and short: int() of 5,000 digits is an error
_CONTROL = "expected text without control characters (NUL, newline, ...) or unpaired surrogates"


class Collector:
    """Reads raw values, collecting every problem instead of stopping at the first."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.problems: list[Problem] = []

    def bad(self, key: str, value: object, allowed: str) -> None:
        """Record that ``key`` has ``value``, and what is allowed instead."""
        self.problems.append(Problem(key, value, allowed))

    def given(self, key: str) -> bool:
        """True when the raw mapping sets ``key`` explicitly."""
        return key in self.raw

    def string(self, key: str, default: str | None = None) -> str | None:
        """A string value, or ``default`` (absent, or not a string: then a problem is recorded)."""
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

    def boolean(self, key: str, default: bool) -> bool:
        """A boolean (``true`` / ``false`` strings too), or ``default``."""
        value = self.raw.get(key, default)
        if isinstance(value, bool):
            return value
        # Pulumi config stores plain values as strings.
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        self.bad(key, value, "expected true or false")
        return default

    def integer(self, key: str, default: int, low: int, high: int, unit: str) -> int:
        """A whole number from ``low`` to ``high`` (numeric strings too), or ``default``; ``unit`` names it."""
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
        """A list of strings (a comma-separated string too), or ``()``."""
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
