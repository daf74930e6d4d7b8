"""The shape of a cloud's capability table: every "does this cloud support X" the other layers ask."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

CloudName = Literal["aws", "exoscale", "s3-compatible", "azure"]
"""The values of the spec's ``cloud`` key; each has a table module in this package."""
Credentials = Literal["none", "iam-user", "static", "account-key", "sas"]
"""Every credential mode some cloud offers (the spec's ``credentials`` key)."""
Family = Literal["s3", "azure"]
"""Which component serves a cloud: the S3 component (pulumi-aws) or the Azure one."""


@dataclass(frozen=True)
class CloudCapabilities:
    """What one cloud offers and how this project declares it (True: the component declares it).

    The spec reads ``credentials`` and the feature flags to refuse what a cloud cannot do (``core/configkeys.py``
    derives from them which keys apply); the
    components read the flags to decide what to declare and which notes to add to the plan; the DSN layer reads
    ``dsn_host_suffixes`` to tell which cloud a DSN points at.
    """

    name: CloudName
    title: str
    """Human name, for reports (``divio-storage dsn``)."""
    family: Family
    """Which component serves the cloud: ``s3`` (S3MediaStorage through pulumi-aws) or ``azure``."""
    dsn_scheme: Literal["s3", "az"]
    credentials: tuple[Credentials, ...]
    """The credential modes the cloud offers; the first is the default."""
    iam: bool
    public_access_block: bool
    ownership_controls: bool
    bucket_policy: bool
    server_side_encryption: bool
    """Default encryption at rest declared by the component (Azure encrypts every account itself)."""
    versioning: bool
    lifecycle: bool
    """Lifecycle rules that expire noncurrent versions."""
    cors: bool
    path_style: bool
    """Clients address buckets by path (``addressing_style=path``): no wildcard DNS for bucket sub-domains."""
    endpoint: Callable[[str, str | None], str] = field(repr=False, compare=False)
    """``(region, spec endpoint) -> endpoint host``; see :meth:`endpoint_host`."""
    credentials_why: Mapping[str, str] = field(default_factory=dict)
    """Why a credential mode that other clouds offer is missing here, for the spec's error message."""
    dsn_host_suffixes: tuple[str, ...] = ()
    """Endpoint hosts of this cloud end with one of these; empty: any host of the scheme not claimed before."""
    arns: bool = False
    """Resources are named by ARNs (AWS only; other providers' buckets have none)."""
    region_on_resources: bool = False
    """Each pulumi-aws resource names its region (pulumi-aws 7 on AWS); elsewhere the explicit provider does."""
    explicit_provider: bool = False
    """The component needs an explicit pulumi-aws provider pointed at the cloud's endpoint."""
    region_in_dsn: bool = False
    """The DSN names ``region_name``: the endpoint host does not give the region."""
    max_cors_rules: int | None = None
    """How many CORS rules (one per origin) the cloud allows, None for no limit that matters here."""
    max_cors_rules_why: str = ""
    """The limit in words, for the spec's error message."""
    bucket_name_dots_why: str = ""
    """Why bucket names may not contain dots on this cloud; empty when they may."""
    access_logging: bool = False
    """Server access logs into another bucket (``accessLogBucket``)."""
    custom_endpoint: bool = False
    """The spec names the provider's endpoint host (``endpoint``) instead of the table deriving it."""
    notes: str = ""
    """What the plan should say about this cloud beyond the missing features."""

    @property
    def expires_noncurrent_versions(self) -> bool:
        """Versioning with old versions expired by lifecycle rules: the S3 counterpart of soft delete."""
        return self.versioning and self.lifecycle

    @property
    def default_credentials(self) -> Credentials:
        """The credential mode a spec gets when it names none."""
        return self.credentials[0]

    def endpoint_host(self, region: str, endpoint: str | None) -> str:
        """The endpoint host of the DSN for a region (``endpoint`` is the spec's host for generic providers)."""
        return self.endpoint(region, endpoint)

    def object_acl(self, *, public: bool) -> str:
        """The ACL the DSN tells the app to upload with (S3 family).

        With BucketOwnerEnforced, S3 rejects any ACL but the owner's, and django-storage-url sends public-read
        when the DSN names none; without ownership controls, public objects need public-read themselves.
        """
        if self.ownership_controls:
            return "bucket-owner-full-control"
        if public and not self.bucket_policy:
            return "public-read"
        return "private"
