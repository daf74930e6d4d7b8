"""Turn storage DSNs into Django settings: ``STORAGES`` entries for django-storages and the storage settings of
Easy Thumbnails and django-filer. Building the settings needs no Django: they name the storage classes by their
dotted path (``divio_storage_infra.app.backends``), which Django imports when it builds a storage.

The options mirror what django-storage-url passes to django-storages for the same DSN, so an app can switch
between the two without behaving differently, except that this module also honours the ``endpoint_url``
extension (local emulators) and that a private store's URLs are always signed (see :func:`private_entry_for`).

Setting names checked against easy-thumbnails 2.8.5, 2.9 and 2.10.1 and django-filer 3.6.0 (with Django 5.2):
easy-thumbnails 2.9+ saves thumbnails to ``STORAGES[THUMBNAIL_DEFAULT_STORAGE_ALIAS]`` (alias ``easy_thumbnails``);
2.9 falls back to ``THUMBNAIL_DEFAULT_STORAGE`` (a dotted class path, built without arguments, local disk by
default) and 2.10 to the default storage; 2.8 reads only ``THUMBNAIL_DEFAULT_STORAGE``. django-filer reads
``FILER_STORAGES`` (``public``/``private`` x ``main``/``thumbnails``, each ``ENGINE`` + ``OPTIONS``) once, when
``filer.settings`` is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from divio_storage_infra.core.dsn import AZURE_BLOB_HOST, DsnError, ParsedDsn, parse_dsn
from divio_storage_infra.core.errors import NOT_SHOWN

S3_BACKEND = "storages.backends.s3.S3Storage"
AZURE_BACKEND = "storages.backends.azure_storage.AzureStorage"
_BACKENDS = "divio_storage_infra.app.backends"
# django-storages appends a SAS credential to every URL it builds, which would publish the token in every page;
# django-storage-url strips it, and so does this subclass.
SAS_AZURE_BACKEND = f"{_BACKENDS}.SasAzureStorage"
THUMBNAIL_ALIAS = "easy_thumbnails"
"""The ``STORAGES`` alias easy-thumbnails saves thumbnails to (its own default alias name)."""
THUMBNAIL_STORAGE_PATH = f"{_BACKENDS}.ThumbnailStorage"
"""What ``THUMBNAIL_DEFAULT_STORAGE`` names: a class whose instances are the ``easy_thumbnails`` alias' storage."""
PRIVATE_URL_SECONDS = 3600
"""Lifetime of a signed URL to a private file, in seconds (django-storages' S3 default, also used for Azure)."""
FILER_PUBLIC_PREFIX = "filer_public"
FILER_PUBLIC_THUMBNAILS = "filer_public_thumbnails"
FILER_PRIVATE_PREFIX = "filer_private"
FILER_PRIVATE_THUMBNAILS = "filer_private_thumbnails"


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
    """``STORAGES`` entries for ``default`` and, when given, ``private`` (signed URLs, as in :func:`app_settings`);
    merge them into the app's own dict. Raises DsnError when a DSN is malformed or its private store cannot sign."""
    out = {"default": storages_entry(default_dsn)}
    if private_dsn is not None:
        out["private"] = private_entry_for(parse_dsn(private_dsn))
    return out


def private_entry_for(parsed: ParsedDsn) -> dict[str, Any]:
    """The ``STORAGES`` entry of a private store: every URL to one of its files is signed.

    S3: ``querystring_auth`` is on whatever the DSN says (a custom domain, which serves unsigned URLs, is refused).
    Azure: ``expiration_secs`` (a read-only blob SAS per URL, valid :data:`PRIVATE_URL_SECONDS`), signed with the
    account key, or with a user delegation key when the app adds ``token_credential``. A SAS credential cannot sign
    a read-only link, and django-storages would hand out the app's own write-capable token instead: refused here.
    """
    if parsed.custom_domain is not None:
        raise DsnError.one(
            "domain",
            parsed.custom_domain,
            "a private store's URLs are signed, and a custom domain serves unsigned ones; drop domain= from the "
            "private DSN (the components never put one there)",
            context="private store",
        )
    if parsed.scheme == "az" and parsed.sas_token is not None and parsed.account_key is None:
        raise DsnError.one(
            "credential",
            NOT_SHOWN,
            "a SAS cannot sign read-only links to a private container, and django-storages would put the app's own "
            "write-capable token in every link; deploy the private store with credentials: account-key",
            context="private store",
        )
    entry = entry_for(parsed)
    if parsed.scheme == "az":
        entry["OPTIONS"]["expiration_secs"] = PRIVATE_URL_SECONDS
    else:
        entry["OPTIONS"]["querystring_auth"] = True
    return entry


def app_settings(default_dsn: str, private_dsn: str | None = None) -> dict[str, Any]:
    """Django settings (name -> value) for the app and the third-party apps that keep files, from the DSNs.

    ``STORAGES`` (``default``, ``easy_thumbnails`` and, with a private DSN, ``private`` with signed URLs),
    ``THUMBNAIL_DEFAULT_STORAGE_ALIAS``, ``THUMBNAIL_DEFAULT_STORAGE`` and ``FILER_STORAGES``. Without a private DSN
    ``FILER_STORAGES`` has only its ``public`` half, and django-filer keeps private files on the local disk.
    Raises DsnError when a DSN is malformed or the private store cannot sign its URLs (:func:`private_entry_for`).
    """
    return settings_for(parse_dsn(default_dsn), parse_dsn(private_dsn) if private_dsn is not None else None)


def settings_for(public: ParsedDsn, private: ParsedDsn | None = None) -> dict[str, Any]:
    """:func:`app_settings` for already parsed DSNs; every value is a fresh object the caller may change."""
    storages: dict[str, Any] = {"default": entry_for(public), THUMBNAIL_ALIAS: entry_for(public)}
    filer: dict[str, Any] = {"public": _filer_half(public, entry_for, FILER_PUBLIC_PREFIX, FILER_PUBLIC_THUMBNAILS)}
    if private is not None:
        storages["private"] = private_entry_for(private)
        filer["private"] = _filer_half(private, private_entry_for, FILER_PRIVATE_PREFIX, FILER_PRIVATE_THUMBNAILS)
    return {
        "STORAGES": storages,
        "THUMBNAIL_DEFAULT_STORAGE_ALIAS": THUMBNAIL_ALIAS,
        "THUMBNAIL_DEFAULT_STORAGE": THUMBNAIL_STORAGE_PATH,
        "FILER_STORAGES": filer,
    }


def _filer_half(
    parsed: ParsedDsn, entry: Callable[[ParsedDsn], dict[str, Any]], prefix: str, thumbnails_dir: str
) -> dict[str, Any]:
    """One half (public or private) of ``FILER_STORAGES``: files and thumbnails in the same store, apart by prefix."""
    main, thumbs = entry(parsed), entry(parsed)
    return {
        "main": {
            "ENGINE": main["BACKEND"],
            "OPTIONS": main["OPTIONS"],
            "UPLOAD_TO": "filer.utils.generate_filename.randomized",
            "UPLOAD_TO_PREFIX": prefix,
        },
        "thumbnails": {
            "ENGINE": thumbs["BACKEND"],
            "OPTIONS": thumbs["OPTIONS"],
            "THUMBNAIL_OPTIONS": {"base_dir": thumbnails_dir},
        },
    }


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
