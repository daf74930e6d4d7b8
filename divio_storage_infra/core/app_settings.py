"""Turn a storage DSN into Django ``STORAGES`` entries for django-storages. Pure: no Django import.

The options mirror what django-storage-url passes to django-storages for the same DSN, so an app can switch
between the two without behaving differently, except that this module also honours the ``endpoint_url``
extension (local emulators).
"""

from __future__ import annotations

import importlib
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from divio_storage_infra.core.dsn import AZURE_BLOB_HOST, ParsedDsn, parse_dsn

S3_BACKEND = "storages.backends.s3.S3Storage"
AZURE_BACKEND = "storages.backends.azure_storage.AzureStorage"
# django-storages appends a SAS credential to every URL it builds, which would publish the token in every page;
# django-storage-url strips it, and so does this subclass (built on first use, see __getattr__ below).
SAS_AZURE_BACKEND = f"{__name__}.SasAzureStorage"
_LAZY: dict[str, type] = {}


def storages_entry(dsn: str) -> dict[str, Any]:
    """The ``STORAGES`` entry (``BACKEND`` and ``OPTIONS``) for a DSN; raises DsnError when it is malformed."""
    return entry_for(parse_dsn(dsn))


def entry_for(parsed: ParsedDsn) -> dict[str, Any]:
    """The ``STORAGES`` entry for an already parsed DSN."""
    if parsed.scheme == "az":
        backend = SAS_AZURE_BACKEND if parsed.sas_token is not None else AZURE_BACKEND
        return {"BACKEND": backend, "OPTIONS": _azure_options(parsed)}
    return {"BACKEND": S3_BACKEND, "OPTIONS": _s3_options(parsed)}


def storages_settings(default_dsn: str, private_dsn: str | None = None) -> dict[str, dict[str, Any]]:
    """``STORAGES`` entries for ``default`` and, when given, ``private``; merge them into the app's own dict."""
    out = {"default": storages_entry(default_dsn)}
    if private_dsn is not None:
        out["private"] = storages_entry(private_dsn)
    return out


def _s3_options(parsed: ParsedDsn) -> dict[str, Any]:
    options: dict[str, Any] = {"bucket_name": parsed.bucket}
    # Without a key pair, leave the keys unset so boto3 falls back to the role / environment.
    if parsed.access_key_id is not None and parsed.secret is not None:
        options["access_key"] = parsed.access_key_id
        options["secret_key"] = parsed.secret
    options.update(
        {
            "region_name": parsed.region,
            "endpoint_url": parsed.effective_endpoint_url,
            "addressing_style": parsed.addressing_style,
            "location": parsed.location,
            # django-storages signs every URL by default; a public bucket must say it does not want that.
            "querystring_auth": parsed.signed_urls,
            # With ACLs disabled (BucketOwnerEnforced) any other ACL makes S3 refuse the upload.
            "object_parameters": {"ACL": parsed.effective_acl},
            "url_protocol": parsed.url_protocol,
        }
    )
    if parsed.auth is not None:
        options["signature_version"] = parsed.auth
    if parsed.custom_domain is not None:
        options["custom_domain"] = parsed.custom_domain
    return options


def _azure_options(parsed: ParsedDsn) -> dict[str, Any]:
    options: dict[str, Any] = {"account_name": parsed.account, "azure_container": parsed.container}
    if parsed.account_key is not None:
        options["account_key"] = parsed.account_key
    if parsed.sas_token is not None:
        options["sas_token"] = parsed.sas_token
    if parsed.custom_domain is not None:
        options["custom_domain"] = parsed.custom_domain
    options["azure_ssl"] = parsed.url_protocol == "https:"
    # django-storage-url overwrites on save (django-storages' default is to keep both files under new names).
    options["overwrite_files"] = True
    host = parsed.endpoint_host.partition(":")[0]
    if host != AZURE_BLOB_HOST and host.startswith("blob."):
        options["endpoint_suffix"] = host.removeprefix("blob.")
    if parsed.endpoint_url is not None:
        options["connection_string"] = _connection_string(parsed, parsed.endpoint_url)
    return options


def _connection_string(parsed: ParsedDsn, endpoint_url: str) -> str:
    """An Azure connection string for a custom blob endpoint (Azurite); django-storages then uses only it."""
    protocol = endpoint_url.partition("://")[0]
    parts = [f"DefaultEndpointsProtocol={protocol}", f"AccountName={parsed.account}"]
    if parsed.account_key is not None:
        parts.append(f"AccountKey={parsed.account_key}")
    parts.append(f"BlobEndpoint={endpoint_url}")
    if parsed.sas_token is not None:
        parts.append(f"SharedAccessSignature={parsed.sas_token}")
    return ";".join(parts) + ";"


def _build_sas_azure_storage() -> type:
    """django-storages' AzureStorage whose unsigned URLs never carry the storage's own SAS token."""
    base: Any = importlib.import_module("storages.backends.azure_storage").AzureStorage

    def url(self: Any, name: str, expire: Any = None, parameters: Any = None, mode: str = "r") -> str:
        full: str = base.url(self, name, expire=expire, parameters=parameters, mode=mode)
        if expire is not None:
            return full  # a URL signed on purpose
        return urlunsplit(urlsplit(full)._replace(query=""))

    # The module and name Django's deconstruct() records must import back to this class.
    return type("SasAzureStorage", (base,), {"url": url, "__module__": __name__, "__qualname__": "SasAzureStorage"})


def __getattr__(name: str) -> Any:
    """Build ``SasAzureStorage`` when Django imports it, so this module itself needs neither Django nor storages."""
    if name == "SasAzureStorage":
        if name not in _LAZY:
            _LAZY[name] = _build_sas_azure_storage()
        return _LAZY[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
