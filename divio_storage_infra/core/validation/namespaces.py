"""Config keys under a namespace one typo away from the program's (``divio_storage:``, ``divio-storge:``).

Pulumi hands a program every namespace's keys; keys under a misspelt namespace are read by nobody, so without this
check the spec would only say that ``website`` and ``environment`` are required.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from divio_storage_infra.core.errors import NOT_SHOWN, Problem

_CLOSE = 0.8
"""How alike (difflib's ratio, of the namespaces without separators and case) a near miss is."""
_SEPARATORS_RE = re.compile(r"[-_. ]")


def _plain(namespace: str) -> str:
    return _SEPARATORS_RE.sub("", namespace.lower())


def near_miss_keys(keys: Iterable[str], namespace: str) -> list[Problem]:
    """A problem for every ``ns:key`` in ``keys`` whose ``ns`` is a near miss of ``namespace``; values never shown."""
    problems = []
    wanted = _plain(namespace)
    for full_key in sorted(keys):
        given, colon, key = full_key.partition(":")
        if not colon or given == namespace:
            continue
        if difflib.SequenceMatcher(None, _plain(given), wanted).ratio() >= _CLOSE:
            problems.append(
                Problem(
                    full_key,
                    NOT_SHOWN,
                    f"the namespace {given!r} is read by nobody; did you mean '{namespace}:{key}'?",
                )
            )
    return problems
