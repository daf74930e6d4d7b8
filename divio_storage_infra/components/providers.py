"""The explicit pulumi-aws provider for S3-compatible endpoints (Exoscale SOS, MinIO, ...)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from divio_storage_infra.core.clouds import capabilities
from divio_storage_infra.core.spec import StorageSpec


def s3_compatible_provider(name: str, spec: StorageSpec, args: Any, opts: pulumi.ResourceOptions) -> aws.Provider:
    """A provider pointed at the spec's endpoint, with the checks that only make sense on AWS switched off.

    ``args`` carries ``access_key_id`` and ``secret_access_key`` (stack config; the secret stays a secret).
    """
    return endpoint_provider(f"{name}-{spec.cloud}", spec, args.access_key_id, args.secret_access_key, opts)


def endpoint_provider(
    resource_name: str,
    spec: StorageSpec,
    access_key_id: pulumi.Input[str] | None,
    secret_access_key: pulumi.Input[str] | None,
    opts: pulumi.ResourceOptions | None = None,
) -> aws.Provider:
    """The provider named ``resource_name`` for the endpoint and region of ``spec`` with this key (secret kept)."""
    provider = capabilities(spec.cloud)
    host = provider.endpoint_host(spec.region or "", spec.endpoint)
    return aws.Provider(
        resource_name,
        region=spec.region,
        access_key=access_key_id,
        secret_key=pulumi.Output.secret(secret_access_key) if secret_access_key is not None else None,
        endpoints=[aws.ProviderEndpointArgs(s3=f"https://{host}")],
        s3_use_path_style=provider.path_style,
        # There is no STS, IAM or instance metadata behind these endpoints, and their region names are not AWS's.
        skip_credentials_validation=True,
        skip_metadata_api_check=True,
        skip_region_validation=True,
        skip_requesting_account_id=True,
        opts=opts,
    )
