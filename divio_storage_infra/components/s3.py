"""The S3 media storage component: public bucket, optional private bucket, optional IAM user, and the DSNs.

It only wires the pure core's results (names, policies, DSNs) into pulumi-aws 7 resources; every decision
about what is valid or secure lives in ``spec``, ``naming``, ``policies``, ``providers`` and ``dsn``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from divio_storage_infra.components import backup_s3
from divio_storage_infra.components.protection import protect_opts
from divio_storage_infra.core import markers, naming, policies
from divio_storage_infra.core.adoption import (
    BUCKET_IGNORED_WHILE_ADOPTING as BUCKET_KEPT,
)
from divio_storage_infra.core.adoption import (
    ConfigStep,
    bucket_import_id,
    configuration_order,
)
from divio_storage_infra.core.backup import BackupSettings
from divio_storage_infra.core.clouds import capabilities
from divio_storage_infra.core.dsn import s3_dsn, s3_media_url
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.core.stackoutputs import dsn_is_secret
from divio_storage_infra.core.validation.durability import (
    LifecycleRule,
    access_log_prefix,
    lifecycle_rules,
    versioning_off_why,
)

TYPE = "divio:storage:S3MediaStorage"

# Headers a browser may send: GET/HEAD need only Range; direct uploads send the object's metadata headers.
READ_HEADERS: tuple[str, ...] = ("Range",)
UPLOAD_HEADERS: tuple[str, ...] = (
    "Cache-Control",
    "Content-Disposition",
    "Content-MD5",
    "Content-Type",
    "Range",
    "x-amz-*",
)


@dataclass
class S3MediaStorageArgs:
    """Inputs of :class:`S3MediaStorage`: the validated spec and, for ``credentials: static``, the provider's key."""

    spec: StorageSpec
    access_key_id: pulumi.Input[str] | None = None
    """Static access key id (``credentials: static`` only), from stack config."""
    secret_access_key: pulumi.Input[str] | None = None
    """Static secret key (``credentials: static`` only); wrapped as a Pulumi secret by the component."""
    provider: pulumi.ProviderResource | None = None
    """Explicit pulumi-aws provider for every child; None uses the one given in ``opts`` (``provider`` or
    ``providers``), else the default provider."""
    backup: BackupSettings | None = None
    """Backups of each store; None: as the spec says (``backup: true`` and its keys)."""
    backup_provider: pulumi.ProviderResource | None = None
    """The provider of the backup zone (S3-compatible clouds, backup at another endpoint); None: ``provider``."""


@dataclass
class _Bucket:
    """One declared bucket and its configuration resources."""

    role: str
    name: str
    bucket: aws.s3.Bucket
    config: list[pulumi.Resource] = field(default_factory=list)
    """Configuration resources in declaration order; each one waits for the one before (see ``_chained``)."""

    _ready: pulumi.Output[list[Any]] | None = None

    def ready(self) -> pulumi.Output[list[Any]]:
        """Known once the bucket and every configuration resource exist: what an app's DSN must wait for.

        Made once, on the first call (after the bucket's configuration is declared), and shared by its outputs.
        """
        if self._ready is None:
            self._ready = pulumi.Output.all(*(r.urn for r in (self.bucket, *self.config)))
        return self._ready


class S3MediaStorage(pulumi.ComponentResource):
    """One website's media storage on S3 (AWS or an S3-compatible provider).

    Outputs (``None`` where not applicable): ``public_bucket_name``, ``public_bucket_arn`` (AWS only),
    ``private_bucket_name``, ``private_bucket_arn`` (AWS only), ``media_url``, ``iam_user_name``,
    ``iam_user_arn``, ``access_key_id``, ``storage_dsn`` and ``private_storage_dsn`` (secrets),
    ``access_policy_json`` (without an IAM user), ``plan_notes`` (what the provider cannot declare).
    The ARNs are known values computed from the spec (no dependency on the bucket); ``media_url`` and the DSNs
    wait for the store and its configuration, the DSNs also for the credentials.
    """

    # Declared for type checkers only: at run time the SDK evaluates a resource class's annotations
    # (typing.get_type_hints) on every registration to convert engine outputs, which a component never gets.
    if TYPE_CHECKING:
        public_bucket_name: pulumi.Output[str] | None
        public_bucket_arn: pulumi.Output[str] | None
        private_bucket_name: pulumi.Output[str] | None
        private_bucket_arn: pulumi.Output[str] | None
        media_url: pulumi.Output[str] | None
        iam_user_name: pulumi.Output[str] | None
        iam_user_arn: pulumi.Output[str] | None
        access_key_id: pulumi.Output[str] | None
        storage_dsn: pulumi.Output[str] | None
        private_storage_dsn: pulumi.Output[str] | None
        access_policy_json: pulumi.Output[str] | None
        backup_storage_dsn: pulumi.Output[str] | None
        private_backup_storage_dsn: pulumi.Output[str] | None
        plan_notes: list[str]

    def __init__(self, name: str, args: S3MediaStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # Protected like its buckets, and so are all its children: removing a protected website then changes
        # nothing, instead of deleting its policies, CORS and key before failing on the bucket.
        super().__init__(TYPE, name, None, pulumi.ResourceOptions.merge(opts, protect_opts(args.spec)))
        spec = args.spec
        if not spec.is_s3:
            raise ValueError(f"S3MediaStorage needs an S3 cloud, not {spec.cloud!r}; use WebsiteMediaStorage")
        self._prefix = name
        self._spec = spec
        self._caps = capabilities(spec.cloud)
        self._region_name = spec.region or ""
        self._resource_region = self._region_name if self._caps.region_on_resources else None
        self._child_opts = pulumi.ResourceOptions(parent=self, provider=args.provider, protect=spec.protect)
        self._provider = args.provider
        self.plan_notes = self._notes()
        self._endpoint_host = self._caps.endpoint_host(self._region_name, spec.endpoint)
        self._dsn_region = self._region_name if self._caps.region_in_dsn else None
        # Render every DSN once with placeholder credentials: a DSN the app could not read fails here,
        # before any resource is declared, instead of half-way through `pulumi up`.
        for role, signed, wanted in (("media", False, spec.public_storage), ("private", True, spec.private_storage)):
            if wanted:
                self._render_dsn(naming.bucket_name(spec, role), signed, "PLACEHOLDER", "placeholder")

        public = self._bucket("media", public=True) if spec.public_storage else None
        private = self._bucket("private", public=False) if spec.private_storage else None

        buckets = [b for b in (public, private) if b is not None]
        self._credential_config: list[pulumi.Resource] = []
        access_key_id, secret = self._credentials(args, buckets)
        credentials_ready = pulumi.Output.all(*(r.urn for r in self._credential_config))

        def dsn(store: _Bucket, signed: bool) -> pulumi.Output[str]:
            # An app that gets its DSN must find the store working: the DSN waits for the bucket, every one of its
            # configuration resources (policy, access block, CORS, ...) and the credentials' policy.
            rendered = pulumi.Output.all(access_key_id, secret, store.ready(), credentials_ready).apply(
                lambda v: self._render_dsn(store.name, signed, v[0], v[1])
            )
            # Without credentials the DSN holds nothing secret, and an app developer reads it in the offline plan.
            return pulumi.Output.secret(rendered) if dsn_is_secret(spec.credentials) else rendered

        self.public_bucket_name = public.bucket.bucket if public else None
        aws_arns = self._caps.arns  # an ARN names an AWS resource; other providers' buckets have none
        self.public_bucket_arn = self._arn(public) if public and aws_arns else None
        self.private_bucket_name = private.bucket.bucket if private else None
        self.private_bucket_arn = self._arn(private) if private and aws_arns else None
        # The URL is known from the spec (the bucket's name is an input); like the DSN it waits for the store.
        self.media_url = (
            public.ready().apply(lambda _: s3_media_url(public.name, self._endpoint_host, spec.media_domain))
            if public
            else None
        )
        self.storage_dsn = dsn(public, signed=False) if public else None
        self.private_storage_dsn = dsn(private, signed=True) if private else None
        backups = backup_s3.declare(self, name, args, [(b.role, b.name, b.bucket, b.config) for b in buckets])
        self.backup_storage_dsn = backups.backup_storage_dsn if backups else None
        self.private_backup_storage_dsn = backups.private_backup_storage_dsn if backups else None

        self.register_outputs(self.outputs())

    def outputs(self) -> dict[str, Any]:
        """The component's outputs by name (``None`` where not applicable), as registered."""
        return {
            "public_bucket_name": self.public_bucket_name,
            "public_bucket_arn": self.public_bucket_arn,
            "private_bucket_name": self.private_bucket_name,
            "private_bucket_arn": self.private_bucket_arn,
            "media_url": self.media_url,
            "iam_user_name": self.iam_user_name,
            "iam_user_arn": self.iam_user_arn,
            "access_key_id": self.access_key_id,
            "storage_dsn": self.storage_dsn,
            "private_storage_dsn": self.private_storage_dsn,
            "access_policy_json": self.access_policy_json,
            "backup_storage_dsn": self.backup_storage_dsn,
            "private_backup_storage_dsn": self.private_backup_storage_dsn,
            "plan_notes": self.plan_notes,
        }

    def _render_dsn(self, bucket: str, signed: bool, key_id: str | None, secret: str | None) -> str:
        return s3_dsn(
            bucket=bucket,
            access_key_id=key_id,
            secret_access_key=secret,
            custom_domain=None if signed else self._spec.media_domain,
            signed_urls=signed,
            acl=self._caps.object_acl(public=not signed),
            endpoint_host=self._endpoint_host,
            region=self._dsn_region,
            path_style=self._caps.path_style,
        )

    def _opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        # What ResourceOptions.merge of the children's options and ``kwargs`` gives, built once instead of merged.
        options: dict[str, Any] = {"parent": self, "provider": self._provider, "protect": self._spec.protect}
        options.update(kwargs)
        return pulumi.ResourceOptions(**options)

    def _arn(self, store: _Bucket) -> pulumi.Output[str]:
        # Known from the spec (the bucket's name is an input); a plain value costs no apply per registration.
        return pulumi.Output.from_input(policies.bucket_arn(store.name, self._region_name))

    def _chained(self, store: _Bucket) -> pulumi.ResourceOptions:
        """Options for the next configuration resource of ``store``: it waits for the one declared before it.

        S3 answers concurrent configuration writes to one bucket with OperationAborted, so they go one at a time,
        in :func:`~divio_storage_infra.core.adoption.configuration_order`: ownership controls, public access block,
        policy (rejected while the block still blocks it), then the rest; an adopted bucket starts with its policy.
        """
        return self._opts(depends_on=store.config[-1:])

    def _notes(self) -> list[str]:
        p, spec = self._caps, self._spec
        missing = [
            label
            for label, supported in (
                ("public access blocks", p.public_access_block),
                ("ownership controls (BucketOwnerEnforced)", p.ownership_controls),
                ("bucket policies", p.bucket_policy),
                ("server-side encryption configuration", p.server_side_encryption),
                ("lifecycle rules (incomplete multipart uploads are not aborted)", p.lifecycle),
                ("server access logging", p.access_logging),
            )
            if not supported
        ]
        notes = [f"{p.name}: not declared, the provider does not support {label}" for label in missing]
        if spec.versioning and p.versioning and not p.lifecycle:
            notes.append(f"{p.name}: noncurrent versions are kept; the provider has no lifecycle rules to expire them")
        if not spec.versioning and "versioning" not in spec.given and (why := versioning_off_why(spec.cloud)):
            notes.append(f"{p.name}: versioning is off by default: {why}; set versioning: true to keep old versions")
        if p.notes:
            notes.append(f"{p.name}: {p.notes}")
        return notes

    def _bucket(self, role: str, *, public: bool) -> _Bucket:
        """One store's bucket and its configuration, each resource waiting for the one before it."""
        spec = self._spec
        bucket_name = naming.bucket_name(spec, role)
        bucket = aws.s3.Bucket(
            f"{self._prefix}-{role}",
            bucket=bucket_name,
            force_destroy=False,
            region=self._resource_region,
            # The role and opt-in tags are what the CrossGuard pack reads to tell a public store from a private one.
            tags=markers.store_tags(spec, public=public),
            # Buckets hold user data: deleting one must be an explicit choice (protect: false in the spec).
            opts=self._opts(protect=spec.protect, **_adopted(spec, bucket_import_id(bucket_name), BUCKET_KEPT)),
        )
        store = _Bucket(role=role, name=bucket_name, bucket=bucket)
        # Each waits for the one declared before it (`_chained`), in the order core/adoption.py gives: the secure
        # order for a new bucket, the migration order (policy first, ownership after it) for an adopted one.
        for step in configuration_order(adopt=spec.adopt):
            # Each step returns its resource, or None where the provider cannot declare it (the SDK's classes are Any).
            resource = _STEPS[step](self, store, public)
            if resource is not None:
                store.config.append(resource)
        return store

    def _ownership_step(self, store: _Bucket, public: bool) -> Any:
        """BucketOwnerEnforced: ACLs disabled, the bucket owner owns every object."""
        p, prefix = self._caps, f"{self._prefix}-{store.role}"
        if not p.ownership_controls:
            return None
        return aws.s3.BucketOwnershipControls(
            f"{prefix}-ownership",
            bucket=store.bucket.bucket,
            region=self._resource_region,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=self._chained(store),
        )

    def _public_access_block_step(self, store: _Bucket, public: bool) -> Any:
        """The public access block: ACLs blocked on both stores, policies only on the private one."""
        p, prefix = self._caps, f"{self._prefix}-{store.role}"
        if not p.public_access_block:
            return None
        return aws.s3.BucketPublicAccessBlock(
            f"{prefix}-public-access",
            bucket=store.bucket.bucket,
            region=self._resource_region,
            block_public_acls=True,
            ignore_public_acls=True,
            # The public bucket is public through its policy only; ACLs stay blocked on both.
            block_public_policy=not public,
            restrict_public_buckets=not public,
            opts=self._chained(store),
        )

    def _policy_step(self, store: _Bucket, public: bool) -> Any:
        """The bucket policy: public read (GetObject, never list) or private, TLS only either way."""
        spec, p, prefix = self._spec, self._caps, f"{self._prefix}-{store.role}"
        if not p.bucket_policy:
            return None
        document = (
            policies.public_bucket_policy(store.name, self._region_name, spec.public_prefixes)
            if public
            else policies.private_bucket_policy(store.name, self._region_name)
        )
        return aws.s3.BucketPolicy(
            f"{prefix}-policy",
            bucket=store.bucket.bucket,
            region=self._resource_region,
            policy=policies.to_json(document),
            # S3 rejects a public policy while the public access block still blocks it.
            opts=self._chained(store),
        )

    def _acl_step(self, store: _Bucket, public: bool) -> Any:
        """While adopting: the bucket's own ACL set to private, so ownership controls can be applied."""
        spec, p, prefix = self._spec, self._caps, f"{self._prefix}-{store.role}"
        # Only while adopting a bucket that may still use ACLs: S3 refuses BucketOwnerEnforced while the bucket's
        # own ACL grants anyone but the owner. Not protected and retained on delete: once `adopt` is off it
        # leaves the stack without a call to S3 (the ACL stays private; ACLs are disabled by then anyway).
        if not (spec.adopt and p.ownership_controls):
            return None
        return aws.s3.BucketAcl(
            f"{prefix}-acl",
            bucket=store.bucket.bucket,
            region=self._resource_region,
            acl="private",
            opts=pulumi.ResourceOptions.merge(
                self._chained(store), pulumi.ResourceOptions(protect=False, retain_on_delete=True)
            ),
        )

    def _encryption_step(self, store: _Bucket, public: bool) -> Any:
        """Default encryption at rest (SSE-S3)."""
        p, prefix = self._caps, f"{self._prefix}-{store.role}"
        if not p.server_side_encryption:
            return None
        return aws.s3.BucketServerSideEncryptionConfiguration(
            f"{prefix}-encryption",
            bucket=store.bucket.bucket,
            region=self._resource_region,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        # SSE-S3, not KMS: public objects are world-readable anyway, and a KMS key would
                        # make every anonymous GET fail (anonymous callers cannot use kms:Decrypt).
                        sse_algorithm="AES256"
                    )
                )
            ],
            opts=self._chained(store),
        )

    def _versioning_step(self, store: _Bucket, public: bool) -> Any:
        """Bucket versioning, where the spec asks for it and the provider has it."""
        spec, p, prefix = self._spec, self._caps, f"{self._prefix}-{store.role}"
        if not (spec.versioning and p.versioning):
            return None
        return aws.s3.BucketVersioning(
            f"{prefix}-versioning",
            bucket=store.bucket.bucket,
            region=self._resource_region,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=self._chained(store),
        )

    def _lifecycle_step(self, store: _Bucket, public: bool) -> Any:
        """The one lifecycle configuration: abort incomplete uploads, expire old versions."""
        spec, p, prefix = self._spec, self._caps, f"{self._prefix}-{store.role}"
        if not p.lifecycle:
            return None
        rules = lifecycle_rules(
            versioning=spec.versioning and p.versioning,
            noncurrent_days=spec.noncurrent_version_expiration_days,
            abort_days=spec.abort_incomplete_multipart_upload_days,
        )
        return aws.s3.BucketLifecycleConfiguration(
            f"{prefix}-lifecycle",
            bucket=store.bucket.bucket,
            region=self._resource_region,
            # One configuration per bucket holds every rule: S3 keeps only one, a second would replace it.
            rules=[_lifecycle_rule(rule) for rule in rules],
            # After versioning: S3 rejects noncurrent-version rules until versioning is on.
            opts=self._chained(store),
        )

    def _cors_step(self, store: _Bucket, public: bool) -> Any:
        """The public store's CORS rules, with origins."""
        spec, p = self._spec, self._caps
        return self._cors(store) if public and spec.cors_origins and p.cors else None

    def _logging_step(self, store: _Bucket, public: bool) -> Any:
        """Server access logs into the spec's log bucket, under the store's own prefix."""
        spec, p, prefix = self._spec, self._caps, f"{self._prefix}-{store.role}"
        if spec.access_log_bucket is None or not p.access_logging:
            return None
        return aws.s3.BucketLogging(
            f"{prefix}-logging",
            bucket=store.bucket.bucket,
            region=self._resource_region,
            target_bucket=spec.access_log_bucket,
            target_prefix=access_log_prefix(spec.website, spec.environment, store.role),
            opts=self._chained(store),
        )

    def _cors(self, store: _Bucket) -> aws.s3.BucketCorsConfiguration:
        spec = self._spec
        methods = ["GET", "HEAD", *(["POST", "PUT"] if spec.allow_uploads else [])]
        return aws.s3.BucketCorsConfiguration(
            f"{self._prefix}-{store.role}-cors",
            bucket=store.bucket.bucket,
            region=self._resource_region,
            cors_rules=[
                aws.s3.BucketCorsConfigurationCorsRuleArgs(
                    id="website-origins",
                    allowed_methods=methods,
                    allowed_origins=list(spec.cors_origins),
                    allowed_headers=list(UPLOAD_HEADERS if spec.allow_uploads else READ_HEADERS),
                    expose_headers=["ETag"],
                    max_age_seconds=spec.cors_max_age_seconds,
                )
            ],
            opts=self._chained(store),
        )

    def _credentials(
        self, args: S3MediaStorageArgs, buckets: list[_Bucket]
    ) -> tuple[pulumi.Input[str] | None, pulumi.Input[str] | None]:
        spec = self._spec
        self.iam_user_name = self.iam_user_arn = self.access_key_id = self.access_policy_json = None
        document = policies.access_policy([b.name for b in buckets], self._region_name)
        if spec.credentials == "iam-user":
            user = aws.iam.User(
                f"{self._prefix}-user",
                name=naming.iam_user_name(spec),
                tags=spec.tag_map,
                opts=self._opts(),
            )
            user_policy = aws.iam.UserPolicy(
                f"{self._prefix}-user-policy",
                name="media-access",
                user=user.name,
                policy=policies.to_json(document),
                opts=self._opts(),
            )
            keys = {
                slot: aws.iam.AccessKey(
                    _access_key_name(self._prefix, slot),
                    user=user.name,
                    # The key the DSNs carry is protected like the website; a spare slot's key is not, so retiring
                    # it after a rotation is one config change and one `pulumi up` (docs/rotation.md).
                    opts=self._opts(protect=spec.protect and slot == spec.active_access_key),
                )
                for slot in spec.access_keys
            }
            key = keys[spec.active_access_key]
            # The key is useless to the app until its policy is attached: the DSN waits for both.
            self._credential_config.append(user_policy)
            self.iam_user_name = user.name
            self.iam_user_arn = user.arn
            self.access_key_id = key.id
            # The mock runtime (and older providers) do not mark the secret; the DSN must never leak it.
            return key.id, pulumi.Output.secret(key.secret)
        if spec.credentials == "static":
            if args.access_key_id is None or args.secret_access_key is None:
                raise ValueError("credentials: static needs accessKeyId and secretAccessKey (secret) in stack config")
            self.access_key_id = pulumi.Output.from_input(args.access_key_id)
            return args.access_key_id, pulumi.Output.secret(args.secret_access_key)
        # No credentials in the DSN: the platform attaches this policy to the role the app runs as.
        self.access_policy_json = pulumi.Output.from_input(policies.to_json(document))
        return None, None


_STEPS: dict[ConfigStep, Callable[[S3MediaStorage, _Bucket, bool], Any]] = {
    "ownership": S3MediaStorage._ownership_step,
    "public-access": S3MediaStorage._public_access_block_step,
    "policy": S3MediaStorage._policy_step,
    "acl": S3MediaStorage._acl_step,
    "encryption": S3MediaStorage._encryption_step,
    "versioning": S3MediaStorage._versioning_step,
    "lifecycle": S3MediaStorage._lifecycle_step,
    "cors": S3MediaStorage._cors_step,
    "logging": S3MediaStorage._logging_step,
}
"""The method that declares each configuration step of a bucket (the resource, or None where it does not apply)."""


def _lifecycle_rule(rule: LifecycleRule) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    """One core lifecycle rule as pulumi-aws arguments; every rule covers the whole bucket (empty prefix)."""
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id=rule.id,
        status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
        abort_incomplete_multipart_upload=(
            aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=rule.abort_incomplete_multipart_upload_days
            )
            if rule.abort_incomplete_multipart_upload_days is not None
            else None
        ),
        noncurrent_version_expiration=(
            aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=rule.noncurrent_version_expiration_days
            )
            if rule.noncurrent_version_expiration_days is not None
            else None
        ),
        expiration=(
            aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                expired_object_delete_marker=rule.expired_object_delete_marker
            )
            if rule.expired_object_delete_marker is not None
            else None
        ),
    )


def _adopted(spec: StorageSpec, import_id: str, kept: Sequence[str]) -> dict[str, Any]:
    """Resource options of a data-bearing resource: with ``adopt``, imported by ``import_id`` with ``kept`` inputs
    taken from the live resource (docs/adoption.md); otherwise none."""
    if not spec.adopt:
        return {}
    return {"import_": import_id, "ignore_changes": list(kept)}


def _access_key_name(prefix: str, slot: str) -> str:
    """The logical name of a key slot's access key: slot ``a`` keeps the name the single key always had, because
    renaming it would replace (and so revoke) the key every deployed app uses."""
    return f"{prefix}-access-key" if slot == "a" else f"{prefix}-access-key-{slot}"
