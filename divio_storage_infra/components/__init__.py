"""Pulumi components: one per cloud and the facade that picks by ``spec.cloud``.

The names resolve on first use, each through a plain import statement (visible to the import contracts), so that
an AWS-only program never imports ``pulumi_azure_native``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from divio_storage_infra.components.azure import AzureMediaStorage, AzureMediaStorageArgs
    from divio_storage_infra.components.s3 import S3MediaStorage, S3MediaStorageArgs
    from divio_storage_infra.components.website import WebsiteMediaStorage, WebsiteMediaStorageArgs

__all__ = [
    "AzureMediaStorage",
    "AzureMediaStorageArgs",
    "S3MediaStorage",
    "S3MediaStorageArgs",
    "WebsiteMediaStorage",
    "WebsiteMediaStorageArgs",
]


def __getattr__(name: str) -> Any:
    """The component class ``name``, imported from its module on first use."""
    if name in ("S3MediaStorage", "S3MediaStorageArgs"):
        from divio_storage_infra.components import s3

        return getattr(s3, name)
    if name in ("AzureMediaStorage", "AzureMediaStorageArgs"):
        from divio_storage_infra.components import azure

        return getattr(azure, name)
    if name in ("WebsiteMediaStorage", "WebsiteMediaStorageArgs"):
        from divio_storage_infra.components import website

        return getattr(website, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
