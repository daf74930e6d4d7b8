"""Pulumi components: one per cloud and the facade that picks by ``spec.cloud``.

Imports are lazy so that an AWS-only program never imports ``pulumi_azure_native``.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "S3MediaStorage": "divio_storage_infra.components.s3",
    "S3MediaStorageArgs": "divio_storage_infra.components.s3",
    "AzureMediaStorage": "divio_storage_infra.components.azure",
    "AzureMediaStorageArgs": "divio_storage_infra.components.azure",
    "WebsiteMediaStorage": "divio_storage_infra.components.website",
    "WebsiteMediaStorageArgs": "divio_storage_infra.components.website",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
