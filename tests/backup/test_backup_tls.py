"""backup/restore over TLS with a CA the test generates, named as users name theirs (``--ca-bundle``,
``AWS_CA_BUNDLE``), against a front that throttles (503 SlowDown with Retry-After) and drops connections.

The front is a small HTTPS reverse proxy on 127.0.0.1 in front of the session's plain-HTTP moto server (the front
is the TLS end the CLI sees, with its own CA; the leg behind it stays on loopback): every 5th request
gets ``503 SlowDown``, every 9th connection is closed without an answer. The copies must still all arrive, once.
"""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import ssl
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from support.emulators import Emulator, s3_client

from divio_storage_infra.cli.main import main
from divio_storage_infra.core.backup import backup_marks

pytestmark = pytest.mark.emulator
KEY = ("TLSTESTKEY0123456789", "tls/test+secret")


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA ("Example Corp Root CA") and a server certificate for 127.0.0.1 signed by it: (ca, cert, key)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example Corp Root CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = (directory / "corporate-ca.pem", directory / "server.pem", directory / "server-key.pem")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


@dataclass
class Front:
    url: str
    ca: Path
    counts: dict[str, int]


def _handler(upstream: str, counts: dict[str, int], lock: threading.Lock) -> type[BaseHTTPRequestHandler]:
    target = urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with lock:
                counts["requests"] += 1
                number = counts["requests"]
            if number % 9 == 0:
                counts["dropped"] += 1
                self.close_connection = True
                self.connection.close()  # no answer at all: the client must retry on a new connection
                return
            if number % 5 == 0:
                counts["throttled"] += 1
                payload = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
                self.send_response(503)
                self.send_header("Retry-After", "0")
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "expect")}
            connection.request(self.command, self.path, body=body, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            connection.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

    return Handler


@pytest.fixture(scope="module")
def front(moto_http: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    ca, cert, key = _certificates(tmp_path_factory.mktemp("tls"))
    counts = {"requests": 0, "throttled": 0, "dropped": 0}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(moto_http.url, counts, threading.Lock()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Front(f"https://127.0.0.1:{server.server_address[1]}", ca, counts)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def dsn(bucket: str, endpoint: str, *, private: bool) -> str:
    query = "auth=s3v4&acl=bucket-owner-full-control" + ("&qs_auth=true" if private else "")
    user = f"{quote(KEY[0], safe='')}:{quote(KEY[1], safe='')}"
    return f"s3://{user}@{bucket}.s3.eu-central-1.amazonaws.com/?{query}&endpoint_url={quote(endpoint, safe='')}"


@pytest.fixture
def buckets(moto_http: Emulator, front: Front, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str, Any]:
    client = s3_client(moto_http.url, KEY, region="eu-central-1")
    live, backup = f"tls-live-{uuid.uuid4().hex[:8]}", f"tls-backup-{uuid.uuid4().hex[:8]}"
    for bucket in (live, backup):
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    tags = [{"Key": k, "Value": v} for k, v in backup_marks(live, "public").items()]
    client.put_bucket_tagging(Bucket=backup, Tagging={"TagSet": tags})
    for index in range(30):
        client.put_object(
            Bucket=live, Key=f"f/{index:03d}.txt", Body=f"body {index}".encode(), ContentType="text/plain"
        )
    for name in (
        "AWS_CA_BUNDLE",
        "REQUESTS_CA_BUNDLE",
        "SSL_CERT_FILE",
        "PRIVATE_STORAGE_DSN",
        "PRIVATE_BACKUP_STORAGE_DSN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DEFAULT_STORAGE_DSN", dsn(live, front.url, private=False))
    monkeypatch.setenv("BACKUP_STORAGE_DSN", dsn(backup, front.url, private=True))
    return live, backup, client


def listed(client: Any, bucket: str) -> dict[str, bytes]:
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {k: client.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def test_backup_over_tls_with_the_corporate_ca_option_survives_throttling_and_drops(
    front: Front, buckets: tuple[str, str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    live, backup, client = buckets
    before = dict(front.counts)
    assert main(["backup", "--ca-bundle", str(front.ca), "--workers", "4"]) == 0, capsys.readouterr().err
    assert listed(client, backup) == listed(client, live)
    assert front.counts["throttled"] > before["throttled"] and front.counts["dropped"] > before["dropped"]


def test_restore_names_the_ca_by_environment(
    front: Front, buckets: tuple[str, str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    live, _, client = buckets
    assert main(["backup", "--ca-bundle", str(front.ca)]) == 0
    expected = listed(client, live)
    for key in expected:
        client.delete_object(Bucket=live, Key=key)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(front.ca))
    assert main(["restore"]) == 0, capsys.readouterr().err
    assert listed(client, live) == expected


def test_an_untrusted_certificate_is_one_line_and_copies_nothing(
    front: Front, buckets: tuple[str, str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, backup, client = buckets
    other = tmp_path / "other-ca.pem"
    other.write_bytes(_certificates(tmp_path)[0].read_bytes())
    assert main(["backup", "--ca-bundle", str(other)]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "certificate" in err.lower() and KEY[1] not in err
    assert listed(client, backup) == {}
