"""Credential rotation: the IAM user's key slots (``accessKeys``, ``activeAccessKey``) and the Azure account key
the DSN or the SAS uses (``activeAccountKey``)."""

from __future__ import annotations

from typing import NamedTuple

from divio_storage_infra.core.configkeys import key
from divio_storage_infra.core.validation.problems import Collector

ACCESS_KEY_SLOTS: tuple[str, ...] = key("activeAccessKey").values
"""The IAM user's two key slots; slot ``a`` keeps the logical name the single key always had."""
ACCOUNT_KEYS: tuple[str, ...] = key("activeAccountKey").values
"""An Azure storage account's two keys."""


class Rotation(NamedTuple):
    """The rotation keys as read."""

    access_keys: tuple[str, ...]
    active_access_key: str
    active_account_key: str


def read_rotation(c: Collector, credentials: str) -> Rotation:
    """Read and check the key slots against the credential mode; problems go to ``c``."""
    slots: tuple[str, ...] = ("a",)
    if credentials != "iam-user":
        for key in ("accessKeys", "activeAccessKey"):
            if c.given(key):
                c.bad(key, c.raw[key], "only applies with credentials: iam-user (the key slots of its IAM user)")
    elif c.given("accessKeys"):
        listed = c.string_list("accessKeys")
        if not listed or len(set(listed)) != len(listed) or any(s not in ACCESS_KEY_SLOTS for s in listed):
            c.bad("accessKeys", c.raw["accessKeys"], "expected one or both of the key slots a and b, each once")
        else:
            slots = tuple(sorted(listed))
    active = slots[0]
    if credentials == "iam-user" and c.given("activeAccessKey"):
        named = c.string("activeAccessKey")
        if named not in ACCESS_KEY_SLOTS:
            c.bad("activeAccessKey", named, "expected a or b")
        elif named not in slots:
            c.bad("activeAccessKey", named, f"names a slot accessKeys does not list (it lists {', '.join(slots)})")
        else:
            active = named
    account_key = ACCOUNT_KEYS[0]
    if c.given("activeAccountKey"):
        named = c.string("activeAccountKey")
        if credentials not in ("account-key", "sas"):
            c.bad("activeAccountKey", c.raw["activeAccountKey"], "only applies with credentials: account-key or sas")
        elif named not in ACCOUNT_KEYS:
            c.bad("activeAccountKey", named, "expected key1 or key2")
        elif named is not None:
            account_key = named
    kept = (c.keep("accessKeys", slots), c.keep("activeAccessKey", active), c.keep("activeAccountKey", account_key))
    return Rotation(*kept)
