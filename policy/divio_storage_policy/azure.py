"""Rules for Azure Blob storage (azure-native 3 resources: StorageAccount, BlobServiceProperties, BlobContainer)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from divio_storage_policy.model import (
    PUBLIC,
    STORE_TAG,
    UNKNOWN,
    Resource,
    Violation,
    as_list,
    children,
    config_list,
    linked,
    matches_any,
    of_types,
    shown,
    violation,
)

ACCOUNTS = ("azure-native:storage:StorageAccount",)
CONTAINERS = ("azure-native:storage:BlobContainer",)
BLOB_SERVICES = ("azure-native:storage:BlobServiceProperties",)
MIN_TLS_VERSIONS = frozenset({"TLS1_2", "TLS1_3"})
DEFAULT_PUBLIC_CONTAINERS = ("public-media",)


def is_public_account(account: Resource, config: Mapping[str, Any]) -> bool:
    """Whether the stack marks ``account`` as holding a public media container (tag, or ``publicAccounts``)."""
    return account.tag(STORE_TAG) == PUBLIC or matches_any(
        account.props.get("accountName"), config_list(config, "publicAccounts")
    )


def account_of(resources: Sequence[Resource], part: Resource) -> Resource | None:
    """The storage account a container or blob service belongs to (by dependency, else by ``accountName``)."""
    return linked(ACCOUNTS, resources, part, key="accountName", owner_key="accountName")


def https_only(resource: Resource, config: Mapping[str, Any]) -> Iterator[Violation]:
    """Storage accounts accept HTTPS only (``enableHttpsTrafficOnly``; the API's default is true)."""
    if resource.type in ACCOUNTS and resource.props.get("enableHttpsTrafficOnly") is False:
        yield violation(resource, "enableHttpsTrafficOnly", "is false, so plain HTTP works", "set it to true")


def minimum_tls(resource: Resource, config: Mapping[str, Any]) -> Iterator[Violation]:
    """Storage accounts refuse TLS older than 1.2 (``minimumTlsVersion`` must be set: older APIs default to 1.0)."""
    if resource.type not in ACCOUNTS:
        return
    value = resource.props.get("minimumTlsVersion")
    if value is not UNKNOWN and value not in MIN_TLS_VERSIONS:
        yield violation(
            resource,
            "minimumTlsVersion",
            "is not set (older API versions default to TLS1_0)" if value is None else f"is {shown(value)}",
            'set it to "TLS1_2"',
        )


def no_container_public_access(resource: Resource, config: Mapping[str, Any]) -> Iterator[Violation]:
    """No container allows anonymous listing (``publicAccess: Container``)."""
    if resource.type in CONTAINERS and resource.props.get("publicAccess") == "Container":
        yield violation(
            resource,
            "publicAccess",
            'is "Container", so anyone can list every blob',
            'set it to "None" (or "Blob" on the public media container only)',
        )


def public_blob_scope(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Violation]:
    """Anonymous blob reads only on the media container of an account the stack marks public."""
    allowed = config_list(config, "publicContainers", DEFAULT_PUBLIC_CONTAINERS)
    for account in of_types(resources, ACCOUNTS):
        if account.props.get("allowBlobPublicAccess") is True and not is_public_account(account, config):
            yield violation(
                account,
                "allowBlobPublicAccess",
                "is true on an account not marked as a public media store",
                "set it to false, or tag the account media-store=public if it holds the public media container",
            )
    for container in of_types(resources, CONTAINERS):
        if container.props.get("publicAccess") != "Blob":
            continue
        problems = []
        name = container.props.get("containerName")
        if name is not UNKNOWN and not matches_any(name, allowed):
            problems.append(f"the container {shown(name)} is not the public media container ({', '.join(allowed)})")
        owner = account_of(resources, container)
        if owner is not None and not is_public_account(owner, config):
            problems.append(f"its account {shown(owner.props.get('accountName'))} is not marked public")
        if problems:
            yield violation(
                container,
                "publicAccess",
                'is "Blob" but ' + " and ".join(problems),
                'set it to "None"; only the public-media container of an account tagged media-store=public '
                "may allow anonymous blob reads",
            )


def sas_expiration_policy(resource: Resource, config: Mapping[str, Any]) -> Iterator[Violation]:
    """Storage accounts have a SAS expiration policy (``sasPolicy.sasExpirationPeriod``)."""
    if resource.type not in ACCOUNTS:
        return
    period = resource.get("sasPolicy", "sasExpirationPeriod")
    if period is UNKNOWN or (isinstance(period, str) and period):
        return
    yield violation(
        resource,
        "sasPolicy.sasExpirationPeriod",
        "is not set, so a SAS may be valid for years",
        'set sasPolicy {"sasExpirationPeriod": "<DD.HH:MM:SS, e.g. 90.00:00:00>", "expirationAction": "Log"}',
    )


def versioning_or_soft_delete(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Violation]:
    """Every storage account has blob versioning or blob soft delete on (BlobServiceProperties)."""
    for account in of_types(resources, ACCOUNTS):
        services = list(
            children(BLOB_SERVICES, resources, account, ACCOUNTS, key="accountName", owner_key="accountName")
        )
        states = [s.props.get("isVersioningEnabled") for s in services]
        states += [s.get("deleteRetentionPolicy", "enabled") for s in services]
        if True in states or UNKNOWN in states:
            continue
        yield violation(
            account,
            "blob versioning / soft delete",
            "is off, so an overwrite or delete loses the data",
            "declare BlobServiceProperties for it with isVersioningEnabled: true or deleteRetentionPolicy.enabled",
        )


def cors_rules(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str, Mapping[str, Any], Resource | None]]:
    """(resource, property path, rule, owning account) for every blob-service CORS rule."""
    for service in of_types(resources, BLOB_SERVICES):
        for index, rule in enumerate(as_list(service.get("cors", "corsRules"))):
            if isinstance(rule, Mapping):
                yield service, f"cors.corsRules[{index}]", rule, account_of(resources, service)
