"""The facade: one website's media storage on whichever cloud its spec names."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi

from divio_storage_infra.components.protection import protect_opts
from divio_storage_infra.components.providers import s3_compatible_provider
from divio_storage_infra.components.s3 import S3MediaStorage, S3MediaStorageArgs
from divio_storage_infra.core.backup import BackupSettings, settings_of
from divio_storage_infra.core.clouds import capabilities
from divio_storage_infra.core.spec import StorageSpec

if TYPE_CHECKING:
    from divio_storage_infra.components.azure import AzureMediaStorage

TYPE = "divio:storage:WebsiteMediaStorage"
_AWS_BUCKET = "aws:s3/bucket:Bucket"

# Outputs every cloud provides, under the same names.
COMMON_OUTPUTS: tuple[str, ...] = ("media_url", "storage_dsn", "private_storage_dsn")


@dataclass
class WebsiteMediaStorageArgs:
    """Inputs of :class:`WebsiteMediaStorage`: the spec, plus static S3 credentials from stack config if any."""

    spec: StorageSpec
    access_key_id: pulumi.Input[str] | None = None
    """Static access key id (S3-compatible providers with ``credentials: static``)."""
    secret_access_key: pulumi.Input[str] | None = None
    """Static secret key (S3-compatible providers with ``credentials: static``); kept secret."""
    provider: pulumi.ProviderResource | None = None
    """The pulumi-aws provider for an S3 cloud, e.g. one shared by every website on the same endpoint and key.
    ``opts=ResourceOptions(providers=[...])`` works too. Without either, an S3-compatible endpoint gets a provider
    of its own (from ``access_key_id`` / ``secret_access_key``), and AWS uses the default provider."""
    backup: BackupSettings | None = None
    """Backups of each store; None: as the spec says (``backup: true`` and its keys)."""


class WebsiteMediaStorage(pulumi.ComponentResource):
    """Declares :class:`S3MediaStorage` or :class:`AzureMediaStorage` (as its only child) by ``spec.cloud``.

    ``store`` is that child; ``media_url``, ``storage_dsn`` and ``private_storage_dsn`` are forwarded from it,
    and ``outputs()`` gives every output of the child by name.
    """

    # Declared for type checkers only: at run time the SDK evaluates a resource class's annotations
    # (typing.get_type_hints) on every registration to convert engine outputs, which a component never gets.
    if TYPE_CHECKING:
        store: S3MediaStorage | AzureMediaStorage
        media_url: pulumi.Output[str] | None
        storage_dsn: pulumi.Output[str] | None
        private_storage_dsn: pulumi.Output[str] | None

    def __init__(self, name: str, args: WebsiteMediaStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        spec = args.spec
        super().__init__(TYPE, name, None, pulumi.ResourceOptions.merge(opts, protect_opts(spec)))
        child_opts = pulumi.ResourceOptions(parent=self, protect=spec.protect)
        if spec.is_s3:
            # A provider from the caller (args, or opts.provider / opts.providers, which children inherit) wins.
            given = args.provider or self.get_provider(_AWS_BUCKET)
            self.store = S3MediaStorage(
                name,
                S3MediaStorageArgs(
                    spec=spec,
                    access_key_id=args.access_key_id,
                    secret_access_key=args.secret_access_key,
                    provider=given if given is not None else _s3_provider(name, spec, args, child_opts),
                    backup=args.backup,
                    backup_provider=_backup_provider(name, spec, args, child_opts),
                ),
                child_opts,
            )
        else:
            # Imported here, not at the top, so that AWS-only programs never load pulumi_azure_native; a plain
            # import statement, so the import contracts (clouds-apart, layers) see it.
            from divio_storage_infra.components.azure import AzureMediaStorage, AzureMediaStorageArgs

            self.store = AzureMediaStorage(name, AzureMediaStorageArgs(spec=spec, backup=args.backup), child_opts)
        self.media_url = self.store.media_url
        self.storage_dsn = self.store.storage_dsn
        self.private_storage_dsn = self.store.private_storage_dsn
        self.register_outputs({key: getattr(self, key) for key in COMMON_OUTPUTS})

    def outputs(self) -> dict[str, Any]:
        """Every output of the cloud component by name, ``None`` where not applicable."""
        result: dict[str, Any] = self.store.outputs()
        return result


def _s3_provider(
    name: str, spec: StorageSpec, args: WebsiteMediaStorageArgs, opts: pulumi.ResourceOptions
) -> pulumi.ProviderResource | None:
    """The explicit pulumi-aws provider an S3-compatible endpoint needs; AWS itself uses the default provider."""
    if not capabilities(spec.cloud).explicit_provider:
        return None
    provider: pulumi.ProviderResource = s3_compatible_provider(name, spec, args, opts)
    return provider


def _backup_provider(
    name: str, spec: StorageSpec, args: WebsiteMediaStorageArgs, opts: pulumi.ResourceOptions
) -> pulumi.ProviderResource | None:
    """The provider of a backup in another zone of an S3-compatible cloud (Exoscale: another endpoint)."""
    backup = args.backup or settings_of(spec)
    if backup is None or backup.region in (None, spec.region) or not capabilities(spec.cloud).explicit_provider:
        return None
    return _s3_provider(f"{name}-backup", dataclasses.replace(spec, region=backup.region), args, opts)
