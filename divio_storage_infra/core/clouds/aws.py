"""AWS S3 through pulumi-aws: every feature, IAM users for credentials, regions named on each resource."""

from __future__ import annotations

from divio_storage_infra.core.clouds.base import CloudCapabilities
from divio_storage_infra.core.regions import aws_s3_host


def _endpoint(region: str, endpoint: str | None) -> str:
    return aws_s3_host(region)


AWS = CloudCapabilities(
    name="aws",
    title="AWS S3",
    family="s3",
    dsn_scheme="s3",
    dsn_host_suffixes=(".amazonaws.com", ".amazonaws.com.cn"),
    credentials=("none", "iam-user"),
    iam=True,
    public_access_block=True,
    ownership_controls=True,
    bucket_policy=True,
    server_side_encryption=True,
    versioning=True,
    lifecycle=True,
    cors=True,
    path_style=False,
    endpoint=_endpoint,
    arns=True,
    region_on_resources=True,
    access_logging=True,
)
"""AWS S3."""
