"""Which keys are known, whose storage it is (website, environment) and on which cloud, and which keys apply there."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from divio_storage_infra.core.clouds import CLOUDS, CloudName
from divio_storage_infra.core.configkeys import CREDENTIAL_KEYS, inapplicable_why
from divio_storage_infra.core.errors import NOT_SHOWN, SpecError, looks_like_secret_key_name
from divio_storage_infra.core.validation.problems import Collector

WEBSITE_MAX = 63
"""Longest website slug, in characters."""
ENVIRONMENT_MAX = 20
"""Longest environment slug, in characters."""

_SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
_KEY_SHOWN_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_KEY_MAX = 128


def string_keys(raw: Mapping[Any, Any]) -> dict[str, Any]:
    """``raw`` without its non-string keys (reported by :func:`non_string_keys`)."""
    return {key: value for key, value in raw.items() if isinstance(key, str)}


def non_string_keys(c: Collector, raw: Mapping[Any, Any]) -> None:
    """A problem for every key that is not a string (YAML reads ``1:``, ``true:`` or ``null:`` as such)."""
    for key in raw:
        if not isinstance(key, str):
            c.bad(f"<{type(key).__name__} key>", NOT_SHOWN, "config keys are strings such as website or region")


def shown_key(key: str) -> str:
    """A key as an error names it: its leading run of plain characters, so ``secretAccessKey=...`` shows no value."""
    match = _KEY_SHOWN_RE.match(key)
    if match is None:
        return f"<key of {len(key)} characters>"
    return key if match.end() == len(key) else f"{match.group()}…"


def unknown_keys(c: Collector, known: tuple[str, ...]) -> None:
    """A problem for every key not in ``known``, with the closest known key as a hint; values are never shown.

    An unknown key may be a misspelled secret key (``secretAccesKey``), so its value is not echoed.
    """
    for key in sorted(k for k in c.raw if k not in known):
        field = shown_key(key)
        if key in CREDENTIAL_KEYS:
            c.bad(
                field,
                NOT_SHOWN,
                "credentials are not part of the storage spec: the program reads them from stack config as "
                "secrets (`pulumi config set --secret secretAccessKey ...`); components take them as arguments",
            )
            continue
        close = difflib.get_close_matches(key[:_KEY_MAX], known + CREDENTIAL_KEYS, n=1)
        if close:
            hint = f"did you mean {close[0]!r}?"
        elif looks_like_secret_key_name(key):
            hint = f"credentials are set as secrets: {', '.join(CREDENTIAL_KEYS)}"
        else:
            hint = f"known keys: {', '.join(sorted(known))}"
        c.bad(field, NOT_SHOWN, f"unknown key; {hint}")


def slug(c: Collector, key: str, maximum: int) -> str:
    """The required slug ``key`` (lowercase letters, digits, single hyphens, at most ``maximum`` characters)."""
    value = c.string(key)
    if value is None:
        if c.raw.get(key) is None:  # else c.string has said what is wrong with it
            c.missing(key, "set a lowercase slug such as 'my-site'")
        return ""
    if len(value) > maximum or not _SLUG_RE.fullmatch(value) or "--" in value:
        c.bad(
            key,
            value,
            f"expected 1-{maximum} lowercase letters, digits and single hyphens, "
            "starting and ending with a letter or digit",
        )
    return value


def cloud(c: Collector, *, context: str) -> CloudName:
    """The ``cloud`` key; an unknown cloud ends validation at once (every later check depends on the cloud)."""
    raw = c.string("cloud")
    for name, table in CLOUDS.items():
        if raw == name:
            return table.name
    c.bad("cloud", raw, f"expected one of {', '.join(CLOUDS)}")
    raise SpecError(c.problems, context=context)


def inapplicable_keys(c: Collector, cloud: str, known: tuple[str, ...]) -> None:
    """A problem for every given key that does not apply to ``cloud`` (the table of config keys says why)."""
    for key in known:
        if c.given(key) and (why := inapplicable_why(key, cloud)) is not None:
            c.bad(key, c.raw[key], why)
