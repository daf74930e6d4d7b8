"""Azure Blob media storage for one website and environment, as a Pulumi component.

Each website gets its own storage account, because blob CORS rules are set per account (the blob service), not
per container: sharing an account would share every website's allowed origins. Inside it, the container
``public-media`` serves objects anonymously (blob-level access, never listing) and ``private-media`` holds files
that only credentials can read. The component exports the storage DSNs a Django app reads (Pulumi secrets) in the
``az://`` format of docs/dsn.md.

``pulumi_azure_native`` is imported here and nowhere else, so AWS-only programs never load it; without the
``azure`` extra, importing this module still works and constructing the component explains what to install.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi

from divio_storage_infra.components import backup_azure
from divio_storage_infra.components.protection import protect_opts
from divio_storage_infra.core import markers, naming
from divio_storage_infra.core.adoption import (
    ACCOUNT_IGNORED_WHILE_ADOPTING,
    CONTAINER_IGNORED_WHILE_ADOPTING,
    storage_account_import_id,
)
from divio_storage_infra.core.adoption import container_import_id as adoption_container_id
from divio_storage_infra.core.backup import BackupSettings
from divio_storage_infra.core.dsn import azure_dsn, azure_media_url
from divio_storage_infra.core.errors import SpecError
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.core.stackoutputs import dsn_is_secret

try:
    import pulumi_azure_native.resources as azure_resources
    import pulumi_azure_native.storage as azure_storage
except ImportError as error:  # the [azure] extra is optional; the constructor reports it
    _AZURE_IMPORT_ERROR: ImportError | None = error
else:
    _AZURE_IMPORT_ERROR = None

TYPE = "divio:storage:AzureMediaStorage"

INSTALL_HINT = (
    "AzureMediaStorage needs the Pulumi Azure Native provider SDK (pulumi-azure-native); "
    "install it with: pip install 'divio-storage-infra[azure]'"
)

# CORS, one rule per origin (Azure allows 5 rules per service; the spec rejects more origins). Preflight OPTIONS
# requests are answered by the blob service itself and matched against the *intended* method
# (Access-Control-Request-Method), so OPTIONS is not listed.
CORS_READ_METHODS: tuple[str, ...] = ("GET", "HEAD")
# Browser uploads to Azure Blob are Put Blob / Put Block / Put Block List: all PUT. The blob service has no
# form-POST upload like S3, so POST would allow nothing useful and stays off (least privilege).
CORS_UPLOAD_METHODS: tuple[str, ...] = ("PUT",)
# Reads may send range and conditional headers (media players, caches); Azure requires a non-empty list.
CORS_READ_HEADERS: tuple[str, ...] = ("range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since")
# Uploads send the content type and MD5 plus x-ms-* headers (x-ms-blob-type, x-ms-version, x-ms-date,
# x-ms-blob-content-type, x-ms-meta-*); Azure allows two prefixed headers per rule, this uses one.
CORS_UPLOAD_HEADERS: tuple[str, ...] = ("content-type", "content-md5", "x-ms-*")
CORS_EXPOSED_HEADERS: tuple[str, ...] = ("ETag",)

# Azure allows exactly one blob service and one management policy per account, both named "default".
_DEFAULT = "default"

KEY_EXPIRATION_DAYS = 90
"""Account keys older than this are reported (Azure Policy, Advisor); Azure does not disable them: a reminder."""


def sas_expiration_period(days: int) -> str:
    """Azure's ``DD.HH:MM:SS`` form of a SAS expiration period of ``days`` days."""
    return f"{days}.00:00:00"


@dataclass(frozen=True)
class AzureMediaStorageArgs:
    """Arguments of :class:`AzureMediaStorage`: the validated spec of one website and environment."""

    spec: StorageSpec
    backup: BackupSettings | None = None
    """Backups of each store; None: as the spec says (``backup: true`` and its keys)."""


def cors_rules(spec: StorageSpec) -> list[dict[str, Any]]:
    """The blob service CORS rules for ``spec``: one per origin, in the spec's order (empty without origins)."""
    methods = CORS_READ_METHODS + (CORS_UPLOAD_METHODS if spec.allow_uploads else ())
    headers = CORS_READ_HEADERS + (CORS_UPLOAD_HEADERS if spec.allow_uploads else ())
    return [
        {
            "allowed_origins": [origin],
            "allowed_methods": list(methods),
            "allowed_headers": list(headers),
            "exposed_headers": list(CORS_EXPOSED_HEADERS),
            "max_age_in_seconds": spec.cors_max_age_seconds,
        }
        for origin in spec.cors_origins
    ]


def _after(resources: pulumi.Resource | list[pulumi.Resource], value: str) -> pulumi.Output[str]:
    """``value`` as an Output that depends on ``resources``.

    URNs are known even in preview, so the value shows up in plans, and consumers that pass it to their own
    resources still get the ordering (the Output carries ``resources`` as dependencies).
    """
    every = resources if isinstance(resources, list) else [resources]
    return pulumi.Output.all(*(r.urn for r in every)).apply(lambda _urns: value)


class AzureMediaStorage(pulumi.ComponentResource):
    """One website's media storage on Azure Blob: account, blob service settings, containers and DSNs.

    Children (logical names prefixed with the component name, all ``parent=self``):

    - ``<name>-resource-group`` ``azure-native:resources:ResourceGroup``, unless the spec names an existing one;
    - ``<name>-account`` ``azure-native:storage:StorageAccount``;
    - ``<name>-blob-service`` ``azure-native:storage:BlobServiceProperties`` (CORS, soft delete, versioning);
    - ``<name>-public-media`` / ``<name>-private-media`` ``azure-native:storage:BlobContainer``;
    - ``<name>-lifecycle`` ``azure-native:storage:ManagementPolicy`` with versioning (expires old versions).

    Outputs (``None`` when not applicable): ``resource_group_name``, ``storage_account_name``,
    ``public_container_name``, ``private_container_name``, ``media_url``, ``storage_dsn`` and
    ``private_storage_dsn`` (both Pulumi secrets), ``sas_terms`` (with ``credentials: sas``: containers,
    permissions, protocols, start and expiry of the tokens).

    The media domain is used in ``media_url`` and the public DSN, but not set as the account's custom domain:
    Azure serves blob custom domains over plain HTTP only and checks the CNAME when the account is updated, so
    HTTPS media domains sit in a CDN / Front Door in front of the account, declared elsewhere.
    """

    TYPE = TYPE

    # Declared for type checkers only: at run time the SDK evaluates a resource class's annotations
    # (typing.get_type_hints) on every registration to convert engine outputs, which a component never gets.
    if TYPE_CHECKING:
        resource_group_name: pulumi.Output[str]
        storage_account_name: pulumi.Output[str]
        public_container_name: pulumi.Output[str] | None
        private_container_name: pulumi.Output[str] | None
        media_url: pulumi.Output[str] | None
        storage_dsn: pulumi.Output[str] | None
        private_storage_dsn: pulumi.Output[str] | None
        sas_terms: dict[str, Any] | None
        backup_storage_dsn: pulumi.Output[str] | None
        private_backup_storage_dsn: pulumi.Output[str] | None

    def __init__(self, name: str, args: AzureMediaStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Declare the storage of ``args.spec`` under the logical name ``name``."""
        # Fail before registering anything, so a missing extra or a wrong cloud leaves no half-declared component.
        if _AZURE_IMPORT_ERROR is not None:
            raise ImportError(INSTALL_HINT) from _AZURE_IMPORT_ERROR
        spec = args.spec
        if spec.cloud != "azure":
            raise SpecError.one("cloud", spec.cloud, "AzureMediaStorage needs cloud: azure", context=spec.stack_name)
        if spec.location is None:  # pragma: no cover - the spec requires a location for cloud azure
            raise SpecError.one("location", None, "cloud azure needs a location", context=spec.stack_name)
        # Protected like its data, and so is every child (below): removing a protected website changes nothing.
        super().__init__(self.TYPE, name, None, pulumi.ResourceOptions.merge(opts, protect_opts(spec)))
        self._name = name
        self._spec = spec
        self._location = spec.location
        self._account_name = naming.storage_account_name(spec)
        self._group_name = naming.resource_group_name(spec)

        group = self._resource_group()
        account = self._account(group)
        blob_service = self._blob_service(account)
        # What a container needs before an app may use it; its DSN and URL wait for all of it.
        store_config: list[pulumi.Resource] = [account, blob_service]
        lifecycle = self._lifecycle(account, blob_service)
        if lifecycle is not None:
            store_config.append(lifecycle)
        account_key = self._account_key(account)
        self._public_store(account, store_config, account_key)
        self._private_store(account, store_config, account_key)

        self.resource_group_name = (
            _after(group, self._group_name) if group is not None else pulumi.Output.from_input(self._group_name)
        )
        self.storage_account_name = _after(account, self._account_name)
        backups = backup_azure.declare(self, name, spec, args.backup, [group] if group is not None else [])
        self.backup_storage_dsn = backups.backup_storage_dsn if backups else None
        self.private_backup_storage_dsn = backups.private_backup_storage_dsn if backups else None
        # The SAS terms are not secret and no resource holds them (the tokens come from an invoke that only runs
        # on apply), so they are an output of their own: a PR diff and the offline plan show scope and expiry.
        self.sas_terms = sas_terms(spec) if spec.credentials == "sas" else None

        self.register_outputs(self.outputs())

    def _child(
        self, *, protect: bool | None = None, depends_on: list[pulumi.Resource] | None = None
    ) -> pulumi.ResourceOptions:
        """Options of a child: ``parent=self``, protected like the spec says unless ``protect`` is given."""
        return pulumi.ResourceOptions(
            parent=self, protect=self._spec.protect if protect is None else protect, depends_on=depends_on
        )

    def _resource_group(self) -> pulumi.Resource | None:
        """The group the component creates, or None when the spec names an existing one."""
        spec = self._spec
        # An existing group belongs to someone else: the component only places the account in it. A group it
        # creates is protected like the data in it, because deleting a group deletes everything inside. No
        # retain_on_delete: once protection is lifted on purpose, `pulumi destroy` should leave nothing behind,
        # and a retained group would make a later re-create of the stack fail on "already exists".
        if spec.resource_group_name is not None:
            return None
        group: pulumi.Resource = azure_resources.ResourceGroup(
            f"{self._name}-resource-group",
            resource_group_name=self._group_name,
            location=self._location,
            tags=spec.tag_map,
            opts=self._child(protect=spec.protect),
        )
        return group

    def _account(self, group: pulumi.Resource | None) -> pulumi.Resource:
        """The website's own storage account: TLS only, no listing, shared keys only where credentials need them."""
        spec = self._spec
        # A service SAS is signed with the account key, and Azure rejects SAS requests too when shared-key access
        # is off; so shared keys stay on for both account-key and sas, and are off only without credentials.
        shared_key = spec.credentials in ("account-key", "sas")
        account: pulumi.Resource = azure_storage.StorageAccount(
            f"{self._name}-account",
            account_name=self._account_name,
            resource_group_name=self._group_name,
            location=self._location,
            kind=azure_storage.Kind.STORAGE_V2,
            sku=azure_storage.SkuArgs(name=spec.account_sku),
            access_tier=azure_storage.AccessTier.HOT,
            enable_https_traffic_only=True,
            minimum_tls_version=azure_storage.MinimumTlsVersion.TLS1_2,
            # Needed only so the public container can allow anonymous blob reads; off without a public store.
            allow_blob_public_access=spec.public_storage,
            allow_shared_key_access=shared_key,
            # Without shared keys, the portal and tools should use Entra ID instead of trying keys first.
            default_to_o_auth_authentication=not shared_key,
            # Object replication only to accounts of the same Entra tenant: media never leaves the platform that way.
            allow_cross_tenant_replication=False,
            # Copies into the account only from accounts of the same Entra tenant.
            allowed_copy_scope=azure_storage.AllowedCopyScope.AAD,
            # Browsers anywhere read public media, so the public endpoint stays on; stated, never left to defaults.
            public_network_access=azure_storage.PublicNetworkAccess.ENABLED,
            # Explicitly open for the same reason (a firewall would block every browser); trusted services bypass.
            network_rule_set=azure_storage.NetworkRuleSetArgs(
                default_action=azure_storage.DefaultAction.ALLOW, bypass=azure_storage.Bypass.AZURE_SERVICES
            ),
            # No SFTP and no local users: the app reaches media through the blob API only.
            is_sftp_enabled=False,
            is_local_user_enabled=False,
            # Any SAS valid longer than the SAS this component signs is logged (Log, not Block: tokens issued
            # before the policy keep working while their owners are found).
            sas_policy=azure_storage.SasPolicyArgs(
                expiration_action=azure_storage.ExpirationAction.LOG,
                sas_expiration_period=sas_expiration_period(spec.sas_lifetime_days),
            ),
            # Keys older than this are flagged for rotation.
            key_policy=azure_storage.KeyPolicyArgs(key_expiration_period_in_days=KEY_EXPIRATION_DAYS),
            # Not set: infrastructure (double) encryption is fixed when an account is created; turning it on would
            # replace existing accounts and their data. Data is encrypted at rest by Azure either way.
            # The role and opt-in tags are what the CrossGuard pack reads to allow the public container.
            tags=markers.store_tags(spec, public=spec.public_storage),
            opts=pulumi.ResourceOptions.merge(
                self._child(protect=spec.protect, depends_on=[group] if group is not None else None),
                _adopted(spec, account_import_id(spec), ACCOUNT_IGNORED_WHILE_ADOPTING),
            ),
        )
        return account

    def _blob_service(self, account: pulumi.Resource) -> pulumi.Resource:
        """The account's blob service settings: CORS, soft delete of blobs and containers, versioning."""
        spec = self._spec
        # Set Blob Service Properties keeps any element the request leaves out, so CORS (even an empty list),
        # both retention policies and versioning are always sent: removing the last origin must remove its rule.
        service: pulumi.Resource = azure_storage.BlobServiceProperties(
            f"{self._name}-blob-service",
            account_name=self._account_name,
            resource_group_name=self._group_name,
            blob_services_name=_DEFAULT,
            cors=azure_storage.CorsRulesArgs(
                cors_rules=[azure_storage.CorsRuleArgs(**rule) for rule in cors_rules(spec)]
            ),
            delete_retention_policy=azure_storage.DeleteRetentionPolicyArgs(
                enabled=True, days=spec.blob_soft_delete_days
            ),
            container_delete_retention_policy=azure_storage.DeleteRetentionPolicyArgs(
                enabled=True, days=spec.container_soft_delete_days
            ),
            is_versioning_enabled=spec.versioning,
            opts=self._child(depends_on=[account]),
        )
        return service

    def _lifecycle(self, account: pulumi.Resource, blob_service: pulumi.Resource) -> pulumi.Resource | None:
        """With versioning, the management policy that expires old versions; None without versioning."""
        spec = self._spec
        if not spec.versioning:
            return None
        # Versioning keeps every overwritten or deleted blob; expire old versions so storage does not grow
        # without bound. Only after versioning is on (the blob service), in the account it belongs to.
        expire = azure_storage.ManagementPolicyVersionArgs(
            delete=azure_storage.DateAfterCreationArgs(
                days_after_creation_greater_than=spec.noncurrent_version_expiration_days
            )
        )
        rule = azure_storage.ManagementPolicyRuleArgs(
            name="expire-noncurrent-versions",
            enabled=True,
            type=azure_storage.RuleType.LIFECYCLE,
            definition=azure_storage.ManagementPolicyDefinitionArgs(
                filters=azure_storage.ManagementPolicyFilterArgs(blob_types=["blockBlob"]),
                actions=azure_storage.ManagementPolicyActionArgs(version=expire),
            ),
        )
        policy: pulumi.Resource = azure_storage.ManagementPolicy(
            f"{self._name}-lifecycle",
            account_name=self._account_name,
            resource_group_name=self._group_name,
            management_policy_name=_DEFAULT,
            policy=azure_storage.ManagementPolicySchemaArgs(rules=[rule]),
            opts=self._child(depends_on=[account, blob_service]),
        )
        return policy

    def _account_key(self, account: pulumi.Resource) -> pulumi.Output[str] | None:
        """With ``credentials: account-key``, the active account key as a secret; None otherwise."""
        spec = self._spec
        if spec.credentials != "account-key":
            return None
        # Listing keys needs the account to exist; parent=self lets a provider given to the component apply.
        invoke_opts = pulumi.InvokeOutputOptions(parent=self, depends_on=[account])
        keys = azure_storage.list_storage_account_keys_output(
            account_name=self._account_name, resource_group_name=self._group_name, opts=invoke_opts
        )
        return pulumi.Output.secret(keys.apply(lambda result: _named_key(result, spec.active_account_key)))

    def _public_store(
        self, account: pulumi.Resource, store_config: list[pulumi.Resource], account_key: pulumi.Output[str] | None
    ) -> None:
        """The public container, its DSN and media URL (all None without a public store)."""
        spec = self._spec
        self.public_container_name = None
        self.media_url = None
        self.storage_dsn = None
        if not spec.public_storage:
            return
        public_name = naming.container_name(spec, "media")
        public, self.storage_dsn = self._container(public_name, True, account, store_config, account_key)
        self.public_container_name = _after(public, public_name)
        self.media_url = _after(
            [*store_config, public],
            azure_media_url(self._account_name, public_name, custom_domain=spec.media_domain),
        )

    def _private_store(
        self, account: pulumi.Resource, store_config: list[pulumi.Resource], account_key: pulumi.Output[str] | None
    ) -> None:
        """The private container and its DSN (both None without a private store)."""
        self.private_container_name = None
        self.private_storage_dsn = None
        if not self._spec.private_storage:
            return
        private_name = naming.container_name(self._spec, "private")
        private, self.private_storage_dsn = self._container(private_name, False, account, store_config, account_key)
        self.private_container_name = _after(private, private_name)

    def _container(
        self,
        container_name: str,
        public: bool,
        account: pulumi.Resource,
        store_config: list[pulumi.Resource],
        account_key: pulumi.Output[str] | None,
    ) -> tuple[pulumi.Resource, pulumi.Output[str]]:
        """One container and the DSN of the store it holds (waiting for the container and its configuration)."""
        spec = self._spec
        resource = azure_storage.BlobContainer(
            f"{self._name}-{container_name}",
            account_name=self._account_name,
            resource_group_name=self._group_name,
            container_name=container_name,
            # Blob: anonymous reads of single blobs by URL; never "Container", which would also list them.
            public_access=azure_storage.PublicAccess.BLOB if public else azure_storage.PublicAccess.NONE,
            # The account must allow public access before a public container can be created.
            opts=pulumi.ResourceOptions.merge(
                self._child(protect=spec.protect, depends_on=[account]),
                _adopted(
                    spec,
                    container_import_id(spec, container_name),
                    CONTAINER_IGNORED_WHILE_ADOPTING,
                ),
            ),
        )
        domain = spec.media_domain if public else None
        credential: pulumi.Output[dict[str, str]]
        if account_key is not None:
            credential = account_key.apply(lambda key: {"account_key": key})
        elif spec.credentials == "sas":
            sas = self._service_sas(spec, self._account_name, self._group_name, container_name, resource)
            credential = sas.apply(lambda token: {"sas_token": token})
        else:
            credential = pulumi.Output.from_input({})
        # Through the URNs, so whoever consumes the DSN waits until the container and its configuration exist.
        account_name = self._account_name
        dsn = pulumi.Output.all(credential, *(r.urn for r in (*store_config, resource))).apply(
            lambda values: azure_dsn(account=account_name, container=container_name, custom_domain=domain, **values[0])
        )
        # Wrapped here, not left to the provider: under mocks nothing else would mark it secret. A DSN without
        # a key or SAS holds nothing secret and stays readable (the offline plan shows it to app developers).
        return resource, pulumi.Output.secret(dsn) if dsn_is_secret(spec.credentials) else dsn

    def outputs(self) -> dict[str, Any]:
        """The component's outputs by name (``None`` where not applicable), as registered."""
        return {
            "resource_group_name": self.resource_group_name,
            "storage_account_name": self.storage_account_name,
            "public_container_name": self.public_container_name,
            "private_container_name": self.private_container_name,
            "media_url": self.media_url,
            "storage_dsn": self.storage_dsn,
            "private_storage_dsn": self.private_storage_dsn,
            "sas_terms": self.sas_terms,
            "backup_storage_dsn": self.backup_storage_dsn,
            "private_backup_storage_dsn": self.private_backup_storage_dsn,
        }

    def _service_sas(
        self,
        spec: StorageSpec,
        account_name: str,
        group_name: str,
        container_name: str,
        container: pulumi.Resource,
    ) -> pulumi.Output[str]:
        """A service SAS scoped to one container, as a secret; deterministic (fixed start and expiry, no "now")."""
        token = azure_storage.list_storage_account_service_sas_output(
            account_name=account_name,
            resource_group_name=group_name,
            canonicalized_resource=f"/blob/{account_name}/{container_name}",
            resource=azure_storage.SignedResource.C,
            permissions=spec.sas_permissions,
            protocols=azure_storage.HttpProtocol.HTTPS,
            shared_access_start_time=f"{spec.sas_start}T00:00:00Z",
            shared_access_expiry_time=spec.sas_expiry,
            # Regenerating the other key (docs/rotation.md) leaves tokens signed with this one valid.
            key_to_sign=spec.active_account_key,
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[container]),
        )
        return pulumi.Output.secret(token.apply(lambda result: str(result.service_sas_token)))


def sas_terms(spec: StorageSpec) -> dict[str, Any]:
    """What the SAS tokens grant: containers, permissions, protocols, start and expiry (none of it secret)."""
    stores = (
        (naming.container_name(spec, "media"), spec.public_storage),
        (naming.container_name(spec, "private"), spec.private_storage),
    )
    return {
        "containers": [name for name, on in stores if on],
        "permissions": spec.sas_permissions,
        "protocols": "https",
        "start": f"{spec.sas_start}T00:00:00Z",
        "expiry": spec.sas_expiry,
    }


def _named_key(result: Any, name: str) -> str:
    """The value of the key ``name`` (``key1`` or ``key2``, the spec's ``activeAccountKey``) from a list-keys
    result; the first key when the result names none so (an answer without key names)."""
    for key in result.keys:
        if key.key_name == name:
            return str(key.value)
    return str(result.keys[0].value)


def account_import_id(spec: StorageSpec) -> str:
    """The ARM id the existing account of an adopting ``spec`` is imported by."""
    return storage_account_import_id(
        spec.subscription_id or "", naming.resource_group_name(spec), naming.storage_account_name(spec)
    )


def container_import_id(spec: StorageSpec, container: str) -> str:
    """The ARM id the existing ``container`` of an adopting ``spec`` is imported by."""
    return adoption_container_id(
        spec.subscription_id or "", naming.resource_group_name(spec), naming.storage_account_name(spec), container
    )


def _adopted(spec: StorageSpec, import_id: str, kept: tuple[str, ...]) -> pulumi.ResourceOptions:
    """With ``adopt``: imported by ``import_id``, the ``kept`` inputs taken from the live resource
    (docs/adoption.md); otherwise no options."""
    if not spec.adopt:
        return pulumi.ResourceOptions()
    return pulumi.ResourceOptions(import_=import_id, ignore_changes=list(kept))
