"""Adopting existing storage: import ids, what is left as it is during the import, and the migration order. Pure.

A spec with ``adopt: true`` declares its data-bearing resources (buckets; the storage account and containers) with
Pulumi's ``import`` option, so the first ``pulumi up`` takes them over instead of creating them. The engine imports
a resource only when the declared inputs match what the provider reads back: the inputs below must match (the spec
says them), the ones in :data:`BUCKET_IGNORED_WHILE_ADOPTING` / :data:`ACCOUNT_IGNORED_WHILE_ADOPTING` /
:data:`CONTAINER_IGNORED_WHILE_ADOPTING` are taken from the live resource while ``adopt`` is on (``ignore_changes``).

The migration of a legacy S3 bucket (ACLs enabled, public objects through per-object ``public-read`` ACLs) runs in
:data:`ADOPT_ORDER` instead of :data:`SECURE_ORDER`, so no public object is private and no private object public at
any step (see docs/adoption.md).
"""

from __future__ import annotations

from typing import Literal

ConfigStep = Literal[
    "ownership", "public-access", "policy", "acl", "encryption", "versioning", "lifecycle", "cors", "logging"
]
"""One configuration resource of an S3 bucket, by the suffix of its logical name (``<bucket>-<step>``)."""

SECURE_ORDER: tuple[ConfigStep, ...] = (
    "ownership",
    "public-access",
    "policy",
    "encryption",
    "versioning",
    "lifecycle",
    "cors",
    "logging",
)
"""A new bucket: ACLs off first (nothing is in it yet), the access block, then the policy it allows."""

ADOPT_ORDER: tuple[ConfigStep, ...] = (
    "policy",
    "acl",
    "ownership",
    "public-access",
    "encryption",
    "versioning",
    "lifecycle",
    "cors",
    "logging",
)
"""An adopted bucket whose objects may still be public through their own ACLs.

1. ``policy``: public read of the public store (or its ``publicPrefixes``) is granted by the bucket policy while
   the ACLs still work, so every public object is public twice over; nothing changes for private objects outside
   the granted prefixes.
2. ``acl``: the bucket's own ACL is reset to ``private`` (the owner alone). S3 refuses BucketOwnerEnforced while
   the bucket ACL grants anyone else; the bucket ACL only ever granted listing, never reading an object.
3. ``ownership``: BucketOwnerEnforced. ACLs stop counting and the bucket owner owns every object, including those
   other accounts uploaded, so from now on the policy alone decides, for every object.
4. ``public-access``: the access block (ACL flags on; public policies allowed on the public store). It comes after
   the ownership switch: ignoring public ACLs earlier would make objects owned by other accounts private, because
   a bucket policy does not cover objects its bucket owner does not own.
5. the rest, as for a new bucket.
"""


def configuration_order(*, adopt: bool) -> tuple[ConfigStep, ...]:
    """The order in which a bucket's configuration resources are declared, each waiting for the one before."""
    return ADOPT_ORDER if adopt else SECURE_ORDER


BUCKET_IGNORED_WHILE_ADOPTING: tuple[str, ...] = ("tags",)
"""Bucket inputs kept as they are live while adopting (an existing bucket's tags are someone else's)."""

ACCOUNT_IGNORED_WHILE_ADOPTING: tuple[str, ...] = (
    "accessTier",
    "allowBlobPublicAccess",
    "allowCrossTenantReplication",
    "allowSharedKeyAccess",
    "allowedCopyScope",
    "defaultToOAuthAuthentication",
    "enableHttpsTrafficOnly",
    "isLocalUserEnabled",
    "isSftpEnabled",
    "keyPolicy",
    "minimumTlsVersion",
    "networkRuleSet",
    "publicNetworkAccess",
    "sasPolicy",
    "tags",
)
"""Storage account inputs kept as they are live while adopting: the component's hardening (applied once
``adopt`` is turned off, as an in-place update) and tags. Name, group, location, kind and SKU must match."""

CONTAINER_IGNORED_WHILE_ADOPTING: tuple[str, ...] = ("publicAccess",)
"""Container inputs kept as they are live while adopting: a legacy public container may allow listing
(``Container``); turning that into ``Blob`` once ``adopt`` is off removes listing, never a blob's visibility."""


def bucket_import_id(bucket: str) -> str:
    """pulumi-aws's import id of a bucket: its name (the provider finds its region itself)."""
    return bucket


def storage_account_import_id(subscription_id: str, resource_group: str, account: str) -> str:
    """The ARM id azure-native imports a storage account by."""
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.Storage/storageAccounts/{account}"
    )


def container_import_id(subscription_id: str, resource_group: str, account: str, container: str) -> str:
    """The ARM id azure-native imports a blob container by."""
    account_id = storage_account_import_id(subscription_id, resource_group, account)
    return f"{account_id}/blobServices/default/containers/{container}"
