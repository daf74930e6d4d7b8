"""IAM and bucket policy documents as plain dicts. Pure functions, no Pulumi import.

Bucket names are known from the spec before anything is created, so every policy is a complete, deterministic
document at plan time and shows up verbatim in a PR diff.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from divio_storage_infra.core.regions import aws_partition

PolicyDocument = dict[str, Any]

VERSION = "2012-10-17"

# Object-level rights the app needs for django-storages: read, write, delete and multipart uploads.
OBJECT_ACTIONS: tuple[str, ...] = (
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:GetObject",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
)
# Every upload names the DSN's canned ACL (x-amz-acl), which AWS authorises as s3:PutObjectAcl; the grant is pinned
# to the owner's ACL, so the app can never make an object public through it.
OWNER_ACL = "bucket-owner-full-control"
# Bucket-level rights: listing (django-storages' listdir/exists) and the bucket's region for signing.
BUCKET_ACTIONS: tuple[str, ...] = (
    "s3:GetBucketLocation",
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
)


def bucket_arn(bucket: str, region: str) -> str:
    """The ARN of a bucket in ``region``'s partition, e.g. ``arn:aws:s3:::my-bucket``."""
    return f"arn:{aws_partition(region)}:s3:::{bucket}"


def deny_insecure_transport(arn: str) -> dict[str, Any]:
    """The statement that denies every request to the bucket ``arn`` and its objects made without TLS."""
    # A Deny on every action is how AWS recommends enforcing TLS; it grants nothing.
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def public_bucket_policy(bucket: str, region: str, prefixes: Sequence[str] = ()) -> PolicyDocument:
    """Anyone may GET objects (never list the bucket); requests without TLS are denied.

    ``prefixes`` limits the public read to keys under them (``publicPrefixes``: an adopted bucket whose private
    objects live under other prefixes); empty means every key.
    """
    arn = bucket_arn(bucket, region)
    objects: str | list[str] = [f"{arn}/{prefix}*" for prefix in prefixes] if prefixes else f"{arn}/*"
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "PublicReadObjects",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": objects,
            },
            deny_insecure_transport(arn),
        ],
    }


def private_bucket_policy(bucket: str, region: str) -> PolicyDocument:
    """TLS-only access; grants nothing, so only credentials with their own rights (or signed URLs) get in."""
    return {"Version": VERSION, "Statement": [deny_insecure_transport(bucket_arn(bucket, region))]}


def access_policy(buckets: Sequence[str], region: str) -> PolicyDocument:
    """Least-privilege identity policy for the website's app: its buckets and their objects, nothing else.

    Raises ValueError for an empty ``buckets``; the spec rejects credentials without a bucket first.
    """
    if not buckets:
        raise ValueError("an access policy needs at least one bucket")
    arns = [bucket_arn(b, region) for b in buckets]
    return {
        "Version": VERSION,
        "Statement": [
            {"Sid": "ListWebsiteBuckets", "Effect": "Allow", "Action": list(BUCKET_ACTIONS), "Resource": arns},
            {
                "Sid": "ReadWriteWebsiteObjects",
                "Effect": "Allow",
                "Action": list(OBJECT_ACTIONS),
                "Resource": [f"{arn}/*" for arn in arns],
            },
            {
                "Sid": "UploadWithOwnerAclOnly",
                "Effect": "Allow",
                "Action": "s3:PutObjectAcl",
                "Resource": [f"{arn}/*" for arn in arns],
                "Condition": {"StringEquals": {"s3:x-amz-acl": OWNER_ACL}},
            },
        ],
    }


def to_json(document: PolicyDocument) -> str:
    """Serialise a policy deterministically (sorted keys, two-space indent) for resource inputs and diffs."""
    return json.dumps(document, indent=2, sort_keys=True)
