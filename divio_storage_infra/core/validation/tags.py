"""``tags``: the user's own tags, added to the platform's website / environment / managed-by tags."""

from __future__ import annotations

import re
from collections.abc import Mapping

from divio_storage_infra.core.validation.problems import Collector

_TAG_KEY_RE = re.compile(r"^[\w .:/=+\-@]{1,128}$")
_TAG_VALUE_RE = re.compile(r"^[\w .:/=+\-@]{0,256}$")


def tags(c: Collector) -> tuple[tuple[str, str], ...]:
    """The ``tags`` mapping as sorted (name, value) pairs; names and values in the characters every cloud allows."""
    value = c.raw.get("tags", {})
    if not isinstance(value, Mapping):
        c.bad("tags", value, "expected a mapping of tag names to string values")
        return c.keep("tags", ())
    out: list[tuple[str, str]] = []
    for key, tag_value in value.items():
        if not isinstance(key, str) or not _TAG_KEY_RE.fullmatch(key) or key.lower().startswith("aws:"):
            c.bad("tags", key, "tag names have 1-128 letters, digits, spaces or _.:/=+-@ and may not start with aws:")
            continue
        if key in ("website", "environment", "managed-by"):
            c.bad("tags", key, "website, environment and managed-by are set by the component itself")
            continue
        if not isinstance(tag_value, str) or not _TAG_VALUE_RE.fullmatch(tag_value):
            c.bad(f"tags.{key}", tag_value, "tag values are strings of 0-256 letters, digits, spaces or _.:/=+-@")
            continue
        out.append((key, tag_value))
    return c.keep("tags", tuple(sorted(out)))
