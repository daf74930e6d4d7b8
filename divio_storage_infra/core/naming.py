"""Deterministic physical names from a spec: same spec, same names, so a PR diff shows the real name.

Globally unique names (S3 buckets, Azure storage accounts) end in a short hash of the website, environment
and role; the readable part in front is shortened when needed, never the hash, so long slugs stay valid.
"""

from __future__ import annotations

import hashlib

from divio_storage_infra.core.errors import SpecError
from divio_storage_infra.core.rules import check_account_name, check_bucket_name
from divio_storage_infra.core.spec import StorageSpec

HASH_LENGTH = 8
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"

PUBLIC_CONTAINER = "public-media"
PRIVATE_CONTAINER = "private-media"


def short_hash(*parts: str, length: int = HASH_LENGTH) -> str:
    """A stable base-36 digest of ``parts`` (``length`` characters, lowercase letters and digits)."""
    number = int.from_bytes(hashlib.sha256("/".join(parts).encode()).digest()[:16], "big")
    out = []
    for _ in range(length):
        number, digit = divmod(number, 36)
        out.append(_ALPHABET[digit])
    return "".join(out)


def _fit(readable: str, suffix: str, limit: int, sep: str = "-") -> str:
    room = limit - len(suffix) - len(sep)
    head = readable[:room].rstrip("-.")
    return f"{head}{sep}{suffix}" if head else suffix


def bucket_name(spec: StorageSpec, role: str) -> str:
    """The S3 bucket name for ``role`` (``media`` or ``private``): ``<website>-<env>-<role>-<hash>``, <= 63 chars."""
    override = spec.bucket_name if role == "media" else spec.private_bucket_name
    if override is not None:
        return override
    name = _fit(f"{spec.website}-{spec.environment}-{role}", short_hash(spec.website, spec.environment, role), 63)
    if why := check_bucket_name(name):  # pragma: no cover - guarded by property tests
        raise SpecError.one("bucketName", name, why)
    return name


def public_bucket_name(spec: StorageSpec) -> str:
    """Name of the public media bucket."""
    return bucket_name(spec, "media")


def private_bucket_name(spec: StorageSpec) -> str:
    """Name of the private media bucket."""
    return bucket_name(spec, "private")


def iam_user_name(spec: StorageSpec) -> str:
    """Name of the website's IAM user (<= 64 chars): ``<website>-<env>-media``."""
    return _fit(f"{spec.website}-{spec.environment}", "media", 64)


def storage_account_name(spec: StorageSpec) -> str:
    """Azure storage account name: letters and digits of website and environment plus a hash, 3-24 chars."""
    if spec.storage_account_name is not None:
        return spec.storage_account_name
    readable = (spec.website + spec.environment).replace("-", "")
    name = _fit(readable, short_hash("azure", spec.website, spec.environment), 24, sep="")
    if why := check_account_name(name):  # pragma: no cover - guarded by property tests
        raise SpecError.one("storageAccountName", name, why)
    return name


def resource_group_name(spec: StorageSpec) -> str:
    """Azure resource group: the spec's existing one, else ``<website>-<env>-media`` (<= 90 chars)."""
    if spec.resource_group_name is not None:
        return spec.resource_group_name
    return _fit(f"{spec.website}-{spec.environment}", "media", 90)
