"""The raw baseline: the platform program's resources for AWS websites, declared with pulumi-aws directly.

Copied as ``__main__.py`` into a generated Pulumi project next to ``websites.json``, which holds every value the
library would compute (names, tags, policy documents, lifecycle rules, DSN templates), so this program does
nothing but declare. It declares what ``divio_storage_infra.platform`` declares for a registry of AWS websites with
a private bucket, an IAM user and CORS origins: the same pulumi-aws resources (types, names, inputs, options,
parents, declaration order), and the same two component registrations per website (bare
``pulumi.ComponentResource``s with the library's type tokens, names, ``protect`` and registered outputs), so that
both programs produce the same URNs and the same plan byte for byte. Like the platform program, it passes its
list of websites through ``divio_storage_infra.planblocks.entries``, so that ``plan`` runs both in the same blocks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pulumi
import pulumi_aws as aws

from divio_storage_infra import planblocks

WEBSITE = "divio:storage:WebsiteMediaStorage"
S3 = "divio:storage:S3MediaStorage"


def _dsn(template: str, values: list[Any]) -> str:
    return template.replace("{key}", values[0]).replace("{secret}", quote(values[1], safe=""))


def declare(site: dict[str, Any]) -> dict[str, Any]:
    """One website: the facade and S3 components and their 18 pulumi-aws children; returns the stack outputs."""
    name = site["name"]
    region = site["region"]
    facade = pulumi.ComponentResource(WEBSITE, name, None, pulumi.ResourceOptions(protect=True))
    store = pulumi.ComponentResource(S3, name, None, pulumi.ResourceOptions(parent=facade, protect=True))

    def after(previous: list[pulumi.Resource]) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=store, protect=True, depends_on=previous[-1:])

    stores: dict[str, tuple[aws.s3.Bucket, list[pulumi.Resource]]] = {}
    for role, bucket_site in (("media", site["media"]), ("private", site["private"])):
        prefix = f"{name}-{role}"
        bucket = aws.s3.Bucket(
            prefix,
            bucket=bucket_site["bucket"],
            force_destroy=False,
            region=region,
            tags=bucket_site["tags"],
            opts=pulumi.ResourceOptions(parent=store, protect=True),
        )
        config: list[pulumi.Resource] = []
        config.append(
            aws.s3.BucketOwnershipControls(
                f"{prefix}-ownership",
                bucket=bucket.bucket,
                region=region,
                rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
                opts=after(config),
            )
        )
        public = role == "media"
        config.append(
            aws.s3.BucketPublicAccessBlock(
                f"{prefix}-public-access",
                bucket=bucket.bucket,
                region=region,
                block_public_acls=True,
                ignore_public_acls=True,
                block_public_policy=not public,
                restrict_public_buckets=not public,
                opts=after(config),
            )
        )
        config.append(
            aws.s3.BucketPolicy(
                f"{prefix}-policy",
                bucket=bucket.bucket,
                region=region,
                policy=bucket_site["policy"],
                opts=after(config),
            )
        )
        config.append(
            aws.s3.BucketServerSideEncryptionConfiguration(
                f"{prefix}-encryption",
                bucket=bucket.bucket,
                region=region,
                rules=[
                    aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                        apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                            sse_algorithm="AES256"
                        )
                    )
                ],
                opts=after(config),
            )
        )
        config.append(
            aws.s3.BucketVersioning(
                f"{prefix}-versioning",
                bucket=bucket.bucket,
                region=region,
                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
                opts=after(config),
            )
        )
        config.append(
            aws.s3.BucketLifecycleConfiguration(
                f"{prefix}-lifecycle",
                bucket=bucket.bucket,
                region=region,
                rules=[
                    aws.s3.BucketLifecycleConfigurationRuleArgs(
                        id=rule["id"],
                        status="Enabled",
                        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                        abort_incomplete_multipart_upload=(
                            aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                                days_after_initiation=rule["abort"]
                            )
                            if "abort" in rule
                            else None
                        ),
                        noncurrent_version_expiration=(
                            aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                                noncurrent_days=rule["noncurrent"]
                            )
                            if "noncurrent" in rule
                            else None
                        ),
                        expiration=(
                            aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                                expired_object_delete_marker=rule["delete_marker"]
                            )
                            if "delete_marker" in rule
                            else None
                        ),
                    )
                    for rule in site["lifecycle"]
                ],
                opts=after(config),
            )
        )
        if public:
            cors = site["cors"]
            config.append(
                aws.s3.BucketCorsConfiguration(
                    f"{prefix}-cors",
                    bucket=bucket.bucket,
                    region=region,
                    cors_rules=[
                        aws.s3.BucketCorsConfigurationCorsRuleArgs(
                            id="website-origins",
                            allowed_methods=cors["methods"],
                            allowed_origins=cors["origins"],
                            allowed_headers=cors["headers"],
                            expose_headers=["ETag"],
                            max_age_seconds=cors["max_age"],
                        )
                    ],
                    opts=after(config),
                )
            )
        stores[role] = (bucket, config)

    child = pulumi.ResourceOptions(parent=store, protect=True)
    user = aws.iam.User(f"{name}-user", name=site["user"], tags=site["tags"], opts=child)
    user_policy = aws.iam.UserPolicy(
        f"{name}-user-policy", name="media-access", user=user.name, policy=site["user_policy"], opts=child
    )
    key = aws.iam.AccessKey(f"{name}-access-key", user=user.name, opts=child)
    secret = pulumi.Output.secret(key.secret)
    credentials_ready = pulumi.Output.all(user_policy.urn)

    def dsn(role: str) -> pulumi.Output[str]:
        bucket, config = stores[role]
        ready = pulumi.Output.all(*(r.urn for r in (bucket, *config)))
        template = site[role]["dsn"]
        return pulumi.Output.secret(
            pulumi.Output.all(key.id, secret, ready, credentials_ready).apply(lambda v: _dsn(template, v))
        )

    storage_dsn, private_storage_dsn = dsn("media"), dsn("private")
    outputs: dict[str, Any] = {
        "public_bucket_name": stores["media"][0].bucket,
        "public_bucket_arn": site["media"]["arn"],
        "private_bucket_name": stores["private"][0].bucket,
        "private_bucket_arn": site["private"]["arn"],
        "media_url": site["media_url"],
        "iam_user_name": user.name,
        "iam_user_arn": user.arn,
        "access_key_id": key.id,
        "storage_dsn": storage_dsn,
        "private_storage_dsn": private_storage_dsn,
        "access_policy_json": None,
        "plan_notes": [],
    }
    store.register_outputs(outputs)
    facade.register_outputs(
        {"media_url": site["media_url"], "storage_dsn": storage_dsn, "private_storage_dsn": private_storage_dsn}
    )
    return {k: v for k, v in outputs.items() if v is not None and v != []}


# The same list hook as the platform program, so that ``plan`` runs both in the same blocks (divio_storage_infra's
# planblocks module is pure Python: it declares nothing and imports nothing of the library's components).
def _websites() -> list[dict[str, Any]]:
    return list(json.loads(Path(__file__).resolve().with_name("websites.json").read_text())["websites"])


for website in planblocks.entries(_websites, lambda site: str(site["output"])):
    pulumi.export(website["output"], declare(website))
