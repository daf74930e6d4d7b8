"""The Azure component under Pulumi's mock runtime: every child's type, inputs, parent, dependencies and options,
the invokes that list keys and sign SAS tokens, the exported DSNs (secret, and readable by django-storage-url),
and that pulumi_azure_native stays out of AWS-only programs.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pulumi
import pytest
import yaml
from django.conf import settings  # type: ignore[import-untyped]
from pulumi.runtime import mocks as pulumi_mocks

from divio_storage_infra.components.azure import (
    CORS_EXPOSED_HEADERS,
    CORS_READ_HEADERS,
    CORS_UPLOAD_HEADERS,
    TYPE,
    AzureMediaStorage,
    AzureMediaStorageArgs,
)
from divio_storage_infra.core.dsn import azure_dsn, azure_media_url, parse_dsn
from divio_storage_infra.core.errors import SpecError
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.preview import mockrun
from divio_storage_infra.preview.mockrun import Declared, DeclaredResource, Secret

ROOT = Path(__file__).resolve().parents[2]
BASE: dict[str, Any] = {"website": "example", "environment": "live", "cloud": "azure", "location": "switzerlandnorth"}
ACCOUNT = "examplelive64t9mmb4"  # pinned in test_naming.py
GROUP = "example-live-media"
NAME = "example-live"
# A real-looking key: padded standard base64 with '+' and '/', which must be percent-encoded in the DSN.
ACCOUNT_KEY = base64.b64encode(bytes(range(200, 256)) + bytes(range(8))).decode()
SAS_START = "2026-01-01"

T_GROUP = "azure-native:resources:ResourceGroup"
T_ACCOUNT = "azure-native:storage:StorageAccount"
T_BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
T_CONTAINER = "azure-native:storage:BlobContainer"
T_POLICY = "azure-native:storage:ManagementPolicy"
LIST_KEYS = "azure-native:storage:listStorageAccountKeys"
SERVICE_SAS = "azure-native:storage:listStorageAccountServiceSAS"

ORIGINS = ["https://www.example.com", "https://example.com"]
CORS: dict[str, dict[str, Any]] = {
    "none": {},
    "read": {"corsOrigins": ORIGINS},
    "uploads": {"corsOrigins": ORIGINS, "allowUploads": True},
}
CREDENTIALS: dict[str, dict[str, Any]] = {
    "account-key": {},  # the default
    "sas": {"credentials": "sas", "sasStart": SAS_START},
    "none": {"credentials": "none"},
}


def fake_sas(args: pulumi_mocks.MockCallArgs) -> dict[str, Any]:
    """A SAS query string that names what it was signed for, so tests can tell the tokens apart."""
    container = str(args.args["canonicalizedResource"]).rsplit("/", 1)[-1]
    sig = quote(base64.b64encode(f"signature-of-{container}".encode()).decode(), safe="")
    return {
        "serviceSasToken": f"sv=2022-11-02&sr=c&sp={args.args['permissions']}"
        f"&st={args.args['sharedAccessStartTime']}&se={args.args['sharedAccessExpiryTime']}&spr=https&sig={sig}"
    }


def sas_of(container: str, permissions: str = "racwdl", expiry: str = "2026-04-01T00:00:00Z") -> str:
    """The token :func:`fake_sas` returns for ``container``."""
    sig = quote(base64.b64encode(f"signature-of-{container}".encode()).decode(), safe="")
    return f"sv=2022-11-02&sr=c&sp={permissions}&st={SAS_START}T00:00:00Z&se={expiry}&spr=https&sig={sig}"


class AzureMocks(mockrun.EchoMocks):
    """Echo mocks that answer the two invokes the component makes, as Azure would."""

    def __init__(self) -> None:
        super().__init__(
            calls={
                LIST_KEYS: lambda a: {
                    "keys": [
                        {"keyName": "key1", "value": ACCOUNT_KEY, "permissions": "FULL"},
                        {"keyName": "key2", "value": "a2V5Mg==", "permissions": "FULL"},
                    ]
                },
                SERVICE_SAS: fake_sas,
            }
        )

    def call(self, args: pulumi_mocks.MockCallArgs) -> Any:
        # The SDK's MockMonitor takes a bare dict or (dict, failures) with failures iterable; EchoMocks.call
        # returns (dict, None), which it cannot iterate. Hand it the bare answer either way.
        answer = super().call(args)
        return answer[0] if isinstance(answer, tuple) else answer


def run_component(spec: StorageSpec, name: str = NAME) -> Declared:
    """Declare the component for ``spec`` under the mocks."""

    def program() -> None:
        AzureMediaStorage(name, AzureMediaStorageArgs(spec=spec))

    return mockrun.run(program, mocks=AzureMocks(), stack=name)


def declare(**overrides: Any) -> tuple[StorageSpec, Declared]:
    """Run the component for ``BASE`` plus ``overrides`` under the mocks."""
    spec = StorageSpec.from_dict({**BASE, **overrides})
    return spec, run_component(spec)


def component(declared: Declared) -> DeclaredResource:
    return declared.one(TYPE, NAME)


def revealed(dsn: Any) -> str:
    """A DSN output's text, whether it is a secret (with credentials) or not (``credentials: none``)."""
    return str(dsn.value if isinstance(dsn, Secret) else dsn)


def outputs(declared: Declared) -> dict[str, Any]:
    return declared.component_outputs[component(declared).urn]


def expected_cors(cors: str) -> dict[str, Any]:
    if cors == "none":
        return {"corsRules": []}
    uploads = cors == "uploads"
    return {
        "corsRules": [
            {
                "allowedOrigins": [origin],
                "allowedMethods": ["GET", "HEAD", "PUT"] if uploads else ["GET", "HEAD"],
                "allowedHeaders": list(CORS_READ_HEADERS + (CORS_UPLOAD_HEADERS if uploads else ())),
                "exposedHeaders": ["ETag"],
                "maxAgeInSeconds": 3600,
            }
            for origin in ORIGINS
        ]
    }


COMBINATIONS = [
    pytest.param(private, credentials, cors, id=f"private={private}-{credentials}-cors={cors}")
    for private, credentials, cors in itertools.product((False, True), tuple(CREDENTIALS), tuple(CORS))
]


@pytest.mark.parametrize(("private", "credentials", "cors"), COMBINATIONS)
def test_declared_graph(private: bool, credentials: str, cors: str) -> None:
    _, declared = declare(privateStorage=private, **CREDENTIALS[credentials], **CORS[cors])
    root = component(declared)
    assert root.custom is False
    tags = {"website": "example", "environment": "live", "managed-by": "divio-storage-infra"}

    expected = {
        (T_GROUP, f"{NAME}-resource-group"),
        (T_ACCOUNT, f"{NAME}-account"),
        (T_BLOB_SERVICE, f"{NAME}-blob-service"),
        (T_CONTAINER, f"{NAME}-public-media"),
    }
    if private:
        expected.add((T_CONTAINER, f"{NAME}-private-media"))
    children = [r for r in declared.resources if r is not root]
    assert sorted((r.type, r.name) for r in children) == sorted(expected)
    for child in children:
        assert child.parent == root.urn, child.name
        assert child.custom is True
        # Every child is protected, settings too: removing the website must change nothing at all.
        assert child.protect is True, child.name
        assert child.retain_on_delete is False, child.name

    group = declared.one(T_GROUP)
    assert group.inputs == {"resourceGroupName": GROUP, "location": "switzerlandnorth", "tags": tags}

    account = declared.one(T_ACCOUNT)
    assert account.inputs == {
        "accountName": ACCOUNT,
        "resourceGroupName": GROUP,
        "location": "switzerlandnorth",
        "kind": "StorageV2",
        "sku": {"name": "Standard_LRS"},
        "accessTier": "Hot",
        "enableHttpsTrafficOnly": True,
        "minimumTlsVersion": "TLS1_2",
        "allowBlobPublicAccess": True,
        # A service SAS is signed with the account key: shared keys stay on for SAS too.
        "allowSharedKeyAccess": credentials != "none",
        "defaultToOAuthAuthentication": credentials == "none",
        "allowCrossTenantReplication": False,
        # The security baseline a public media account can keep (docs/security.md).
        "allowedCopyScope": "AAD",
        "publicNetworkAccess": "Enabled",
        "networkRuleSet": {"defaultAction": "Allow", "bypass": "AzureServices"},
        "isSftpEnabled": False,
        "isLocalUserEnabled": False,
        "sasPolicy": {"expirationAction": "Log", "sasExpirationPeriod": "90.00:00:00"},
        "keyPolicy": {"keyExpirationPeriodInDays": 90},
        # The account holds the public container: the role marker (and upload opt-in) the CrossGuard pack reads.
        "tags": {**tags, "media-store": "public", **({"cors-uploads": "allowed"} if cors == "uploads" else {})},
    }
    assert account.dependencies == [group.urn]

    blob_service = declared.one(T_BLOB_SERVICE)
    assert blob_service.inputs == {
        "accountName": ACCOUNT,
        "resourceGroupName": GROUP,
        "blobServicesName": "default",
        "cors": expected_cors(cors),
        "deleteRetentionPolicy": {"enabled": True, "days": 7},
        "containerDeleteRetentionPolicy": {"enabled": True, "days": 7},
        "isVersioningEnabled": False,
    }
    assert blob_service.dependencies == [account.urn]
    assert declared.by_type(T_POLICY) == []

    containers = {c.inputs["containerName"]: c for c in declared.by_type(T_CONTAINER)}
    expected_access = {"public-media": "Blob", **({"private-media": "None"} if private else {})}
    assert {name: c.inputs["publicAccess"] for name, c in containers.items()} == expected_access
    for name, container in containers.items():
        assert container.inputs == {
            "accountName": ACCOUNT,
            "resourceGroupName": GROUP,
            "containerName": name,
            "publicAccess": expected_access[name],
        }
        assert container.dependencies == [account.urn]

    # Invokes: the keys once for account-key, one container-scoped SAS per container for sas, none otherwise.
    container_names = ["public-media", *(["private-media"] if private else [])]
    if credentials == "account-key":
        assert declared.calls == [(LIST_KEYS, {"accountName": ACCOUNT, "resourceGroupName": GROUP})]
    elif credentials == "sas":
        assert sorted(declared.calls, key=lambda c: str(c[1]["canonicalizedResource"])) == sorted(
            (
                (
                    SERVICE_SAS,
                    {
                        "accountName": ACCOUNT,
                        "resourceGroupName": GROUP,
                        "canonicalizedResource": f"/blob/{ACCOUNT}/{name}",
                        "resource": "c",
                        "permissions": "racwdl",
                        "protocols": "https",
                        "sharedAccessStartTime": "2026-01-01T00:00:00Z",
                        "sharedAccessExpiryTime": "2026-04-01T00:00:00Z",
                        # Signed with the account key the spec names (activeAccountKey, default key1).
                        "keyToSign": "key1",
                    },
                )
                for name in container_names
            ),
            key=lambda c: str(c[1]["canonicalizedResource"]),
        )
    else:
        assert declared.calls == []

    out = outputs(declared)
    assert out["resource_group_name"] == GROUP
    assert out["storage_account_name"] == ACCOUNT
    assert out["public_container_name"] == "public-media"
    assert out["media_url"] == f"https://{ACCOUNT}.blob.core.windows.net/public-media/"
    # A DSN is a secret when it carries credentials; without, it is shown as it is.
    assert isinstance(out["storage_dsn"], Secret) == (credentials != "none")

    def credential_for(container: str) -> dict[str, str]:
        if credentials == "account-key":
            return {"account_key": ACCOUNT_KEY}
        if credentials == "sas":
            return {"sas_token": sas_of(container)}
        return {}

    assert revealed(out["storage_dsn"]) == azure_dsn(
        account=ACCOUNT, container="public-media", **credential_for("public-media")
    )
    if private:
        assert out["private_container_name"] == "private-media"
        assert isinstance(out["private_storage_dsn"], Secret) == (credentials != "none")
        assert revealed(out["private_storage_dsn"]) == azure_dsn(
            account=ACCOUNT, container="private-media", **credential_for("private-media")
        )
    else:
        assert "private_container_name" not in out
        assert "private_storage_dsn" not in out


def _plain(value: Any) -> str:
    """Everything outside Secret markers, as text."""
    if isinstance(value, Secret):
        return "[secret]"
    if isinstance(value, dict):
        return json.dumps({k: _plain(v) for k, v in value.items()})
    if isinstance(value, list):
        return json.dumps([_plain(v) for v in value])
    return str(value)


@pytest.mark.parametrize("credentials", ["account-key", "sas"])
def test_credentials_never_appear_outside_secret_markers(credentials: str) -> None:
    _, declared = declare(privateStorage=True, mediaDomain="media.example.com", **CREDENTIALS[credentials])
    everything = [_plain(r.inputs) for r in declared.resources] + [
        _plain(o) for o in declared.component_outputs.values()
    ]
    needles = [ACCOUNT_KEY, quote(ACCOUNT_KEY, safe=""), "signature-of", "sig="]
    for text in everything:
        for needle in needles:
            assert needle not in text
    out = outputs(declared)
    secrets = [revealed(out["storage_dsn"]), revealed(out["private_storage_dsn"])]
    assert all(text.startswith("az://") for text in secrets)


def test_dsns_follow_the_contract_with_media_domain() -> None:
    _, declared = declare(privateStorage=True, mediaDomain="media.example.com")
    out = outputs(declared)
    public = parse_dsn(revealed(out["storage_dsn"]))
    assert (public.account, public.container, public.credential_kind) == (ACCOUNT, "public-media", "account-key")
    assert public.account_key == ACCOUNT_KEY
    assert public.custom_domain == "media.example.com"
    assert public.endpoint_host == "blob.core.windows.net"
    assert public.warnings == ()
    private = parse_dsn(revealed(out["private_storage_dsn"]))
    assert (private.account, private.container, private.custom_domain) == (ACCOUNT, "private-media", None)
    assert out["media_url"] == azure_media_url(ACCOUNT, "public-media", "media.example.com")
    assert out["media_url"] == "https://media.example.com/public-media/"


def test_sas_tokens_are_scoped_per_container_with_configured_permissions_and_lifetime() -> None:
    _, declared = declare(
        privateStorage=True, credentials="sas", sasStart=SAS_START, sasLifetimeDays=30, sasPermissions="lrw"
    )
    by_container = {str(args["canonicalizedResource"]): args for token, args in declared.calls if token == SERVICE_SAS}
    assert set(by_container) == {f"/blob/{ACCOUNT}/public-media", f"/blob/{ACCOUNT}/private-media"}
    for args in by_container.values():
        # Normalised to Azure's order; a fixed expiry: the same config signs the same token on every run.
        assert args["permissions"] == "rwl"
        assert args["sharedAccessStartTime"] == "2026-01-01T00:00:00Z"
        assert args["sharedAccessExpiryTime"] == "2026-01-31T00:00:00Z"
        assert args["resource"] == "c"
        assert args["protocols"] == "https"
    out = outputs(declared)
    public = parse_dsn(revealed(out["storage_dsn"]))
    private = parse_dsn(revealed(out["private_storage_dsn"]))
    assert public.credential_kind == private.credential_kind == "sas"
    assert public.sas_token == sas_of("public-media", "rwl", "2026-01-31T00:00:00Z")
    assert private.sas_token == sas_of("private-media", "rwl", "2026-01-31T00:00:00Z")
    assert public.sas_token != private.sas_token
    # The same terms, without the tokens, as a plain output so plans and PR diffs show them.
    assert out["sas_terms"] == {
        "containers": ["public-media", "private-media"],
        "permissions": "rwl",
        "protocols": "https",
        "start": "2026-01-01T00:00:00Z",
        "expiry": "2026-01-31T00:00:00Z",
    }


def test_sas_terms_only_with_sas() -> None:
    _, declared = declare(privateStorage=True)
    assert "sas_terms" not in outputs(declared)


def test_without_credentials_the_dsn_has_none_and_shared_keys_are_off() -> None:
    _, declared = declare(credentials="none")
    assert declared.one(T_ACCOUNT).inputs["allowSharedKeyAccess"] is False
    dsn = parse_dsn(revealed(outputs(declared)["storage_dsn"]))
    assert (dsn.account, dsn.container, dsn.credential_kind, dsn.secret) == (ACCOUNT, "public-media", None, None)


def test_protect_false_is_an_explicit_choice() -> None:
    _, declared = declare(privateStorage=True, protect=False)
    assert [r.name for r in declared.resources if r.protect] == []


def test_existing_resource_group_is_used_not_created() -> None:
    _, declared = declare(resourceGroupName="platform-shared-rg", privateStorage=True)
    assert declared.by_type(T_GROUP) == []
    account = declared.one(T_ACCOUNT)
    assert account.inputs["resourceGroupName"] == "platform-shared-rg"
    assert account.dependencies == []
    assert all(c.inputs["resourceGroupName"] == "platform-shared-rg" for c in declared.by_type(T_CONTAINER))
    assert declared.one(T_BLOB_SERVICE).inputs["resourceGroupName"] == "platform-shared-rg"
    assert declared.calls == [(LIST_KEYS, {"accountName": ACCOUNT, "resourceGroupName": "platform-shared-rg"})]
    assert outputs(declared)["resource_group_name"] == "platform-shared-rg"


def test_versioning_expires_old_versions_through_a_management_policy() -> None:
    _, declared = declare(versioning=True, noncurrentVersionExpirationDays=45)
    root = component(declared)
    account = declared.one(T_ACCOUNT)
    blob_service = declared.one(T_BLOB_SERVICE)
    assert blob_service.inputs["isVersioningEnabled"] is True
    policy = declared.one(T_POLICY, f"{NAME}-lifecycle")
    assert policy.parent == root.urn
    assert policy.protect is True
    assert policy.dependencies == sorted([account.urn, blob_service.urn])
    assert policy.inputs == {
        "accountName": ACCOUNT,
        "resourceGroupName": GROUP,
        "managementPolicyName": "default",
        "policy": {
            "rules": [
                {
                    "name": "expire-noncurrent-versions",
                    "enabled": True,
                    "type": "Lifecycle",
                    "definition": {
                        "filters": {"blobTypes": ["blockBlob"]},
                        "actions": {"version": {"delete": {"daysAfterCreationGreaterThan": 45}}},
                    },
                }
            ]
        },
    }


def test_account_settings_follow_the_spec() -> None:
    _, declared = declare(
        accountSku="Standard_GZRS",
        blobSoftDeleteDays=30,
        containerSoftDeleteDays=14,
        corsOrigins=["https://a.example.com"],
        corsMaxAgeSeconds=120,
        storageAccountName="acmemedia01",
        tags={"team": "web"},
    )
    account = declared.one(T_ACCOUNT)
    assert account.inputs["accountName"] == "acmemedia01"
    assert account.inputs["sku"] == {"name": "Standard_GZRS"}
    assert account.inputs["tags"]["team"] == "web"
    assert declared.one(T_GROUP).inputs["tags"]["team"] == "web"
    blob_service = declared.one(T_BLOB_SERVICE)
    assert blob_service.inputs["accountName"] == "acmemedia01"
    assert blob_service.inputs["deleteRetentionPolicy"] == {"enabled": True, "days": 30}
    assert blob_service.inputs["containerDeleteRetentionPolicy"] == {"enabled": True, "days": 14}
    (rule,) = blob_service.inputs["cors"]["corsRules"]
    assert rule["maxAgeInSeconds"] == 120
    assert rule["exposedHeaders"] == list(CORS_EXPOSED_HEADERS)
    assert "*" not in rule["allowedHeaders"] and "OPTIONS" not in rule["allowedMethods"]
    assert outputs(declared)["storage_account_name"] == "acmemedia01"


def test_private_only_website_allows_no_public_access() -> None:
    _, declared = declare(publicStorage=False, privateStorage=True)
    assert declared.one(T_ACCOUNT).inputs["allowBlobPublicAccess"] is False
    (container,) = declared.by_type(T_CONTAINER)
    assert (container.name, container.inputs["publicAccess"]) == (f"{NAME}-private-media", "None")
    out = outputs(declared)
    for absent in ("storage_dsn", "media_url", "public_container_name"):
        assert absent not in out
    assert isinstance(out["private_storage_dsn"], Secret)


def test_more_than_five_origins_is_a_spec_error() -> None:
    origins = [f"https://site{i}.example.com" for i in range(6)]
    with pytest.raises(SpecError) as info:
        StorageSpec.from_dict({**BASE, "corsOrigins": origins})
    assert info.value.problems[0].field == "corsOrigins"


def test_rejects_non_azure_spec_before_declaring_anything() -> None:
    spec = StorageSpec.from_dict({"website": "w", "environment": "e", "region": "eu-central-1"})
    with pytest.raises(SpecError) as info:
        AzureMediaStorage("w-e", AzureMediaStorageArgs(spec=spec))
    assert info.value.problems[0].field == "cloud"


def test_example_stack_config_declares_what_it_describes() -> None:
    config = yaml.safe_load((ROOT / "stacks" / "Pulumi.example-azure-live.yaml").read_text())["config"]
    assert config["azure-native:location"] == config["divio-storage:location"]
    raw = {key.split(":", 1)[1]: value for key, value in config.items() if key.startswith("divio-storage:")}
    spec = StorageSpec.from_dict(raw)
    declared = run_component(spec, spec.stack_name)
    assert sorted(r.name for r in declared.resources if r.type != TYPE) == sorted(
        f"example-live-{part}"
        for part in ("resource-group", "account", "blob-service", "public-media", "private-media", "lifecycle")
    )
    assert len(declared.one(T_BLOB_SERVICE).inputs["cors"]["corsRules"]) == 2
    assert {token for token, _ in declared.calls} == {SERVICE_SAS}
    out = outputs(declared)
    assert out["media_url"] == "https://media.example.com/public-media/"
    assert parse_dsn(revealed(out["storage_dsn"])).credential_kind == "sas"


# --- django-storage-url, the parser Divio apps use, reads the exported DSNs --------------------------------------


@pytest.fixture(scope="module")
def django_storage_url() -> Any:
    """django-storage-url's get_storage, with minimal Django settings."""
    if not settings.configured:
        settings.configure()  # the same defaults as the other modules that need Django, whichever runs first
    from django_storage_url import get_storage  # type: ignore[import-untyped]

    return get_storage


@pytest.mark.parametrize(
    ("credentials", "domain"),
    [("account-key", None), ("account-key", "media.example.com"), ("sas", None), ("sas", "media.example.com")],
)
def test_django_storage_url_reads_the_exported_dsns(
    django_storage_url: Any, credentials: str, domain: str | None
) -> None:
    extra = {"mediaDomain": domain} if domain else {}
    _, declared = declare(privateStorage=True, **CREDENTIALS[credentials], **extra)
    out = outputs(declared)
    for key, container, custom_domain in (
        ("storage_dsn", "public-media", domain),
        ("private_storage_dsn", "private-media", None),
    ):
        storage = django_storage_url(out[key].value)
        assert storage.account_name == ACCOUNT
        assert storage.azure_container == container
        if credentials == "account-key":
            assert storage.account_key == ACCOUNT_KEY
            assert storage.sas_token is None
        else:
            assert storage.sas_token == sas_of(container)
            assert storage.account_key is None
        host = custom_domain or f"{ACCOUNT}.blob.core.windows.net"
        assert storage.base_url == f"https://{host}/{container}/"
        assert storage.azure_ssl is True
    assert out["media_url"] == f"https://{domain or f'{ACCOUNT}.blob.core.windows.net'}/public-media/"


# --- pulumi_azure_native stays optional and out of AWS-only programs ---------------------------------------------


def _run_fresh(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_aws_only_imports_do_not_load_azure_native() -> None:
    result = _run_fresh(
        """
        import sys
        import divio_storage_infra
        import divio_storage_infra.components as components
        import divio_storage_infra.program
        from divio_storage_infra.core.spec import StorageSpec
        spec = StorageSpec.from_dict({"website": "example", "environment": "live", "region": "eu-central-1"})
        assert components.S3MediaStorage.__name__ == "S3MediaStorage"
        assert components.WebsiteMediaStorage.__name__ == "WebsiteMediaStorage"
        loaded = sorted(m for m in sys.modules if m.startswith("pulumi_azure_native"))
        print(loaded)
        assert loaded == [], loaded
        """
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_without_azure_native_construction_says_what_to_install() -> None:
    result = _run_fresh(
        """
        import sys
        sys.modules["pulumi_azure_native"] = None  # what an install without the [azure] extra looks like
        from divio_storage_infra.components.azure import AzureMediaStorage, AzureMediaStorageArgs
        from divio_storage_infra.core.spec import StorageSpec
        spec = StorageSpec.from_dict(
            {"website": "example", "environment": "live", "cloud": "azure", "location": "switzerlandnorth"}
        )
        try:
            AzureMediaStorage("example-live", AzureMediaStorageArgs(spec=spec))
        except ImportError as error:
            print(error)
        else:
            raise SystemExit("constructed without pulumi_azure_native")
        """
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "pip install 'divio-storage-infra[azure]'" in result.stdout


@pytest.mark.parametrize("versioning", [False, True])
@pytest.mark.parametrize("private", [False, True])
def test_app_outputs_wait_for_the_account_and_all_its_configuration(versioning: bool, private: bool) -> None:
    spec = StorageSpec.from_dict({**BASE, "versioning": versioning, "privateStorage": private})

    def program() -> None:
        storage = AzureMediaStorage(NAME, AzureMediaStorageArgs(spec=spec))
        consumed = {
            name: value
            for name in ("storage_dsn", "private_storage_dsn", "media_url")
            if (value := getattr(storage, name)) is not None
        }
        pulumi.CustomResource("test:app:Consumer", "app", consumed)

    declared = mockrun.run(program, mocks=AzureMocks(), stack=NAME)
    deps = declared.one("test:app:Consumer").property_dependencies
    config = {declared.one(T_ACCOUNT).urn, declared.one(T_BLOB_SERVICE).urn}
    if versioning:
        config.add(declared.one(T_POLICY).urn)
    public = declared.one(T_CONTAINER, f"{NAME}-public-media").urn
    assert set(deps["media_url"]) == config | {public}
    # The DSN also waits for the key it carries (listed after the account exists, so no further resource).
    assert set(deps["storage_dsn"]) == config | {public}
    if private:
        assert set(deps["private_storage_dsn"]) == config | {declared.one(T_CONTAINER, f"{NAME}-private-media").urn}
    else:
        assert "private_storage_dsn" not in deps


@pytest.mark.parametrize(("extra", "period"), [({}, "90.00:00:00"), ({"sasLifetimeDays": 30}, "30.00:00:00")])
def test_sas_expiration_policy_matches_the_sas_lifetime(extra: dict[str, Any], period: str) -> None:
    _, declared = declare(credentials="sas", sasStart=SAS_START, **extra)
    account = declared.one(T_ACCOUNT)
    # Log, not Block: a longer-lived SAS is reported, never silently cut off.
    assert account.inputs["sasPolicy"] == {"expirationAction": "Log", "sasExpirationPeriod": period}
    assert account.inputs["keyPolicy"] == {"keyExpirationPeriodInDays": 90}
    (token_call,) = [args for token, args in declared.calls if token == SERVICE_SAS]
    # The SAS this component signs lasts exactly as long as the policy allows, so it is never reported.
    days = int(period.split(".")[0])
    assert token_call["sharedAccessExpiryTime"].startswith(
        (dt.date.fromisoformat(SAS_START) + dt.timedelta(days=days)).isoformat()
    )
