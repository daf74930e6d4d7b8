"""Masks known secrets in text, in every form they travel in: raw, percent-encoded, JSON-escaped, a SAS's ``sig``.

``plan`` masks secret config values a program may have leaked; ``check`` masks the DSN's credential in SDK
messages. Both need the same forms, so both use :class:`SecretMask`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote


class SecretMask:
    """Replaces every known form of the added secrets with ``marker``; strings shorter than ``min_length`` are
    left alone, as they occur by chance in ordinary text."""

    def __init__(self, values: Iterable[str | None] = (), *, marker: str, min_length: int) -> None:
        self.marker = marker
        self.min_length = min_length
        self._forms: set[str] = set()
        for value in values:
            self.add(value)

    def add(self, value: str | None) -> None:
        """Mask ``value`` and its encoded forms from now on; a SAS token also has its ``sig`` masked."""
        if not value or len(value) < self.min_length:
            return
        candidates = {value, quote(value, safe=""), quote(value), quote_plus(value), json.dumps(value)[1:-1]}
        if "sig=" in value:
            for part in value.split("&"):
                name, _, sig = part.partition("=")
                if name == "sig" and sig:
                    candidates |= {sig, quote(sig, safe=""), unquote(sig)}
        self._forms |= {c for c in candidates if len(c) >= self.min_length}

    @property
    def forms(self) -> list[str]:
        """Every masked form, longest first (so a secret that contains another is masked whole), then by text."""
        return sorted(self._forms, key=lambda form: (-len(form), form))

    def __call__(self, text: str) -> str:
        """``text`` with every form of every secret replaced by the marker."""
        for form in self.forms:
            text = text.replace(form, self.marker)
        return text
