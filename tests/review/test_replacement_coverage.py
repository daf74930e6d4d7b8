"""The review's replacement table knows every custom type the components can declare, providers included.

Two views that must agree: the resource classes the component modules call (read from their source, each class's
type token from the SDK), and the types the components declare under Pulumi's mock runtime across specs that
switch every optional part on (every cloud, private stores, credentials, CORS, logging, adoption, versioning). A
component that starts declaring a new type fails here until the table says which of its inputs replace it.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
from pathlib import Path
from typing import Any

import pulumi
import pytest

import divio_storage_infra.components as components_package
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.localstores.declared import declare_website
from divio_storage_infra.review.danger import find_dangers
from divio_storage_infra.review.model import diff_plans
from divio_storage_infra.review.plans import plan_from_document
from divio_storage_infra.review.replacement import REPLACE_ON_CHANGE, knows

KEY = ("EXOKEY0123456789abcdef", "not-a-real-secret")
SPECS: list[tuple[dict[str, Any], tuple[str, str] | None]] = [
    ({"website": "plain", "environment": "live", "region": "eu-central-1"}, None),
    (
        {
            "website": "full",
            "environment": "live",
            "region": "eu-central-1",
            "privateStorage": True,
            "credentials": "iam-user",
            "corsOrigins": ["https://www.example.com"],
            "allowUploads": True,
            "versioning": True,
            "noncurrentVersionExpirationDays": 30,
            "accessLogBucket": "platform-access-logs",
            "mediaDomain": "media.example.com",
        },
        None,
    ),
    (
        {
            "website": "kept",
            "environment": "live",
            "region": "eu-central-1",
            "privateStorage": True,
            "backup": True,
            "backupRegion": "eu-west-1",
        },
        None,
    ),
    (
        {
            "website": "kept",
            "environment": "live",
            "cloud": "azure",
            "location": "westeurope",
            "privateStorage": True,
            "backup": True,
            "backupLocation": "northeurope",
        },
        None,
    ),
    (
        {
            "website": "legacy",
            "environment": "live",
            "region": "eu-central-1",
            "adopt": True,
            "bucketName": "legacy-media-bucket",
            "privateStorage": True,
            "privateBucketName": "legacy-private-bucket",
            "credentials": "iam-user",
        },
        None,
    ),
    (
        {
            "website": "swiss",
            "environment": "live",
            "cloud": "exoscale",
            "region": "ch-gva-2",
            "credentials": "static",
            "privateStorage": True,
            "versioning": True,
            "corsOrigins": ["https://www.example.ch"],
        },
        KEY,
    ),
    (
        {
            "website": "minio",
            "environment": "live",
            "cloud": "s3-compatible",
            "region": "us-east-1",
            "endpoint": "objects.example.net",
            "credentials": "static",
            "privateStorage": True,
        },
        KEY,
    ),
    (
        {
            "website": "portal",
            "environment": "live",
            "cloud": "azure",
            "location": "westeurope",
            "privateStorage": True,
            "credentials": "sas",
            "sasStart": "2026-01-01",
            "versioning": True,
            "corsOrigins": ["https://portal.example.com"],
        },
        None,
    ),
    (
        {
            "website": "legacy",
            "environment": "live",
            "cloud": "azure",
            "location": "westeurope",
            "adopt": True,
            "subscriptionId": "0b1f6471-1bf0-4dda-aec3-cb9272f09590",
            "resourceGroupName": "rg-legacy",
            "storageAccountName": "legacymedia01",
            "containerName": "media",
            "privateStorage": True,
            "privateContainerName": "uploads",
        },
        None,
    ),
]


def _declared_types() -> set[str]:
    found: set[str] = set()
    for raw, credentials in SPECS:
        declared = declare_website(StorageSpec.from_dict(raw), credentials)
        found |= {r.type for r in declared.resources if r.custom}
    return found


def _token(cls: type) -> str | None:
    """The type token a resource class registers (``pulumi:providers:<pkg>`` for a provider)."""
    if not (isinstance(cls, type) and issubclass(cls, pulumi.CustomResource)):
        return None
    match = re.search(r"super\([^)]*\)\.__init__\(\s*'([^']+)'", inspect.getsource(cls))
    assert match is not None, cls
    return f"pulumi:providers:{match.group(1)}" if issubclass(cls, pulumi.ProviderResource) else match.group(1)


def _dotted(node: ast.expr) -> list[str] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *parts]


def _source_types() -> set[str]:
    """Type tokens of every resource class the component modules call (``aws.s3.Bucket(...)``, ...)."""
    found: set[str] = set()
    package_dir = Path(components_package.__file__).parent
    for path in sorted(package_dir.glob("*.py")):
        module = importlib.import_module(f"divio_storage_infra.components.{path.stem}")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or (parts := _dotted(node.func)) is None:
                continue
            target: Any = module
            for part in parts:
                target = getattr(target, part, None)
            token = _token(target) if isinstance(target, type) else None
            if token is not None:
                found.add(token)
    return found


@pytest.fixture(scope="module")
def declared() -> set[str]:
    return _declared_types()


def test_every_type_the_components_declare_has_replacement_knowledge(declared: set[str]) -> None:
    unknown = sorted(t for t in declared if not knows(t))
    assert unknown == [], f"add these types to review/replacement.py REPLACE_ON_CHANGE: {unknown}"
    # The ones the issue named, and the provider, are among them.
    assert {
        "aws:s3/bucketLogging:BucketLogging",
        "aws:s3/bucketAcl:BucketAcl",
        "pulumi:providers:aws",
    } <= declared


def test_the_specs_exercise_every_resource_class_the_components_call(declared: set[str]) -> None:
    """Read from the source: a class the components can call but no spec above declares would escape the check
    above, so the specs must reach all of them (and the table must know them too)."""
    in_source = _source_types()
    assert "aws:s3/bucket:Bucket" in in_source and "azure-native:storage:StorageAccount" in in_source
    assert in_source <= declared, sorted(in_source - declared)
    assert sorted(t for t in in_source if t not in REPLACE_ON_CHANGE) == []


def _plan(raw: dict[str, Any], credentials: tuple[str, str] | None) -> Any:
    """The review view of the per-website plan of ``raw`` (through the real ``plan`` document builder)."""
    from divio_storage_infra.preview.plan import build_plan
    from divio_storage_infra.preview.stackconfig import StackConfig, load_project

    project = load_project(Path(__file__).resolve().parents[2])
    config = {f"divio-storage:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}
    secret: tuple[str, ...] = ()
    if credentials is not None:
        config["divio-storage:accessKeyId"], config["divio-storage:secretAccessKey"] = credentials
        secret = ("divio-storage:secretAccessKey",)
    stack = StackConfig(project, "x", project.directory / "x.yaml", config, secret)
    return plan_from_document(build_plan(stack, jobs=1), label="plan")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"region": "ch-dk-2"}, "provider.region"),
        ({"endpoint": "objects.example.org"}, "provider.endpoints[0].s3"),
    ],
)
def test_a_store_whose_provider_moves_is_replaced_and_that_is_data_loss(change: dict[str, Any], expected: str) -> None:
    website = "swiss" if "region" in change else "minio"
    raw, credentials = next((r, c) for r, c in SPECS if r["website"] == website)
    base = _plan(raw, credentials)
    head = _plan({**raw, **change}, credentials)
    diff = diff_plans(base, head)
    buckets = [r for r in diff.resource_diffs() if r.current.type == "aws:s3/bucket:Bucket"]
    assert buckets and all(r.action == "replace" and expected in r.replace_reasons for r in buckets)
    losses = [f for f in find_dangers(diff) if f.danger == "data-loss"]
    assert sorted(f.name for f in losses) == sorted(r.current.name for r in buckets)
    assert all(f.blocked_by_protection for f in losses)
