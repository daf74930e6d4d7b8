"""DSN -> Django STORAGES entries: exact options, accepted by django-storages, and behaving like django-storage-url."""

from __future__ import annotations

import base64
import subprocess
import sys
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from divio_storage_infra.app.settings import (
    AZURE_BACKEND,
    PRIVATE_URL_SECONDS,
    S3_BACKEND,
    SAS_AZURE_BACKEND,
    THUMBNAIL_ALIAS,
    app_settings,
    storages_entry,
    storages_settings,
)
from divio_storage_infra.core.dsn import DsnError, azure_dsn, s3_dsn

SECRET = "wJalr/K7+MDENG=bPx%Rfi:CY@EXAMPLEKEY"
AZURE_KEY = base64.b64encode(bytes(range(200, 256)) + bytes(range(8))).decode()
SAS = "sv=2022-11-02&sr=c&sp=rl&se=2026-04-01T00%3A00%3A00Z&sig=k3Y%2Bq%2Fz9%3D"
AWS = "s3.eu-central-1.amazonaws.com"


@pytest.fixture(scope="module", autouse=True)
def django_configured() -> None:
    from django.conf import settings  # type: ignore[import-untyped]

    if not settings.configured:
        settings.configure()


def backend(entry: dict[str, Any]) -> Any:
    """The real django-storages object Django would build from the entry (unknown option names raise)."""
    from django.utils.module_loading import import_string  # type: ignore[import-untyped]

    return import_string(entry["BACKEND"])(**entry["OPTIONS"])


def dsu(dsn: str) -> Any:
    import django_storage_url  # type: ignore[import-untyped]

    return django_storage_url.get_storage(dsn)


def test_public_aws_entry() -> None:
    dsn = s3_dsn(
        bucket="media",
        endpoint_host=AWS,
        access_key_id="AKIA1",
        secret_access_key=SECRET,
        custom_domain="media.example.com",
    )
    assert storages_entry(dsn) == {
        "BACKEND": S3_BACKEND,
        "OPTIONS": {
            "bucket_name": "media",
            "access_key": "AKIA1",
            "secret_key": SECRET,
            "region_name": "eu-central-1",
            "endpoint_url": "https://s3.eu-central-1.amazonaws.com",
            "addressing_style": "auto",
            "location": "",
            "querystring_auth": False,
            "object_parameters": {"ACL": "bucket-owner-full-control"},
            "url_protocol": "https:",
            "signature_version": "s3v4",
            "custom_domain": "media.example.com",
        },
    }


def test_private_entry_signs_urls_without_a_domain() -> None:
    options = storages_entry(s3_dsn(bucket="private", endpoint_host=AWS, signed_urls=True))["OPTIONS"]
    assert options["querystring_auth"] is True
    assert "custom_domain" not in options


def test_no_credentials_leaves_keys_to_the_role() -> None:
    options = storages_entry(s3_dsn(bucket="media", endpoint_host=AWS))["OPTIONS"]
    assert "access_key" not in options and "secret_key" not in options


def test_exoscale_and_emulator_endpoints() -> None:
    exo = storages_entry(s3_dsn(bucket="media", endpoint_host="sos-ch-gva-2.exo.io"))["OPTIONS"]
    assert (exo["region_name"], exo["endpoint_url"]) == ("ch-gva-2", "https://sos-ch-gva-2.exo.io")
    emulator = s3_dsn(bucket="media", endpoint_host=AWS, endpoint_url="http://127.0.0.1:5000")
    assert storages_entry(emulator)["OPTIONS"]["endpoint_url"] == "http://127.0.0.1:5000"
    generic = s3_dsn(bucket="media", endpoint_host="objects.example.net", region="rma")
    assert storages_entry(generic)["OPTIONS"]["region_name"] == "rma"


def test_missing_acl_follows_django_storage_url() -> None:
    options = storages_entry("s3://k:s@media.s3.eu-central-1.amazonaws.com/")["OPTIONS"]
    assert options["object_parameters"] == {"ACL": "public-read"}
    assert "signature_version" not in options


def test_azure_account_key_entry() -> None:
    dsn = azure_dsn(account="acct", container="public-media", account_key=AZURE_KEY, custom_domain="m.example.com")
    assert storages_entry(dsn) == {
        "BACKEND": AZURE_BACKEND,
        "OPTIONS": {
            "account_name": "acct",
            "azure_container": "public-media",
            "account_key": AZURE_KEY,
            "custom_domain": "m.example.com",
            "azure_ssl": True,
            "overwrite_files": True,
        },
    }


def test_azure_sas_entry_uses_the_backend_that_keeps_the_token_out_of_urls() -> None:
    entry = storages_entry(azure_dsn(account="acct", container="private-media", sas_token=SAS))
    assert entry["BACKEND"] == SAS_AZURE_BACKEND
    assert entry["OPTIONS"]["sas_token"] == SAS
    assert "account_key" not in entry["OPTIONS"]
    storage = backend(entry)
    assert storage.url("a b.jpg") == "https://acct.blob.core.windows.net/private-media/a%20b.jpg"
    assert storage.url("a b.jpg") == dsu(azure_dsn(account="acct", container="private-media", sas_token=SAS)).url(
        "a b.jpg"
    )
    # The stock backend would publish the token in every link: the reason for the subclass.
    from storages.backends.azure_storage import AzureStorage  # type: ignore[import-untyped]

    assert "sig=" in AzureStorage(**entry["OPTIONS"]).url("a b.jpg")


def test_azure_without_credential() -> None:
    options = storages_entry(azure_dsn(account="acct", container="public-media"))["OPTIONS"]
    assert "account_key" not in options and "sas_token" not in options
    assert options["account_name"] == "acct"


def test_azure_emulator_gets_a_connection_string() -> None:
    endpoint = "http://127.0.0.1:10000/devstoreaccount1"
    key_entry = storages_entry(
        azure_dsn(account="devstoreaccount1", container="media", account_key=AZURE_KEY, endpoint_url=endpoint)
    )
    assert key_entry["OPTIONS"]["connection_string"] == (
        f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AZURE_KEY};BlobEndpoint={endpoint};"
    )
    storage = backend(key_entry)
    assert storage.url("a.txt") == f"{endpoint}/media/a.txt"
    sas_entry = storages_entry(
        azure_dsn(account="devstoreaccount1", container="media", sas_token=SAS, endpoint_url=endpoint)
    )
    assert sas_entry["OPTIONS"]["connection_string"].endswith(f"BlobEndpoint={endpoint};SharedAccessSignature={SAS};")
    assert backend(sas_entry).url("a.txt") == f"{endpoint}/media/a.txt"


def test_storages_settings_default_and_private() -> None:
    public = s3_dsn(bucket="media", endpoint_host=AWS)
    private = s3_dsn(bucket="private", endpoint_host=AWS, signed_urls=True)
    both = storages_settings(public, private)
    assert set(both) == {"default", "private"}
    assert both["default"] == storages_entry(public)
    assert both["private"]["OPTIONS"]["bucket_name"] == "private"
    assert set(storages_settings(public)) == {"default"}


def test_malformed_dsn_raises() -> None:
    with pytest.raises(DsnError):
        storages_entry(f"s3://k:{SECRET}@media.s3.eu-central-1.amazonaws.com/")


S3_DSNS = [
    s3_dsn(bucket="media", endpoint_host=AWS, access_key_id="AKIA1", secret_access_key=SECRET),
    s3_dsn(bucket="media", endpoint_host=AWS, custom_domain="media.example.com"),
    s3_dsn(bucket="my.media", endpoint_host="s3.us-east-1.amazonaws.com"),
    s3_dsn(bucket="media", endpoint_host="sos-ch-gva-2.exo.io", access_key_id="EXO1", secret_access_key=SECRET),
    s3_dsn(
        bucket="private",
        endpoint_host="sos-de-fra-1.exo.io",
        access_key_id="EXO2",
        secret_access_key=SECRET,
        signed_urls=True,
        acl="private",
    ),
    s3_dsn(bucket="media", endpoint_host="objects.example.net", region="rma"),
    "s3://k:s@media.sos-ch-gva-2.exo.io/prefix/?url=http%3A%2F%2Fcdn.example.com",
]


@pytest.mark.parametrize("dsn", S3_DSNS)
def test_s3_entry_behaves_like_django_storage_url(dsn: str) -> None:
    ours, theirs = backend(storages_entry(dsn)), dsu(dsn)
    for name in (
        "bucket_name",
        "access_key",
        "secret_key",
        "region_name",
        "custom_domain",
        "object_parameters",
        "querystring_auth",
        "addressing_style",
        "signature_version",
        "location",
        "url_protocol",
    ):
        assert (getattr(ours, name) or None) == (getattr(theirs, name) or None), name
    assert ours.endpoint_url.rstrip("/") == theirs.endpoint_url.rstrip("/")
    # Signed URLs carry a timestamp; the part before the signature must match.
    assert ours.url("a b.jpg").partition("?")[0] == theirs.url("a b.jpg").partition("?")[0]


AZURE_DSNS = [
    azure_dsn(account="acct", container="public-media", account_key=AZURE_KEY),
    azure_dsn(account="acct", container="public-media", account_key=AZURE_KEY, custom_domain="m.example.com"),
    azure_dsn(account="acct", container="private-media", sas_token=SAS),
]


@pytest.mark.parametrize("dsn", AZURE_DSNS)
def test_azure_entry_behaves_like_django_storage_url(dsn: str) -> None:
    ours, theirs = backend(storages_entry(dsn)), dsu(dsn)
    for name in ("account_name", "account_key", "sas_token", "azure_container", "azure_ssl", "overwrite_files"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert ours.url("dir/a b.jpg") == theirs.url("dir/a b.jpg")


def test_building_settings_imports_no_django_and_the_backends_import_it_normally() -> None:
    code = (
        "import sys, divio_storage_infra.app.settings as a\n"
        "a.storages_entry('s3://media.s3.eu-central-1.amazonaws.com/?acl=private')\n"
        "a.app_settings('az://acct:a2V5@blob.core.windows.net/public-media', "
        "'az://acct:a2V5@blob.core.windows.net/private-media')\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'storages', 'pulumi', 'boto3')]\n"
        "assert not bad, bad\n"
        "import divio_storage_infra.app.backends as b\n"
        "assert 'storages.backends.azure_storage' in sys.modules and 'django' in sys.modules\n"
        "assert a.SAS_AZURE_BACKEND == b.__name__ + '.SasAzureStorage'\n"
        "assert a.THUMBNAIL_STORAGE_PATH == b.__name__ + '.ThumbnailStorage'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- app_settings: the third-party apps ------------------------------------------------------------------------


def test_app_settings_names_every_setting_the_apps_read() -> None:
    public = s3_dsn(bucket="media", endpoint_host=AWS, access_key_id="AKIA1", secret_access_key=SECRET)
    private = s3_dsn(
        bucket="private", endpoint_host=AWS, access_key_id="AKIA1", secret_access_key=SECRET, signed_urls=True
    )
    settings = app_settings(public, private)
    assert set(settings) == {
        "STORAGES",
        "THUMBNAIL_DEFAULT_STORAGE_ALIAS",
        "THUMBNAIL_DEFAULT_STORAGE",
        "FILER_STORAGES",
    }
    # The existing STORAGES entries are unchanged; easy-thumbnails' alias is the public store.
    assert settings["STORAGES"]["default"] == storages_settings(public)["default"]
    assert settings["STORAGES"]["private"] == storages_settings(public, private)["private"]
    assert settings["STORAGES"][THUMBNAIL_ALIAS] == storages_entry(public)
    assert settings["THUMBNAIL_DEFAULT_STORAGE_ALIAS"] == THUMBNAIL_ALIAS == "easy_thumbnails"
    assert settings["THUMBNAIL_DEFAULT_STORAGE"] == "divio_storage_infra.app.backends.ThumbnailStorage"
    filer = settings["FILER_STORAGES"]
    assert filer["public"]["main"] == {
        "ENGINE": S3_BACKEND,
        "OPTIONS": storages_entry(public)["OPTIONS"],
        "UPLOAD_TO": "filer.utils.generate_filename.randomized",
        "UPLOAD_TO_PREFIX": "filer_public",
    }
    assert filer["public"]["thumbnails"]["THUMBNAIL_OPTIONS"] == {"base_dir": "filer_public_thumbnails"}
    assert filer["private"]["main"]["OPTIONS"]["bucket_name"] == "private"
    assert filer["private"]["main"]["OPTIONS"]["querystring_auth"] is True
    assert filer["private"]["main"]["UPLOAD_TO_PREFIX"] == "filer_private"
    assert filer["private"]["thumbnails"]["OPTIONS"]["querystring_auth"] is True
    assert filer["private"]["thumbnails"]["THUMBNAIL_OPTIONS"] == {"base_dir": "filer_private_thumbnails"}
    assert filer["public"]["main"]["OPTIONS"]["querystring_auth"] is False


def test_app_settings_values_are_independent_copies() -> None:
    settings = app_settings(s3_dsn(bucket="media", endpoint_host=AWS))
    settings["STORAGES"]["default"]["OPTIONS"]["bucket_name"] = "changed"
    settings["FILER_STORAGES"]["public"]["main"]["OPTIONS"]["object_parameters"]["ACL"] = "changed"
    assert settings["STORAGES"][THUMBNAIL_ALIAS]["OPTIONS"]["bucket_name"] == "media"
    assert settings["FILER_STORAGES"]["public"]["thumbnails"]["OPTIONS"]["object_parameters"]["ACL"] != "changed"


def test_without_a_private_dsn_filer_gets_only_its_public_half() -> None:
    settings = app_settings(s3_dsn(bucket="media", endpoint_host=AWS))
    assert set(settings["STORAGES"]) == {"default", THUMBNAIL_ALIAS}
    assert set(settings["FILER_STORAGES"]) == {"public"}


def test_private_azure_store_signs_urls_with_the_account_key_whichever_function() -> None:
    public = azure_dsn(account="acct", container="public-media", account_key=AZURE_KEY)
    keyed = azure_dsn(account="acct", container="private-media", account_key=AZURE_KEY)
    with_key = app_settings(public, keyed)
    assert with_key["STORAGES"]["private"]["OPTIONS"]["expiration_secs"] == PRIVATE_URL_SECONDS
    assert with_key["FILER_STORAGES"]["private"]["main"]["OPTIONS"]["expiration_secs"] == PRIVATE_URL_SECONDS
    assert "expiration_secs" not in with_key["STORAGES"]["default"]["OPTIONS"]
    # storages_settings gives the private store the same entry: one behaviour whichever function an app uses.
    assert storages_settings(public, keyed)["private"] == with_key["STORAGES"]["private"]
    for entry in (with_key["STORAGES"]["private"], storages_settings(public, keyed)["private"]):
        url = backend(entry).url("a b.jpg")
        query = parse_qs(urlsplit(url).query)
        assert url.startswith("https://acct.blob.core.windows.net/private-media/a%20b.jpg?")
        assert query["sp"] == ["r"] and "sig" in query  # a read-only link, signed with the account key


@pytest.mark.parametrize("function", ["app_settings", "storages_settings"])
def test_a_private_azure_store_with_a_sas_is_refused_when_the_settings_are_built(function: str) -> None:
    public = azure_dsn(account="acct", container="public-media", sas_token=SAS)
    private = azure_dsn(account="acct", container="private-media", sas_token=SAS)
    build = app_settings if function == "app_settings" else storages_settings
    with pytest.raises(DsnError) as error:
        build(public, private)
    message = str(error.value)
    assert "private store" in message and "credentials: account-key" in message
    assert "sig=" not in message and "k3Y" not in message
    # The public store with the same SAS is fine: its links are unsigned and never carry the token.
    assert backend(storages_settings(public)["default"]).url("a.jpg") == (
        "https://acct.blob.core.windows.net/public-media/a.jpg"
    )


@pytest.mark.parametrize("function", ["app_settings", "storages_settings"])
def test_a_private_s3_store_is_signed_even_without_qs_auth_in_its_dsn(function: str) -> None:
    public = s3_dsn(bucket="media", endpoint_host=AWS, access_key_id="AKIA1", secret_access_key=SECRET)
    private = s3_dsn(bucket="private", endpoint_host=AWS, access_key_id="AKIA1", secret_access_key=SECRET)
    assert "qs_auth" not in private
    settings = app_settings(public, private)["STORAGES"] if function == "app_settings" else None
    entry = settings["private"] if settings is not None else storages_settings(public, private)["private"]
    assert entry["OPTIONS"]["querystring_auth"] is True
    query = parse_qs(urlsplit(backend(entry).url("a.jpg")).query)
    assert "X-Amz-Signature" in query and query["X-Amz-Expires"] == ["3600"]


def test_a_private_store_behind_a_custom_domain_is_refused() -> None:
    public = s3_dsn(bucket="media", endpoint_host=AWS)
    private = s3_dsn(bucket="private", endpoint_host=AWS) + "&domain=private.example.com"
    for build in (app_settings, storages_settings):
        with pytest.raises(DsnError, match="domain"):
            build(public, private)


def test_every_filer_and_thumbnail_storage_is_accepted_by_django_storages() -> None:
    settings = app_settings(
        azure_dsn(account="acct", container="public-media", account_key=AZURE_KEY),
        azure_dsn(account="acct", container="private-media", account_key=AZURE_KEY),
    )
    for half in settings["FILER_STORAGES"].values():
        for part in half.values():
            storage = backend({"BACKEND": part["ENGINE"], "OPTIONS": part["OPTIONS"]})
            assert storage.account_name == "acct"
    for entry in settings["STORAGES"].values():
        backend(entry)


def test_app_settings_is_exported_from_the_package_root() -> None:
    import divio_storage_infra

    assert divio_storage_infra.app_settings is app_settings
    assert "app_settings" in divio_storage_infra.__all__
