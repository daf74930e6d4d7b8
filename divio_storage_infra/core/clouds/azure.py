"""Azure Blob Storage through pulumi-azure-native: one storage account per website, containers for the stores.

Credentials are the account key or a container-scoped service SAS; there is no IAM user, bucket policy or object
ACL. Public access is blob-level on the public container. Azure encrypts every account at rest itself.
"""

from __future__ import annotations

from divio_storage_infra.core.clouds.base import CloudCapabilities

BLOB_HOST = "blob.core.windows.net"
"""The blob service's host suffix: an account's endpoint is ``<account>.blob.core.windows.net``."""
PUBLIC_CONTAINER = "public-media"
"""The public store's container unless the spec names another (``containerName``)."""
PRIVATE_CONTAINER = "private-media"
"""The private store's container unless the spec names another (``privateContainerName``)."""
MAX_CORS_RULES = 5
"""Azure allows at most five CORS rules per storage account (the component declares one per origin)."""


def _endpoint(region: str, endpoint: str | None) -> str:
    # The account's own host is <account>.<BLOB_HOST>; the DSN names the shared suffix and the account apart.
    return BLOB_HOST


AZURE = CloudCapabilities(
    name="azure",
    title="Azure Blob Storage",
    family="azure",
    dsn_scheme="az",
    credentials=("account-key", "sas", "none"),
    iam=False,
    public_access_block=False,
    ownership_controls=False,
    bucket_policy=False,
    server_side_encryption=True,
    versioning=True,
    lifecycle=True,
    cors=True,
    path_style=False,
    endpoint=_endpoint,
    max_cors_rules=MAX_CORS_RULES,
    max_cors_rules_why=f"Azure allows at most {MAX_CORS_RULES} CORS rules per storage account (one per origin)",
)
"""Azure Blob Storage."""
