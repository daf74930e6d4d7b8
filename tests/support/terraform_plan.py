"""A Terraform plan JSON (``terraform show -json`` shape) of declared pulumi-aws S3 resources, for checkov.

pulumi-aws is generated from the Terraform AWS provider, so each type has its Terraform twin and each input its
snake_case attribute. Only what the checks read is rendered: buckets and their replication configurations, the
latter referring to their bucket as Terraform configuration would (``aws_s3_bucket.<name>.id``).
"""

from __future__ import annotations

import re
from typing import Any

from divio_storage_infra.preview.mockrun import DeclaredResource
from support.legacy_applier import plain

TERRAFORM_TYPES = {
    "aws:s3/bucket:Bucket": "aws_s3_bucket",
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": "aws_s3_bucket_replication_configuration",
}


def _snake(value: Any) -> Any:
    if isinstance(value, dict):
        return {re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): _snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake(v) for v in value]
    return value


def _address_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def plan_json(resources: list[DeclaredResource]) -> dict[str, Any]:
    """The plan of ``resources`` (buckets, replication configurations); other types are not rendered."""
    buckets = {
        plain(r.inputs["bucket"], r.name): _address_name(r.name) for r in resources if r.type == "aws:s3/bucket:Bucket"
    }
    planned: list[dict[str, Any]] = []
    configured: list[dict[str, Any]] = []
    for r in resources:
        tf_type = TERRAFORM_TYPES.get(r.type)
        if tf_type is None:
            continue
        name = _address_name(r.name)
        values = _snake({k: plain(v, r.name) for k, v in r.inputs.items() if k != "role"})
        if "rules" in values:
            values["rule"] = values.pop("rules")
        expressions: dict[str, Any] = {}
        if tf_type == "aws_s3_bucket_replication_configuration":
            bucket = buckets[values["bucket"]]
            expressions["bucket"] = {"references": [f"aws_s3_bucket.{bucket}.id", f"aws_s3_bucket.{bucket}"]}
        address = f"{tf_type}.{name}"
        planned.append(
            {
                "address": address,
                "mode": "managed",
                "type": tf_type,
                "name": name,
                "provider_name": "registry.terraform.io/hashicorp/aws",
                "schema_version": 0,
                "values": values,
            }
        )
        configured.append(
            {
                "address": address,
                "mode": "managed",
                "type": tf_type,
                "name": name,
                "provider_config_key": "aws",
                "expressions": expressions,
                "schema_version": 0,
            }
        )
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.0",
        "planned_values": {"root_module": {"resources": planned}},
        "configuration": {"root_module": {"resources": configured}},
    }
