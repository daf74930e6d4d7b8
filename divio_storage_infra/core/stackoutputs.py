"""The table of stack outputs: what each component exports, for which clouds, and whether it is a secret.

The components' ``outputs()`` give exactly these names (a test holds them to it); ``docs/reference/outputs.md``
is generated from this table (``python -m divio_storage_infra.core.generate``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from divio_storage_infra.core.clouds.base import Family

Secrecy = Literal["never", "always", "with-credentials"]
"""``with-credentials``: a Pulumi secret when the value carries credentials, shown as it is with ``credentials:
none`` (a DSN without credentials holds nothing secret, and an app developer reads it in the offline plan)."""


@dataclass(frozen=True)
class StackOutput:
    """One output: its name, the component families that export it, its secrecy and a one-line description."""

    name: str
    families: tuple[Family, ...]
    secret: Secrecy
    description: str

    def __post_init__(self) -> None:
        if not self.description.strip() or "\n" in self.description:
            raise ValueError(f"stack output {self.name!r}: a one-line description is required")


_BOTH: tuple[Family, ...] = ("s3", "azure")

OUTPUTS: tuple[StackOutput, ...] = (
    StackOutput("storage_dsn", _BOTH, "with-credentials", "The public store's DSN: DEFAULT_STORAGE_DSN of the app."),
    StackOutput(
        "private_storage_dsn",
        _BOTH,
        "with-credentials",
        "The private store's DSN (signed URLs), with privateStorage: true.",
    ),
    StackOutput("media_url", _BOTH, "never", "The public store's base URL (the media domain's, when set)."),
    StackOutput("public_bucket_name", ("s3",), "never", "The public bucket's name."),
    StackOutput("public_bucket_arn", ("s3",), "never", "The public bucket's ARN (AWS only)."),
    StackOutput("private_bucket_name", ("s3",), "never", "The private bucket's name."),
    StackOutput("private_bucket_arn", ("s3",), "never", "The private bucket's ARN (AWS only)."),
    StackOutput("iam_user_name", ("s3",), "never", "With credentials: iam-user, the IAM user's name."),
    StackOutput("iam_user_arn", ("s3",), "never", "With credentials: iam-user, the IAM user's ARN."),
    StackOutput("access_key_id", ("s3",), "never", "With credentials: iam-user or static, the access key's id."),
    StackOutput("access_policy_json", ("s3",), "never", "Without an IAM user, the policy a user of your own needs."),
    StackOutput("plan_notes", ("s3",), "never", "What the cloud could not declare, and why."),
    StackOutput("resource_group_name", ("azure",), "never", "The resource group of the storage account."),
    StackOutput("storage_account_name", ("azure",), "never", "The website's storage account."),
    StackOutput("public_container_name", ("azure",), "never", "The public store's container."),
    StackOutput("private_container_name", ("azure",), "never", "The private store's container."),
    StackOutput("sas_terms", ("azure",), "never", "With credentials: sas, each token's container, start and expiry."),
    StackOutput(
        "backup_storage_dsn", _BOTH, "always", "With backup: the public store's backup, for the platform's tools only."
    ),
    StackOutput(
        "private_backup_storage_dsn",
        _BOTH,
        "always",
        "With backup: the private store's backup, for the platform's tools only.",
    ),
)
"""Every stack output, in the order the reference lists them."""


def output_names(family: Family) -> tuple[str, ...]:
    """The outputs a component of ``family`` exports, in table order."""
    return tuple(o.name for o in OUTPUTS if family in o.families)


def dsn_is_secret(credentials: str) -> bool:
    """Whether a store's DSN is a Pulumi secret: when it carries credentials, never for ``credentials: none``."""
    return credentials != "none"
