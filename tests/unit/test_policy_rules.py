"""The pack's rules as pure functions, over the example stacks' real plan documents and mutated copies of them."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest
from divio_storage_policy import POLICIES, UNKNOWN, model, s3
from support.policy_pack import (
    MEDIA,
    MUTATIONS,
    PACK_DIR,
    STACKS,
    Mutation,
    example,
    find,
    records,
    violations,
)

from divio_storage_infra.core import markers
from divio_storage_infra.core.clouds import S3_PROVIDERS


@pytest.mark.parametrize("stack", STACKS)
def test_example_stacks_pass_every_rule(stack: str) -> None:
    assert violations(example(stack)) == {}


def test_every_policy_has_a_mutation_that_triggers_it() -> None:
    assert {m.policy for m in MUTATIONS} == {p.name for p in POLICIES}


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.id for m in MUTATIONS])
def test_mutation_triggers_exactly_its_policy(mutation: Mutation) -> None:
    found = violations(mutation.apply())
    assert set(found) == {mutation.policy}, {k: [v.message for v in vs] for k, vs in found.items()}
    messages = [v.message for v in found[mutation.policy]]
    # The message names the resource (type and logical name), the property and the fix.
    assert any(f'"{mutation.resource}"' in m for m in messages), messages
    assert all("; fix: " in m and m.split('": ', 1)[1] for m in messages), messages
    assert all(v.urn is not None and v.urn.endswith(v.message.split('"')[1]) for v in found[mutation.policy])


def test_a_bucket_named_in_config_is_public_like_a_tagged_one() -> None:
    document = example("example-live")
    del find(document, "s3/bucket:Bucket", MEDIA)["inputs"]["tags"]["media-store"]
    untagged = violations(document)
    assert set(untagged) == {"s3-block-public-access", "s3-public-read-only"}
    named = {"publicBuckets": ["example-live-media-*"]}
    assert violations(document, {"s3-block-public-access": named, "s3-public-read-only": named}) == {}


def test_config_opt_ins_and_public_accounts() -> None:
    document = example("example-azure-live")
    account = find(document, "StorageAccount", "example-live-account")["inputs"]
    account["tags"] = {}
    assert set(violations(document)) == {"azure-public-blob-scope", "storage-cors-uploads-opt-in"}
    config = {
        "azure-public-blob-scope": {"publicAccounts": ["examplelive*"]},
        "storage-cors-uploads-opt-in": {"allowUploads": True},
    }
    assert violations(document, config) == {}
    # The public container's name is configurable too.
    config["azure-public-blob-scope"]["publicContainers"] = ["assets"]
    assert set(violations(document, config)) == {"azure-public-blob-scope"}


def test_unknown_values_are_skipped_not_guessed() -> None:
    document = example("example-live")
    for resource in document["resources"]:
        if resource["type"] == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":
            resource["inputs"]["restrictPublicBuckets"] = "(known after apply)"
        if resource["type"] == "aws:s3/bucketPolicy:BucketPolicy":
            resource["inputs"]["policy"] = "(known after apply)"
    assert violations(document) == {}


def test_parts_join_their_bucket_through_dependencies_when_names_are_unknown() -> None:
    # Auto-named buckets: the physical name is unknown in a preview; the access block still finds its bucket.
    document = example("example-live")
    bucket = find(document, "s3/bucket:Bucket", "example-live-private")
    block = find(document, "BucketPublicAccessBlock", "example-live-private-public-access")
    bucket["inputs"]["bucket"] = "(known after apply)"
    block["inputs"]["bucket"] = "(known after apply)"
    block["inputs"]["blockPublicPolicy"] = False
    assert block["propertyDependencies"]["bucket"] == [bucket["urn"]]  # what the engine records
    found = violations(document)["s3-block-public-access"]
    assert [v.urn for v in found] == [block["urn"]]
    # Without the dependency the block belongs to no bucket: the bucket itself has none.
    block["propertyDependencies"] = {}
    found = violations(document)["s3-block-public-access"]
    assert [v.urn for v in found] == [bucket["urn"]] and "is not declared" in found[0].message


def test_inline_bucket_settings_count() -> None:
    # Older programs configure a bucket inline (deprecated pulumi-aws inputs); the rules read those too.
    document = example("example-live")
    find(document, "s3/bucket:Bucket", MEDIA)["inputs"]["corsRules"] = [
        {"allowedOrigins": ["*"], "allowedMethods": ["GET"]}
    ]
    assert set(violations(document)) == {"storage-cors-no-wildcard-origin"}


def test_pack_capabilities_mirror_the_project_table() -> None:
    for name, caps in s3.CAPABILITIES.items():
        core = S3_PROVIDERS[name]
        assert (
            caps.public_access_block,
            caps.ownership_controls,
            caps.bucket_policy,
            caps.server_side_encryption,
            caps.versioning,
            caps.lifecycle,
        ) == (
            core.public_access_block,
            core.ownership_controls,
            core.bucket_policy,
            core.server_side_encryption,
            core.versioning,
            core.lifecycle,
        ), name
    assert set(s3.CAPABILITIES) == set(S3_PROVIDERS)


def test_pack_reads_the_tags_the_components_write() -> None:
    assert (model.STORE_TAG, model.PUBLIC, model.CORS_UPLOADS_TAG, model.CORS_ANY_ORIGIN_TAG, model.ALLOWED) == (
        markers.STORE_TAG,
        markers.PUBLIC,
        markers.CORS_UPLOADS_TAG,
        markers.CORS_ANY_ORIGIN_TAG,
        markers.ALLOWED,
    )


def test_rules_import_only_the_standard_library() -> None:
    # The pack is published on its own: everything but the pulumi-policy adapter must run on a bare interpreter.
    package = PACK_DIR / "divio_storage_policy"
    for path in sorted(package.glob("*.py")):
        if path.name == "crossguard.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top == "divio_storage_policy", (path.name, name)


def test_records_keep_unknowns_and_providers() -> None:
    resources = {r.name: r for r in records(example("example-exoscale-live"))}
    bucket = resources["example-ch-live-media"]
    assert bucket.provider is not None and "exo.io" in json.dumps(bucket.provider.props)
    assert s3.capabilities(bucket).family == "exoscale"
    assert UNKNOWN is model.UNKNOWN


def test_policy_names_are_unique_and_documented() -> None:
    names = [p.name for p in POLICIES]
    assert len(names) == len(set(names))
    root = Path(__file__).resolve().parents[2]
    # Documented in the README or a docs/ page (a feature's rules sit with its page, e.g. docs/backup.md).
    documented = "\n".join(p.read_text() for p in [root / "README.md", *sorted((root / "docs").rglob("*.md"))])
    for policy in POLICIES:
        assert f"`{policy.name}`" in documented, policy.name
