"""Where the app reads media from and what it uploads with: the values both the formatters and ParsedDsn use."""

from __future__ import annotations

from divio_storage_infra.core.clouds.azure import BLOB_HOST

DEFAULT_ACL = "bucket-owner-full-control"
"""The ACL every S3 DSN names: with ACLs disabled (BucketOwnerEnforced) AWS rejects uploads that name another."""
DSU_DEFAULT_ACL = "public-read"
"""What django-storage-url uploads with when the DSN names no ACL; AWS rejects it on buckets with ACLs disabled."""
AZURE_BLOB_HOST = BLOB_HOST
"""The host of every ``az://`` DSN; the account is the user part, the container the path."""


def s3_media_url(bucket: str, endpoint_host: str, custom_domain: str | None = None) -> str:
    """The public media base URL of a bucket: ``https://<bucket>.<host>/`` or ``https://<domain>/``."""
    return f"https://{custom_domain}/" if custom_domain else f"https://{bucket}.{endpoint_host}/"


def azure_media_url(account: str, container: str, custom_domain: str | None = None) -> str:
    """The public media base URL of a container: ``https://<account>.blob.core.windows.net/<container>/``.

    With a custom domain: ``https://<domain>/<container>/`` (django-storages keeps the container in the path).
    """
    host = custom_domain or f"{account}.{AZURE_BLOB_HOST}"
    return f"https://{host}/{container}/"
