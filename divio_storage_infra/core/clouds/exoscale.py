"""Exoscale SOS through pulumi-aws pointed at ``sos-<zone>.exo.io``.

SOS has ACLs, CORS and versioning; no bucket policies, public access blocks, ownership controls, lifecycle rules,
default encryption (only client-side or SSE-C) or server access logging, and no IAM API through pulumi-aws.
"""

from __future__ import annotations

from divio_storage_infra.core.clouds.base import CloudCapabilities


def _endpoint(region: str, endpoint: str | None) -> str:
    return f"sos-{region}.exo.io"


EXOSCALE = CloudCapabilities(
    name="exoscale",
    title="Exoscale SOS (S3-compatible)",
    family="s3",
    dsn_scheme="s3",
    dsn_host_suffixes=(".exo.io",),
    credentials=("static", "none"),
    credentials_why={
        "iam-user": "Exoscale has no IAM API in this provider set-up; create an API key at Exoscale "
        "and set accessKeyId / secretAccessKey (secret) in stack config with credentials: static",
    },
    iam=False,
    public_access_block=False,
    ownership_controls=False,
    bucket_policy=False,
    server_side_encryption=False,
    versioning=True,
    lifecycle=False,
    cors=True,
    path_style=False,
    endpoint=_endpoint,
    explicit_provider=True,
    bucket_name_dots_why="Exoscale DSNs put the bucket in the host; use a name without dots",
    notes="public objects are readable through their public-read ACL (the public DSN uploads with it); "
    "no TLS-only policy can be declared",
)
"""Exoscale SOS."""
