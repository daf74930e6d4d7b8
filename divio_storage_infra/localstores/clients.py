"""SDK clients for local stores: boto3 for S3 / IAM, azure-storage-blob for Azurite, with an explicit CA bundle.

``verify`` is a CA bundle path for a store served over TLS by the local CA; None lets each SDK read the environment
as it does for users (boto3: ``AWS_CA_BUNDLE``; requests under azure-core: ``REQUESTS_CA_BUNDLE``).
(The shared connection module of the probes layer will name CA bundles and proxies for every tool; until then the
local stores pass the bundle to each SDK explicitly.)
"""

from __future__ import annotations

from typing import Any

from divio_storage_infra.connection.session import new_client
from divio_storage_infra.localstores.azurite import ACCOUNT, ACCOUNT_KEY


def s3_client(
    url: str,
    key: tuple[str, str],
    *,
    region: str = "us-east-1",
    service: str = "s3",
    verify: str | bool | None = None,
) -> Any:
    """A boto3 client for ``service`` at ``url`` (path-style S3, one attempt, 5 s to connect, 20 s to read), from the
    process's one session (:func:`divio_storage_infra.connection.session.new_client`)."""
    from botocore.config import Config

    config = Config(
        connect_timeout=5,
        read_timeout=20,
        retries={"total_max_attempts": 1, "mode": "standard"},
        s3={"addressing_style": "path"},
    )
    return new_client(
        service,
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        config=config,
        verify=verify,
    )


def azurite_service(url: str, *, verify: str | bool | None = None) -> Any:
    """A BlobServiceClient for Azurite's development account at ``url`` (its account path included), with its
    key, no retries."""
    from azure.storage.blob import BlobServiceClient

    # azure-core's transport hands True on to requests, which then reads REQUESTS_CA_BUNDLE.
    return BlobServiceClient(
        url,
        credential={"account_name": ACCOUNT, "account_key": ACCOUNT_KEY},
        retry_total=0,
        connection_verify=True if verify is None else verify,
    )
