"""Adoption and key rotation under Pulumi's mock runtime: import options, inputs kept while adopting, the migration
order of an adopted bucket, the key slots and which key the DSNs carry."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from divio_storage_infra import program
from divio_storage_infra.core import adoption, policies
from divio_storage_infra.core.dsn import parse_dsn
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.localstores.declared import LIST_KEYS, SERVICE_SAS, declare_website, exported
from divio_storage_infra.preview import mockrun
from divio_storage_infra.preview.mockrun import Declared, DeclaredResource

BUCKET = "aws:s3/bucket:Bucket"
ACCESS_KEY = "aws:iam/accessKey:AccessKey"
ACCOUNT = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"
SUBSCRIPTION = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
AWS_LEGACY: dict[str, Any] = {
    "website": "legacy",
    "environment": "live",
    "region": "eu-central-1",
    "adopt": True,
    "bucketName": "legacy-media-bucket",
    "publicPrefixes": ["media/", "thumbs/"],
    "privateStorage": True,
    "privateBucketName": "legacy-private-bucket",
    "credentials": "iam-user",
}
AZURE_LEGACY: dict[str, Any] = {
    "website": "legacy",
    "environment": "live",
    "cloud": "azure",
    "location": "westeurope",
    "accountSku": "Standard_GRS",
    "adopt": True,
    "subscriptionId": SUBSCRIPTION,
    "resourceGroupName": "rg-legacy",
    "storageAccountName": "legacymedia01",
    "containerName": "media",
    "privateStorage": True,
    "privateContainerName": "uploads",
}


def declare(raw: dict[str, Any]) -> Declared:
    return declare_website(StorageSpec.from_dict(raw))


def chain(declared: Declared, bucket: DeclaredResource) -> list[str]:
    """The bucket's configuration resources as name suffixes, following the depends_on chain from the bucket."""
    config = [r for r in declared.resources if r.inputs.get("bucket") == bucket.inputs["bucket"] and r is not bucket]
    by_urn = {r.urn: r for r in config}
    order: list[str] = []
    current = next(r for r in config if not set(r.dependencies) & set(by_urn))
    while True:
        order.append(current.name.removeprefix(f"{bucket.name}-"))
        after = [r for r in config if current.urn in r.dependencies]
        if not after:
            break
        assert len(after) == 1, [r.name for r in after]
        current = after[0]
    assert len(order) == len(config)
    return order


def test_adopted_buckets_are_imported_by_name_with_live_tags_kept() -> None:
    declared = declare(AWS_LEGACY)
    for name, bucket_name in (
        ("legacy-live-media", "legacy-media-bucket"),
        ("legacy-live-private", "legacy-private-bucket"),
    ):
        bucket = declared.one(BUCKET, name)
        assert bucket.import_id == bucket_name
        assert bucket.ignore_changes == ["tags"]
        # What must match the live bucket for the import to succeed: its name, its region, forceDestroy false.
        assert bucket.inputs["bucket"] == bucket_name
        assert bucket.inputs["region"] == "eu-central-1"
        assert bucket.inputs["forceDestroy"] is False
        assert bucket.protect is True
    # Nothing else is imported: configuration resources are written (S3 "put"s) in the migration order. Sorted:
    # the two buckets do not wait for each other, so the SDK registers them in either order.
    assert sorted(r.name for r in declared.resources if r.import_id) == ["legacy-live-media", "legacy-live-private"]


def test_new_buckets_are_created_in_the_secure_order() -> None:
    declared = declare({k: v for k, v in AWS_LEGACY.items() if k != "adopt"})
    bucket = declared.one(BUCKET, "legacy-live-media")
    assert bucket.import_id is None and bucket.ignore_changes == []
    assert chain(declared, bucket) == ["ownership", "public-access", "policy", "encryption", "versioning", "lifecycle"]
    assert declared.by_type("aws:s3/bucketAcl:BucketAcl") == []


@pytest.mark.parametrize("role", ["media", "private"])
def test_adopted_bucket_migrates_policy_first_and_ownership_before_the_access_block(role: str) -> None:
    declared = declare(AWS_LEGACY)
    bucket = declared.one(BUCKET, f"legacy-live-{role}")
    order = chain(declared, bucket)
    assert order == ["policy", "acl", "ownership", "public-access", "encryption", "versioning", "lifecycle"]
    assert tuple(order) == tuple(s for s in adoption.ADOPT_ORDER if s in order)
    acl = declared.one("aws:s3/bucketAcl:BucketAcl", f"legacy-live-{role}-acl")
    assert acl.inputs["acl"] == "private"
    # Leaves the stack without a call to S3 once adopt is off; not protected so that it can.
    assert (acl.protect, acl.retain_on_delete) == (False, True)
    ownership = declared.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls", f"legacy-live-{role}-ownership")
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    block = declared.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", f"legacy-live-{role}-public-access")
    assert block.inputs["blockPublicAcls"] is True and block.inputs["ignorePublicAcls"] is True


def test_public_prefixes_limit_the_public_read_grant() -> None:
    declared = declare(AWS_LEGACY)
    policy = declared.one("aws:s3/bucketPolicy:BucketPolicy", "legacy-live-media-policy")
    assert policy.inputs["policy"] == policies.to_json(
        policies.public_bucket_policy("legacy-media-bucket", "eu-central-1", ("media/", "thumbs/"))
    )
    statement = policies.public_bucket_policy("b", "eu-central-1", ("media/", "thumbs/"))["Statement"][0]
    assert statement["Resource"] == ["arn:aws:s3:::b/media/*", "arn:aws:s3:::b/thumbs/*"]
    # Without prefixes the grant is the whole bucket, as it always was.
    assert policies.public_bucket_policy("b", "eu-central-1")["Statement"][0]["Resource"] == "arn:aws:s3:::b/*"


def test_adopted_azure_account_and_containers_are_imported_by_arm_id() -> None:
    declared = declare(AZURE_LEGACY)
    assert declared.by_type("azure-native:resources:ResourceGroup") == []
    account = declared.one(ACCOUNT)
    prefix = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-legacy/providers/Microsoft.Storage"
    assert account.import_id == f"{prefix}/storageAccounts/legacymedia01"
    # Must match the live account: name, group, location, kind, SKU (the spec says them).
    assert (account.inputs["accountName"], account.inputs["resourceGroupName"]) == ("legacymedia01", "rg-legacy")
    assert (account.inputs["location"], account.inputs["kind"]) == ("westeurope", "StorageV2")
    assert account.inputs["sku"] == {"name": "Standard_GRS"}
    assert account.ignore_changes == list(adoption.ACCOUNT_IGNORED_WHILE_ADOPTING)
    assert not {"accountName", "resourceGroupName", "location", "kind", "sku"} & set(account.ignore_changes)
    containers = {c.inputs["containerName"]: c for c in declared.by_type(CONTAINER)}
    assert sorted(containers) == ["media", "uploads"]
    for name, container in containers.items():
        assert container.import_id == f"{prefix}/storageAccounts/legacymedia01/blobServices/default/containers/{name}"
        assert container.ignore_changes == ["publicAccess"]
    assert parse_dsn(exported(declared, "storage_dsn")).container == "media"
    assert parse_dsn(exported(declared, "private_storage_dsn")).container == "uploads"


def test_plan_document_marks_imported_resources() -> None:
    from divio_storage_infra.preview.plan import document_of
    from divio_storage_infra.preview.render import render_text
    from divio_storage_infra.preview.stackconfig import Project, StackConfig

    declared = declare(AWS_LEGACY)
    here = Path(".")
    project = Project(
        name="divio-storage",
        directory=here,
        program=here / "__main__.py",
        stack_config_dir=here,
        defaults={},
        secret_keys=frozenset(),
    )
    stack_config = StackConfig(project=project, stack="legacy-live", source=here, config={}, secret_keys=())
    document = document_of(stack_config, declared)
    entries = {r["name"]: r for r in document["resources"]}
    assert entries["legacy-live-media"]["importId"] == "legacy-media-bucket"
    # Only imported resources carry the field: every other plan keeps its bytes.
    assert [r["name"] for r in document["resources"] if "importId" in r] == ["legacy-live-media", "legacy-live-private"]
    text = render_text(document)
    assert '+ aws:s3/bucket:Bucket "legacy-live-media"  [protect]  [import legacy-media-bucket]' in text


# --- key slots -------------------------------------------------------------------------------------------------


def slot_mocks() -> mockrun.EchoMocks:
    """Each access key gets an id and secret of its own (from its logical name), so the DSN shows which one."""
    return mockrun.EchoMocks(
        outputs={
            ACCESS_KEY: lambda a: {"id": f"AKIA-{a.name}", "secret": f"secret-of-{a.name}"},
            "aws:iam/user:User": lambda a: {"arn": f"arn:aws:iam::123456789012:user/{a.inputs['name']}"},
        }
    )


def declare_slots(**overrides: Any) -> Declared:
    spec = StorageSpec.from_dict({**AWS_LEGACY, "adopt": False, **overrides})
    config = {f"{program.NAMESPACE}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in spec.to_dict().items()}
    return mockrun.run(program.main, mocks=slot_mocks(), stack=spec.stack_name, config=config)


@pytest.mark.parametrize(
    ("slots", "active", "expected_keys", "dsn_key"),
    [
        (None, None, {"legacy-live-access-key": True}, "legacy-live-access-key"),
        (
            ["a", "b"],
            None,
            {"legacy-live-access-key": True, "legacy-live-access-key-b": False},
            "legacy-live-access-key",
        ),
        (
            ["a", "b"],
            "b",
            {"legacy-live-access-key": False, "legacy-live-access-key-b": True},
            "legacy-live-access-key-b",
        ),
        (["b"], None, {"legacy-live-access-key-b": True}, "legacy-live-access-key-b"),
    ],
)
def test_key_slots_and_the_key_the_dsns_carry(
    slots: list[str] | None, active: str | None, expected_keys: dict[str, bool], dsn_key: str
) -> None:
    overrides: dict[str, Any] = {}
    if slots is not None:
        overrides["accessKeys"] = slots
    if active is not None:
        overrides["activeAccessKey"] = active
    declared = declare_slots(**overrides)
    keys = {r.name: r.protect for r in declared.by_type(ACCESS_KEY)}
    # Slot a keeps the name the single key always had; only the key the DSNs carry is protected.
    assert keys == expected_keys
    for output in ("storage_dsn", "private_storage_dsn"):
        parsed = parse_dsn(exported(declared, output))
        assert (parsed.access_key_id, parsed.secret) == (f"AKIA-{dsn_key}", f"secret-of-{dsn_key}")
    assert declared.outputs["access_key_id"] == f"AKIA-{dsn_key}"


KEY1 = base64.b64encode(b"key one of the account").decode()
KEY2 = base64.b64encode(b"key two of the account").decode()


def azure_key_mocks() -> mockrun.EchoMocks:
    return mockrun.EchoMocks(
        calls={
            LIST_KEYS: lambda a: {"keys": [{"keyName": "key1", "value": KEY1}, {"keyName": "key2", "value": KEY2}]},
            SERVICE_SAS: lambda a: {
                "serviceSasToken": f"sv=2022-11-02&se=2026-04-01&sig=signed-with-{a.args['keyToSign']}"
            },
        }
    )


@pytest.mark.parametrize("active", [None, "key1", "key2"])
@pytest.mark.parametrize("credentials", ["account-key", "sas"])
def test_active_account_key(credentials: str, active: str | None) -> None:
    raw: dict[str, Any] = {
        "website": "portal",
        "environment": "live",
        "cloud": "azure",
        "location": "westeurope",
        "credentials": credentials,
        **({"sasStart": "2026-01-01"} if credentials == "sas" else {}),
        **({"activeAccountKey": active} if active else {}),
    }
    spec = StorageSpec.from_dict(raw)
    config = {f"{program.NAMESPACE}:{k}": str(v) for k, v in spec.to_dict().items()}
    declared = mockrun.run(program.main, mocks=azure_key_mocks(), stack=spec.stack_name, config=config)
    parsed = parse_dsn(exported(declared, "storage_dsn"))
    expected = active or "key1"
    if credentials == "account-key":
        assert parsed.account_key == {"key1": KEY1, "key2": KEY2}[expected]
    else:
        assert parsed.sas_token is not None and parsed.sas_token.endswith(f"sig=signed-with-{expected}")
        assert all(args["keyToSign"] == expected for token, args in declared.calls if token == SERVICE_SAS)
