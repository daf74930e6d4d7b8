"""The applier for Azure stacks: the storage account's blob service (CORS, soft delete), its containers and their
public access, and the service SAS tokens the program asked for, created in Azurite's development account.

See :mod:`.applier` for the rules every handler follows and the differences from the cloud.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from divio_storage_infra.localstores.applier import COMPONENT_TYPES, Inputs, UnappliedResource, mapped, plain
from divio_storage_infra.localstores.azurite import ACCOUNT, ACCOUNT_KEY
from divio_storage_infra.localstores.clients import azurite_service
from divio_storage_infra.localstores.declared import LIST_KEYS, SERVICE_SAS
from divio_storage_infra.preview.mockrun import Declared, DeclaredResource


@dataclass(frozen=True)
class AzureTarget:
    """A local Azurite: its URL (the development account's path included) and the CA bundle to trust it with
    (None: the environment's)."""

    url: str
    verify: str | bool | None = None

    @property
    def tls(self) -> bool:
        """Whether Azurite is reached over HTTPS (then SAS tokens are signed for ``https`` only, as declared)."""
        return self.url.startswith("https://")


@dataclass
class AzureApplied:
    """What :func:`apply_azure` created: containers and their public access, SAS tokens by container, a log."""

    endpoint_url: str
    account: str = ""
    containers: dict[str, str | None] = field(default_factory=dict)
    sas_tokens: dict[str, str] = field(default_factory=dict)
    cors: list[dict[str, Any]] = field(default_factory=list)
    log: list[str] = field(default_factory=list)


class _Azure:
    def __init__(self, target: AzureTarget) -> None:
        self.target = target
        self.out = AzureApplied(target.url)
        self.service = azurite_service(target.url, verify=target.verify)
        self.allow_public = True


_PUBLIC_ACCESS = {"Blob": "blob", "Container": "container", "None": None}


def _resource_group(ctx: _Azure, r: DeclaredResource, i: Inputs) -> None:
    i.ignore("resourceGroupName", "location", "tags")
    ctx.out.log.append(f"{r.name}: Azurite has no resource manager; the group exists only in the declared graph")


def _account(ctx: _Azure, r: DeclaredResource, i: Inputs) -> None:
    ctx.out.account = i.need("accountName")
    # The only account setting that changes what the probes see: public access at account level wins over the
    # container's own, as in Azure.
    ctx.allow_public = bool(i.need("allowBlobPublicAccess"))
    shared_key = i.need("allowSharedKeyAccess")
    i.ignore(
        "resourceGroupName",
        "location",
        "kind",
        "sku",
        "accessTier",
        "enableHttpsTrafficOnly",
        "minimumTlsVersion",
        "defaultToOAuthAuthentication",
        "allowCrossTenantReplication",
        # Management-plane settings Azurite has no counterpart for; asserted on the declared inputs.
        "allowedCopyScope",
        "publicNetworkAccess",
        "networkRuleSet",
        "isSftpEnabled",
        "isLocalUserEnabled",
        "sasPolicy",
        "keyPolicy",
        "tags",
    )
    ctx.out.log.append(
        f"{r.name}: account {ctx.out.account} played by {ACCOUNT} (public access "
        f"{'allowed' if ctx.allow_public else 'off'}, shared key {'on' if shared_key else 'off'}; "
        "HTTPS-only and TLS version are asserted on the declared inputs)"
    )


def _blob_service(ctx: _Azure, r: DeclaredResource, i: Inputs) -> None:
    from azure.storage.blob import CorsRule, RetentionPolicy

    i.ignore("accountName", "resourceGroupName", "blobServicesName")
    rules = []
    for rule in (i.get("cors") or {}).get("corsRules", []):
        names = mapped(
            rule,
            {
                "allowedOrigins": "allowed_origins",
                "allowedMethods": "allowed_methods",
                "allowedHeaders": "allowed_headers",
                "exposedHeaders": "exposed_headers",
                "maxAgeInSeconds": "max_age_in_seconds",
            },
            r.name,
        )
        ctx.out.cors.append(names)
        rules.append(CorsRule(**names))
    retention = i.get("deleteRetentionPolicy")
    delete_policy = None
    if retention is not None:
        retention = mapped(retention, {"enabled": "enabled", "days": "days"}, r.name)
        delete_policy = RetentionPolicy(**retention)
    ctx.service.set_service_properties(cors=rules, delete_retention_policy=delete_policy)
    if i.get("isVersioningEnabled"):
        raise UnappliedResource(f"{r.name}: Azurite has no blob versioning; cannot apply isVersioningEnabled=true")
    if i.get("containerDeleteRetentionPolicy") is not None:
        ctx.out.log.append(f"{r.name}: container soft delete is management-plane only; not in Azurite")
    ctx.out.log.append(f"{r.name}: {len(rules)} CORS rule(s) set on the blob service")


def _container(ctx: _Azure, r: DeclaredResource, i: Inputs) -> None:
    from azure.core.exceptions import ResourceExistsError

    i.ignore("accountName", "resourceGroupName")
    name = i.need("containerName")
    declared_access = i.need("publicAccess")
    if declared_access not in _PUBLIC_ACCESS:
        raise UnappliedResource(f"{r.name}: unknown publicAccess {declared_access!r}")
    access = _PUBLIC_ACCESS[declared_access] if ctx.allow_public else None
    client = ctx.service.get_container_client(name)
    try:
        client.create_container(public_access=access)
    except ResourceExistsError:
        # Tests apply several specs to one Azurite: converge the existing container to this declaration.
        client.set_container_access_policy(signed_identifiers={}, public_access=access)
    ctx.out.containers[name] = access
    ctx.out.log.append(f"{r.name}: container {name} with public access {access}")


def _management_policy(ctx: _Azure, r: DeclaredResource, i: Inputs) -> None:
    raise UnappliedResource(f"{r.type} ({r.name}): Azurite has no lifecycle management")


AZURE_HANDLERS: dict[str, Callable[[_Azure, DeclaredResource, Inputs], None]] = {
    "azure-native:resources:ResourceGroup": _resource_group,
    "azure-native:storage:StorageAccount": _account,
    "azure-native:storage:BlobServiceProperties": _blob_service,
    "azure-native:storage:BlobContainer": _container,
    "azure-native:storage:ManagementPolicy": _management_policy,
}


def _parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _service_sas(ctx: _Azure, args: dict[str, Any]) -> None:
    from azure.storage.blob import generate_container_sas

    args = plain(args, SERVICE_SAS)
    known = {
        "accountName",
        "resourceGroupName",
        "canonicalizedResource",
        "resource",
        "permissions",
        "protocols",
        "sharedAccessStartTime",
        "sharedAccessExpiryTime",
        "keyToSign",
    }
    if set(args) - known:
        raise UnappliedResource(f"{SERVICE_SAS}: no mapping for {sorted(set(args) - known)}")
    if args["resource"] != "c":
        raise UnappliedResource(f"{SERVICE_SAS}: only container SAS (resource 'c') is applied, not {args['resource']}")
    container = str(args["canonicalizedResource"]).rsplit("/", 1)[-1]
    if args.get("keyToSign", "key1") != "key1":
        # Azurite's development account has one key; a SAS signed with key2 has no counterpart there.
        raise UnappliedResource(f"{SERVICE_SAS}: Azurite has only key1 to sign with, not {args['keyToSign']}")
    ctx.out.sas_tokens[container] = generate_container_sas(
        ACCOUNT,
        container,
        account_key=ACCOUNT_KEY,
        permission=args["permissions"],
        start=_parse_time(args["sharedAccessStartTime"]),
        expiry=_parse_time(args["sharedAccessExpiryTime"]),
        # Declared HTTPS-only; Azurite enforces spr, so over plain HTTP on loopback (and only there) widen it.
        protocol="https,http" if args["protocols"] == "https" and not ctx.target.tls else args["protocols"],
    )


def apply_azure(declared: Declared, target: AzureTarget) -> AzureApplied:
    """Apply every declared Azure resource and invoke to the development account of the Azurite at ``target``."""
    ctx = _Azure(target)
    for resource in declared.resources:
        if resource.type in COMPONENT_TYPES:
            continue
        handler = AZURE_HANDLERS.get(resource.type)
        if handler is None:
            raise UnappliedResource(f"cannot apply {resource.type} ({resource.name}) to Azurite: no handler")
        inputs = Inputs(resource)
        handler(ctx, resource, inputs)
        inputs.done()
    for token, args in declared.calls:
        if token == LIST_KEYS:
            ctx.out.log.append("listStorageAccountKeys: answered with the development account's key")
        elif token == SERVICE_SAS:
            _service_sas(ctx, args)
        else:
            raise UnappliedResource(f"cannot apply invoke {token} to Azurite: no handler")
    return ctx.out
