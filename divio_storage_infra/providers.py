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
    # Without ownership controls there is no BucketOwnerEnforced, so public objects need a public-read ACL.
    public_object_acl: str
    notes: str = ""

    def endpoint_host(self, region: str, endpoint: str | None) -> str:
        """The S3 endpoint host for a region (``endpoint`` is the spec's host for generic providers)."""
        if self.name == "aws":
            from divio_storage_infra.regions import aws_s3_host

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
    public_object_acl="bucket-owner-full-control",
)

S3_PROVIDERS: dict[str, S3Provider] = {"aws": AWS}
