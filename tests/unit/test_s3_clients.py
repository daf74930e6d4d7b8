"""Every S3 client the package makes: one boto3 session per process, timestamps read by ``datetime.fromisoformat``
exactly as botocore would read them, and the bulk-copy options of ``backup`` next to the defaults of ``check``.

No server: each client's ``before-send`` hook records the request and answers it with a canned S3 answer.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.utils import parse_timestamp as botocore_parse

from divio_storage_infra.backup.connection import Connection, s3_side_client
from divio_storage_infra.connection import ConnectionSettings, Retrying, s3_client
from divio_storage_infra.connection.bodies import BufferedBody
from divio_storage_infra.connection.session import boto3_session
from divio_storage_infra.connection.timestamps import parse_timestamp
from divio_storage_infra.core.dsn import parse_dsn, s3_dsn

ENDPOINT = "https://127.0.0.1:9"
LISTING = (
    b'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    b"<Name>unit-bucket</Name><Prefix></Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"
    b"<Contents><Key>a.txt</Key><LastModified>2026-12-06T15:40:00.000Z</LastModified>"
    b'<ETag>"0cc175b9c0f1b6a831c399e269772661"</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass></Contents>'
    b"</ListBucketResult>"
)


@pytest.mark.parametrize(
    "value",
    [
        "2026-12-06T15:40:00.000Z",
        "2026-12-06T15:40:00Z",
        "2026-12-06T15:40:00.123456+00:00",
        "2026-12-06T15:40:00+00:00",
        "2026-12-06T16:40:00.5+01:00",
        "Sun, 06 Dec 2026 15:40:00 GMT",
        "1796571600",
        "1796571600.25",
        1796571600,
        1796571600.25,
    ],
)
def test_timestamps_are_read_as_botocore_reads_them(value: object) -> None:
    ours, theirs = parse_timestamp(value), botocore_parse(value)
    assert ours == theirs
    assert ours.tzinfo is not None and ours.utcoffset() == theirs.utcoffset()


def test_a_time_without_a_zone_is_left_to_botocore() -> None:
    assert parse_timestamp("2026-12-06T15:40:00") == botocore_parse("2026-12-06T15:40:00")


def answering(client: Any, body: bytes, seen: list[Any]) -> Any:
    """``client`` with every request recorded in ``seen`` and answered 200 with ``body``, nothing sent."""

    def send(request: Any, **_: Any) -> AWSResponse:
        seen.append(request)
        return AWSResponse(request.url, 200, {"ETag": '"x"'}, BufferedBody(body))

    client.meta.events.register("before-send.s3", send)
    return client


def check_client() -> Any:
    """A client as ``check`` and ``bench`` make it: the factory's defaults."""
    settings = ConnectionSettings(environ={})
    return s3_client(
        settings,
        Retrying(settings),
        endpoint_url=ENDPOINT,
        proxy_url=ENDPOINT,
        region="eu-central-1",
        access_key_id="AKIAUNITTESTKEY00001",
        secret_access_key="unit/test+secret",
        addressing_style="path",
    )


def backup_client() -> Any:
    """A client as ``backup`` and ``restore`` make it from a DSN."""
    dsn = s3_dsn(
        bucket="unit-bucket",
        endpoint_host="s3.eu-central-1.amazonaws.com",
        access_key_id="AKIAUNITTESTKEY00001",
        secret_access_key="unit/test+secret",
        endpoint_url=ENDPOINT,
    )
    return s3_side_client(parse_dsn(dsn), Connection(settings=ConnectionSettings(environ={})))


@pytest.mark.parametrize("make", [check_client, backup_client], ids=["check", "backup"])
def test_every_factory_client_reads_listings_with_the_fast_parser(make: Callable[[], Any]) -> None:
    seen: list[Any] = []
    listing = answering(make(), LISTING, seen).list_objects_v2(Bucket="unit-bucket")
    (item,) = listing["Contents"]
    assert item["LastModified"] == dt.datetime(2026, 12, 6, 15, 40, tzinfo=dt.UTC)
    # fromisoformat's own UTC; botocore's dateutil parser would have given dateutil's tzutc() or tzlocal().
    assert item["LastModified"].tzinfo is dt.UTC
    assert len(seen) == 1


def test_clients_share_one_session_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[object] = []
    original = botocore.session.get_session

    def counted(*args: Any, **kwargs: Any) -> Any:
        made.append(object())
        return original(*args, **kwargs)

    monkeypatch.setattr(botocore.session, "get_session", counted)
    boto3_session.cache_clear()
    try:
        clients = [check_client(), backup_client(), check_client()]
    finally:
        boto3_session.cache_clear()
    assert len(made) == 1
    assert len({id(client) for client in clients}) == 3


def test_backup_clients_skip_what_a_bulk_copy_does_not_need_and_check_keeps_the_defaults() -> None:
    """No Expect: 100-continue and no checksum beyond Content-MD5 for backup's uploads; check's client sends them as
    botocore does by default."""
    sent: dict[str, dict[str, str]] = {}
    for name, make in (("check", check_client), ("backup", backup_client)):
        seen: list[Any] = []
        client = answering(make(), b"", seen)
        client.put_object(Bucket="unit-bucket", Key="k", Body=io.BytesIO(b"x" * 4096))
        headers = seen[0].headers.items()
        sent[name] = {key.lower(): value.decode() if isinstance(value, bytes) else value for key, value in headers}
    assert sent["check"].get("expect") == "100-continue"
    assert "expect" not in sent["backup"]
    checksums = ("x-amz-checksum-", "x-amz-sdk-checksum-algorithm", "x-amz-trailer")
    assert any(header.startswith(checksums) for header in sent["check"]), sent["check"]
    assert not any(header.startswith(checksums) for header in sent["backup"]), sent["backup"]


def test_backup_clients_do_not_validate_parameters_and_check_clients_do() -> None:
    """Validation costs CPU on every request; backup builds every parameter itself. A number given as text shows
    it: refused before sending by check's client, sent as it is by backup's."""
    from botocore.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError, match="Invalid type for parameter MaxKeys"):
        answering(check_client(), LISTING, []).list_objects_v2(Bucket="unit-bucket", MaxKeys="5")
    seen: list[Any] = []
    answering(backup_client(), LISTING, seen).list_objects_v2(Bucket="unit-bucket", MaxKeys="5")
    assert len(seen) == 1 and "max-keys=5" in seen[0].url


def test_what_a_side_is_built_from_travels_to_a_worker_process(tmp_path: Any) -> None:
    """Worker processes rebuild their sides from (ParsedDsn, Connection): both pickle, with the settings (CA
    bundle, proxies, timeouts) they were made with."""
    import pickle

    from support.faults import make_pki

    from divio_storage_infra.backup.connection import backup_settings

    pki = make_pki(tmp_path)
    environ = {"SSL_CERT_FILE": str(pki.bundle), "HTTPS_PROXY": "http://127.0.0.1:3128"}
    connection = Connection(settings=backup_settings(None, environ), workers=3)
    parsed = parse_dsn(
        s3_dsn(
            bucket="unit-bucket",
            endpoint_host="s3.eu-central-1.amazonaws.com",
            access_key_id="AKIAUNITTESTKEY00001",
            secret_access_key="unit/test+secret",
            endpoint_url=ENDPOINT,
        )
    )
    copied, parsed_copy = pickle.loads(pickle.dumps((connection, parsed)))
    assert copied == connection and parsed_copy == parsed
    assert copied.settings.ca_bundle == str(pki.bundle) and copied.settings.ca_source == "SSL_CERT_FILE"
    assert copied.settings.proxies_for(ENDPOINT) == {"https": "http://127.0.0.1:3128"}
    assert (copied.settings.connect_timeout, copied.settings.read_timeout) == (10.0, 60.0)
    seen: list[Any] = []
    answering(s3_side_client(parsed_copy, copied), LISTING, seen).list_objects_v2(Bucket="unit-bucket")
    assert len(seen) == 1
