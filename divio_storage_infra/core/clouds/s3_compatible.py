"""A generic S3-compatible endpoint (MinIO, Ceph RGW, SeaweedFS, ...) through pulumi-aws: the common S3 core only.

Path-style, because such endpoints rarely have wildcard DNS for bucket sub-domains; the region is named in the DSN
because the endpoint host does not give it. Public access blocks are not declared because such servers refuse them
(SeaweedFS answers NotImplemented; MinIO has none); server access logging is not part of the common core (SeaweedFS
and MinIO have no PutBucketLogging).
"""

from __future__ import annotations

from divio_storage_infra.core.clouds.base import CloudCapabilities


def _endpoint(region: str, endpoint: str | None) -> str:
    if endpoint is None:
        raise ValueError("a generic S3-compatible provider needs an endpoint host")
    return endpoint


S3_COMPATIBLE = CloudCapabilities(
    name="s3-compatible",
    title="S3-compatible",
    family="s3",
    dsn_scheme="s3",
    credentials=("static", "none"),
    credentials_why={
        "iam-user": "a generic S3-compatible endpoint has no IAM API here; create a key at the "
        "provider and set accessKeyId / secretAccessKey (secret) in stack config with credentials: static",
    },
    iam=False,
    public_access_block=False,
    ownership_controls=False,
    bucket_policy=True,
    server_side_encryption=False,
    versioning=True,
    lifecycle=True,
    cors=True,
    path_style=True,
    endpoint=_endpoint,
    explicit_provider=True,
    region_in_dsn=True,
    custom_endpoint=True,
)
"""A generic S3-compatible provider; it claims every ``s3://`` host AWS and Exoscale do not."""
