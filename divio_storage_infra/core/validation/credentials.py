"""Which credentials the app receives: ``credentials``, one of the modes the cloud's table offers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from divio_storage_infra.core.clouds import CloudCapabilities, Credentials
from divio_storage_infra.core.errors import NOT_SHOWN, Problem, has_control_characters
from divio_storage_infra.core.validation.problems import Collector


def credentials(c: Collector, caps: CloudCapabilities) -> Credentials:
    """The credential mode, default the cloud's first; a mode the cloud lacks is an error that says why."""
    offered = caps.credentials
    raw = c.string("credentials")
    for mode in offered:
        if raw == mode:
            return mode
    why = caps.credentials_why.get(str(raw), f"cloud {caps.name} offers {', '.join(offered)}")
    c.bad("credentials", raw, why)
    return c.keep("credentials", caps.default_credentials)


CREDENTIAL_VALUE_MAX = 256
"""Longest ``accessKeyId`` / ``secretAccessKey`` accepted, in characters (AWS: 20-128 and 40)."""


def credential_value_problems(raw: Mapping[str, Any], keys: tuple[str, ...]) -> list[Problem]:
    """Why the credential values in ``raw`` (stack config) are unusable; their values are never shown.

    Each must be a non-empty string of at most 256 characters without white space, control characters or
    unpaired surrogates: anything else breaks the DSN or the request signature later.
    """
    problems: list[Problem] = []
    for key in keys:
        if key not in raw:
            continue
        value = raw[key]
        why: str | None = None
        if not isinstance(value, str):
            why = f"expected a string, not {type(value).__name__}"
        elif not value:
            why = "expected a non-empty string"
        elif len(value) > CREDENTIAL_VALUE_MAX:
            why = f"expected at most {CREDENTIAL_VALUE_MAX} characters (this one has {len(value)})"
        elif has_control_characters(value) or any(ch.isspace() for ch in value):
            why = "expected no white space, newlines, control characters or unpaired surrogates"
        if why is not None:
            problems.append(Problem(key, NOT_SHOWN, why))
    return problems
