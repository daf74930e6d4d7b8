"""CopyObject inside one store (backup/servercopy.py) sends the request the SDK client would send, header for
header: same URL, same copy headers, same signed headers and credential scope. No server: both requests are
caught before they leave the process (the end-to-end runs, with TLS, a proxy, throttling and dropped connections,
are in test_backup_tls.py and test_backup_restore_s3.py)."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from divio_storage_infra.backup.connection import Connection, backup_settings, s3_side_client
from divio_storage_infra.backup.objects import CopyFailed, Entry
from divio_storage_infra.backup.s3 import S3Side
from divio_storage_infra.backup.servercopy import ServerCopy, ServerCopyError
from divio_storage_infra.connection.bodies import BufferedBody
from divio_storage_infra.core.dsn import parse_dsn, s3_dsn

KEY = ("AKIASERVERCOPYTEST01", "server/copy+secret=odd")
RESULT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<CopyObjectResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    b"<LastModified>2026-12-06T10:00:00.000Z</LastModified><ETag>&quot;0123456789abcdef0123456789abcdef&quot;</ETag>"
    b"</CopyObjectResult>"
)
KEYS = ["plain.txt", "uploads/a b é+&=?#%.txt", "~tilde/(paren)*star!'quote,comma;semi:colon@at$dollar"]


def dsn(bucket: str, *, endpoint_url: str | None = "https://objects.example.net:8443", auth: str = "s3v4") -> str:
    text = s3_dsn(
        bucket=bucket,
        endpoint_host="s3.eu-central-1.amazonaws.com",
        access_key_id=KEY[0],
        secret_access_key=KEY[1],
        endpoint_url=endpoint_url,
    )
    return text.replace("auth=s3v4", f"auth={auth}")


def answer(request: Any, status: int = 200, body: bytes = RESULT, **headers: str) -> AWSResponse:
    return AWSResponse(request.url, status, headers, BufferedBody(body))


def by_client(**copy: Any) -> Any:
    """The request the SDK client sends for this copy."""
    client = s3_side_client(parse_dsn(dsn("target-bucket")), Connection(settings=backup_settings(environ={})))
    caught: list[Any] = []

    def send(request: Any, **_: Any) -> AWSResponse:
        caught.append(request)
        return answer(request)

    client.meta.events.register("before-send.s3", send)
    source = {"Bucket": copy["source_bucket"], "Key": copy["source_key"]}
    if copy["version"] is not None:
        source["VersionId"] = copy["version"]
    extra = {"ACL": copy["acl"]} if copy["acl"] is not None else {}
    client.copy_object(Bucket=copy["bucket"], Key=copy["key"], CopySource=source, MetadataDirective="COPY", **extra)
    return caught[0]


def server_copy() -> ServerCopy:
    return ServerCopy(
        endpoint_url="https://objects.example.net:8443",
        region="eu-central-1",
        access_key_id=KEY[0],
        secret_access_key=KEY[1],
        settings=backup_settings(environ={}),
        pool=4,
    )


def by_server_copy(monkeypatch: pytest.MonkeyPatch, **copy: Any) -> tuple[Any, str]:
    """The request ServerCopy sends for this copy, and the ETag it read."""
    copier = server_copy()
    caught: list[Any] = []

    def send(request: Any) -> AWSResponse:
        caught.append(request)
        return answer(request)

    monkeypatch.setattr(copier._http, "send", send)
    etag = copier.copy(**copy)
    return caught[0], etag


def text(value: str | bytes | None) -> str | None:
    """A header's value as text (the client keeps some as bytes)."""
    return value.decode() if isinstance(value, bytes) else value


def signed(request: Any) -> tuple[str, str]:
    """The credential scope without its date, and the signed header names, of a SigV4 Authorization header."""
    value = request.headers["Authorization"]
    value = value.decode() if isinstance(value, bytes) else value
    parts = dict(part.strip().split("=", 1) for part in value.split(" ", 1)[1].split(","))
    access_key, _date, *scope = parts["Credential"].split("/")
    return f"{access_key}/{'/'.join(scope)}", parts["SignedHeaders"]


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("version", [None, "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"])
@pytest.mark.parametrize("acl", [None, "public-read"])
def test_the_request_is_the_clients_header_for_header(
    monkeypatch: pytest.MonkeyPatch, key: str, version: str | None, acl: str | None
) -> None:
    copy = {"source_bucket": "source-bucket", "source_key": key, "version": version, "bucket": "target-bucket"}
    copy |= {"key": f"backup/{key}", "acl": acl}
    theirs = by_client(**copy)
    ours, etag = by_server_copy(monkeypatch, **copy)
    assert etag == "0123456789abcdef0123456789abcdef"
    assert (ours.method, ours.url) == (theirs.method, theirs.url)
    for name in ("x-amz-copy-source", "x-amz-metadata-directive", "x-amz-acl", "x-amz-content-sha256", "host"):
        assert text(ours.headers.get(name)) == text(theirs.headers.get(name)), name
    assert signed(ours) == signed(theirs)


ONE_COPY = {"source_bucket": "s-bucket", "source_key": "k", "version": None, "bucket": "t-bucket", "key": "k"}


def answered_always(monkeypatch: pytest.MonkeyPatch, status: int, body: bytes) -> tuple[ServerCopy, list[Any]]:
    """A ServerCopy whose every request gets ``status`` and ``body`` (no waits), and the list of what it sent."""
    copier = server_copy()
    sent: list[Any] = []

    def send(request: Any) -> AWSResponse:
        sent.append(request)
        return answer(request, status, body)

    monkeypatch.setattr(copier._http, "send", send)
    monkeypatch.setattr("divio_storage_infra.backup.servercopy.time.sleep", lambda seconds: None)
    return copier, sent


def test_a_refusal_names_the_key_and_the_stores_code(monkeypatch: pytest.MonkeyPatch) -> None:
    denied = b"<?xml version='1.0'?><Error><Code>AccessDenied</Code></Error>"
    copier, sent = answered_always(monkeypatch, 403, denied)
    with pytest.raises(ServerCopyError, match=r"^k: the store refused the copy \(AccessDenied\)$"):
        copier.copy(**ONE_COPY, acl=None)
    assert len(sent) == 1  # a refusal is not tried again


def test_an_error_after_the_200_is_tried_again_as_botocore_does_then_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """CopyObject can fail after its 200 went out: the error is the body. botocore takes it as a 500 (tried
    again); so does ServerCopy, and names the store's code when the attempts are used up."""
    late = b"<Error><Code>InternalError</Code><Message>late</Message></Error>"
    copier, sent = answered_always(monkeypatch, 200, late)
    with pytest.raises(ServerCopyError, match=r"^k: the store refused the copy \(InternalError\)$"):
        copier.copy(**ONE_COPY, acl=None)
    assert len(sent) == backup_settings(environ={}).attempts


def test_a_throttled_copy_waits_what_retry_after_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    copier = server_copy()
    slow = b"<Error><Code>SlowDown</Code></Error>"
    answers = iter([(503, slow, "2"), (200, slow, "1"), (200, RESULT, "")])  # 503, then a late SlowDown, then done
    waits: list[float] = []

    def send(request: Any) -> AWSResponse:
        status, body, retry_after = next(answers)
        return answer(request, status, body, **({"Retry-After": retry_after} if retry_after else {}))

    monkeypatch.setattr(copier._http, "send", send)
    monkeypatch.setattr("divio_storage_infra.backup.servercopy.time.sleep", waits.append)
    assert copier.copy(**ONE_COPY, acl=None) == "0123456789abcdef0123456789abcdef"
    assert waits == [2.0, 1.0]


def test_only_path_style_sigv4_with_the_dsns_own_key_copies_this_way() -> None:
    connection = Connection(settings=backup_settings(environ={}))
    stop = threading.Event()
    assert S3Side(parse_dsn(dsn("a-bucket")), connection, stop)._server_copy is not None
    # No endpoint_url: the client picks the addressing (virtual-hosted names on AWS); SigV2: another signer.
    assert S3Side(parse_dsn(dsn("a-bucket", endpoint_url=None)), connection, stop)._server_copy is None
    assert S3Side(parse_dsn(dsn("a-bucket", auth="s3v2")), connection, stop)._server_copy is None


def test_a_refused_copy_is_one_failed_object_named_by_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    connection = Connection(settings=backup_settings(environ={}))
    stop = threading.Event()
    source = S3Side(parse_dsn(dsn("source-bucket")), connection, stop)
    target = S3Side(parse_dsn(dsn("target-bucket")), connection, stop)
    assert target._server_copy is not None

    def refuse(request: Any) -> AWSResponse:
        return answer(request, 404, b"<Error><Code>NoSuchKey</Code></Error>")

    monkeypatch.setattr(target._server_copy._http, "send", refuse)
    entry = Entry(key="gone.txt", size=3, etag="0" * 32, modified=dt.datetime.now(dt.UTC))
    with pytest.raises(CopyFailed, match=r"^gone.txt: the store refused the copy \(NoSuchKey\)$"):
        target.copy_within(source, entry, acl=None)
