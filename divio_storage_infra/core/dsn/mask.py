"""Masking the secret of a DSN that may be malformed, for error messages and reports."""

from __future__ import annotations

MASK = "***"


def mask_dsn(text: str) -> str:
    """``text`` with anything that may be a secret replaced by ``***``; safe on malformed input, may over-mask."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        # Not URL-shaped at all: it may be a bare secret pasted by mistake, so show none of it.
        return f"<{len(text)} characters, not a URL>"
    at = rest.rfind("@")
    if at >= 0:
        # The last '@' anywhere: a secret with raw '/', '?', '#' or '@' ends the netloc early, so the netloc
        # cannot be trusted to hold the whole secret.
        user, colon, _ = rest[:at].partition(":")
        userinfo = f"{user}:{MASK}" if colon and "/" not in user else MASK
        return f"{scheme}://{userinfo}{rest[at:]}"
    netloc_end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    host, colon, tail = rest[:netloc_end].partition(":")
    if colon and not tail.isdigit():
        # "key:secret" with the host forgotten reads as host:port; a non-numeric "port" may be the secret.
        return f"{scheme}://{host}:{MASK}{rest[netloc_end:]}"
    return text
