"""The stable public API imports, and importing the package loads neither Pulumi, a cloud SDK, requests nor Django."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from typing import Any

from divio_storage_infra.app import settings as app_side
from divio_storage_infra.core import dsn, errors, spec

HEAVY = ("pulumi", "boto3", "botocore", "azure", "django", "requests", "google", "grpc")


def _modules_after(code: str) -> list[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    modules: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return modules


def _heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if m.split(".")[0].startswith(HEAVY)]


def test_the_core_api_is_importable_from_the_package() -> None:
    from divio_storage_infra import SpecError, StorageSpec, app_settings, parse_dsn, storages_settings

    assert StorageSpec is spec.StorageSpec
    assert SpecError is errors.SpecError
    assert parse_dsn is dsn.parse_dsn
    assert storages_settings is app_side.storages_settings
    assert app_settings is app_side.app_settings
    built = StorageSpec.from_dict({"website": "shop", "environment": "live", "region": "eu-central-1"})
    assert built.stack_name == "shop-live"
    assert parse_dsn("s3://shop-media.s3.eu-central-1.amazonaws.com/?acl=private").bucket == "shop-media"


def test_the_components_are_importable_from_the_components_package() -> None:
    from divio_storage_infra.components import (
        AzureMediaStorage,
        S3MediaStorage,
        WebsiteMediaStorage,
        WebsiteMediaStorageArgs,
    )

    def module(name: str) -> Any:
        return importlib.import_module(f"divio_storage_infra.components.{name}")

    assert S3MediaStorage is module("s3").S3MediaStorage
    assert AzureMediaStorage is module("azure").AzureMediaStorage
    assert WebsiteMediaStorage is module("website").WebsiteMediaStorage
    assert WebsiteMediaStorageArgs is module("website").WebsiteMediaStorageArgs


def test_importing_the_package_loads_no_pulumi_sdk_requests_or_django() -> None:
    loaded = _modules_after(
        "import divio_storage_infra\n"
        "from divio_storage_infra import app_settings, parse_dsn, storages_settings\n"
        "app_settings('s3://media.s3.eu-central-1.amazonaws.com/?acl=private', "
        "'s3://private.s3.eu-central-1.amazonaws.com/?acl=private&qs_auth=true')"
    )
    assert "divio_storage_infra.core.spec" in loaded
    assert "divio_storage_infra.app.settings" in loaded
    assert _heavy(loaded) == []
    assert not [m for m in loaded if m.split(".")[0] == "storages"]


def test_the_check_on_loaded_modules_sees_heavy_imports() -> None:
    # The guard above must be able to fail: the components package loads Pulumi once a component is used.
    loaded = _modules_after("from divio_storage_infra.components import WebsiteMediaStorage")
    assert "pulumi" in _heavy(loaded)
