"""What a browser may do with an S3 website's stores, proven in headless Chromium against SeaweedFS.

SeaweedFS matches CORS origins exactly, checks every signature and evaluates bucket policies (over TLS the TLS-only
deny stays in), so what Chromium is allowed here is what the declared CORS rules and policies allow. Each stack is
declared by the per-website program under the mock runtime and applied by :mod:`divio_storage_infra.localstores`;
the page is served from loopback under the origin the stack lists (``www.allowed.test``) and under one it does not
(``www.refused.test``), over the scheme the store speaks. Two stacks per cloud shape: one with ``allowUploads`` (a
direct browser upload through a presigned PUT must work from the listed origin), one without (the same upload must
be refused). Every refusal is checked twice: Chromium names it a CORS error, and the store holds nothing afterwards.
"""

from __future__ import annotations

import base64
import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from botocore.exceptions import ClientError
from support.browser import ALLOWED, ELSEWHERE, REFUSED, Browsing, png
from support.emulators import SEAWEEDFS_KEY, Emulator, s3_target

from divio_storage_infra.core import naming
from divio_storage_infra.core.dsn import parse_dsn
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.localstores.apply_s3 import apply_aws
from divio_storage_infra.localstores.declared import declare_website
from divio_storage_infra.preview.mockrun import Secret

pytestmark = pytest.mark.emulator

IMAGE = png(3, 2)

# The cloud shapes SeaweedFS plays through the applier, by a short name for the website: AWS (the app's role signs,
# played by SeaweedFS's identity; public access blocks are not held there, the bucket policies are, TLS-only deny
# included) and a generic S3-compatible provider (a static key pair in the DSN). Exoscale's public store is public
# through object ACLs, which SeaweedFS does not grant anonymous readers; its CORS rules are the same S3 component's.
SHAPES: dict[str, dict[str, Any]] = {
    "aws": {"cloud": "aws", "region": "eu-central-1", "credentials": "none"},
    "s3c": {
        "cloud": "s3-compatible",
        "region": "us-east-1",
        "endpoint": "objects.example.net",
        "credentials": "static",
    },
}


@dataclass
class Store:
    """One website's stores as declared and applied to SeaweedFS, and the browser that visits them."""

    weed: Emulator
    spec: StorageSpec
    browser: Browsing
    acl: str
    """The canned ACL the public DSN names: what the app, and so an upload library, sends with every upload."""

    @property
    def public(self) -> str:
        """The public bucket's name."""
        return naming.public_bucket_name(self.spec)

    @property
    def private(self) -> str:
        """The private bucket's name."""
        return naming.private_bucket_name(self.spec)

    @functools.cached_property
    def client(self) -> Any:
        """A client signing as the app's storage backend does: the stack's key pair, SigV4 (the DSN's ``auth``)."""
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.weed.url,
            region_name=self.spec.region,
            aws_access_key_id=SEAWEEDFS_KEY[0],
            aws_secret_access_key=SEAWEEDFS_KEY[1],
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
        )

    def url(self, bucket: str, key: str) -> str:
        """The anonymous (unsigned) URL of an object."""
        return f"{self.weed.url}/{bucket}/{quote(key)}"

    def put(self, bucket: str, body: bytes, content_type: str) -> str:
        """Store ``body`` as the app would (the DSN's ACL); its key."""
        key = f"media/{uuid.uuid4().hex}.{content_type.rpartition('/')[2]}"
        self.client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, ACL=self.acl)
        return key

    def presigned_put(self, key: str) -> tuple[str, dict[str, str]]:
        """A presigned PUT for ``key`` in the public bucket and the headers it was signed with (sent by the page)."""
        url = self.client.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.public, "Key": key, "ContentType": "image/png", "ACL": self.acl},
            ExpiresIn=300,
        )
        signed = dict(p.split("=", 1) for p in urlsplit(url).query.split("&"))["X-Amz-SignedHeaders"]
        assert signed == "content-type%3Bhost%3Bx-amz-acl", signed  # the upload's headers are part of the signature
        return url, {"Content-Type": "image/png", "x-amz-acl": self.acl}

    def holds(self, key: str) -> bytes | None:
        """The public bucket's object ``key`` as the server holds it, None when there is none."""
        try:
            return bytes(self.client.get_object(Bucket=self.public, Key=key)["Body"].read())
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise


def apply(weed: Emulator, browser: Browsing, shape: str, *, uploads: bool) -> Store:
    spec = StorageSpec.from_dict(
        {
            **SHAPES[shape],
            "website": f"browser-{shape}-{'up' if uploads else 'ro'}",
            "environment": "live",
            "privateStorage": True,
            "corsOrigins": [browser.origin(ALLOWED)],
            "allowUploads": uploads,
        }
    )
    declared = declare_website(spec, SEAWEEDFS_KEY if spec.credentials == "static" else None)
    apply_aws(declared, s3_target(weed))
    # Without credentials (the aws shape: the app's role) the DSN holds no secret and is exported in plain text.
    dsn = declared.outputs["storage_dsn"]
    acl = parse_dsn(dsn.value if isinstance(dsn, Secret) else dsn).acl
    return Store(weed, spec, browser, acl=acl)


@pytest.fixture(scope="module", params=sorted(SHAPES))
def shape(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def browser(seaweedfs: Emulator, browsing: Callable[[str], Browsing]) -> Browsing:
    return browsing(seaweedfs.url)


@pytest.fixture(scope="module")
def store(seaweedfs: Emulator, browser: Browsing, shape: str) -> Store:
    """The stack with ``allowUploads``."""
    return apply(seaweedfs, browser, shape, uploads=True)


@pytest.fixture(scope="module")
def read_only(seaweedfs: Emulator, browser: Browsing, shape: str) -> Store:
    """The same stack without ``allowUploads``."""
    return apply(seaweedfs, browser, shape, uploads=False)


def test_the_allowed_origin_reads_a_public_object_with_fetch(store: Store) -> None:
    key = store.put(store.public, b"caption text", "text/plain")
    with store.browser.open(ALLOWED) as page:
        assert page.origin == store.spec.cors_origins[0]
        assert page.evaluate(f"readText({store.url(store.public, key)!r})") == {
            "ok": True,
            "status": 200,
            "body": "caption text",
        }


def test_a_refused_origin_cannot_read_with_fetch(store: Store) -> None:
    key = store.put(store.public, b"caption text", "text/plain")
    url = store.url(store.public, key)
    with store.browser.open(REFUSED) as page:
        assert page.evaluate(f"readText({url!r})") == {"ok": False, "error": "TypeError: Failed to fetch"}
        # The store answered (the object is public), the browser withheld the answer: a CORS refusal.
        refused = page.exchange(url, answered=True)
        assert (refused.status, refused.cors_error) == (200, "MissingAllowOriginHeader"), refused


def test_the_allowed_origin_uploads_through_a_presigned_put(store: Store) -> None:
    key = f"uploads/{uuid.uuid4().hex}.png"
    url, headers = store.presigned_put(key)
    with store.browser.open(ALLOWED) as page:
        done = page.evaluate(f"upload({url!r}, {headers!r}, {base64.b64encode(IMAGE).decode()!r})")
        assert done == {"ok": True, "status": 200}, page.requested(url)
        # Content-Type and x-amz-acl are not CORS-safelisted: the browser asked first, and was allowed.
        assert page.exchange(url, kind="Preflight", answered=True).status == 200
    assert store.holds(key) == IMAGE
    assert store.client.head_object(Bucket=store.public, Key=key)["ContentType"] == "image/png"


def test_a_refused_origin_cannot_upload_and_nothing_is_written(store: Store) -> None:
    key = f"uploads/{uuid.uuid4().hex}.png"
    url, headers = store.presigned_put(key)
    with store.browser.open(REFUSED) as page:
        done = page.evaluate(f"upload({url!r}, {headers!r}, {base64.b64encode(IMAGE).decode()!r})")
        assert done == {"ok": False, "error": "TypeError: Failed to fetch"}
        assert page.exchange(url, kind="Fetch").cors_error == "PreflightMissingAllowOriginHeader"
        # The preflight was refused, so the PUT itself never left the browser.
        assert sorted(e.method for e in page.requested(url)) == ["OPTIONS", "PUT"]
        assert page.exchange(url, kind="Fetch").status is None
    assert store.holds(key) is None


def test_without_allow_uploads_even_the_allowed_origin_cannot_upload(read_only: Store) -> None:
    key = f"uploads/{uuid.uuid4().hex}.png"
    url, headers = read_only.presigned_put(key)
    readable = read_only.put(read_only.public, b"still readable", "text/plain")
    with read_only.browser.open(ALLOWED) as page:
        done = page.evaluate(f"upload({url!r}, {headers!r}, {base64.b64encode(IMAGE).decode()!r})")
        assert done == {"ok": False, "error": "TypeError: Failed to fetch"}
        assert page.exchange(url, kind="Fetch").cors_error is not None
        # Reads stay allowed for the listed origin: only the upload methods and headers are missing.
        assert page.evaluate(f"readText({read_only.url(read_only.public, readable)!r})")["ok"] is True
    assert read_only.holds(key) is None


@pytest.mark.parametrize("name", [ALLOWED, REFUSED, ELSEWHERE])
def test_img_loads_a_public_object_from_any_origin(store: Store, name: str) -> None:
    key = store.put(store.public, IMAGE, "image/png")
    with store.browser.open(name) as page:
        assert page.evaluate(f"loadImage({store.url(store.public, key)!r})") == {"ok": True, "width": 3, "height": 2}


@pytest.mark.parametrize("origin", [ALLOWED, REFUSED])
def test_a_private_object_loads_only_through_its_signed_url(store: Store, origin: str) -> None:
    key = store.put(store.private, IMAGE, "image/png")
    anonymous = store.url(store.private, key)
    signed = store.client.generate_presigned_url(
        "get_object", Params={"Bucket": store.private, "Key": key}, ExpiresIn=300
    )
    with store.browser.open(origin) as page:
        assert page.evaluate(f"loadImage({anonymous!r})") == {"ok": False}
        # The image's refusal is an XML error document, which the browser withholds from <img> (ORB) without
        # reporting its status; a fetch of the same URL records what the store answered (the private store has no
        # CORS rules, so the page itself never reads it).
        assert page.evaluate(f"readText({anonymous!r})")["ok"] is False
        assert page.exchange(anonymous, kind="Fetch", answered=True).status == 403
        assert page.evaluate(f"loadImage({signed!r})") == {"ok": True, "width": 3, "height": 2}
