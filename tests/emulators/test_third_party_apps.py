"""Easy Thumbnails and django-filer in a Django app configured only from the exported DSNs, against the emulators.

The app (``support/django_app.py``) runs in its own interpreter once per cloud: it takes ``app_settings`` of the
DSNs a website's components export (pointed at moto / Azurite with the ``endpoint_url`` extension), stores an
image, has easy-thumbnails make a thumbnail, and keeps public and private files and images in django-filer. The
tests then look at the stores and fetch every URL the app handed out, anonymously, as a visitor's browser would.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests
from PIL import Image
from support.django_app import IMAGE_SIZE, PRIVATE_BODY, PUBLIC_BODY, THUMBNAIL_SIZE, run_app
from support.emulators import Emulator, azure_target, azurite_service, s3_client, s3_target

from divio_storage_infra.core import naming
from divio_storage_infra.core.app_settings import (
    FILER_PRIVATE_PREFIX,
    FILER_PRIVATE_THUMBNAILS,
    FILER_PUBLIC_PREFIX,
    FILER_PUBLIC_THUMBNAILS,
)
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.localstores.apply_azure import apply_azure
from divio_storage_infra.localstores.apply_s3 import apply_aws
from divio_storage_infra.localstores.declared import declare_website, exported
from divio_storage_infra.localstores.localdsn import azure_emulator_dsn, s3_emulator_dsn

pytestmark = pytest.mark.emulator

AWS_SPEC = StorageSpec.from_dict(
    {
        "website": "apps-thumbs",
        "environment": "live",
        "region": "eu-central-1",
        "privateStorage": True,
        "credentials": "iam-user",
    }
)
AZURE_SPEC = StorageSpec.from_dict(
    {
        "website": "apps-thumbs",
        "environment": "live",
        "cloud": "azure",
        "location": "switzerlandnorth",
        "privateStorage": True,
    }
)


@dataclass
class World:
    """What the app did, and how to look into the stores it used."""

    cloud: str
    app: dict[str, Any]
    public_base: str
    """The public store's base URL at the emulator (bucket or container, with a trailing slash)."""
    private_base: str
    public_names: set[str]
    private_names: set[str]


def _s3_names(moto: Emulator, bucket: str) -> set[str]:
    listing = s3_client(moto.url).list_objects_v2(Bucket=bucket)
    return {item["Key"] for item in listing.get("Contents", [])}


@pytest.fixture(scope="module")
def aws(moto: Emulator) -> World:
    declared = declare_website(AWS_SPEC)
    key = apply_aws(declared, s3_target(moto)).only_key()
    app = run_app(
        s3_emulator_dsn(exported(declared, "storage_dsn"), moto.url, key),
        s3_emulator_dsn(exported(declared, "private_storage_dsn"), moto.url, key),
    )
    public, private = naming.public_bucket_name(AWS_SPEC), naming.private_bucket_name(AWS_SPEC)
    return World(
        "aws",
        app,
        f"{moto.url}/{public}/",
        f"{moto.url}/{private}/",
        _s3_names(moto, public),
        _s3_names(moto, private),
    )


@pytest.fixture(scope="module")
def azure(azurite: Emulator) -> World:
    declared = declare_website(AZURE_SPEC)
    applied = apply_azure(declared, azure_target(azurite))
    app = run_app(
        azure_emulator_dsn(exported(declared, "storage_dsn"), applied),
        azure_emulator_dsn(exported(declared, "private_storage_dsn"), applied),
    )
    service = azurite_service(azurite)
    names = {
        container: {blob.name for blob in service.get_container_client(container).list_blobs()}
        for container in (naming.PUBLIC_CONTAINER, naming.PRIVATE_CONTAINER)
    }
    return World(
        "azure",
        app,
        f"{azurite.url}/{naming.PUBLIC_CONTAINER}/",
        f"{azurite.url}/{naming.PRIVATE_CONTAINER}/",
        names[naming.PUBLIC_CONTAINER],
        names[naming.PRIVATE_CONTAINER],
    )


@pytest.fixture(params=["aws", "azure"])
def world(request: pytest.FixtureRequest) -> World:
    fixture: World = request.getfixturevalue(request.param)
    return fixture


def get(url: str) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False  # anonymous: no credentials from the environment (so the CA is named here)
        return session.get(url, timeout=10, verify=os.environ.get("REQUESTS_CA_BUNDLE", True))


def image_size(body: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(body)) as image:
        size: tuple[int, int] = image.size
        return size


def unsigned(url: str) -> str:
    return urlsplit(url)._replace(query="").geturl()


def test_easy_thumbnails_saves_the_thumbnail_in_the_public_store(world: World) -> None:
    thumbs = world.app["thumbnails"]
    assert thumbs["thumbnail_storage_is_alias"], "easy-thumbnails must save to STORAGES['easy_thumbnails']"
    assert thumbs["legacy_setting_is_alias"], "THUMBNAIL_DEFAULT_STORAGE must build the same storage"
    assert thumbs["thumbnail_storage_class"] != "ThumbnailFileSystemStorage"
    assert thumbs["image_name"] in world.public_names
    assert thumbs["thumbnail_name"] in world.public_names, "the thumbnail is in the store, not on local disk"
    assert thumbs["thumbnail_name"] != thumbs["image_name"]


def test_thumbnail_url_is_fetched_anonymously(world: World) -> None:
    thumbs = world.app["thumbnails"]
    url = thumbs["thumbnail_url"]
    assert url == world.public_base + quote(thumbs["thumbnail_name"]), "an unsigned link into the public store"
    response = get(url)
    assert response.status_code == 200
    assert image_size(response.content) == THUMBNAIL_SIZE
    original = get(thumbs["image_url"])
    assert original.status_code == 200
    assert image_size(original.content) == IMAGE_SIZE


def test_filer_public_file_is_in_the_public_store_and_served_anonymously(world: World) -> None:
    public = world.app["filer"]["public"]
    assert public["name"].startswith(f"{FILER_PUBLIC_PREFIX}/")
    assert public["name"] in world.public_names
    assert public["name"] not in world.private_names
    assert public["url"] == world.public_base + quote(public["name"])
    response = get(public["url"])
    assert response.status_code == 200
    assert response.content == PUBLIC_BODY


def test_filer_private_file_is_refused_anonymously_and_served_through_a_signed_url(world: World) -> None:
    private = world.app["filer"]["private"]
    assert private["name"].startswith(f"{FILER_PRIVATE_PREFIX}/")
    assert private["name"] in world.private_names
    assert private["name"] not in world.public_names
    url = private["url"]
    assert url.startswith(world.private_base + quote(private["name"]) + "?")
    assert ("X-Amz-Signature=" if world.cloud == "aws" else "sig=") in url
    refused = get(unsigned(url))
    assert refused.status_code in (403, 404), "anonymous visitors must not read private files"
    assert PRIVATE_BODY not in refused.content
    served = get(url)
    assert served.status_code == 200
    assert served.content == PRIVATE_BODY


def test_filer_image_thumbnails_stay_with_their_image(world: World) -> None:
    public, private = world.app["filer"]["public_image"], world.app["filer"]["private_image"]
    assert public["thumbnail_name"].startswith(f"{FILER_PUBLIC_THUMBNAILS}/")
    assert public["thumbnail_name"] in world.public_names
    response = get(public["thumbnail_url"])
    assert response.status_code == 200
    assert image_size(response.content) == THUMBNAIL_SIZE

    assert private["thumbnail_name"].startswith(f"{FILER_PRIVATE_THUMBNAILS}/")
    assert private["thumbnail_name"] in world.private_names
    assert private["name"] in world.private_names
    assert get(unsigned(private["thumbnail_url"])).status_code in (403, 404)
    served = get(private["thumbnail_url"])
    assert served.status_code == 200
    assert image_size(served.content) == THUMBNAIL_SIZE
