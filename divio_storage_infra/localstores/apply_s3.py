"""The applier for S3 stacks (``aws``, ``exoscale``, ``s3-compatible``): buckets, their settings, IAM users and keys
created in SeaweedFS (``dev``, the suite) or moto (the suite's stand-in for AWS) from what the program declared.

See :mod:`.applier` for the rules every handler follows and the differences from the cloud.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from divio_storage_infra.localstores.applier import (
    COMPONENT_TYPES,
    Inputs,
    UnappliedResource,
    mapped,
)
from divio_storage_infra.localstores.clients import s3_client
from divio_storage_infra.preview.mockrun import Declared, DeclaredResource, Secret

_NOT_HELD = frozenset({"NotImplemented", "NotImplementedError", "MethodNotAllowed", "BucketAlreadyOwnedByYou"})
"""Error codes of a local server that has no such setting (SeaweedFS: public access blocks; it takes a
PutBucketLogging for a CreateBucket of the existing bucket)."""


@dataclass(frozen=True)
class S3Target:
    """A local S3 server: its URL, the key the applier signs with when no explicit provider names one, and the
    CA bundle to trust it with (a path; None: as the SDK reads the environment)."""

    url: str
    admin_key: tuple[str, str] = field(repr=False)
    verify: str | bool | None = None
    evaluates_conditions: bool = True
    """False for moto, which takes every policy condition as met: the TLS-only deny would refuse everything."""

    @property
    def tls(self) -> bool:
        """Whether the server is reached over HTTPS."""
        return self.url.startswith("https://")

    @property
    def keeps_tls_deny(self) -> bool:
        """Whether a bucket policy keeps its TLS-only deny: over HTTPS, on a server that evaluates conditions."""
        return self.tls and self.evaluates_conditions


@dataclass(frozen=True)
class AppliedProvider:
    """An explicit ``pulumi:providers:aws`` as declared; moto plays its endpoints with its region and key pair."""

    name: str
    region: str
    endpoints: dict[str, str]
    """Declared endpoint URL by service (``s3``, ``iam``); never contacted, moto answers instead."""
    path_style: bool
    """``s3UsePathStyle`` as declared (the applier's own client is path-style anyway: moto is on loopback)."""
    key: tuple[str, str] | None = field(repr=False)
    """The declared ``accessKey`` / ``secretKey`` (both secret inputs); the applier signs with them."""


@dataclass
class AwsApplied:
    """What :func:`apply_aws` created: buckets by logical name, the IAM keys moto issued, providers, and a log."""

    endpoint_url: str
    buckets: dict[str, str] = field(default_factory=dict)
    access_keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    providers: dict[str, AppliedProvider] = field(default_factory=dict)
    """Explicit providers by logical name."""
    bucket_providers: dict[str, str | None] = field(default_factory=dict)
    """The logical name of the explicit provider each bucket (by physical name) was declared with, or None."""
    log: list[str] = field(default_factory=list)
    without_tls_deny: list[str] = field(default_factory=list)
    """Buckets whose policy was applied without its TLS-only deny (plain HTTP)."""

    def only_key(self) -> tuple[str, str]:
        """The one access key declared (fails when there is not exactly one)."""
        if len(self.access_keys) != 1:
            raise AssertionError(f"expected one declared access key, found {sorted(self.access_keys)}")
        return next(iter(self.access_keys.values()))


class _Aws:
    def __init__(self, target: S3Target) -> None:
        self.target = target
        self.out = AwsApplied(target.url)
        self.iam = s3_client(target.url, target.admin_key, service="iam", verify=target.verify)
        self._s3: dict[tuple[str, tuple[str, str]], Any] = {}
        self.providers_by_urn: dict[str, AppliedProvider] = {}
        self.provider: AppliedProvider | None = None
        """The explicit provider of the resource being applied (None: the default provider)."""

    def region(self, inputs: Inputs) -> str | None:
        """The resource's own ``region`` input, else its explicit provider's (pulumi-aws 7 semantics)."""
        region: str | None = inputs.get("region")
        if region is None and self.provider is not None:
            return self.provider.region
        return region

    def s3(self, region: str | None) -> Any:
        """An S3 client for ``region``, signing with the explicit provider's key pair or the target's admin key."""
        # CreateBucket must be sent to the region it names; an explicit provider signs with its own key pair.
        where = region or "us-east-1"
        key = self.provider.key if self.provider is not None and self.provider.key else self.target.admin_key
        if (where, key) not in self._s3:
            self._s3[where, key] = s3_client(self.target.url, key, region=where, verify=self.target.verify)
        return self._s3[where, key]

    def provider_of(self, resource: DeclaredResource) -> AppliedProvider | None:
        """The applied explicit provider ``resource`` names; an unknown one, or a service it has no endpoint for,
        cannot be reproduced (the real provider would call AWS's own API with another provider's key)."""
        if resource.provider is None:
            return None
        urn = resource.provider.rpartition("::")[0]  # "<provider urn>::<provider id>"
        provider = self.providers_by_urn.get(urn)
        if provider is None:
            raise UnappliedResource(f"{resource.type} ({resource.name}) uses provider {urn}, not applied before it")
        service = resource.type.split(":")[1].split("/")[0]
        if service not in provider.endpoints:
            raise UnappliedResource(
                f"{resource.type} ({resource.name}): provider {provider.name} declares no {service} endpoint, so "
                f"pulumi-aws would call AWS's own {service} API with that provider's key"
            )
        return provider


def _bucket(ctx: _Aws, r: DeclaredResource, i: Inputs) -> None:
    name, region = i.need("bucket"), ctx.region(i)
    if i.get("forceDestroy") is not False:
        raise UnappliedResource(f"{r.name}: forceDestroy must be declared false (buckets hold user data)")
    config = {} if region in (None, "us-east-1") else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    client = ctx.s3(region)
    try:
        client.create_bucket(Bucket=name, **config)
        ctx.out.log.append(f"created bucket {name} in {region}")
    except client.exceptions.BucketAlreadyOwnedByYou:
        # A store kept from an earlier run (dev's data directory): converge its settings, keep its objects.
        ctx.out.log.append(f"bucket {name} exists already; its settings are applied again, its objects kept")
    tags = i.get("tags") or {}
    if tags:
        client.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
    ctx.out.buckets[r.name] = name
    ctx.out.bucket_providers[name] = ctx.provider.name if ctx.provider is not None else None


def _imported_bucket(ctx: _Aws, r: DeclaredResource, i: Inputs) -> None:
    """``import`` instead of create: the bucket must exist, and what must match for the engine's import does."""
    name, region = i.need("bucket"), ctx.region(i)
    if r.import_id != name:
        raise UnappliedResource(f"{r.name}: imports {r.import_id!r} but declares bucket {name!r}")
    if i.get("forceDestroy") is not False:
        raise UnappliedResource(f"{r.name}: forceDestroy must be declared false (an imported bucket reads false)")
    client = ctx.s3(region)
    live_region = client.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
    if live_region != (region or "us-east-1"):
        raise UnappliedResource(f"{r.name}: declares region {region}, the bucket lives in {live_region}")
    if "tags" not in r.ignore_changes:
        raise UnappliedResource(f"{r.name}: imported with tags that must match the live bucket; ignore them")
    i.ignore("tags")  # kept as they are live (ignore_changes), exactly what the engine's import does
    ctx.out.buckets[r.name] = name
    ctx.out.bucket_providers[name] = ctx.provider.name if ctx.provider is not None else None
    ctx.out.log.append(f"imported bucket {name} in {live_region} (tags kept)")


def _bucket_acl(ctx: _Aws, r: DeclaredResource, i: Inputs) -> None:
    ctx.s3(ctx.region(i)).put_bucket_acl(Bucket=i.need("bucket"), ACL=i.need("acl"))
    ctx.out.log.append(f"{r.name}: bucket ACL {i.need('acl')}")


def _ownership(ctx: _Aws, r: DeclaredResource, i: Inputs) -> None:
    rule = mapped(i.need("rule"), {"objectOwnership": "ObjectOwnership"}, r.name)
    ctx.s3(ctx.region(i)).put_bucket_ownership_controls(Bucket=i.need("bucket"), OwnershipControls={"Rules": [rule]})
    ctx.out.log.append(f"{r.name}: ownership controls stored (moto does not enforce them)")


def _public_access_block(ctx: _Aws, r: DeclaredResource, i: Inputs) -> None:
    keys = ("blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets")
    config = {k[0].upper() + k[1:]: bool(i.need(k)) for k in keys}
    bucket = i.need("bucket")
    held = _unless_not_held(
        ctx,
        r,
        "public access blocks",
        lambda: ctx.s3(ctx.region(i)).put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=config),
    )
    if held:
        ctx.out.log.append(f"{r.name}: public access block stored (moto does not enforce it)")


def _unless_not_held(ctx: _Aws, r: DeclaredResource, what: str, call: Callable[[], Any]) -> bool:
    """Run ``call``; a server without ``what`` (NotImplemented) is logged, not an error: the setting stays in the
    declared graph, where tests assert it. Whether the call was held."""
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in _NOT_HELD:
            raise
        ctx.out.log.append(f"{r.name}: the local server has no {what}; declared, not applied")
        return False
    return True


def _encryption(ctx: _Aws, r: DeclaredResource, i: Inputs) -> None:
    rules = []
    for rule in i.need("rules"):
        by_default = rule.get("applyServerSideEncryptionByDefault", {})
        default_rule = {
            "ApplyServerSideEncryptionByDefault": mapped(
                by_default, {"sseAlgorithm": "SSEAlgorithm", "kmsMasterKeyId": "KMSMasterKeyID"}, r.name
            )
        }
        extra = mapped(
            {k: v for k, v in rule.items() if k != "applyServerSideEncryptionByDefault"},
            {"bucketKeyEnabled": "BucketKeyEnabled"},
            r.name,
        )
        rules.append({**default_rule, **extra})
    bucket = i.need("bucket")
    _unless_not_held(
        ctx,
        r,
        "encryption at rest",
        lambda: ctx.s3(ctx.region(i)).put_bucket_encryption(
            Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": rules}
        ),
    )


def _without_tls_deny(document: dict[str, Any], where: str, *, keep: bool) -> tuple[dict[str, Any], list[str]]:
    kept, dropped = [], []
    for statement in document.get("Statement", []):
        condition = statement.get("Condition")
        if condition is None:
            kept.append(statement)
        elif statement.get("Effect") == "Deny" and condition == {"Bool": {"aws:SecureTransport": "false"}}:
            # Over TLS the deny never fires, as in production; over plain HTTP it would deny every request.
            if keep:
                kept.append(statement)
            else:
                dropped.append(str(statement.get("Sid", "(no Sid)")))
        else:
            # moto evaluates no condition keys: any other conditional statement would change meaning.
            raise UnappliedResource(f"{where}: moto cannot evaluate the condition of statement {statement!r}")
    return {**document, "Statement": kept}, dropped


def _bucket_policy(ctx: _Aws, r: DeclaredResource, i: Inputs) -> None:
    bucket, client = i.need("bucket"), ctx.s3(ctx.region(i))
    document = json.loads(i.need("policy"))
    ctx.out.policies[bucket] = document
    applied, dropped = _without_tls_deny(document, r.name, keep=ctx.target.keeps_tls_deny)
    if applied["Statement"]:
        client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(applied))
    if dropped:
        why = "the local store is plain HTTP" if ctx.target.evaluates_conditions else "moto cannot evaluate it"
        ctx.out.log.append(f"{r.name}: policy applied without {', '.join(dropped)} ({why})")
        ctx.out.without_tls_deny.append(bucket)
    else:
        ctx.out.log.append(f"{r.name}: policy applied as declared")


_CORS_KEYS = {
    "id": "ID",
    "allowedHeaders": "AllowedHeaders",
    "allowedMethods": "AllowedMethods",
    "allowedOrigins": "AllowedOrigins",
    "exposeHeaders": "ExposeHeaders",
    "maxAgeSeconds": "MaxAgeSeconds",
}


def _cors(ctx: _Aws, r: DeclaredResource, i: Inputs) -> None:
    rules = [mapped(rule, _CORS_KEYS, r.name) for rule in i.need("corsRules")]
    ctx.s3(ctx.region(i)).put_bucket_cors(Bucket=i.need("bucket"), CORSConfiguration={"CORSRules": rules})
    ctx.out.log.append(f"{r.name}: CORS rules for {[o for rule in rules for o in rule['AllowedOrigins']]}")


def _versioning(ctx: _Aws, r: DeclaredResource, i: Inputs) -> None:
    config = mapped(i.need("versioningConfiguration"), {"status": "Status", "mfaDelete": "MFADelete"}, r.name)
    ctx.s3(ctx.region(i)).put_bucket_versioning(Bucket=i.need("bucket"), VersioningConfiguration=config)


_LIFECYCLE_ACTIONS: dict[str, tuple[str, dict[str, str]]] = {
    "filter": ("Filter", {"prefix": "Prefix"}),
    "noncurrentVersionExpiration": ("NoncurrentVersionExpiration", {"noncurrentDays": "NoncurrentDays"}),
    "abortIncompleteMultipartUpload": (
        "AbortIncompleteMultipartUpload",
        {"daysAfterInitiation": "DaysAfterInitiation"},
    ),
    "expiration": ("Expiration", {"expiredObjectDeleteMarker": "ExpiredObjectDeleteMarker"}),
}


def _lifecycle(ctx: _Aws, r: DeclaredResource, i: Inputs) -> None:
    rules = []
    for rule in i.need("rules"):
        names = {"id": "ID", "status": "Status", **{k: v[0] for k, v in _LIFECYCLE_ACTIONS.items()}}
        converted = mapped(rule, names, r.name)
        for key, (name, inner) in _LIFECYCLE_ACTIONS.items():
            if key in rule:
                converted[name] = mapped(rule[key], inner, f"{r.name}.{key}")
        rules.append(converted)
    ctx.s3(ctx.region(i)).put_bucket_lifecycle_configuration(
        Bucket=i.need("bucket"), LifecycleConfiguration={"Rules": rules}
    )
    ctx.out.log.append(f"{r.name}: lifecycle rules {[rule['ID'] for rule in rules]}")


def _logging(ctx: _Aws, r: DeclaredResource, i: Inputs) -> None:
    status = {"LoggingEnabled": {"TargetBucket": i.need("targetBucket"), "TargetPrefix": i.need("targetPrefix")}}
    bucket = i.need("bucket")
    # moto checks, as S3 does, that the target exists in the same region and lets the logging service write.
    if _unless_not_held(
        ctx,
        r,
        "access logging",
        lambda: ctx.s3(ctx.region(i)).put_bucket_logging(Bucket=bucket, BucketLoggingStatus=status),
    ):
        ctx.out.log.append(f"{r.name}: access logs to {status['LoggingEnabled']}")


def _user(ctx: _Aws, r: DeclaredResource, i: Inputs) -> None:
    tags = i.get("tags") or {}
    try:
        ctx.iam.create_user(UserName=i.need("name"), Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    except ctx.iam.exceptions.EntityAlreadyExistsException:
        # Kept from an earlier run (dev's data directory); its policy is put again and it gets a new key.
        ctx.out.log.append(f"{r.name}: IAM user {i.need('name')} exists already")


def _user_policy(ctx: _Aws, r: DeclaredResource, i: Inputs) -> None:
    dropped = put_user_policy(ctx.iam, i.need("user"), i.need("name"), json.loads(i.need("policy")))
    ctx.out.log.append(f"{r.name}: inline policy {i.need('name')} on user {i.need('user')}")
    if dropped:
        ctx.out.log.append(f"{r.name}: the local server has no action {', '.join(dropped)}; left out of the policy")


_UNKNOWN_ACTION = re.compile(r"not a valid action: '([A-Za-z]+)'")


def put_user_policy(iam: Any, user: str, name: str, document: dict[str, Any]) -> list[str]:
    """Put ``document`` as ``user``'s inline policy ``name``; actions the server does not know (SeaweedFS has no
    ``ListBucketMultipartUploads`` / ``ListMultipartUploadParts``) are left out one by one. Those left out."""
    dropped: list[str] = []
    for _ in range(len(json.dumps(document))):  # each round drops one action, so this bound is never reached
        try:
            iam.put_user_policy(UserName=user, PolicyName=name, PolicyDocument=json.dumps(document))
            return dropped
        except iam.exceptions.MalformedPolicyDocumentException as error:
            match = _UNKNOWN_ACTION.search(str(error))
            if match is None or f"s3:{match.group(1)}" in dropped:
                raise
            dropped.append(f"s3:{match.group(1)}")
            document = _without_action(document, dropped[-1])
    return dropped


def _without_action(document: dict[str, Any], action: str) -> dict[str, Any]:
    statements = []
    for statement in document.get("Statement", []):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        kept = [a for a in actions if a != action]
        if kept:
            statements.append({**statement, "Action": kept})
    return {**document, "Statement": statements}


def _access_key(ctx: _Aws, r: DeclaredResource, i: Inputs) -> None:
    key = ctx.iam.create_access_key(UserName=i.need("user"))["AccessKey"]
    ctx.out.access_keys[r.name] = (key["AccessKeyId"], key["SecretAccessKey"])


_PROVIDER_SKIPS = (
    "skipCredentialsValidation",
    "skipMetadataApiCheck",
    "skipRegionValidation",
    "skipRequestingAccountId",
)
_PROVIDER_SERVICES = frozenset({"s3", "iam"})  # the services moto plays and the handlers above apply


def _flag(value: Any, where: str) -> bool:
    # Provider inputs reach the engine as strings ("true" / "false"), not as booleans.
    if value in (True, "true"):
        return True
    if value in (False, "false"):
        return False
    raise UnappliedResource(f"{where}: expected true or false, got {value!r}")


def _provider(ctx: _Aws, r: DeclaredResource, i: Inputs) -> None:
    """An explicit pulumi-aws provider: moto plays each declared endpoint with the provider's region and key."""
    for name in ("accessKey", "secretKey"):
        if name in r.inputs and not isinstance(r.inputs[name], Secret):
            raise AssertionError(f"{r.name}: provider input {name} is not a secret; it would be stored in plain text")
    raw = i.need("endpoints")
    entries = json.loads(raw) if isinstance(raw, str) else raw  # provider inputs reach the engine as JSON text
    endpoints: dict[str, str] = {}
    for entry in entries:
        for service, url in entry.items():
            if service not in _PROVIDER_SERVICES:
                raise UnappliedResource(f"{r.name}: no emulator plays a {service} endpoint ({url})")
            endpoints[service] = str(url)
    skipped = {name: _flag(i.get(name, False), f"{r.name}.{name}") for name in _PROVIDER_SKIPS}
    if endpoints and not all(skipped.values()):
        # Behind a non-AWS endpoint there is no STS, IAM or metadata service and the region is not AWS's: the
        # real `pulumi up` would fail before creating anything, which moto (which has them all) would hide.
        missing = [name for name, on in skipped.items() if not on]
        raise UnappliedResource(f"{r.name}: endpoints {endpoints} need {', '.join(missing)} = true")
    key_id, secret = i.get("accessKey"), i.get("secretKey")
    if (key_id is None) != (secret is None):
        raise UnappliedResource(f"{r.name}: declares only one of accessKey and secretKey")
    provider = AppliedProvider(
        name=r.name,
        region=i.need("region"),
        endpoints=endpoints,
        path_style=_flag(i.get("s3UsePathStyle", False), f"{r.name}.s3UsePathStyle"),
        key=(key_id, secret) if key_id is not None else None,
    )
    ctx.providers_by_urn[r.urn] = provider
    ctx.out.providers[r.name] = provider
    ctx.out.log.append(
        f"{r.name}: endpoints {endpoints} played by moto in region {provider.region} with the declared key pair "
        f"({'path' if provider.path_style else 'virtual-hosted'}-style declared, path-style on loopback)"
    )


AWS_HANDLERS: dict[str, Callable[[_Aws, DeclaredResource, Inputs], None]] = {
    "pulumi:providers:aws": _provider,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _ownership,
    "aws:s3/bucketAcl:BucketAcl": _bucket_acl,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _public_access_block,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _encryption,
    "aws:s3/bucketPolicy:BucketPolicy": _bucket_policy,
    "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration": _cors,
    "aws:s3/bucketVersioning:BucketVersioning": _versioning,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _lifecycle,
    "aws:s3/bucketLogging:BucketLogging": _logging,
    "aws:iam/user:User": _user,
    "aws:iam/userPolicy:UserPolicy": _user_policy,
    "aws:iam/accessKey:AccessKey": _access_key,
}


IMPORT_HANDLERS: dict[str, Callable[[_Aws, DeclaredResource, Inputs], None]] = {
    "aws:s3/bucket:Bucket": _imported_bucket,
}


def apply_aws(
    declared: Declared,
    target: S3Target,
    *,
    resources: list[DeclaredResource] | None = None,
    after_each: Callable[[DeclaredResource], None] | None = None,
) -> AwsApplied:
    """Create every declared AWS resource in the local server at ``target`` (moto: its auth must still be off).

    SeaweedFS checks signatures: the program's explicit provider must declare a key pair that is one of its
    identities (see :func:`.seaweedfs.start_seaweedfs`). ``resources`` applies those (in that order)
    instead of all of them in registration order; ``after_each`` runs after each one. A resource declared with the
    ``import`` option must exist already (its import handler checks what the engine's import would).
    """
    ctx = _Aws(target)
    for resource in declared.resources if resources is None else resources:
        if resource.type in COMPONENT_TYPES:
            continue  # components are logical groupings; their children carry everything
        handler = (IMPORT_HANDLERS if resource.import_id else AWS_HANDLERS).get(resource.type)
        if handler is None:
            raise UnappliedResource(f"cannot apply {resource.type} ({resource.name}) to a local S3 server: no handler")
        ctx.provider = ctx.provider_of(resource)
        inputs = Inputs(resource)
        handler(ctx, resource, inputs)
        inputs.done()
        if after_each is not None:
            after_each(resource)
    if declared.calls:
        raise UnappliedResource(f"unexpected invokes in an AWS program: {[token for token, _ in declared.calls]}")
    return ctx.out
