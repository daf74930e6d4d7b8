"""Which input changes replace a resource, one table per resource type, from the providers' own sources.

A replacement deletes the resource and creates a new one; for a bucket, storage account or container that means
its data. Types missing from the table are treated as updated in place (the diff says so for unknown types); a
test declares the components across many specs under the mock runtime and fails for any type they declare that
the table lacks. A resource whose provider is replaced is replaced too (:data:`PROVIDER_PREFIX`).

Sources (read in the providers' source code, the authority the engine consults at preview):

- pulumi-aws 7.x is bridged from the Terraform AWS provider 6.x; a property replaces when its Terraform schema
  says ``ForceNew: true`` (SDKv2) or has a ``RequiresReplace`` plan modifier (framework). Since 6.0 every
  regional resource also takes a top-level ``region`` argument, and the provider's ``forceNewIfRegionChanges``
  interceptor (internal/provider/sdkv2/region.go) replaces the resource when it changes.
- pulumi-azure-native 3.x computes replacements in provider/pkg/provider/diff.go (calculateDetailedDiff): every
  parameter of the resource's ARM path (resource group, account, container, ...) replaces, and so do the
  properties in provider/pkg/gen/replacement.go (forceNewMap, e.g. Storage/StorageAccount: location,
  isHnsEnabled; Resources/ResourceGroup: location) and those the API spec marks create-only.
"""

from __future__ import annotations

from dataclasses import dataclass

PROVIDER_PREFIX = "pulumi:providers:"
"""Type prefix of provider resources; a resource whose provider is replaced is replaced with it."""


@dataclass(frozen=True)
class ReplaceRule:
    """The top-level inputs of one type whose change replaces it, and where that comes from."""

    keys: frozenset[str]
    source: str


def _rule(keys: str, source: str) -> ReplaceRule:
    return ReplaceRule(frozenset(keys.split()), source)


_TF = "Terraform AWS provider schema"
_REGION = "region: forceNewIfRegionChanges"
_ARM = "ARM path parameters (azure-native diff.go)"

REPLACE_ON_CHANGE: dict[str, ReplaceRule] = {
    "aws:s3/bucket:Bucket": _rule(
        "bucket bucketPrefix objectLockEnabled region",
        f"{_TF} aws_s3_bucket: bucket, bucket_prefix, object_lock_enabled ForceNew; {_REGION}",
    ),
    "aws:s3/bucketAcl:BucketAcl": _rule(
        "bucket expectedBucketOwner region",
        f"{_TF} aws_s3_bucket_acl: bucket, expected_bucket_owner ForceNew; {_REGION}",
    ),
    "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration": _rule(
        "bucket expectedBucketOwner region",
        f"{_TF} aws_s3_bucket_cors_configuration: bucket, expected_bucket_owner ForceNew; {_REGION}",
    ),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _rule(
        "bucket expectedBucketOwner region",
        f"{_TF} aws_s3_bucket_lifecycle_configuration: bucket, expected_bucket_owner RequiresReplace; {_REGION}",
    ),
    "aws:s3/bucketLogging:BucketLogging": _rule(
        "bucket expectedBucketOwner region",
        f"{_TF} aws_s3_bucket_logging: bucket, expected_bucket_owner ForceNew; {_REGION}",
    ),
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": _rule(
        "bucket expectedBucketOwner region",
        f"{_TF} aws_s3_bucket_object_lock_configuration: bucket, expected_bucket_owner ForceNew; {_REGION}",
    ),
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": _rule(
        "bucket region", f"{_TF} aws_s3_bucket_replication_configuration: bucket ForceNew; {_REGION}"
    ),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _rule(
        "bucket region", f"{_TF} aws_s3_bucket_ownership_controls: bucket ForceNew; {_REGION}"
    ),
    "aws:s3/bucketPolicy:BucketPolicy": _rule(
        "bucket region", f"{_TF} aws_s3_bucket_policy: bucket ForceNew; {_REGION}"
    ),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _rule(
        "bucket region", f"{_TF} aws_s3_bucket_public_access_block: bucket ForceNew; {_REGION}"
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _rule(
        "bucket expectedBucketOwner region",
        f"{_TF} aws_s3_bucket_server_side_encryption_configuration: bucket, expected_bucket_owner ForceNew; {_REGION}",
    ),
    "aws:s3/bucketVersioning:BucketVersioning": _rule(
        "bucket expectedBucketOwner region",
        f"{_TF} aws_s3_bucket_versioning: bucket, expected_bucket_owner ForceNew; {_REGION}",
    ),
    # IAM is global (no region); a user is renamed in place (UpdateUser with NewUserName / NewPath).
    "aws:iam/user:User": _rule("", f"{_TF} aws_iam_user: name and path update in place (UpdateUser)"),
    "aws:iam/userPolicy:UserPolicy": _rule(
        "name namePrefix user", f"{_TF} aws_iam_user_policy: name, name_prefix, user ForceNew"
    ),
    "aws:iam/role:Role": _rule("name namePrefix path", f"{_TF} aws_iam_role: name, name_prefix, path ForceNew"),
    "aws:iam/rolePolicy:RolePolicy": _rule(
        "name namePrefix role", f"{_TF} aws_iam_role_policy: name, name_prefix, role ForceNew"
    ),
    "aws:iam/accessKey:AccessKey": _rule("user pgpKey", f"{_TF} aws_iam_access_key: user, pgp_key ForceNew"),
    # A provider's region or endpoint is where its resources live: changed, they are declared somewhere else,
    # so the engine replaces the provider and every resource it manages (see PROVIDER_PREFIX).
    "pulumi:providers:aws": _rule(
        "region endpoints",
        "pulumi-aws provider config: region replaces the provider (and so its resources); endpoints move them "
        "to another service",
    ),
    "pulumi:providers:azure-native": _rule(
        "subscriptionId location",
        "pulumi-azure-native provider config: another subscription or default location is another place",
    ),
    "azure-native:resources:ResourceGroup": _rule(
        "resourceGroupName location", f"{_ARM}; forceNewMap Resources/ResourceGroup: location"
    ),
    "azure-native:storage:StorageAccount": _rule(
        "resourceGroupName accountName location isHnsEnabled",
        f"{_ARM}; forceNewMap Storage/StorageAccount: location, isHnsEnabled",
    ),
    "azure-native:storage:BlobContainer": _rule(
        "resourceGroupName accountName containerName", f"{_ARM}; forceNewMap Storage/BlobContainer: none"
    ),
    "azure-native:storage:BlobServiceProperties": _rule("resourceGroupName accountName blobServicesName", _ARM),
    "azure-native:storage:ManagementPolicy": _rule("resourceGroupName accountName managementPolicyName", _ARM),
}


def top_key(path: str) -> str:
    """The top-level input name of a flattened path (``corsRules[0].x`` -> ``corsRules``)."""
    for index, char in enumerate(path):
        if char in ".[":
            return path[:index]
    return path


def replacing_paths(resource_type: str, changed_paths: list[str]) -> list[str]:
    """The changed input paths that replace a resource of ``resource_type`` (empty: updated in place)."""
    rule = REPLACE_ON_CHANGE.get(resource_type)
    if rule is None:
        return []
    return [path for path in changed_paths if top_key(path) in rule.keys]


def knows(resource_type: str) -> bool:
    """Whether the table has an entry for ``resource_type``."""
    return resource_type in REPLACE_ON_CHANGE
