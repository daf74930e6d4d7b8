"""The one error type of the pure core: what is wrong, with which value, and what is allowed.

Every value an error echoes goes through :func:`excerpt`: bounded in length, control characters escaped, anything
that may carry a credential (``user:secret@``, ``sig=...``) masked, and strings that look like a secret key not
shown at all. A caller that knows a value is secret passes :data:`NOT_SHOWN` instead of it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

EXCERPT_MAX = 60
"""Longest excerpt of a string value an error message shows, in characters (the total length is added)."""
PROBLEMS_SHOWN = 30
"""Most problems one error message lists (the rest are counted); ``SpecError.problems`` has them all."""
_ALLOWED_MAX = 400
_FIELD_MAX = 64
_ITEMS_MAX = 4
_DEPTH_MAX = 2

_SAFE_FIELD_RE = re.compile(r"[A-Za-z0-9_.:()\[\]<>$/ …-]{1,65}")
# user:secret@ (with or without a scheme): everything before the last '@' of the value may be the secret.
_USERINFO_RE = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]{0,15}://)?(?P<userinfo>.*)@", re.DOTALL)
_SECRET_PARAM_RE = re.compile(
    r"(?i)(?P<name>[A-Za-z0-9_-]{0,32}(?:sig|secret|passw|token|credential|key)[A-Za-z0-9_-]{0,32})"
    r"(?P<sep>\s*[=:]\s*)(?P<value>[^&\s;,]+)"
)
_SECRET_KEY_NAME_RE = re.compile(r"(?i)secret|passw|pwd|token|sas|sig|credential|key")
_SECRETISH_RE = re.compile(r"[A-Za-z0-9+/=_-]{20,}")
_BASE64ISH_RE = re.compile(r"[A-Za-z0-9+/=]{32,}")
_TOKEN_RE = re.compile(r"[A-Za-z0-9+/=_-]{20,}")


class Hidden:
    """A stand-in for a value an error must not show (a secret, or what may be one); shown as ``[not shown]``."""

    __slots__ = ("note",)

    def __init__(self, note: str = "") -> None:
        self.note = note

    def __repr__(self) -> str:
        return f"[not shown: {self.note}]" if self.note else "[not shown]"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Hidden) and other.note == self.note

    def __hash__(self) -> int:
        return hash(("Hidden", self.note))


NOT_SHOWN = Hidden()
"""Pass this as a problem's value when the value is a secret."""


class _Missing:
    """The value of a required key that is not set: a problem with it reads ``key: required; ...``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "[missing]"

    def __bool__(self) -> bool:
        return False


MISSING = _Missing()
"""Pass this as a problem's value when a required key is not set."""


def has_control_characters(text: str) -> bool:
    """True when ``text`` holds a control character (NUL, newline, escape...) or an unpaired surrogate."""
    return not text.isprintable() and any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text)


def looks_like_secret_key_name(name: str) -> bool:
    """True when a config key or parameter name looks like it holds a secret (secret, password, key, token, sas...)."""
    return bool(_SECRET_KEY_NAME_RE.search(name))


def looks_like_secret(text: str) -> bool:
    """True when ``text`` has the shape of a generated secret: long, no separators, mixed letters and digits."""
    if _SECRETISH_RE.fullmatch(text):
        has = {kind for ch in text for kind in (("d" if ch.isdigit() else "u" if ch.isupper() else "l"),)}
        if {"d", "u", "l"} <= has:
            return True
    if _BASE64ISH_RE.fullmatch(text):
        return any(ch.isdigit() for ch in text) and any(ch.isalpha() for ch in text)
    return False


def mask_credentials(text: str) -> str:
    """``text`` with a ``user:secret@`` part and the values of secret-looking ``name=value`` pairs replaced by ***."""
    match = _USERINFO_RE.match(text)
    if match is not None:
        text = f"{match['scheme'] or ''}***@{text[match.end() :]}"
    return _SECRET_PARAM_RE.sub(lambda m: f"{m['name']}{m['sep']}***", text)


class Shown(str):
    """A string already made safe to show (a masked DSN): :func:`excerpt` bounds and escapes it, masks nothing more."""

    __slots__ = ()


def _hide_secret_tokens(text: str) -> str:
    return _TOKEN_RE.sub(lambda m: "***" if looks_like_secret(m.group()) else m.group(), text)


def _string_excerpt(text: str, limit: int) -> str:
    if isinstance(text, Shown):
        masked = str(text)
    elif looks_like_secret(text):
        return repr(Hidden(f"{len(text)} characters that look like a secret"))
    else:
        # KEY:SECRET pasted as a value, a secret after a prefix: every secret-shaped piece is hidden.
        masked = _hide_secret_tokens(mask_credentials(text))
    if len(masked) <= limit:
        return repr(masked)
    cut = repr(masked[:limit])
    return f"{cut[:-1]}…{cut[-1]} ({len(text)} characters)"


def _bounded(value: object, depth: int, limit: int) -> str:
    if isinstance(value, Hidden | _Missing):
        return repr(value)
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        # repr of a huge int is slow and, past 4300 digits, an error.
        return repr(value) if value.bit_length() <= 128 else f"<integer of {value.bit_length()} bits>"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return _string_excerpt(value, limit)
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if depth >= _DEPTH_MAX:
        return f"<{type(value).__name__}>"
    if isinstance(value, Mapping):
        shown = []
        for count, (key, item) in enumerate(value.items()):
            if count >= _ITEMS_MAX:
                shown.append(f"… ({len(value)} entries)")
                break
            hidden = isinstance(key, str) and looks_like_secret_key_name(key)
            item_text = repr(NOT_SHOWN) if hidden else _bounded(item, depth + 1, 24)
            shown.append(f"{_bounded(key, depth + 1, 24)}: {item_text}")
        return "{" + ", ".join(shown) + "}"
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) and len(value) <= 64 else value
        shown = []
        for count, item in enumerate(items):
            if count >= _ITEMS_MAX:
                shown.append(f"… ({len(value)} items)")
                break
            shown.append(_bounded(item, depth + 1, 24))
        opening, closing = ("(", ")") if isinstance(value, tuple) else ("[", "]")
        return opening + ", ".join(shown) + closing
    if type(value).__module__ == "datetime":
        return repr(value)
    return f"<{type(value).__name__}>"


def excerpt(value: object, limit: int = EXCERPT_MAX) -> str:
    """A bounded, printable, credential-masked representation of ``value`` for an error message.

    Strings longer than ``limit`` characters (default 60) are cut with an ellipsis and their total length;
    containers show at most a few items, two levels deep; unknown types show only their type name.
    """
    return _bounded(value, 0, limit)


def field_name(name: object) -> str:
    """``name`` as an error names a field: verbatim when it is plain, else a bounded, escaped excerpt."""
    if isinstance(name, str) and _SAFE_FIELD_RE.fullmatch(name):
        return name
    return excerpt(name, _FIELD_MAX) if isinstance(name, str) else f"<{type(name).__name__} key>"


def _bounded_text(text: str, limit: int) -> str:
    """Program-written text that may quote a value: control characters escaped, length capped."""
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    return text if len(text) <= limit else text[:limit] + "…"


@dataclass(frozen=True)
class Problem:
    """One invalid value: the config field, the value given and what would be accepted.

    ``str()`` shows the value through :func:`excerpt` (bounded, escaped, credentials masked).
    """

    field: str
    value: object
    allowed: str

    def __str__(self) -> str:
        allowed = _bounded_text(str(self.allowed), _ALLOWED_MAX)
        if self.value is MISSING:
            return f"{field_name(self.field)}: required; {allowed}"
        return f"{field_name(self.field)}: {excerpt(self.value)} is not allowed; {allowed}"


def _context(context: str) -> str:
    return context if _SAFE_FIELD_RE.fullmatch(context) else excerpt(context)


class SpecError(ValueError):
    """A storage spec (or a DSN) is invalid; raised before any resource is declared.

    ``problems`` lists every invalid value found, so one run reports all of them.
    """

    kind = "storage spec"

    def __init__(self, problems: list[Problem], *, context: str = "") -> None:
        self.problems = list(problems)
        self.context = context if isinstance(context, str) else ""
        super().__init__(self._message())

    def _message(self) -> str:
        head = f"invalid {self.kind}{f' for {_context(self.context)}' if self.context else ''}"
        if len(self.problems) == 1:
            return f"{head}: {self.problems[0]}"
        lines = [f"  - {p}" for p in self.problems[:PROBLEMS_SHOWN]]
        if len(self.problems) > PROBLEMS_SHOWN:
            lines.append(f"  - ... and {len(self.problems) - PROBLEMS_SHOWN} more problems")
        return head + ":\n" + "\n".join(lines)

    @classmethod
    def one(cls, field: str, value: object, allowed: str, *, context: str = "") -> SpecError:
        """Build the error for a single invalid value."""
        return cls([Problem(field, value, allowed)], context=context)
