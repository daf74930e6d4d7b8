"""Flattening plan values into comparable leaves, and rendering them without ever showing a secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from divio_storage_infra.review.plans import SECRET_TEXT

_LIST_KEYS = ("Sid", "id", "name")
"""Keys that identify an element of a list of objects (policy statements, CORS and lifecycle rules), so that
inserting one element does not show every later one as changed."""

MAX_VALUE_CHARS = 160
"""Longest rendered value in a diff line; longer ones are cut with an ellipsis."""


def parse_json_text(value: Any) -> Any:
    """The decoded JSON document in a string that holds one (policies, endpoints), else ``value`` unchanged."""
    if isinstance(value, str) and value[:1] in ("{", "[") and len(value) > 1:
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """Leaf paths of ``value`` (``a.b[Sid=X].c``) mapped to scalars or lists of scalars; JSON strings opened."""
    return dict(_walk(parse_json_text(value), path))


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        if not value:
            yield path, {}
        for key in sorted(value):
            yield from _walk(parse_json_text(value[key]), f"{path}.{key}" if path else str(key))
    elif isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value):
        labels = _labels(value)
        for index, item in enumerate(value):
            yield from _walk(parse_json_text(item), f"{path}[{labels.get(index, index)}]")
    else:
        yield path, value


def _labels(items: list[Any]) -> dict[int, str]:
    """Index -> ``key=value`` for the elements that carry a unique identifying key; the rest keep their index."""
    for key in _LIST_KEYS:
        values = [item.get(key) if isinstance(item, dict) else None for item in items]
        named = [v for v in values if isinstance(v, str) and v]
        if named:
            return {
                index: f"{key}={value}"
                for index, value in enumerate(values)
                if isinstance(value, str) and value and named.count(value) == 1
            }
    return {}


def is_secret(value: Any) -> bool:
    """Whether a leaf or document is (or contains) a masked secret, so that neither side of its change may be
    shown."""
    if isinstance(value, str):
        return SECRET_TEXT in value
    if isinstance(value, list):
        return any(is_secret(item) for item in value)
    if isinstance(value, dict):
        return any(is_secret(key) or is_secret(item) for key, item in value.items())
    return False


def is_document(value: Any) -> bool:
    """Whether a decoded value is a JSON document (an object, or a list holding objects or lists)."""
    if isinstance(value, dict):
        return True
    return isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value)


def differing_paths(old: Any, new: Any) -> list[str]:
    """The leaf paths whose values differ between two documents (either may be ABSENT), sorted."""
    before = flatten(old) if old is not ABSENT else {}
    after = flatten(new) if new is not ABSENT else {}
    return sorted(p for p in set(before) | set(after) if before.get(p, ABSENT) != after.get(p, ABSENT))


def render(value: Any) -> str:
    """A leaf as compact JSON, cut to MAX_VALUE_CHARS; ``(none)`` for an absent value."""
    if value is _ABSENT:
        return "(none)"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()
"""Marks a side of a change where the path does not exist."""
_ABSENT = ABSENT
