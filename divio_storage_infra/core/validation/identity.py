"""Which keys are known, whose storage it is (website, environment) and on which cloud, and which keys apply there."""

from __future__ import annotations

import difflib
import re

from divio_storage_infra.core.clouds import CLOUD_SPECIFIC_KEYS, CLOUDS, CloudName, clouds_for_key
from divio_storage_infra.core.errors import SpecError
from divio_storage_infra.core.validation.collector import Collector

WEBSITE_MAX = 63
"""Longest website slug, in characters."""
ENVIRONMENT_MAX = 20
"""Longest environment slug, in characters."""

_SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")


def unknown_keys(c: Collector, known: tuple[str, ...]) -> None:
    """A problem for every key not in ``known``, with the closest known key as a hint."""
    for key in sorted(k for k in c.raw if k not in known):
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(sorted(known))}"
        c.bad(key, c.raw[key], f"unknown key; {hint}")


def slug(c: Collector, key: str, maximum: int) -> str:
    """The required slug ``key`` (lowercase letters, digits, single hyphens, at most ``maximum`` characters)."""
    value = c.string(key)
    if value is None:
        c.bad(key, None, "it is required: a lowercase slug such as 'my-site'")
        return ""
    if len(value) > maximum or not _SLUG_RE.match(value) or "--" in value:
        c.bad(
            key,
            value,
            f"expected 1-{maximum} lowercase letters, digits and single hyphens, "
            "starting and ending with a letter or digit",
        )
    return value


def cloud(c: Collector, *, context: str) -> CloudName:
    """The ``cloud`` key; an unknown cloud ends validation at once (every later check depends on the cloud)."""
    raw = c.string("cloud", "aws")
    for name, table in CLOUDS.items():
        if raw == name:
            return table.name
    c.bad("cloud", raw, f"expected one of {', '.join(CLOUDS)}")
    raise SpecError(c.problems, context=context)


def inapplicable_keys(c: Collector, cloud: str, known: tuple[str, ...]) -> None:
    """A problem for every given key that only applies to other clouds (the cloud tables say which)."""
    for key in known:
        if key in CLOUD_SPECIFIC_KEYS and c.given(key) and key not in CLOUDS[cloud].config_keys:
            clouds = clouds_for_key(key)
            c.bad(key, c.raw[key], f"only applies to cloud {' / '.join(clouds)}, not {cloud}; remove it")
