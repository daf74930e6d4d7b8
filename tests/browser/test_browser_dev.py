"""``divio-storage dev`` seen from a browser: a page of the origin the stack allows loads a public image from the
local store and reads a public object with ``fetch()``; a page of another origin cannot read it.

The stores run exactly as ``dev`` starts them (plain HTTP, its default), so the page is served over HTTP too.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator

import pytest
from support.browser import ALLOWED, REFUSED, Browsing, png
from support.devprocess import ALLOWED_ORIGIN, DevProcess, dev_args, stack_file, start_dev

from divio_storage_infra.core.dsn import parse_dsn
from divio_storage_infra.localstores.clients import s3_client
from divio_storage_infra.localstores.ports import free_port

pytestmark = pytest.mark.emulator
IMAGE = png(24, 16)
TEXT = b"caption served by dev"


@pytest.fixture(scope="module", params=["aws", "azure"])
def dev(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevProcess]:
    """``dev`` for the stack whose CORS allows the browser tests' allowed origin."""
    assert f"http://{ALLOWED}" == ALLOWED_ORIGIN
    where = tmp_path_factory.mktemp(f"dev-browser-{request.param}")
    stack = stack_file(where, request.param)
    running = start_dev(dev_args(stack, "--port", str(free_port())), where, where / ".env.storage", where / "data")
    yield running
    assert running.stop(signal.SIGTERM) == 0, running.text()


def upload(env: dict[str, str], name: str, body: bytes, content_type: str) -> str:
    """Store ``body`` in the public store with the app's own credentials (as the app does); its public URL."""
    dsn = parse_dsn(env["DEFAULT_STORAGE_DSN"])
    endpoint = str(dsn.endpoint_url)
    if dsn.scheme == "s3":
        client = s3_client(endpoint, (str(dsn.access_key_id), str(dsn.secret)))
        client.put_object(Bucket=dsn.bucket, Key=name, Body=body, ContentType=content_type, ACL=dsn.effective_acl)
    else:
        from azure.storage.blob import BlobServiceClient, ContentSettings

        service = BlobServiceClient(
            endpoint, credential={"account_name": str(dsn.account), "account_key": str(dsn.account_key)}
        )
        service.get_blob_client(str(dsn.container), name).upload_blob(
            body, overwrite=True, content_settings=ContentSettings(content_type=content_type)
        )
    return env["MEDIA_URL"] + name


def test_a_page_of_the_allowed_origin_loads_a_public_image_and_reads_a_public_object(
    dev: DevProcess, browsing: Callable[[str], Browsing]
) -> None:
    env = dev.env()
    image_url = upload(env, "pictures/logo.png", IMAGE, "image/png")
    text_url = upload(env, "captions/logo.txt", TEXT, "text/plain")
    browser = browsing(env["MEDIA_URL"])
    with browser.open(ALLOWED) as page:
        assert page.evaluate(f"loadImage({image_url!r})") == {"ok": True, "width": 24, "height": 16}
        assert page.evaluate(f"readText({text_url!r})") == {"ok": True, "status": 200, "body": TEXT.decode()}
    with browser.open(REFUSED) as page:
        # Another origin gets no CORS permission: the browser keeps the answer from the page.
        assert page.evaluate(f"readText({text_url!r})") == {"ok": False, "error": "TypeError: Failed to fetch"}
        # An <img> needs none: public media shows anywhere.
        assert page.evaluate(f"loadImage({image_url!r})")["ok"] is True
