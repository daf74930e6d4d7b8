"""What each S3 provider can declare through pulumi-aws: the capability table the spec and components obey."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class S3Provider:
    """Capabilities of one S3 provider as driven by pulumi-aws (True: the component declares it)."""

    name: str
    iam: bool
    public_access_block: bool
    ownership_controls: bool
    bucket_policy: bool
    server_side_encryption: bool
    versioning: bool
    lifecycle: bool
    cors: bool
    path_style: bool
    access_logging: bool = False
    """Server access logs into another bucket (``accessLogBucket``)."""
    notes: str = ""

    @property
    def expires_noncurrent_versions(self) -> bool:
        """Versioning with old versions expired by lifecycle rules: the S3 counterpart of soft delete."""
        return self.versioning and self.lifecycle

    def object_acl(self, *, public: bool) -> str:
        """The ACL the DSN tells the app to upload with.

        With BucketOwnerEnforced, S3 rejects any ACL but the owner's, and django-storage-url sends public-read
        when the DSN names none; without ownership controls, public objects need public-read themselves.
        """
        if self.ownership_controls:
            return "bucket-owner-full-control"
        if public and not self.bucket_policy:
            return "public-read"
        return "private"

    def endpoint_host(self, region: str, endpoint: str | None) -> str:
        """The S3 endpoint host for a region (``endpoint`` is the spec's host for generic providers)."""
        if self.name == "aws":
            from divio_storage_infra.core.regions import aws_s3_host

            return aws_s3_host(region)
        if self.name == "exoscale":
            return f"sos-{region}.exo.io"
        if endpoint is None:
            raise ValueError("a generic S3-compatible provider needs an endpoint host")
        return endpoint


AWS = S3Provider(
    name="aws",
    iam=True,
    public_access_block=True,
    ownership_controls=True,
    bucket_policy=True,
    server_side_encryption=True,
    versioning=True,
    lifecycle=True,
    cors=True,
    path_style=False,
    access_logging=True,
)

# Exoscale SOS: ACLs, CORS and versioning; no bucket policies, public access blocks, ownership controls,
# lifecycle rules, default encryption (only client-side or SSE-C) or server access logging, and no IAM API through
# pulumi-aws.
EXOSCALE = S3Provider(
    name="exoscale",
    iam=False,
    public_access_block=False,
    ownership_controls=False,
    bucket_policy=False,
    server_side_encryption=False,
    versioning=True,
    lifecycle=False,
    cors=True,
    path_style=False,
    notes="public objects are readable through their public-read ACL (the public DSN uploads with it); "
    "no TLS-only policy can be declared",
)

# A generic S3-compatible endpoint (MinIO, Ceph RGW, SeaweedFS, ...): the common S3 core only, path-style because
# such endpoints rarely have wildcard DNS for bucket sub-domains. Public access blocks are not declared because
# such servers refuse them (SeaweedFS answers NotImplemented; MinIO has none); server access logging is not part of
# the common core (SeaweedFS and MinIO have no PutBucketLogging).
S3_COMPATIBLE = S3Provider(
    name="s3-compatible",
    iam=False,
    public_access_block=False,
    ownership_controls=False,
    bucket_policy=True,
    server_side_encryption=False,
    versioning=True,
    lifecycle=True,
    cors=True,
    path_style=True,
)

S3_PROVIDERS: dict[str, S3Provider] = {p.name: p for p in (AWS, EXOSCALE, S3_COMPATIBLE)}
