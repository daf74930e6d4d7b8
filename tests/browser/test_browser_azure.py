"""What a browser may do with an Azure website's stores, proven in headless Chromium against Azurite.

Azurite enforces blob-service CORS (origin, method and headers), container public access and SAS scope, so what
Chromium is allowed here is what the declared account settings allow. Each stack is declared by the per-website
program under the mock runtime (``credentials: sas``) and applied by :mod:`divio_storage_infra.localstores`, which
signs its SAS tokens from the declared ``listStorageAccountServiceSAS`` arguments (HTTPS only over TLS). CORS rules
belong to the account, and Azurite's one development account plays every website's, so each test applies its stack
first. Two stacks: one with ``allowUploads`` (a direct browser upload through the container's SAS must work from the
listed origin), one without (the same upload must be refused). Every refusal is checked twice: Chromium names it a
CORS error, and the store holds nothing afterwards.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from azure.core.exceptions import ResourceNotFoundError
from support.browser import ALLOWED, ELSEWHERE, REFUSED, Browsing, png
from support.emulators import Emulator, azure_target, azurite_service

from divio_storage_infra.core.naming import PRIVATE_CONTAINER, PUBLIC_CONTAINER
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.localstores.apply_azure import AzureApplied, apply_azure
from divio_storage_infra.localstores.declared import declare_website
from divio_storage_infra.preview.mockrun import Declared

pytestmark = pytest.mark.emulator

IMAGE = png(3, 2)
# What @azure/storage-blob sends with a browser upload (Put Blob) besides the SAS in the URL.
UPLOAD_HEADERS = {
    "Content-Type": "image/png",
    "x-ms-blob-type": "BlockBlob",
    "x-ms-blob-content-type": "image/png",
    "x-ms-version": "2025-01-05",
}


@dataclass
class Account:
    """One website's declared Azure stores, applied to Azurite, and the browser that visits them."""

    azurite: Emulator
    declared: Declared
    browser: Browsing
    applied: AzureApplied | None = None

    @functools.cached_property
    def service(self) -> Any:
        """The development account's client, with its key (what the platform holds, not the browser)."""
        return azurite_service(self.azurite)

    def apply(self) -> None:
        """(Re)apply the stack: the account's CORS rules are the last applied stack's."""
        self.applied = apply_azure(self.declared, azure_target(self.azurite))

    def url(self, container: str, blob: str) -> str:
        """The anonymous URL of a blob."""
        return f"{self.azurite.url}/{container}/{quote(blob)}"

    def signed(self, container: str, blob: str) -> str:
        """The blob's URL with the container's declared SAS, as the app's storage backend hands it out."""
        assert self.applied is not None
        return f"{self.url(container, blob)}?{self.applied.sas_tokens[container]}"

    def put(self, container: str, body: bytes, content_type: str) -> str:
        """Store ``body`` with the account key (as the app would); its name."""
        from azure.storage.blob import ContentSettings

        name = f"media/{uuid.uuid4().hex}.{content_type.rpartition('/')[2]}"
        blob = self.service.get_blob_client(container, name)
        blob.upload_blob(body, content_settings=ContentSettings(content_type=content_type))
        return name

    def holds(self, name: str) -> bytes | None:
        """The public container's blob ``name`` as the server holds it, None when there is none."""
        blob = self.service.get_blob_client(PUBLIC_CONTAINER, name)
        try:
            return bytes(blob.download_blob().readall())
        except ResourceNotFoundError:
            return None


def declare(browser: Browsing, *, uploads: bool) -> Declared:
    return declare_website(
        StorageSpec.from_dict(
            {
                "website": f"browser-{'up' if uploads else 'ro'}",
                "environment": "live",
                "cloud": "azure",
                "location": "switzerlandnorth",
                "privateStorage": True,
                "credentials": "sas",
                # Valid now whatever the time zone; the default lifetime (90 days) from there.
                "sasStart": (dt.date.today() - dt.timedelta(days=1)).isoformat(),
                "corsOrigins": [browser.origin(ALLOWED)],
                "allowUploads": uploads,
            }
        )
    )


@pytest.fixture(scope="module")
def browser(azurite: Emulator, browsing: Callable[[str], Browsing]) -> Browsing:
    return browsing(azurite.url)


@pytest.fixture(scope="module")
def declared(browser: Browsing) -> dict[bool, Declared]:
    """Both stacks' declarations by ``allowUploads``: declared once, applied by each test."""
    return {uploads: declare(browser, uploads=uploads) for uploads in (True, False)}


@pytest.fixture
def store(azurite: Emulator, browser: Browsing, declared: dict[bool, Declared]) -> Account:
    """The stack with ``allowUploads``, applied."""
    account = Account(azurite, declared[True], browser)
    account.apply()
    return account


@pytest.fixture
def read_only(azurite: Emulator, browser: Browsing, declared: dict[bool, Declared]) -> Account:
    """The same stack without ``allowUploads``, applied."""
    account = Account(azurite, declared[False], browser)
    account.apply()
    return account


def upload(account: Account, page: Any, url: str) -> Any:
    return page.evaluate(f"upload({url!r}, {UPLOAD_HEADERS!r}, {base64.b64encode(IMAGE).decode()!r})")


def test_the_allowed_origin_reads_a_public_object_with_fetch(store: Account) -> None:
    name = store.put(PUBLIC_CONTAINER, b"caption text", "text/plain")
    with store.browser.open(ALLOWED) as page:
        assert page.origin == store.browser.origin(ALLOWED)
        assert page.evaluate(f"readText({store.url(PUBLIC_CONTAINER, name)!r})") == {
            "ok": True,
            "status": 200,
            "body": "caption text",
        }


def test_a_refused_origin_cannot_read_with_fetch(store: Account) -> None:
    name = store.put(PUBLIC_CONTAINER, b"caption text", "text/plain")
    url = store.url(PUBLIC_CONTAINER, name)
    with store.browser.open(REFUSED) as page:
        assert page.evaluate(f"readText({url!r})") == {"ok": False, "error": "TypeError: Failed to fetch"}
        # The store answered (the blob is public), the browser withheld the answer: a CORS refusal.
        refused = page.exchange(url, answered=True)
        assert (refused.status, refused.cors_error) == (200, "MissingAllowOriginHeader"), refused


def test_the_allowed_origin_uploads_through_the_container_sas(store: Account) -> None:
    name = f"uploads/{uuid.uuid4().hex}.png"
    url = store.signed(PUBLIC_CONTAINER, name)
    with store.browser.open(ALLOWED) as page:
        assert upload(store, page, url) == {"ok": True, "status": 201}, page.requested(url)
        # x-ms-* and Content-Type are not CORS-safelisted: the browser asked first, and was allowed.
        assert page.exchange(url, kind="Preflight", answered=True).status == 200
    assert store.holds(name) == IMAGE
    blob = store.service.get_blob_client(PUBLIC_CONTAINER, name)
    assert blob.get_blob_properties().content_settings.content_type == "image/png"


def test_a_refused_origin_cannot_upload_and_nothing_is_written(store: Account) -> None:
    name = f"uploads/{uuid.uuid4().hex}.png"
    url = store.signed(PUBLIC_CONTAINER, name)
    with store.browser.open(REFUSED) as page:
        assert upload(store, page, url) == {"ok": False, "error": "TypeError: Failed to fetch"}
        assert page.exchange(url, kind="Fetch").cors_error is not None
        # The preflight was refused, so the PUT itself never left the browser.
        assert page.exchange(url, kind="Fetch").status is None
        assert sorted(e.method for e in page.requested(url)) == ["OPTIONS", "PUT"]
    assert store.holds(name) is None


def test_without_allow_uploads_even_the_allowed_origin_cannot_upload(read_only: Account) -> None:
    name = f"uploads/{uuid.uuid4().hex}.png"
    url = read_only.signed(PUBLIC_CONTAINER, name)
    readable = read_only.put(PUBLIC_CONTAINER, b"still readable", "text/plain")
    with read_only.browser.open(ALLOWED) as page:
        assert upload(read_only, page, url) == {"ok": False, "error": "TypeError: Failed to fetch"}
        assert page.exchange(url, kind="Fetch").cors_error is not None
        # Reads stay allowed for the listed origin: only the upload method and headers are missing.
        assert page.evaluate(f"readText({read_only.url(PUBLIC_CONTAINER, readable)!r})")["ok"] is True
    assert read_only.holds(name) is None


@pytest.mark.parametrize("name", [ALLOWED, REFUSED, ELSEWHERE])
def test_img_loads_a_public_object_from_any_origin(store: Account, name: str) -> None:
    blob = store.put(PUBLIC_CONTAINER, IMAGE, "image/png")
    with store.browser.open(name) as page:
        result = page.evaluate(f"loadImage({store.url(PUBLIC_CONTAINER, blob)!r})")
        assert result == {"ok": True, "width": 3, "height": 2}


@pytest.mark.parametrize("origin", [ALLOWED, REFUSED])
def test_a_private_object_loads_only_through_its_signed_url(store: Account, origin: str) -> None:
    name = store.put(PRIVATE_CONTAINER, IMAGE, "image/png")
    anonymous = store.url(PRIVATE_CONTAINER, name)
    with store.browser.open(origin) as page:
        assert page.evaluate(f"loadImage({anonymous!r})") == {"ok": False}
        # The image's refusal is an XML error document, which the browser withholds from <img> (ORB) without
        # reporting its status; a fetch of the same URL records what the store answered (whether or not CORS then
        # lets the page read it: the rules are the account's, so the listed origin may).
        page.evaluate(f"readText({anonymous!r})")
        assert page.exchange(anonymous, kind="Fetch", answered=True).status == 403
        signed = store.signed(PRIVATE_CONTAINER, name)
        assert page.evaluate(f"loadImage({signed!r})") == {"ok": True, "width": 3, "height": 2}
