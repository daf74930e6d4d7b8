"""Many websites in one program: removal safety, URN stability, aliases, shared providers, duplicate URNs.

Everything runs the real components under the SDK's mock runtime (``preview.mockrun``), whose monitor computes
URNs as the engine does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from divio_storage_infra import planblocks, platform, program
from divio_storage_infra.components.website import WebsiteMediaStorage, WebsiteMediaStorageArgs
from divio_storage_infra.core import naming
from divio_storage_infra.core.errors import SpecError
from divio_storage_infra.core.registry import RegistryError, validate_registry
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.localstores.declared import website_mocks
from divio_storage_infra.preview import mockrun
from divio_storage_infra.preview.mockrun import Declared, DeclaredResource, DuplicateUrnError

PROJECT = "platform-test"
KEYS = {
    "exo-main": {"accessKeyId": "EXOmain0123456789", "secretAccessKey": "exo/main+secret"},
    "exo-other": {"accessKeyId": "EXOother012345678", "secretAccessKey": "exo/other+secret"},
}

SPECS: dict[str, dict[str, Any]] = {
    "aws": {
        "cloud": "aws",
        "region": "eu-central-1",
        "credentials": "iam-user",
        "privateStorage": True,
        "versioning": True,
        "corsOrigins": ["https://www.example.com"],
    },
    "exoscale": {
        "cloud": "exoscale",
        "region": "ch-gva-2",
        "credentials": "static",
        "credentialsKey": "exo-main",
        "privateStorage": True,
        "versioning": True,
        "corsOrigins": ["https://www.example.ch"],
    },
    "s3-compatible": {
        "cloud": "s3-compatible",
        "region": "us-east-1",
        "endpoint": "objects.example.net",
        "credentials": "static",
        "credentialsKey": "exo-other",
        "privateStorage": True,
        "versioning": True,
    },
    "azure": {
        "cloud": "azure",
        "location": "switzerlandnorth",
        "credentials": "sas",
        "sasStart": "2026-01-01",
        "privateStorage": True,
        "versioning": True,
        "corsOrigins": ["https://www.example.com"],
    },
}


def run_registry(websites: list[dict[str, Any]], *, keys: dict[str, Any] | None = None) -> Declared:
    """Run the platform's declare step for ``websites`` (with the static keys in secret config) under mocks."""
    keys = KEYS if keys is None else keys
    config = {f"{PROJECT}:{platform.CREDENTIALS_CONFIG}": json.dumps(keys)} if keys else {}

    def program_() -> None:
        found = platform.static_keys()
        platform.declare(validate_registry({"websites": websites}, credentials_keys=sorted(found)).entries, found)

    return mockrun.run(
        program_,
        mocks=website_mocks(),
        project=PROJECT,
        stack="platform",
        config=config,
        secret_keys=list(config),
    )


def site(website: str, environment: str, cloud: str = "aws", **extra: Any) -> dict[str, Any]:
    return {"website": website, "environment": environment, **SPECS[cloud], **extra}


def owned(declared: Declared, component_name: str) -> list[DeclaredResource]:
    """The website component named ``component_name`` and every resource below it."""
    top = declared.one("divio:storage:WebsiteMediaStorage", component_name)
    found = [top]
    for resource in declared.resources:  # registration order: parents come before their children
        if resource.parent in {r.urn for r in found}:
            found.append(resource)
    return found


# --- removal safety ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cloud", sorted(SPECS))
def test_every_resource_of_a_protected_website_is_protected(cloud: str) -> None:
    declared = run_registry([site("shop", "live", cloud)])
    resources = owned(declared, "shop-live")
    types = {r.type for r in resources}
    # The website declares what it should (so the assertion below covers every kind of child).
    expected = {
        "aws": {
            "aws:s3/bucketPolicy:BucketPolicy",
            "aws:iam/accessKey:AccessKey",
            "aws:iam/userPolicy:UserPolicy",
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration",
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        },
        "exoscale": {
            "aws:s3/bucketVersioning:BucketVersioning",
            "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration",
        },
        "s3-compatible": {"aws:s3/bucketPolicy:BucketPolicy", "aws:s3/bucketVersioning:BucketVersioning"},
        "azure": {
            "azure-native:storage:BlobServiceProperties",
            "azure-native:storage:ManagementPolicy",
            "azure-native:storage:BlobContainer",
            "azure-native:resources:ResourceGroup",
        },
    }[cloud]
    assert expected <= types
    unprotected = [(r.type, r.name) for r in resources if not r.protect]
    assert unprotected == []
    assert not any(r.retain_on_delete for r in resources)


@pytest.mark.parametrize("cloud", sorted(SPECS))
def test_protect_false_lifts_protection_from_every_resource(cloud: str) -> None:
    declared = run_registry([site("shop", "live", cloud, protect=False)])
    assert [(r.type, r.name) for r in owned(declared, "shop-live") if r.protect] == []


def test_the_single_website_program_protects_its_own_provider_too() -> None:
    spec = {
        "website": "shop",
        "environment": "live",
        "cloud": "exoscale",
        "region": "ch-gva-2",
        "credentials": "static",
    }
    config = {f"divio-storage:{k}": v for k, v in spec.items()}
    config |= {"divio-storage:accessKeyId": "EXOkey", "divio-storage:secretAccessKey": "s3cr3t-value"}
    declared = mockrun.run(program.main, config=config, secret_keys=["divio-storage:secretAccessKey"])
    assert all(r.protect for r in declared.resources)
    assert declared.one("pulumi:providers:aws").name == "shop-live-exoscale"


# --- URNs --------------------------------------------------------------------------------------------------------


def urns_by_name(declared: Declared) -> dict[str, str]:
    return {f"{r.type}::{r.name}": r.urn for r in declared.resources}


def test_urns_carry_the_whole_parent_type_chain() -> None:
    declared = run_registry([site("shop", "live")])
    bucket = declared.one("aws:s3/bucket:Bucket", "shop-live-media")
    assert bucket.urn == (
        "urn:pulumi:platform::platform-test::divio:storage:WebsiteMediaStorage$divio:storage:S3MediaStorage"
        "$aws:s3/bucket:Bucket::shop-live-media"
    )
    top = declared.one("divio:storage:WebsiteMediaStorage")
    assert top.urn == "urn:pulumi:platform::platform-test::divio:storage:WebsiteMediaStorage::shop-live"
    # The SDK sees the same URNs: dependencies and parents point at them.
    assert bucket.parent == declared.one("divio:storage:S3MediaStorage").urn
    policy = declared.one("aws:s3/bucketPolicy:BucketPolicy", "shop-live-media-policy")
    assert set(policy.dependencies) <= {r.urn for r in declared.resources}


def test_adding_and_removing_websites_around_one_leaves_its_urns_and_inputs_unchanged() -> None:
    target = site("shop", "eu-live", "exoscale")
    alone = run_registry([target])
    crowded = run_registry(
        [
            site("shop-eu", "live", "exoscale"),
            site("a", "live"),
            target,
            site("shop", "eu-live-2", "exoscale"),
            site("zz", "stage", "azure"),
        ]
    )
    fewer = run_registry([site("shop-eu", "live", "exoscale"), target])
    mine = {r.urn: r.inputs for r in owned(alone, "shop--eu-live")}
    assert len(mine) > 5
    for other in (crowded, fewer):
        theirs = {r.urn: r.inputs for r in owned(other, "shop--eu-live")}
        assert theirs.keys() == mine.keys()
        assert json.dumps(theirs, sort_keys=True, default=repr) == json.dumps(mine, sort_keys=True, default=repr)
    # The shared provider is named by endpoint and key, so it is the same one however many websites use it.
    assert alone.one("pulumi:providers:aws").urn == next(
        r.urn for r in crowded.by_type("pulumi:providers:aws") if "exo-main" in r.name
    )


def test_duplicate_urns_fail_the_run_naming_both_declarations() -> None:
    def twice() -> None:
        # Two parents of one type, each with a child "x": the children share a URN (the parents' names are not
        # part of it), as websites whose child names collided under the legacy naming did.
        for parent_name in ("a", "b"):
            parent = pulumi.ComponentResource("acme:web:Site", parent_name, None)
            pulumi.ComponentResource("acme:web:Store", "x", None, pulumi.ResourceOptions(parent=parent))

    with pytest.raises(DuplicateUrnError) as raised:
        mockrun.run(twice)
    assert raised.value.urn == "urn:pulumi:test::divio-storage::acme:web:Site$acme:web:Store::x"
    message = str(raised.value)
    assert (
        "declared twice, as acme:web:Store 'x' under urn:pulumi:test::divio-storage::acme:web:Site::a and as "
        "acme:web:Store 'x' under urn:pulumi:test::divio-storage::acme:web:Site::b; give one of them another name"
    ) in message


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    pending = [error]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.append(current)
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return seen


# --- aliases -----------------------------------------------------------------------------------------------------


def alias_urns(declared: Declared, resource: DeclaredResource) -> set[str]:
    """The URNs the engine tries for ``resource`` (its own alias specs, and those inherited from its parents).

    The engine's rule: an alias spec replaces name, type or parent of the URN; each alias of the parent also
    applies to the child, with the parent's old name replacing the child's name prefix when the child's name
    starts with the parent's name (the `<component name>-<part>` convention every component here follows).
    """
    by_urn = {r.urn: r for r in declared.resources}
    stack_project = resource.urn.split("::")[0:2]

    def urn(parent_urn: str | None, type_: str, name: str) -> str:
        chain = type_
        if parent_urn is not None and "::pulumi:pulumi:Stack::" not in parent_urn:
            chain = parent_urn.split("::")[2] + "$" + type_
        return "::".join([*stack_project, chain, name])

    own: set[str] = set()
    for alias in resource.aliases:
        spec = alias.get("spec", {})
        parent_urn = None if spec.get("noParent") else (spec.get("parentUrn") or resource.parent)
        own.add(urn(parent_urn, spec.get("type") or resource.type, spec.get("name") or resource.name))
    parent = by_urn.get(resource.parent or "")
    if parent is None:
        return own
    inherited: set[str] = set()
    for parent_alias in alias_urns(declared, parent):
        old_parent_name = parent_alias.rsplit("::", 1)[1]
        for candidate in {resource.urn, *own}:
            name = candidate.rsplit("::", 1)[1]
            type_ = candidate.split("::")[2].rsplit("$", 1)[-1]
            if name.startswith(parent.name):
                name = old_parent_name + name[len(parent.name) :]
            inherited.add(urn(parent_alias, type_, name))
    return own | inherited


def program_config(spec: dict[str, Any]) -> dict[str, str]:
    return {f"divio-storage:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in spec.items()}


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_the_program_aliases_the_legacy_name_so_existing_stacks_keep_every_resource(cloud: str) -> None:
    raw = {
        "website": "shop",
        "environment": "eu-live",
        **{k: v for k, v in SPECS[cloud].items() if k != "credentialsKey"},
    }
    spec = StorageSpec.from_dict(raw)

    def legacy() -> None:  # what the program declared before names were made injective
        WebsiteMediaStorage(naming.legacy_logical_name(spec), WebsiteMediaStorageArgs(spec=spec))

    before = mockrun.run(legacy, mocks=website_mocks(), stack="shop-eu-live")
    after = mockrun.run(program.main, mocks=website_mocks(), stack="shop-eu-live", config=program_config(raw))
    assert {r.name for r in after.resources} != {r.name for r in before.resources}  # the names did change
    top = after.one("divio:storage:WebsiteMediaStorage")
    assert top.name == "shop--eu-live"
    assert [a["spec"]["name"] for a in top.aliases] == ["shop-eu-live"]
    old = {r.urn for r in before.resources}
    # Every old URN is an alias of a new resource: the engine moves each one over instead of replacing it.
    for resource in after.resources:
        matches = alias_urns(after, resource) & old
        assert len(matches) == 1, (resource.urn, sorted(alias_urns(after, resource)))
        assert before.by_urn(matches.pop()).type == resource.type
    assert len(after.resources) == len(before.resources)


def test_unchanged_names_need_no_alias() -> None:
    raw = {"website": "shop-eu", "environment": "live", "region": "eu-central-1"}
    declared = mockrun.run(program.main, config=program_config(raw))
    assert [r.aliases for r in declared.resources if r.type.startswith("divio:")] == [[], []]


def test_renaming_a_component_type_or_a_child_with_aliases() -> None:
    """The documented way to rename without replacing: an alias with the former type or the former name."""
    spec = StorageSpec.from_dict({"website": "shop", "environment": "live", "region": "eu-central-1"})

    def before() -> None:
        pulumi.ComponentResource("acme:web:Storage", "media", None)  # the caller's former wrapper type...
        WebsiteMediaStorage("shop-media", WebsiteMediaStorageArgs(spec=spec))  # ...and a former name

    def after() -> None:
        WebsiteMediaStorage(
            "shop-live",
            WebsiteMediaStorageArgs(spec=spec),
            pulumi.ResourceOptions(aliases=[pulumi.Alias(name="shop-media")]),
        )

    old = mockrun.run(before)
    new = mockrun.run(after)
    old_urns = {r.urn for r in old.resources}
    for resource in new.resources:
        assert alias_urns(new, resource) & old_urns, resource.urn
    # A type rename: the new type carries an alias to the former type token.
    renamed = mockrun.run(
        lambda: pulumi.ComponentResource(
            "acme:web:MediaStorage",
            "media",
            None,
            pulumi.ResourceOptions(aliases=[pulumi.Alias(type_="acme:web:Storage")]),
        )
    )
    assert alias_urns(renamed, renamed.resources[0]) == {old.one("acme:web:Storage").urn}


# --- providers ---------------------------------------------------------------------------------------------------


def test_one_provider_per_endpoint_and_key_shared_by_its_websites() -> None:
    declared = run_registry(
        [
            site("a", "live", "exoscale"),
            site("b", "live", "exoscale"),
            site("c", "live", "exoscale", credentialsKey="exo-other"),
            site("d", "live", "exoscale", region="de-fra-1"),
            site("e", "live", "s3-compatible"),
            site("f", "live", "s3-compatible"),
            site("g", "live"),
        ]
    )
    providers = {r.urn: r for r in declared.by_type("pulumi:providers:aws")}
    assert sorted(r.name for r in providers.values()) == [
        "exoscale:exo-main@sos-ch-gva-2.exo.io/ch-gva-2",
        "exoscale:exo-main@sos-de-fra-1.exo.io/de-fra-1",
        "exoscale:exo-other@sos-ch-gva-2.exo.io/ch-gva-2",
        "s3-compatible:exo-other@objects.example.net/us-east-1",
    ]
    assert all(r.parent is None or "pulumi:pulumi:Stack" in r.parent for r in providers.values())
    # The secret key stays secret in the provider's inputs.
    assert all(isinstance(r.inputs["secretKey"], mockrun.Secret) for r in providers.values())

    def provider_of(website: str) -> str:
        bucket = declared.one("aws:s3/bucket:Bucket", f"{website}-live-media")
        assert bucket.provider is not None
        return providers[bucket.provider.rsplit("::", 1)[0]].name

    assert provider_of("a") == provider_of("b") == "exoscale:exo-main@sos-ch-gva-2.exo.io/ch-gva-2"
    assert provider_of("c") == "exoscale:exo-other@sos-ch-gva-2.exo.io/ch-gva-2"
    assert provider_of("e") == provider_of("f")
    assert declared.one("aws:s3/bucket:Bucket", "g-live-media").provider is None  # AWS: the default provider


@pytest.mark.parametrize("how", ["args", "opts.provider", "opts.providers"])
def test_components_take_the_callers_provider(how: str) -> None:
    spec = StorageSpec.from_dict(
        {"website": "shop", "environment": "live", "cloud": "exoscale", "region": "ch-gva-2", "credentials": "none"}
    )

    def program_() -> None:
        mine = aws.Provider("mine", region="ch-gva-2", skip_region_validation=True)
        args = WebsiteMediaStorageArgs(spec=spec, provider=mine if how == "args" else None)
        opts = {
            "args": None,
            "opts.provider": pulumi.ResourceOptions(provider=mine),
            "opts.providers": pulumi.ResourceOptions(providers=[mine]),
        }[how]
        WebsiteMediaStorage("shop-live", args, opts)

    declared = mockrun.run(program_)
    assert [r.name for r in declared.by_type("pulumi:providers:aws")] == ["mine"]
    mine = declared.one("pulumi:providers:aws").urn
    custom = [r for r in declared.resources if r.custom and r.type != "pulumi:providers:aws"]
    assert custom and all((r.provider or "").startswith(mine + "::") for r in custom)


# --- the platform program ----------------------------------------------------------------------------------------


class CountingMocks(mockrun.EchoMocks):
    """Echo mocks that count what the program asked to create."""

    def __init__(self) -> None:
        super().__init__()
        self.created: list[str] = []

    def new_resource(self, args: Any) -> tuple[str | None, dict[str, Any]]:
        self.created.append(args.name)
        return super().new_resource(args)


def test_nothing_is_declared_when_one_entry_is_bad(tmp_path: Path) -> None:
    registry = tmp_path / "websites.yaml"
    registry.write_text(
        "defaults: {region: eu-central-1}\n"
        "websites:\n"
        "  - {website: good, environment: live}\n"
        "  - {website: good-too, environment: live}\n"
        "  - {website: bad, environment: live, region: eu-centrall-1}\n"
    )
    mocks = CountingMocks()
    with pytest.raises(Exception) as raised:
        mockrun.run(lambda: platform.main(registry), mocks=mocks, project=PROJECT)
    error = next(e for e in _chain(raised.value) if isinstance(e, RegistryError))
    assert [(p.position, p.field) for p in error.problems] == [(2, "region")]
    assert mocks.created == []


def test_without_the_plan_s_hook_the_program_reads_the_registry_every_run_and_declares_every_entry(
    tmp_path: Path,
) -> None:
    # Under `pulumi up` no hook is installed: nothing is kept between runs, every entry is declared.
    registry = tmp_path / "websites.yaml"
    registry.write_text("defaults: {region: eu-central-1}\nwebsites:\n  - {website: shop, environment: live}\n")
    assert planblocks._hook is None
    first = mockrun.run(lambda: platform.main(registry), mocks=website_mocks(), project=PROJECT)
    registry.write_text(
        "defaults: {region: eu-central-1}\nwebsites:\n  - {website: blog, environment: live}\n"
        "  - {website: shop, environment: live}\n"
    )
    second = mockrun.run(lambda: platform.main(registry), mocks=website_mocks(), project=PROJECT)
    assert sorted(first.outputs) == ["shop/live"]
    assert sorted(second.outputs) == ["blog/live", "shop/live"]
    registry.write_text("websites:\n  - {website: blog, environment: live, region: eu-centrall-1}\n")
    for _ in range(2):  # an invalid file is never kept: the same error every time
        with pytest.raises(RegistryError, match="region"):
            platform.load_registry(registry)


def test_static_keys_must_be_secret_and_named_keys_must_exist(tmp_path: Path) -> None:
    registry = tmp_path / "websites.yaml"
    registry.write_text(
        "websites:\n  - {website: a, environment: live, cloud: exoscale, region: ch-gva-2, credentialsKey: exo-x}\n"
    )
    key = f"{PROJECT}:{platform.CREDENTIALS_CONFIG}"
    config = {key: json.dumps(KEYS)}
    with pytest.raises(Exception) as raised:
        mockrun.run(lambda: platform.main(registry), project=PROJECT, config=config)
    error = next(e for e in _chain(raised.value) if isinstance(e, SpecError))
    assert "it holds secret keys" in str(error)
    assert "exo/main+secret" not in str(error)
    with pytest.raises(Exception) as raised:
        mockrun.run(lambda: platform.main(registry), project=PROJECT, config=config, secret_keys=[key])
    error = next(e for e in _chain(raised.value) if isinstance(e, RegistryError))
    assert (
        "credentialsKey: 'exo-x' is not allowed; the platform stack's config has no such key; "
        "it has: exo-main, exo-other" in str(error)
    )


def test_every_website_is_exported_with_its_dsns_secret(tmp_path: Path) -> None:
    registry = tmp_path / "websites.yaml"
    registry.write_text(
        "defaults: {privateStorage: true}\n"
        "websites:\n"
        "  - {website: shop, environment: live, region: eu-central-1, credentials: iam-user}\n"
        "  - {website: shop, environment: eu-live, cloud: exoscale, region: ch-gva-2, credentials: static,\n"
        "     credentialsKey: exo-main}\n"
    )
    key = f"{PROJECT}:{platform.CREDENTIALS_CONFIG}"
    declared = mockrun.run(
        lambda: platform.main(registry),
        mocks=website_mocks(),
        project=PROJECT,
        config={key: json.dumps(KEYS)},
        secret_keys=[key],
    )
    assert sorted(declared.outputs) == ["shop/eu-live", "shop/live"]
    for outputs in declared.outputs.values():
        assert isinstance(outputs["storage_dsn"], mockrun.Secret)
        assert isinstance(outputs["private_storage_dsn"], mockrun.Secret)
    assert declared.outputs["shop/live"]["iam_user_name"] == "shop-live-media"
    assert "exo/main+secret" not in json.dumps(declared.outputs, default=repr)
