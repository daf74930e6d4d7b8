"""Adopting existing storage: ``adopt``, the existing names it needs, ``publicPrefixes``, ``subscriptionId`` and
the Azure container names (``containerName``, ``privateContainerName``)."""

from __future__ import annotations

import re
from typing import NamedTuple

from divio_storage_infra.core.clouds import CloudCapabilities
from divio_storage_infra.core.clouds.azure import PRIVATE_CONTAINER, PUBLIC_CONTAINER
from divio_storage_infra.core.validation.problems import Collector
from divio_storage_infra.core.validation.stores import Stores

PUBLIC_PREFIXES_MAX = 20
"""Most key prefixes ``publicPrefixes`` may list (each one is a resource of the bucket policy, 20 KiB at most)."""
PREFIX_MAX = 200
"""Longest key prefix, in characters."""

_GUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CONTAINER_RE = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")
_PREFIX_CHARACTERS_RE = re.compile(r"[A-Za-z0-9!_.'()/=+-]+")


class Adoption(NamedTuple):
    """The adoption keys as read."""

    adopt: bool
    public_prefixes: tuple[str, ...]
    subscription_id: str | None
    container_name: str | None
    private_container_name: str | None


def read_adoption(c: Collector, caps: CloudCapabilities, wanted: Stores) -> Adoption:
    """Read and check the adoption keys for ``caps``' cloud; problems go to ``c``."""
    adopt = c.boolean("adopt")
    if adopt:
        _require_names(c, caps, wanted)
    prefixes = c.keep("publicPrefixes", _public_prefixes(c, caps, wanted))
    subscription = c.string("subscriptionId")
    if subscription is not None:
        if not _GUID_RE.fullmatch(subscription):
            c.bad("subscriptionId", subscription, "expected an Azure subscription id, a lowercase GUID")
        elif not adopt:
            c.bad("subscriptionId", subscription, "only applies with adopt: true (it forms the import ids)")
    names: list[str | None] = []
    for key, store, on in (
        ("containerName", "publicStorage", wanted.public),
        ("privateContainerName", "privateStorage", wanted.private),
    ):
        name = c.string(key)
        if name is not None and not _CONTAINER_RE.fullmatch(name):
            c.bad(key, name, "expected 3-63 lowercase letters, digits and single inner hyphens (an Azure container)")
        elif name is not None and not on:
            c.bad(key, name, f"names a container of a store that is off ({store} is false)")
        names.append(name)
    public_name, private_name = names
    effective = (public_name or PUBLIC_CONTAINER, private_name or PRIVATE_CONTAINER)
    if wanted.public and wanted.private and effective[0] == effective[1]:
        c.bad("privateContainerName", effective[1], "must differ from the public store's container")
    return Adoption(adopt, prefixes, subscription, public_name, private_name)


def _require_names(c: Collector, caps: CloudCapabilities, wanted: Stores) -> None:
    """Adopting takes over resources that exist: their names must be given, never derived."""
    if caps.family == "s3":
        required = [
            ("bucketName", wanted.public, "the existing public bucket: give its name"),
            ("privateBucketName", wanted.private, "the existing private bucket: give its name"),
        ]
    else:
        required = [
            ("storageAccountName", True, "the existing storage account: give its name"),
            ("resourceGroupName", True, "the existing account, which lives in a resource group: give its name"),
            ("subscriptionId", True, "the existing account, whose import id names its subscription: give its id"),
        ]
    for key, needed, what in required:
        if needed and c.raw.get(key) is None:
            c.missing(key, f"adopt: true takes over {what} explicitly, never a derived one")


def _public_prefixes(c: Collector, caps: CloudCapabilities, wanted: Stores) -> tuple[str, ...]:
    """``publicPrefixes``: the key prefixes the public bucket's policy makes world-readable (default: every key)."""
    if not c.given("publicPrefixes"):
        return ()
    prefixes = c.string_list("publicPrefixes")
    raw = c.raw["publicPrefixes"]
    if not caps.bucket_policy:
        return ()  # the table of config keys has said why this cloud refuses the key
    if not wanted.public:
        c.bad("publicPrefixes", raw, "applies to the public store; publicStorage is false")
        return ()
    if not prefixes or len(prefixes) > PUBLIC_PREFIXES_MAX or len(set(prefixes)) != len(prefixes):
        c.bad("publicPrefixes", raw, f"expected 1-{PUBLIC_PREFIXES_MAX} different key prefixes such as media/")
        return ()
    for prefix in prefixes:
        if len(prefix) > PREFIX_MAX or not _PREFIX_CHARACTERS_RE.fullmatch(prefix) or prefix.startswith("/"):
            c.bad(
                "publicPrefixes",
                prefix,
                f"expected a key prefix of at most {PREFIX_MAX} letters, digits and !_.'()/=+- not starting with / "
                "(no wildcards: the policy adds *)",
            )
            return ()
    return tuple(sorted(prefixes))
