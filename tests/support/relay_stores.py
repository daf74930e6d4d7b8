"""A store behind the fault relay (:mod:`support.faults`): the plain-HTTP server the relay forwards to, and the DSN
that reaches the store through the relay's TLS endpoint."""

from __future__ import annotations

from divio_storage_infra.core.dsn import azure_dsn, s3_dsn
from support.emulators import AZURITE_ACCOUNT, AZURITE_KEY, Emulator

REGION = "eu-central-1"


def upstream(cloud: str, moto: Emulator, azurite: Emulator) -> str:
    """Where the relay forwards to: moto's URL, or Azurite's without the account path."""
    return moto.url if cloud == "s3" else azurite.url.rsplit("/", 1)[0]


def dsn_at(cloud: str, base: str, bucket: str, container: str, s3_key: tuple[str, str]) -> str:
    """The store's DSN with its endpoint at ``base`` (a relay's URL); ``s3_key`` signs S3 requests."""
    if cloud == "s3":
        return s3_dsn(
            bucket=bucket,
            endpoint_host=f"s3.{REGION}.amazonaws.com",
            access_key_id=s3_key[0],
            secret_access_key=s3_key[1],
            endpoint_url=base,
        )
    return azure_dsn(
        account=AZURITE_ACCOUNT, container=container, account_key=AZURITE_KEY, endpoint_url=f"{base}/{AZURITE_ACCOUNT}"
    )
