"""The stores themselves: publicStorage, privateStorage, mediaDomain, protect and bucket names."""

from __future__ import annotations

from typing import NamedTuple

from divio_storage_infra.core.clouds import CloudCapabilities
from divio_storage_infra.core.rules import check_bucket_name, check_hostname
from divio_storage_infra.core.validation.cors import Cors
from divio_storage_infra.core.validation.problems import Collector


class Stores(NamedTuple):
    """Which stores the website gets."""

    public: bool
    private: bool


def stores(c: Collector) -> Stores:
    """Read ``publicStorage`` (default true) and ``privateStorage`` (default false)."""
    return Stores(c.boolean("publicStorage"), c.boolean("privateStorage"))


def check_some_store(c: Collector, wanted: Stores, credentials: str, cors: Cors) -> None:
    """At least one store, and CORS only with the public store it applies to."""
    if not wanted.public and not wanted.private:
        if credentials != "none":
            c.bad(
                "credentials",
                credentials,
                "credentials need at least one bucket: keep publicStorage or set privateStorage: true",
            )
        c.bad("publicStorage", False, "at least one store is needed: keep publicStorage or set privateStorage: true")
    if (cors.origins or cors.allow_uploads) and not wanted.public and c.given("corsOrigins"):
        c.bad("corsOrigins", list(cors.origins), "CORS applies to the public store; publicStorage is false")


def media_domain(c: Collector, wanted: Stores) -> str | None:
    """``mediaDomain``: a host name that serves the public store."""
    domain = c.string("mediaDomain")
    if domain is not None:
        if why := check_hostname(domain):
            c.bad("mediaDomain", domain, why)
        if not wanted.public:
            c.bad("mediaDomain", domain, "a media domain serves the public store; publicStorage is false")
    return domain


def check_capabilities(c: Collector, caps: CloudCapabilities, *, origins: tuple[str, ...]) -> None:
    """A spec that asks for what the cloud cannot declare is an error, never a silent drop (versioning and lifecycle:
    see :mod:`.durability`)."""
    if origins and not caps.cors:
        c.bad("corsOrigins", list(origins), f"{caps.name} has no bucket CORS configuration; remove corsOrigins")


class BucketNames(NamedTuple):
    """Explicit bucket names (None: derived by naming)."""

    public: str | None
    private: str | None


def bucket_names(c: Collector, caps: CloudCapabilities, wanted: Stores) -> BucketNames:
    """Read ``bucketName`` / ``privateBucketName``: valid S3 names, for stores that exist, and different."""
    bucket_name = c.string("bucketName")
    private_bucket_name = c.string("privateBucketName")
    for key, name in (("bucketName", bucket_name), ("privateBucketName", private_bucket_name)):
        if name is not None and (why := check_bucket_name(name)):
            c.bad(key, name, why)
    if bucket_name is not None and not wanted.public:
        c.bad("bucketName", bucket_name, "names the public bucket, but publicStorage is false")
    if private_bucket_name is not None and not wanted.private:
        c.bad("privateBucketName", private_bucket_name, "names the private bucket, but privateStorage is false")
    if bucket_name is not None and bucket_name == private_bucket_name:
        c.bad("privateBucketName", private_bucket_name, "must differ from bucketName")
    if caps.bucket_name_dots_why:
        for key, name in (("bucketName", bucket_name), ("privateBucketName", private_bucket_name)):
            if name is not None and "." in name:
                c.bad(key, name, caps.bucket_name_dots_why)
    return BucketNames(bucket_name, private_bucket_name)
