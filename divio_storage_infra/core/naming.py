"""Deterministic logical and physical names from a spec: same spec, same names, so a PR diff shows the real name.

Every name is injective over valid specs: two different website/environment pairs never share one. Slugs have no
``--`` and no leading or trailing hyphen, so ``<website>-<environment>`` can be split back at its last hyphen when
the environment has none; that form (the names deployed stacks already have) is kept there. An environment with
a hyphen makes the split ambiguous (``shop-eu``/``live`` vs ``shop``/``eu-live``), so those names change form:
the logical name separates the parts with ``--``, physical names end in a short hash. Globally unique names
(S3 buckets, Azure storage accounts) always end in a hash of website, environment and role; the readable part in
front is shortened when needed, never the hash, so long slugs stay valid. A hash is 8 base-36 characters
(about 41 bits); registry validation reports the (improbable) collision of two hashes before anything is declared.
"""

from __future__ import annotations

import hashlib

from divio_storage_infra.core.clouds import azure as clouds_azure
from divio_storage_infra.core.errors import SpecError
from divio_storage_infra.core.rules import check_account_name, check_bucket_name
from divio_storage_infra.core.spec import StorageSpec

HASH_LENGTH = 8
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"

PUBLIC_CONTAINER = clouds_azure.PUBLIC_CONTAINER
PRIVATE_CONTAINER = clouds_azure.PRIVATE_CONTAINER


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


def _unambiguous(spec: StorageSpec) -> bool:
    """True when ``<website>-<environment>`` splits back at its last hyphen: the environment has no hyphen."""
    return "-" not in spec.environment


def logical_name(spec: StorageSpec) -> str:
    """The component's logical (URN) name: ``<website>-<env>``, or ``<website>--<env>`` when env has a hyphen.

    Children are named ``<logical name>-<part>``. Injective: the first form splits at its last hyphen, the second
    at its only ``--``, and only the second contains ``--``.
    """
    if _unambiguous(spec):
        return f"{spec.website}-{spec.environment}"
    return f"{spec.website}--{spec.environment}"


def legacy_logical_name(spec: StorageSpec) -> str:
    """The logical name before names were made injective (``<website>-<env>``): the alias that keeps old URNs."""
    return f"{spec.website}-{spec.environment}"


def _readable_or_hashed(spec: StorageSpec, role: str, limit: int) -> str:
    """``<website>-<env>-<role>`` when it fits and splits unambiguously, else the same with a hash, <= ``limit``.

    The plain form ends in ``-<role>``; the hashed one ends in ``-<8-character hash>``, so the two never meet.
    """
    readable = f"{spec.website}-{spec.environment}-{role}"
    if _unambiguous(spec) and len(readable) <= limit:
        return readable
    return _fit(readable, short_hash(role, spec.website, spec.environment), limit)


def iam_user_name(spec: StorageSpec) -> str:
    """Name of the website's IAM user (<= 64 chars): ``<website>-<env>-media``, hashed when long or ambiguous."""
    return _readable_or_hashed(spec, "media", 64)


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
    """Azure resource group: the spec's existing one, else ``<website>-<env>-media`` (<= 90 chars; hashed when
    the environment has a hyphen)."""
    if spec.resource_group_name is not None:
        return spec.resource_group_name
    return _readable_or_hashed(spec, "media", 90)


def container_name(spec: StorageSpec, role: str) -> str:
    """The Azure container of ``role`` (``media`` or ``private``): the spec's existing one, else the standard one."""
    if role == "media":
        return spec.container_name or PUBLIC_CONTAINER
    return spec.private_container_name or PRIVATE_CONTAINER
