"""Azure's own keys: account SKU, resource group, account name, soft delete, and the SAS terms."""

from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple

from divio_storage_infra.core.clouds import CloudCapabilities
from divio_storage_infra.core.configkeys import key
from divio_storage_infra.core.rules import check_account_name
from divio_storage_infra.core.validation.problems import Collector

AZURE_SKUS: tuple[str, ...] = key("accountSku").values
"""The storage account SKUs the spec accepts (``accountSku``; the table of config keys lists them)."""
SAS_PERMISSION_LETTERS = str(key("sasPermissions").default)
"""read, add, create, write, delete, list: the order Azure expects (and the default of ``sasPermissions``)."""

_RESOURCE_GROUP_RE = re.compile(r"^[-\w._()]{0,89}[-\w_()]$")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits; fromisoformat also takes 2026-W01-1, 20260101
SAS_START_MIN = dt.date(2000, 1, 1)
"""Earliest ``sasStart``: a SAS that expired before it was created is a mistake."""
SAS_START_MAX = dt.date(2099, 12, 31)
"""Latest ``sasStart``: start + lifetime (at most 365 days) must stay a valid timestamp."""


class AzureSettings(NamedTuple):
    """The Azure keys as read (read and type-checked on every cloud; the cloud tables say where they apply)."""

    sku: str
    resource_group: str | None
    account_name: str | None
    blob_soft_delete_days: int
    container_soft_delete_days: int
    sas_start: str | None
    sas_lifetime_days: int
    sas_permissions: str
    """Normalised to Azure's letter order."""


def azure_settings(c: Collector, caps: CloudCapabilities, credentials: str) -> AzureSettings:
    """Read and check the Azure keys; the SAS terms only where the cloud offers SAS credentials."""
    sku = c.string("accountSku")
    if sku not in AZURE_SKUS:
        c.bad("accountSku", sku, f"expected one of {', '.join(AZURE_SKUS)}")
    resource_group = c.string("resourceGroupName")
    if resource_group is not None and not _RESOURCE_GROUP_RE.fullmatch(resource_group):
        c.bad(
            "resourceGroupName",
            resource_group,
            "expected 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'",
        )
    account_name = c.string("storageAccountName")
    if account_name is not None and (why := check_account_name(account_name)):
        c.bad("storageAccountName", account_name, why)
    blob_soft = c.integer("blobSoftDeleteDays")
    container_soft = c.integer("containerSoftDeleteDays")
    if isinstance(c.raw.get("sasStart"), dt.date) and not isinstance(c.raw.get("sasStart"), dt.datetime):
        # A YAML registry reads an unquoted 2026-01-01 as a date; it means the same.
        c.raw = {**c.raw, "sasStart": c.raw["sasStart"].isoformat()}
    sas_start = c.string("sasStart")
    sas_lifetime = c.integer("sasLifetimeDays")
    sas_permissions = c.string("sasPermissions") or ""
    if "sas" in caps.credentials:
        _check_sas(c, credentials, sas_start, sas_permissions)
    return AzureSettings(
        sku=c.keep("accountSku", sku if sku in AZURE_SKUS else c.default("accountSku")),
        resource_group=resource_group,
        account_name=account_name,
        blob_soft_delete_days=blob_soft,
        container_soft_delete_days=container_soft,
        sas_start=sas_start,
        sas_lifetime_days=sas_lifetime,
        sas_permissions=c.keep("sasPermissions", "".join(ch for ch in SAS_PERMISSION_LETTERS if ch in sas_permissions)),
    )


def _check_sas(c: Collector, credentials: str, sas_start: str | None, permissions: str) -> None:
    sas_keys = [k for k in ("sasStart", "sasLifetimeDays", "sasPermissions") if c.given(k)]
    if credentials != "sas":
        for key in sas_keys:
            c.bad(key, c.raw[key], "only applies with credentials: sas")
        return
    if sas_start is None:
        c.missing("sasStart", "credentials: sas needs the first day of validity as an ISO date, e.g. 2026-01-01")
    elif (why := sas_start_problem(sas_start)) is not None:
        c.bad("sasStart", sas_start, why)
    if (
        not permissions
        or any(ch not in SAS_PERMISSION_LETTERS for ch in permissions)
        or len(set(permissions)) != len(permissions)
    ):
        c.bad(
            "sasPermissions",
            permissions,
            "expected letters from 'racwdl' (read, add, create, write, delete, list), each at most once",
        )


def sas_start_problem(value: str) -> str | None:
    """Why ``value`` is not a SAS start date (``YYYY-MM-DD``, 2000-01-01 to 2099-12-31), or None."""
    allowed = f"expected a calendar date YYYY-MM-DD from {SAS_START_MIN} to {SAS_START_MAX}, e.g. 2026-01-01"
    if not _DATE_RE.fullmatch(value):
        return allowed
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return f"{allowed} (this day does not exist)"
    if not SAS_START_MIN <= day <= SAS_START_MAX:
        return allowed
    return None
