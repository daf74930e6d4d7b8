"""When a shared access signature (SAS) expires, and how many days are left. Pure Python.

A SAS token is a query string; ``se`` is its expiry (``signedExpiry``, UTC, ``YYYY-MM-DD`` or
``YYYY-MM-DDThh:mm[:ss]Z``) and ``st`` its optional start. ``check`` reads the DSN's token, ``plan`` the
``sas_terms`` output of the Azure component; both warn below a number of days (default :data:`WARN_DAYS`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import parse_qs

WARN_DAYS = 30
"""Warn when a SAS expires within this many days (``--warn-days``)."""

_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,7})?)?Z")


def parse_time(value: str) -> dt.datetime | None:
    """A SAS time (``2026-01-01``, ``2026-01-01T00:00Z``, ``2026-01-01T00:00:00Z``) as an aware UTC datetime."""
    try:
        if _DATE_RE.fullmatch(value):
            return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), tzinfo=dt.UTC)
        if _TIME_RE.fullmatch(value):
            text = value[:-1]
            if "." in text:
                text = text.split(".", 1)[0]
            if text.count(":") == 1:
                text += ":00"
            return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return None


def token_expiry(token: str) -> dt.datetime | None:
    """The ``se`` (expiry) of a SAS query string, or None when it has none that parses."""
    values = parse_qs(token.lstrip("?"), keep_blank_values=True).get("se")
    if not values or len(values) != 1:
        return None
    return parse_time(values[0])


@dataclass(frozen=True)
class Expiry:
    """How a SAS stands against a day: expired, expiring within the warning threshold, or fine."""

    expires: dt.datetime
    days_left: int
    """Whole days from ``now`` until the expiry (0 on its last day; once expired, minus the whole days since)."""
    expired: bool
    warn: bool
    """Not expired yet, but expires within the threshold."""

    def sentence(self) -> str:
        """One line for people: when it expires and how long that is from now."""
        when = self.expires.strftime("%Y-%m-%d %H:%M UTC")
        if self.expired:
            ago = -self.days_left
            return f"the SAS expired on {when} ({'today' if ago == 0 else f'{ago} day{_s(ago)} ago'})"
        return f"the SAS expires on {when}, in {self.days_left} day{_s(self.days_left)}"


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def assess(expires: dt.datetime, *, now: dt.datetime, warn_days: int = WARN_DAYS) -> Expiry:
    """Whether ``expires`` has passed at ``now`` or falls within ``warn_days`` days of it."""
    left = expires - now
    expired = left <= dt.timedelta(0)
    # Whole days, rounded towards the expiry: 23 hours left is 0 days, 25 hours past is 1 day ago.
    days = left.days if not expired else -(now - expires).days
    return Expiry(expires=expires, days_left=days, expired=expired, warn=not expired and days < warn_days)
