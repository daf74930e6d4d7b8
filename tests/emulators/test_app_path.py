"""The app's path: the DSN a component exports, read as a Divio app reads it, stores a file in the emulator.

Two readers of the same exported DSN (credentials swapped for the emulator's, ``endpoint_url`` added):

- django-storage-url, Divio's own parser (aldryn-django's ``DEFAULT_STORAGE_DSN``). It ignores ``endpoint_url``
  and always connects to the cloud's HTTPS host, so the test changes only where its client connects, nothing the
  DSN configured;
- this project's ``app_settings`` ``STORAGES`` entry for django-storages, which honours ``endpoint_url`` itself.

Each saves a file, returns its URL, and the file is fetched back over HTTP: anonymously from the public store,
through a signed URL from the private one (whose unsigned URL must be refused).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests
from azure.storage.blob import BlobServiceClient
from support.emulators import AZURITE_ACCOUNT, Emulator, azure_target, s3_target

from divio_storage_infra.core import naming
from divio_storage_infra.core.app_settings import storages_entry
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.localstores.apply_azure import apply_azure
from divio_storage_infra.localstores.apply_s3 import apply_aws
from divio_storage_infra.localstores.declared import declare_website, exported
from divio_storage_infra.localstores.localdsn import azure_emulator_dsn, s3_emulator_dsn

pytestmark = [pytest.mark.emulator, pytest.mark.usefixtures("django_settings")]

AWS_SPEC = StorageSpec.from_dict(
    {
        "website": "app-path",
        "environment": "live",
        "region": "eu-central-1",
        "privateStorage": True,
        "credentials": "iam-user",
    }
)


def azure_spec(credentials: str) -> StorageSpec:
    extra: dict[str, Any] = {}
    if credentials == "sas":
        # Valid from yesterday, whatever the time zone, for the default 90 days.
        extra = {"credentials": "sas", "sasStart": (dt.date.today() - dt.timedelta(days=1)).isoformat()}
    return StorageSpec.from_dict(
        {
            "website": "app-path",
            "environment": "live",
            "cloud": "azure",
            "location": "switzerlandnorth",
            "privateStorage": True,
            **extra,
        }
    )


@dataclass
class Dsns:
    """The exported DSNs, pointed at an emulator."""

    public: str
    private: str
    endpoint: str


@pytest.fixture(scope="module")
def aws(moto: Emulator) -> Dsns:
    declared = declare_website(AWS_SPEC)
    key = apply_aws(declared, s3_target(moto)).only_key()
    return Dsns(
        public=s3_emulator_dsn(exported(declared, "storage_dsn"), moto.url, key),
        private=s3_emulator_dsn(exported(declared, "private_storage_dsn"), moto.url, key),
        endpoint=moto.url,
    )


@pytest.fixture(scope="module", params=["account-key", "sas"])
def azure(request: pytest.FixtureRequest, azurite: Emulator) -> Dsns:
    declared = declare_website(azure_spec(request.param))
    applied = apply_azure(declared, azure_target(azurite))
    return Dsns(
        public=azure_emulator_dsn(exported(declared, "storage_dsn"), applied),
        private=azure_emulator_dsn(exported(declared, "private_storage_dsn"), applied),
        endpoint=azurite.url,
    )


def entry_storage(dsn: str) -> Any:
    """The storage Django builds from this project's STORAGES entry for the DSN."""
    from django.utils.module_loading import import_string  # type: ignore[import-untyped]

    entry = storages_entry(dsn)
    return import_string(entry["BACKEND"])(**entry["OPTIONS"])


def save(storage: Any, body: bytes) -> str:
    from django.core.files.base import ContentFile  # type: ignore[import-untyped]

    name: str = storage.save(f"uploads/{uuid.uuid4().hex} photo.txt", ContentFile(body))
    assert storage.exists(name)
    with storage.open(name, "rb") as handle:
        assert handle.read() == body
    return name


def get(url: str) -> requests.Response:
    return requests.get(url, timeout=10)


# --- S3 (moto, auth off so anonymous reads are decided by the bucket policy) -------------------------------------


def _s3_through_django_storage_url(dsn_setting: Any, dsn: str, endpoint: str) -> Any:
    storage = dsn_setting(dsn)
    # Production: the endpoint named in the DSN's host. Offline it cannot resolve, so only this changes.
    assert storage.endpoint_url == "https://s3.eu-central-1.amazonaws.com/"
    storage.endpoint_url = endpoint
    return storage


@pytest.mark.parametrize("reader", ["django-storage-url", "app_settings"])
def test_s3_public_file_is_saved_and_served_by_its_url(aws: Dsns, dsn_setting: Any, reader: str) -> None:
    if reader == "django-storage-url":
        storage = _s3_through_django_storage_url(dsn_setting, aws.public, aws.endpoint)
    else:
        storage = entry_storage(aws.public)
    assert storage.bucket_name == naming.public_bucket_name(AWS_SPEC)
    # With ACLs disabled the app must upload with the owner's ACL, not django-storage-url's public-read default.
    assert storage.object_parameters == {"ACL": "bucket-owner-full-control"}
    name = save(storage, b"public media")
    url = storage.url(name)
    assert url == f"{aws.endpoint}/{storage.bucket_name}/{quote(name)}", "a public file has a plain, unsigned URL"
    response = get(url)
    assert response.status_code == 200
    assert response.content == b"public media"
    storage.delete(name)
    assert not storage.exists(name)
    assert get(url).status_code in (403, 404)


@pytest.mark.parametrize("reader", ["django-storage-url", "app_settings"])
def test_s3_private_file_is_served_only_through_a_signed_url(aws: Dsns, dsn_setting: Any, reader: str) -> None:
    if reader == "django-storage-url":
        storage = _s3_through_django_storage_url(dsn_setting, aws.private, aws.endpoint)
    else:
        storage = entry_storage(aws.private)
    assert storage.bucket_name == naming.private_bucket_name(AWS_SPEC)
    name = save(storage, b"private media")
    url = storage.url(name)
    assert "X-Amz-Signature=" in url
    assert get(url).content == b"private media"
    unsigned = urlsplit(url)._replace(query="").geturl()
    assert get(unsigned).status_code == 403
    storage.delete(name)


# --- Azure (Azurite) ---------------------------------------------------------------------------------------------


def _azure_through_django_storage_url(dsn_setting: Any, dsn: str, endpoint: str) -> Any:
    storage = dsn_setting(dsn)
    assert storage.account_name == AZURITE_ACCOUNT
    # django-storages would connect to https://<account>.blob.core.windows.net; point the same credential that
    # django-storage-url parsed from the DSN (account key or SAS) at the emulator instead.
    credential: Any = (
        {"account_name": storage.account_name, "account_key": storage.account_key}
        if storage.account_key
        else storage.sas_token
    )
    assert credential, "django-storage-url found no credential in the DSN"
    storage._service_client = BlobServiceClient(endpoint, credential=credential)
    return storage


def test_azure_public_file_through_django_storage_url(azure: Dsns, dsn_setting: Any) -> None:
    storage = _azure_through_django_storage_url(dsn_setting, azure.public, azure.endpoint)
    assert storage.azure_container == naming.PUBLIC_CONTAINER
    name = save(storage, b"public media")
    url = urlsplit(storage.url(name))
    # django-storage-url pins links to the account's own host (no SAS in them); offline that host does not
    # resolve, so the same container and blob path is fetched from the emulator.
    assert url.netloc == f"{AZURITE_ACCOUNT}.blob.core.windows.net"
    assert url.query == ""
    assert url.path.endswith(f"/{naming.PUBLIC_CONTAINER}/{quote(name)}")
    response = get(f"{azure.endpoint}/{naming.PUBLIC_CONTAINER}/{quote(name)}")
    assert response.status_code == 200
    assert response.content == b"public media"
    storage.delete(name)


def test_azure_public_file_through_the_storages_entry(azure: Dsns) -> None:
    storage = entry_storage(azure.public)
    name = save(storage, b"public media")
    url = storage.url(name)
    assert url == f"{azure.endpoint}/{naming.PUBLIC_CONTAINER}/{quote(name)}", "no SAS in a public link"
    response = get(url)
    assert response.status_code == 200
    assert response.content == b"public media"
    storage.delete(name)
    assert get(url).status_code == 404


def test_azure_private_file_is_stored_but_not_served_anonymously(azure: Dsns) -> None:
    storage = entry_storage(azure.private)
    assert storage.azure_container == naming.PRIVATE_CONTAINER
    name = save(storage, b"private media")
    unsigned = storage.url(name)
    assert urlsplit(unsigned).query == ""
    assert get(unsigned).status_code in (403, 404)
    if storage.account_key:
        # With the account key the app signs its own read-only links.
        signed = storage.url(name, expire=60)
        assert "sig=" in signed
        response = get(signed)
        assert response.status_code == 200
        assert response.content == b"private media"
    storage.delete(name)
