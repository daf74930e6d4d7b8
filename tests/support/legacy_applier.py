"""Apply what a component declared (a mock run) to an emulator, so behaviour is proven on what was declared.

The per-website program runs under Pulumi's mock runtime; every declared resource is then created in moto or
SeaweedFS (boto3) or Azurite (azure-storage-blob) from its recorded inputs. Every type and every input key has a
handler: an unknown type, or an input the applier does not know how to reproduce, raises :class:`UnappliedResource`
naming it, so nothing declared is skipped silently. Where an emulator cannot express a declared setting the
applier says so in ``log`` (and tests assert the setting on the declared inputs instead).

Deliberate differences from the cloud, all because the emulators speak plain HTTP on loopback:

- S3 bucket policies lose the ``DenyInsecureTransport`` statement: over HTTP it would (rightly) deny every
  request (SeaweedFS does exactly that), and moto treats any condition as unmet anyway, turning it into a blanket
  deny even over HTTPS.
- Azure service SAS tokens are signed for ``https,http`` instead of the declared ``https``.
- The website's storage account is played by Azurite's development account (``devstoreaccount1``).
- An explicit ``pulumi:providers:aws`` (Exoscale SOS, a generic S3-compatible endpoint) is played by moto too:
  its region and key pair reach moto, its endpoint host does not (moto stands in for it, always path-style on
  loopback); the declared endpoint and addressing style are recorded in :class:`AppliedProvider` for tests.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from pulumi.runtime import mocks as pulumi_mocks

from divio_storage_infra import program
from divio_storage_infra.core.dsn import parse_dsn
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.preview import mockrun
from divio_storage_infra.preview.mockrun import UNKNOWN, Declared, DeclaredResource, Secret
from support.emulators import AZURITE_ACCOUNT, AZURITE_KEY, MOTO_ADMIN_KEY, Emulator, azurite_service, s3_client

# What the mocks answer for values only the cloud knows; the appliers replace them with the emulator's.
MOCK_KEY_ID = "AKIAMOCKRUNPLACEHOLD"
MOCK_SECRET = "mock-run-secret/replaced+by=the-emulator-key"
MOCK_ACCOUNT_KEY = base64.b64encode(b"mock-run account key, replaced by Azurite's").decode()

COMPONENT_TYPES = frozenset(
    {"divio:storage:WebsiteMediaStorage", "divio:storage:S3MediaStorage", "divio:storage:AzureMediaStorage"}
    | {"divio:storage:S3MediaBackup", "divio:storage:AzureMediaBackup"}
)
LIST_KEYS = "azure-native:storage:listStorageAccountKeys"
SERVICE_SAS = "azure-native:storage:listStorageAccountServiceSAS"


class UnappliedResource(AssertionError):
    """A declared resource (or one of its inputs, or an invoke) that the applier cannot reproduce."""


# --- running the program -----------------------------------------------------------------------------------------


def _mock_sas(args: pulumi_mocks.MockCallArgs) -> dict[str, Any]:
    container = str(args.args["canonicalizedResource"]).rsplit("/", 1)[-1]
    return {
        "serviceSasToken": f"sv=2022-11-02&sr=c&sp={args.args['permissions']}&st={args.args['sharedAccessStartTime']}"
        f"&se={args.args['sharedAccessExpiryTime']}&spr=https&sig=mock-signature-of-{container}"
    }


def website_mocks() -> mockrun.EchoMocks:
    """Mocks answering what AWS / Azure would compute: access keys, ARNs, account keys, SAS tokens (placeholders)."""
    return mockrun.EchoMocks(
        outputs={
            "aws:iam/accessKey:AccessKey": lambda a: {"id": MOCK_KEY_ID, "secret": MOCK_SECRET},
            "aws:iam/user:User": lambda a: {"arn": f"arn:aws:iam::123456789012:user/{a.inputs['name']}"},
        },
        calls={
            LIST_KEYS: lambda a: {"keys": [{"keyName": "key1", "value": MOCK_ACCOUNT_KEY, "permissions": "FULL"}]},
            SERVICE_SAS: _mock_sas,
        },
    )


def declare_website(spec: StorageSpec, credentials: tuple[str, str] | None = None) -> Declared:
    """Run the per-website program (stack config -> spec -> components -> exports) for ``spec`` under mocks.

    ``credentials`` (``credentials: static``) become the ``accessKeyId`` and ``secretAccessKey`` config keys,
    the latter a secret config key, as ``pulumi config set --secret`` stores it.
    """
    config = {
        f"{program.NAMESPACE}:{key}": value if isinstance(value, str) else json.dumps(value)
        for key, value in spec.to_dict().items()
    }
    secret_keys: list[str] = []
    if credentials is not None:
        key_id_key, secret_key = (f"{program.NAMESPACE}:{name}" for name in program.CREDENTIAL_KEYS)
        config[key_id_key], config[secret_key] = credentials
        secret_keys.append(secret_key)

    def run_program() -> None:
        program.main()

    return mockrun.run(
        run_program, mocks=website_mocks(), stack=spec.stack_name, config=config, secret_keys=secret_keys
    )


def plain(value: Any, where: str) -> Any:
    """``value`` without Secret markers; an UNKNOWN (only known after apply) cannot be applied."""
    if isinstance(value, Secret):
        return plain(value.value, where)
    if value is UNKNOWN:
        raise UnappliedResource(f"{where} is unknown under the mocks; the applier needs a known value")
    if isinstance(value, dict):
        return {k: plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def exported(declared: Declared, name: str) -> str:
    """A stack output that must be a Pulumi secret string (the DSNs)."""
    value = declared.outputs.get(name)
    if not isinstance(value, Secret) or not isinstance(value.value, str):
        raise AssertionError(f"stack output {name!r} should be a secret string, got {value!r}")
    return value.value


class _Inputs:
    """A resource's inputs; every key must be taken (or explicitly ignored) before :meth:`done`."""

    def __init__(self, resource: DeclaredResource) -> None:
        self.resource = resource
        self.values = plain(resource.inputs, f"{resource.type} {resource.name}")
        self.taken: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.taken.add(key)
        return self.values.get(key, default)

    def need(self, key: str) -> Any:
        self.taken.add(key)
        if key not in self.values:
            raise UnappliedResource(f"{self.resource.type} {self.resource.name} declares no {key!r}")
        return self.values[key]

    def ignore(self, *keys: str) -> None:
        """Inputs with no emulator counterpart that change no behaviour the tests probe (tags, names)."""
        self.taken.update(keys)

    def done(self) -> None:
        left = sorted(set(self.values) - self.taken)
        if left:
            raise UnappliedResource(
                f"{self.resource.type} {self.resource.name}: the applier does not know how to apply input(s) "
                f"{', '.join(left)}; teach tests/apply_declared.py or assert them on the declared graph"
            )


def _mapped(rule: Mapping[str, Any], names: Mapping[str, str], where: str) -> dict[str, Any]:
    unknown = sorted(set(rule) - set(names))
    if unknown:
        raise UnappliedResource(f"{where}: no mapping for {', '.join(unknown)}")
    return {names[k]: v for k, v in rule.items()}


# --- AWS on moto -------------------------------------------------------------------------------------------------


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

    def only_key(self) -> tuple[str, str]:
        """The one access key declared (fails when there is not exactly one)."""
        if len(self.access_keys) != 1:
            raise AssertionError(f"expected one declared access key, found {sorted(self.access_keys)}")
        return next(iter(self.access_keys.values()))


class _Aws:
    def __init__(self, endpoint_url: str) -> None:
        self.out = AwsApplied(endpoint_url)
        self.iam = s3_client(endpoint_url, MOTO_ADMIN_KEY, service="iam")
        self._s3: dict[tuple[str, tuple[str, str]], Any] = {}
        self.providers_by_urn: dict[str, AppliedProvider] = {}
        self.provider: AppliedProvider | None = None
        """The explicit provider of the resource being applied (None: the default provider)."""

    def region(self, inputs: _Inputs) -> str | None:
        """The resource's own ``region`` input, else its explicit provider's (pulumi-aws 7 semantics)."""
        region: str | None = inputs.get("region")
        if region is None and self.provider is not None:
            return self.provider.region
        return region

    def s3(self, region: str | None) -> Any:
        # CreateBucket must be sent to the region it names; an explicit provider signs with its own key pair.
        where = region or "us-east-1"
        key = self.provider.key if self.provider is not None and self.provider.key else MOTO_ADMIN_KEY
        if (where, key) not in self._s3:
            self._s3[where, key] = s3_client(self.out.endpoint_url, key, region=where)
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


def _bucket(ctx: _Aws, r: DeclaredResource, i: _Inputs) -> None:
    name, region = i.need("bucket"), ctx.region(i)
    if i.get("forceDestroy") is not False:
        raise UnappliedResource(f"{r.name}: forceDestroy must be declared false (buckets hold user data)")
    config = {} if region in (None, "us-east-1") else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    client = ctx.s3(region)
    client.create_bucket(Bucket=name, **config)
    tags = i.get("tags") or {}
    if tags:
        client.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
    ctx.out.buckets[r.name] = name
    ctx.out.bucket_providers[name] = ctx.provider.name if ctx.provider is not None else None
    ctx.out.log.append(f"created bucket {name} in {region}")


def _imported_bucket(ctx: _Aws, r: DeclaredResource, i: _Inputs) -> None:
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


def _bucket_acl(ctx: _Aws, r: DeclaredResource, i: _Inputs) -> None:
    ctx.s3(ctx.region(i)).put_bucket_acl(Bucket=i.need("bucket"), ACL=i.need("acl"))
    ctx.out.log.append(f"{r.name}: bucket ACL {i.need('acl')}")


def _ownership(ctx: _Aws, r: DeclaredResource, i: _Inputs) -> None:
    rule = _mapped(i.need("rule"), {"objectOwnership": "ObjectOwnership"}, r.name)
    ctx.s3(ctx.region(i)).put_bucket_ownership_controls(Bucket=i.need("bucket"), OwnershipControls={"Rules": [rule]})
    ctx.out.log.append(f"{r.name}: ownership controls stored (moto does not enforce them)")


def _public_access_block(ctx: _Aws, r: DeclaredResource, i: _Inputs) -> None:
    keys = ("blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets")
    config = {k[0].upper() + k[1:]: bool(i.need(k)) for k in keys}
    ctx.s3(ctx.region(i)).put_public_access_block(Bucket=i.need("bucket"), PublicAccessBlockConfiguration=config)
    ctx.out.log.append(f"{r.name}: public access block stored (moto does not enforce it)")


def _encryption(ctx: _Aws, r: DeclaredResource, i: _Inputs) -> None:
    rules = []
    for rule in i.need("rules"):
        by_default = rule.get("applyServerSideEncryptionByDefault", {})
        mapped = {
            "ApplyServerSideEncryptionByDefault": _mapped(
                by_default, {"sseAlgorithm": "SSEAlgorithm", "kmsMasterKeyId": "KMSMasterKeyID"}, r.name
            )
        }
        extra = _mapped(
            {k: v for k, v in rule.items() if k != "applyServerSideEncryptionByDefault"},
            {"bucketKeyEnabled": "BucketKeyEnabled"},
            r.name,
        )
        rules.append({**mapped, **extra})
    ctx.s3(ctx.region(i)).put_bucket_encryption(
        Bucket=i.need("bucket"), ServerSideEncryptionConfiguration={"Rules": rules}
    )


def _without_tls_deny(document: dict[str, Any], where: str) -> tuple[dict[str, Any], list[str]]:
    kept, dropped = [], []
    for statement in document.get("Statement", []):
        condition = statement.get("Condition")
        if condition is None:
            kept.append(statement)
        elif statement.get("Effect") == "Deny" and condition == {"Bool": {"aws:SecureTransport": "false"}}:
            dropped.append(str(statement.get("Sid", "(no Sid)")))
        else:
            # moto evaluates no condition keys: any other conditional statement would change meaning.
            raise UnappliedResource(f"{where}: moto cannot evaluate the condition of statement {statement!r}")
    return {**document, "Statement": kept}, dropped


def _bucket_policy(ctx: _Aws, r: DeclaredResource, i: _Inputs) -> None:
    bucket, client = i.need("bucket"), ctx.s3(ctx.region(i))
    document = json.loads(i.need("policy"))
    ctx.out.policies[bucket] = document
    applied, dropped = _without_tls_deny(document, r.name)
    if applied["Statement"]:
        client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(applied))
    ctx.out.log.append(
        f"{r.name}: policy applied without {', '.join(dropped) or 'nothing'} (the emulator is plain HTTP)"
    )


_CORS_KEYS = {
    "id": "ID",
    "allowedHeaders": "AllowedHeaders",
    "allowedMethods": "AllowedMethods",
    "allowedOrigins": "AllowedOrigins",
    "exposeHeaders": "ExposeHeaders",
    "maxAgeSeconds": "MaxAgeSeconds",
}


def _cors(ctx: _Aws, r: DeclaredResource, i: _Inputs) -> None:
    rules = [_mapped(rule, _CORS_KEYS, r.name) for rule in i.need("corsRules")]
    ctx.s3(ctx.region(i)).put_bucket_cors(Bucket=i.need("bucket"), CORSConfiguration={"CORSRules": rules})
    ctx.out.log.append(f"{r.name}: CORS rules for {[o for rule in rules for o in rule['AllowedOrigins']]}")


def _versioning(ctx: _Aws, r: DeclaredResource, i: _Inputs) -> None:
    config = _mapped(i.need("versioningConfiguration"), {"status": "Status", "mfaDelete": "MFADelete"}, r.name)
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


def _lifecycle(ctx: _Aws, r: DeclaredResource, i: _Inputs) -> None:
    rules = []
    for rule in i.need("rules"):
        names = {"id": "ID", "status": "Status", **{k: v[0] for k, v in _LIFECYCLE_ACTIONS.items()}}
        mapped = _mapped(rule, names, r.name)
        for key, (name, inner) in _LIFECYCLE_ACTIONS.items():
            if key in rule:
                mapped[name] = _mapped(rule[key], inner, f"{r.name}.{key}")
        rules.append(mapped)
    ctx.s3(ctx.region(i)).put_bucket_lifecycle_configuration(
        Bucket=i.need("bucket"), LifecycleConfiguration={"Rules": rules}
    )
    ctx.out.log.append(f"{r.name}: lifecycle rules {[rule['ID'] for rule in rules]}")


def _logging(ctx: _Aws, r: DeclaredResource, i: _Inputs) -> None:
    status = {"LoggingEnabled": {"TargetBucket": i.need("targetBucket"), "TargetPrefix": i.need("targetPrefix")}}
    # moto checks, as S3 does, that the target exists in the same region and lets the logging service write.
    ctx.s3(ctx.region(i)).put_bucket_logging(Bucket=i.need("bucket"), BucketLoggingStatus=status)
    ctx.out.log.append(f"{r.name}: access logs to {status['LoggingEnabled']}")


def _user(ctx: _Aws, r: DeclaredResource, i: _Inputs) -> None:
    tags = i.get("tags") or {}
    ctx.iam.create_user(UserName=i.need("name"), Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


def _user_policy(ctx: _Aws, r: DeclaredResource, i: _Inputs) -> None:
    ctx.iam.put_user_policy(UserName=i.need("user"), PolicyName=i.need("name"), PolicyDocument=i.need("policy"))
    ctx.out.log.append(f"{r.name}: inline policy {i.need('name')} on user {i.need('user')}")


def _access_key(ctx: _Aws, r: DeclaredResource, i: _Inputs) -> None:
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


def _provider(ctx: _Aws, r: DeclaredResource, i: _Inputs) -> None:
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


AWS_HANDLERS: dict[str, Callable[[_Aws, DeclaredResource, _Inputs], None]] = {
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


IMPORT_HANDLERS: dict[str, Callable[[_Aws, DeclaredResource, _Inputs], None]] = {
    "aws:s3/bucket:Bucket": _imported_bucket,
}


def dependency_order(resources: list[DeclaredResource]) -> list[DeclaredResource]:
    """``resources`` so that each comes after everything it depends on (as the engine runs them one at a time),
    ties in registration order; a dependency outside ``resources`` (a component) is ignored."""
    known = {r.urn for r in resources}
    done: set[str] = set()
    ordered: list[DeclaredResource] = []
    pending = list(resources)
    while pending:
        ready = next(
            (r for r in pending if all(d in done or d not in known or d == r.urn for d in r.dependencies)), None
        )
        if ready is None:
            raise AssertionError(f"dependency cycle among {[r.name for r in pending]}")
        pending.remove(ready)
        done.add(ready.urn)
        ordered.append(ready)
    return ordered


def apply_aws(
    declared: Declared,
    moto: Emulator,
    *,
    resources: list[DeclaredResource] | None = None,
    after_each: Callable[[DeclaredResource], None] | None = None,
) -> AwsApplied:
    """Create every declared AWS resource in the moto server (its auth must still be off), or in SeaweedFS.

    SeaweedFS checks signatures: the program's explicit provider must declare a key pair that is one of its
    identities (see :func:`support.emulators.start_seaweedfs`). ``resources`` applies those (in that order)
    instead of all of them in registration order; ``after_each`` runs after each one. A resource declared with the
    ``import`` option must exist already (its import handler checks what the engine's import would).
    """
    ctx = _Aws(moto.url)
    for resource in declared.resources if resources is None else resources:
        if resource.type in COMPONENT_TYPES:
            continue  # components are logical groupings; their children carry everything
        handler = (IMPORT_HANDLERS if resource.import_id else AWS_HANDLERS).get(resource.type)
        if handler is None:
            raise UnappliedResource(f"cannot apply {resource.type} ({resource.name}) to moto: no handler")
        ctx.provider = ctx.provider_of(resource)
        inputs = _Inputs(resource)
        handler(ctx, resource, inputs)
        inputs.done()
        if after_each is not None:
            after_each(resource)
    if declared.calls:
        raise UnappliedResource(f"unexpected invokes in an AWS program: {[token for token, _ in declared.calls]}")
    return ctx.out


_S3_MEANING = (
    "bucket",
    "endpoint_host",
    "region",
    "custom_domain",
    "signed_urls",
    "acl",
    "auth",
    "location",
    "addressing_style",
)


def with_endpoint_url(dsn: str, endpoint_url: str) -> str:
    """The exported DSN exactly as exported (credentials included) plus the ``endpoint_url`` extension."""
    if "endpoint_url=" in dsn:
        raise AssertionError("the exported DSN already names an endpoint_url")
    joined = f"{dsn}{'&' if '?' in dsn else '?'}endpoint_url={quote(endpoint_url, safe='')}"
    before, after = parse_dsn(dsn), parse_dsn(joined)
    for attribute in (*_S3_MEANING, "access_key_id", "secret"):
        assert getattr(before, attribute) == getattr(after, attribute), attribute
    return joined


def s3_emulator_dsn(dsn: str, endpoint_url: str, key: tuple[str, str] | None) -> str:
    """The exported DSN with the emulator's key pair in place of the mock's and the endpoint_url extension added.

    Everything else (bucket host, acl, qs_auth, domain, addressing style) stays as the component exported it.
    """
    scheme, _, rest = dsn.partition("://")
    netloc_end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    host_part = rest[:netloc_end].rpartition("@")[2]
    userinfo = f"{quote(key[0], safe='')}:{quote(key[1], safe='')}@" if key else ""
    joined = with_endpoint_url(f"{scheme}://{userinfo}{host_part}{rest[netloc_end:]}", endpoint_url)
    before, after = parse_dsn(dsn), parse_dsn(joined)
    for attribute in _S3_MEANING:
        assert getattr(before, attribute) == getattr(after, attribute), attribute
    return joined


# --- Azure on Azurite --------------------------------------------------------------------------------------------


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
    def __init__(self, azurite: Emulator) -> None:
        self.out = AzureApplied(azurite.url)
        self.service = azurite_service(azurite)
        self.allow_public = True


_PUBLIC_ACCESS = {"Blob": "blob", "Container": "container", "None": None}


def _resource_group(ctx: _Azure, r: DeclaredResource, i: _Inputs) -> None:
    i.ignore("resourceGroupName", "location", "tags")
    ctx.out.log.append(f"{r.name}: Azurite has no resource manager; the group exists only in the declared graph")


def _account(ctx: _Azure, r: DeclaredResource, i: _Inputs) -> None:
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
        f"{r.name}: account {ctx.out.account} played by {AZURITE_ACCOUNT} (public access "
        f"{'allowed' if ctx.allow_public else 'off'}, shared key {'on' if shared_key else 'off'}; "
        "HTTPS-only and TLS version are asserted on the declared inputs, Azurite is plain HTTP)"
    )


def _blob_service(ctx: _Azure, r: DeclaredResource, i: _Inputs) -> None:
    from azure.storage.blob import CorsRule, RetentionPolicy

    i.ignore("accountName", "resourceGroupName", "blobServicesName")
    rules = []
    for rule in (i.get("cors") or {}).get("corsRules", []):
        mapped = _mapped(
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
        ctx.out.cors.append(mapped)
        rules.append(CorsRule(**mapped))
    retention = i.get("deleteRetentionPolicy")
    delete_policy = None
    if retention is not None:
        retention = _mapped(retention, {"enabled": "enabled", "days": "days"}, r.name)
        delete_policy = RetentionPolicy(**retention)
    ctx.service.set_service_properties(cors=rules, delete_retention_policy=delete_policy)
    if i.get("isVersioningEnabled"):
        raise UnappliedResource(f"{r.name}: Azurite has no blob versioning; cannot apply isVersioningEnabled=true")
    if i.get("containerDeleteRetentionPolicy") is not None:
        ctx.out.log.append(f"{r.name}: container soft delete is management-plane only; not in Azurite")
    ctx.out.log.append(f"{r.name}: {len(rules)} CORS rule(s) set on the blob service")


def _container(ctx: _Azure, r: DeclaredResource, i: _Inputs) -> None:
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


def _management_policy(ctx: _Azure, r: DeclaredResource, i: _Inputs) -> None:
    raise UnappliedResource(f"{r.type} ({r.name}): Azurite has no lifecycle management")


AZURE_HANDLERS: dict[str, Callable[[_Azure, DeclaredResource, _Inputs], None]] = {
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
        AZURITE_ACCOUNT,
        container,
        account_key=AZURITE_KEY,
        permission=args["permissions"],
        start=_parse_time(args["sharedAccessStartTime"]),
        expiry=_parse_time(args["sharedAccessExpiryTime"]),
        # Declared HTTPS-only; Azurite is plain HTTP on loopback and enforces spr, so widen it here only.
        protocol="https,http" if args["protocols"] == "https" else args["protocols"],
    )


def apply_azure(declared: Declared, azurite: Emulator) -> AzureApplied:
    """Apply every declared Azure resource and invoke to Azurite's development account."""
    ctx = _Azure(azurite)
    for resource in declared.resources:
        if resource.type in COMPONENT_TYPES:
            continue
        handler = AZURE_HANDLERS.get(resource.type)
        if handler is None:
            raise UnappliedResource(f"cannot apply {resource.type} ({resource.name}) to Azurite: no handler")
        inputs = _Inputs(resource)
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


def azure_emulator_dsn(dsn: str, applied: AzureApplied) -> str:
    """The exported DSN with the development account and its real credential, and the endpoint_url extension.

    An account-key DSN gets Azurite's key; a SAS DSN gets the token signed from the declared SAS invoke for the
    same container. Host, container and domain stay as exported.
    """
    parsed = parse_dsn(dsn)
    scheme, _, rest = dsn.partition("://")
    host_and_rest = rest.partition("@")[2]
    if parsed.credential_kind == "account-key":
        if parsed.account_key != MOCK_ACCOUNT_KEY:
            raise AssertionError("the DSN's account key is not the one listStorageAccountKeys returned")
        credential: str | None = AZURITE_KEY
    elif parsed.credential_kind == "sas":
        token = parsed.sas_token or ""
        if f"sig=mock-signature-of-{parsed.container}" not in token:
            raise AssertionError(f"the DSN's SAS is not the one signed for container {parsed.container}")
        credential = base64.b64encode(applied.sas_tokens[str(parsed.container)].encode()).decode()
    else:
        credential = None
    userinfo = f"{AZURITE_ACCOUNT}:{quote(credential, safe='')}@" if credential else f"{AZURITE_ACCOUNT}@"
    swapped = f"{scheme}://{userinfo}{host_and_rest}"
    joined = f"{swapped}{'&' if '?' in swapped else '?'}endpoint_url={quote(applied.endpoint_url, safe='')}"
    after = parse_dsn(joined)
    assert (after.container, after.custom_domain, after.credential_kind) == (
        parsed.container,
        parsed.custom_domain,
        parsed.credential_kind,
    )
    return joined


def declared_with(resource_type: str, inputs: dict[str, Any]) -> Declared:
    """A declaration of one ``resource_type`` with ``inputs``: shows the applier refuses what it cannot apply."""
    resource = DeclaredResource(
        urn=f"urn:pulumi:test::p::{resource_type}::thing",
        type=resource_type,
        name="thing",
        parent=None,
        custom=True,
        protect=False,
        retain_on_delete=False,
        delete_before_replace=False,
        dependencies=[],
        property_dependencies={},
        provider=None,
        ignore_changes=[],
        additional_secret_outputs=[],
        aliases=[],
        inputs=inputs,
    )
    return Declared(resources=[resource])
