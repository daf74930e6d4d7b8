"""The backup of an Azure website: a backup account in ``backupLocation`` with a container per store.

The account is private (no public blob access at all), HTTPS and TLS 1.2 only; its blob service keeps versions,
soft-deleted blobs and a change feed, with point-in-time restore over the retention. Each container carries
metadata naming the live container it backs up and its role. ``divio-storage backup`` fills it (object
replication needs versioning and change feed on the live account too, which this project leaves to the copy job).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi

from divio_storage_infra.core import naming
from divio_storage_infra.core.backup import (
    AZURE_OF_KEY,
    AZURE_ROLE_KEY,
    BACKUP_CONTAINERS,
    BackupSettings,
    backup_account_name,
    role_of,
    settings_of,
)
from divio_storage_infra.core.dsn import azure_dsn
from divio_storage_infra.core.spec import StorageSpec

TYPE = "divio:storage:AzureMediaBackup"
_DEFAULT = "default"


@dataclass(frozen=True)
class AzureMediaBackupArgs:
    """Inputs of :class:`AzureMediaBackup`: the spec, its backup settings and the live containers by role."""

    spec: StorageSpec
    settings: BackupSettings
    containers: tuple[tuple[str, str], ...]
    """``(role, container)`` of each live store (``media`` / ``private``)."""
    depends_on: tuple[pulumi.Resource, ...] = ()
    """The live account's resources the backup waits for (a group it creates)."""


class AzureMediaBackup(pulumi.ComponentResource):
    """Backup account, blob service and containers of one Azure website; secret DSN outputs for the platform."""

    if TYPE_CHECKING:
        backup_storage_dsn: pulumi.Output[str] | None
        private_backup_storage_dsn: pulumi.Output[str] | None

    def __init__(self, name: str, args: AzureMediaBackupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        spec = args.spec
        super().__init__(
            TYPE, name, None, pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=spec.protect))
        )
        self._name, self._spec, self._settings = name, spec, args.settings
        self._account_name = backup_account_name(spec)
        self._group_name = naming.resource_group_name(spec)
        self._shared_key = spec.credentials in ("account-key", "sas")
        account = self._account(list(args.depends_on))
        blob_service = self._blob_service(account)
        key = self._key(account)
        dsns = {
            role: self._container(role, live_container, [account, blob_service], key)
            for role, live_container in args.containers
        }
        self.backup_storage_dsn = dsns.get("media")
        self.private_backup_storage_dsn = dsns.get("private")
        self.register_outputs(
            {
                "backup_storage_dsn": self.backup_storage_dsn,
                "private_backup_storage_dsn": self.private_backup_storage_dsn,
            }
        )

    def _child(self, after: list[pulumi.Resource]) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, protect=self._spec.protect, depends_on=after)

    def _account(self, after: list[pulumi.Resource]) -> pulumi.Resource:
        import pulumi_azure_native.storage as azure_storage

        spec = self._spec
        account: pulumi.Resource = azure_storage.StorageAccount(
            f"{self._name}-account",
            account_name=self._account_name,
            resource_group_name=self._group_name,
            location=self._settings.location or spec.location,
            kind=azure_storage.Kind.STORAGE_V2,
            sku=azure_storage.SkuArgs(name=spec.account_sku),
            access_tier=azure_storage.AccessTier.HOT,
            enable_https_traffic_only=True,
            minimum_tls_version=azure_storage.MinimumTlsVersion.TLS1_2,
            # Nobody reads a backup anonymously, whatever the store it backs up.
            allow_blob_public_access=False,
            allow_shared_key_access=self._shared_key,
            default_to_o_auth_authentication=not self._shared_key,
            allow_cross_tenant_replication=False,
            allowed_copy_scope=azure_storage.AllowedCopyScope.AAD,
            is_sftp_enabled=False,
            is_local_user_enabled=False,
            tags={**spec.tag_map, "media-store": "backup"},
            opts=self._child(after),
        )
        return account

    def _blob_service(self, account: pulumi.Resource) -> pulumi.Resource:
        import pulumi_azure_native.storage as azure_storage

        days = self._settings.retention_days
        # Point-in-time restore needs versioning, change feed and a soft delete that outlasts its window.
        service: pulumi.Resource = azure_storage.BlobServiceProperties(
            f"{self._name}-blob-service",
            account_name=self._account_name,
            resource_group_name=self._group_name,
            blob_services_name=_DEFAULT,
            is_versioning_enabled=True,
            change_feed=azure_storage.ChangeFeedArgs(enabled=True, retention_in_days=days + 1),
            delete_retention_policy=azure_storage.DeleteRetentionPolicyArgs(enabled=True, days=days + 1),
            container_delete_retention_policy=azure_storage.DeleteRetentionPolicyArgs(enabled=True, days=days + 1),
            restore_policy=azure_storage.RestorePolicyPropertiesArgs(enabled=True, days=days),
            opts=self._child([account]),
        )
        return service

    def _key(self, account: pulumi.Resource) -> pulumi.Output[str] | None:
        """The backup account's key for the DSNs (None without shared keys: the platform uses Entra ID)."""
        import pulumi_azure_native.storage as azure_storage

        if not self._shared_key:
            return None
        keys = azure_storage.list_storage_account_keys_output(
            account_name=self._account_name,
            resource_group_name=self._group_name,
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[account]),
        )
        return pulumi.Output.secret(keys.apply(lambda result: str(result.keys[0].value)))

    def _container(
        self, role: str, live_container: str, after: list[pulumi.Resource], key: pulumi.Output[str] | None
    ) -> pulumi.Output[str]:
        """The backup container of the ``role`` store and its DSN (a secret)."""
        import pulumi_azure_native.storage as azure_storage

        container_name = BACKUP_CONTAINERS[role_of(role)]
        container = azure_storage.BlobContainer(
            f"{self._name}-{container_name}",
            account_name=self._account_name,
            resource_group_name=self._group_name,
            container_name=container_name,
            public_access=azure_storage.PublicAccess.NONE,
            # Which live container this backs up: restore refuses a backup given for another store.
            metadata={
                AZURE_OF_KEY: f"{naming.storage_account_name(self._spec)}/{live_container}",
                AZURE_ROLE_KEY: role_of(role),
            },
            opts=self._child(after),
        )
        credential: pulumi.Input[Any] = key if key is not None else ""
        ready = pulumi.Output.all(credential, container.urn, *(r.urn for r in after))
        return pulumi.Output.secret(ready.apply(_dsn_of(self._account_name, container_name)))


def _dsn_of(account: str, container: str) -> Any:
    """The function that renders the backup DSN of ``container`` from ``[account key or "", urns...]``."""

    def render(values: list[Any]) -> str:
        return azure_dsn(account=account, container=container, account_key=values[0] or None)

    return render


def declare(
    parent: pulumi.ComponentResource, name: str, spec: StorageSpec, settings: BackupSettings | None, after: list[Any]
) -> AzureMediaBackup | None:
    """The backup of an Azure component's stores, or None without backups (``settings``, else the spec's)."""
    settings = settings or settings_of(spec)
    if settings is None:
        return None
    containers = tuple(
        (role, naming.container_name(spec, role))
        for role, wanted in (("media", spec.public_storage), ("private", spec.private_storage))
        if wanted
    )
    return AzureMediaBackup(
        f"{name}-backup",
        AzureMediaBackupArgs(spec=spec, settings=settings, containers=containers, depends_on=tuple(after)),
        pulumi.ResourceOptions(parent=parent),
    )
