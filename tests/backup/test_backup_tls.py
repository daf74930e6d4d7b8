"""``backup`` and ``restore`` over TLS, through a proxy and against production-shaped faults, run as a user runs them.

The stores are a live bucket (moto) or container (Azurite) and its marked backup, reached through the relay of
:mod:`support.faults`: it serves TLS with a certificate of the module's test CA (or an expired one) in front of the
session's plain-HTTP emulators, answers the first requests ``503`` with ``Retry-After``, or closes each keep-alive
connection under the next request. The CLI runs as a subprocess whose environment names the CA and the proxy in
exactly one way; nothing patches certifi or an SDK. On S3 the live and backup DSNs carry different keys, as on AWS
(the platform's role reads the backup), so every object is streamed (GET, then PUT) rather than copied inside the
store.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest
from support.cli_env import clean_env, run_cli
from support.emulators import AZURITE_ACCOUNT, AZURITE_KEY, Emulator, azurite_service, s3_client
from support.faults import Pki, proxy, relay
from support.relay_stores import REGION, dsn_at, upstream

from divio_storage_infra.backup.connection import PART_SIZE
from divio_storage_infra.connection import CA_VARIABLES
from divio_storage_infra.core.backup import AZURE_OF_KEY, AZURE_ROLE_KEY, backup_marks

pytestmark = pytest.mark.emulator

LIVE_KEY = ("AKIABACKUPTLSLIVE001", "backup/tls+live=secret/odd+chars")
BACKUP_KEY = ("AKIABACKUPTLSBACKUP1", "backup/tls+backup=secret/odd+chars")
CLOUDS = ("s3", "azure")
ONE_KEY = "s3-one-key"
"""S3 with one key for both DSNs: backup and restore copy inside the store (CopyObject, backup/servercopy.py)."""
CA_WAYS = ("--ca-bundle", "AWS_CA_BUNDLE", "SSL_CERT_FILE")
STORE_VARIABLES = ("DEFAULT_STORAGE_DSN", "PRIVATE_STORAGE_DSN", "BACKUP_STORAGE_DSN", "PRIVATE_BACKUP_STORAGE_DSN")

# What one object is as a test compares it: bytes, content type, cache control, user metadata.
Held = tuple[bytes, str, str, dict[str, str]]


# The relay in front gives these stores their TLS (and its faults); behind it the session's plain-HTTP servers.
@pytest.fixture(scope="session")
def moto(moto_http: Emulator) -> Emulator:
    """The plain-HTTP moto of this session, reached through the relay."""
    return moto_http


@pytest.fixture(scope="session")
def azurite(azurite_http: Emulator) -> Emulator:
    """The plain-HTTP Azurite of this session, reached through the relay."""
    return azurite_http


@dataclass
class Stores:
    """A live store and its backup (marked as the backup of that store) on one cloud, and what was put in."""

    cloud: str
    live: str
    backup: str
    moto: Emulator
    azurite: Emulator
    placed: dict[str, Held] = field(default_factory=dict)
    one_key: bool = False
    """Both DSNs carry the live store's key (S3): copies stay inside the store."""

    @property
    def upstream(self) -> str:
        """Where the relay forwards to."""
        return upstream(self.cloud, self.moto, self.azurite)

    def env(self, base: str, **extra: str) -> dict[str, str]:
        """The CLI's environment: the two DSNs at ``base`` (a relay's URL), ``extra``; no other CA, proxy or DSN."""
        env = clean_env(**extra)
        for name in STORE_VARIABLES:
            env.pop(name, None)
        env["DEFAULT_STORAGE_DSN"] = dsn_at(self.cloud, base, self.live, self.live, LIVE_KEY)
        backup_key = LIVE_KEY if self.one_key else BACKUP_KEY
        env["BACKUP_STORAGE_DSN"] = dsn_at(self.cloud, base, self.backup, self.backup, backup_key)
        return env

    def put(self, key: str, body: bytes, content_type: str, cache_control: str, metadata: dict[str, str]) -> None:
        """Write one object into the live store, directly (not through the relay)."""
        if self.cloud == "s3":
            s3_client(self.moto.url).put_object(
                Bucket=self.live,
                Key=key,
                Body=body,
                ContentType=content_type,
                CacheControl=cache_control,
                Metadata=metadata,
            )
        else:
            from azure.storage.blob import ContentSettings

            settings = ContentSettings(content_type=content_type, cache_control=cache_control)
            container = azurite_service(self.azurite).get_container_client(self.live)
            container.upload_blob(key, body, overwrite=True, metadata=metadata, content_settings=settings)
        self.placed[key] = (body, content_type, cache_control, metadata)

    def held(self, which: str) -> dict[str, Held]:
        """Every object of the live store or of the backup, with its bytes, headers and metadata."""
        name = self.live if which == "live" else self.backup
        if self.cloud == "s3":
            client = s3_client(self.moto.url)
            found = {}
            for item in client.list_objects_v2(Bucket=name).get("Contents", []):
                answer = client.get_object(Bucket=name, Key=item["Key"])
                found[item["Key"]] = (
                    answer["Body"].read(),
                    answer.get("ContentType", ""),
                    answer.get("CacheControl", ""),
                    dict(answer.get("Metadata", {})),
                )
            return found
        container = azurite_service(self.azurite).get_container_client(name)
        found = {}
        for blob in container.list_blobs():
            stream = container.download_blob(blob.name)
            settings = stream.properties.content_settings
            found[blob.name] = (
                stream.readall(),
                settings.content_type or "",
                settings.cache_control or "",
                dict(stream.properties.metadata or {}),
            )
        return found

    def wipe_live(self) -> None:
        """Delete every object of the live store, as a key that deletes everything it can reach would."""
        if self.cloud == "s3":
            client = s3_client(self.moto.url)
            for item in client.list_objects_v2(Bucket=self.live).get("Contents", []):
                client.delete_object(Bucket=self.live, Key=item["Key"])
        else:
            container = azurite_service(self.azurite).get_container_client(self.live)
            for blob in list(container.list_blobs()):
                container.delete_blob(blob.name)
        assert self.held("live") == {}

    def secrets(self) -> list[str]:
        """Every secret the DSNs carry, raw, URL-encoded and base64-encoded."""
        raw = [LIVE_KEY[1], BACKUP_KEY[1]] if self.cloud == "s3" else [AZURITE_KEY]
        return [
            form for value in raw for form in (value, quote(value, safe=""), base64.b64encode(value.encode()).decode())
        ]


@pytest.fixture
def make_stores(moto: Emulator, azurite: Emulator) -> Iterator[Callable[..., Stores]]:
    """Make a live store with a few objects and an empty backup marked as its backup, on ``cloud``."""
    made: list[Stores] = []

    def make(cloud: str, *, large: bool = False) -> Stores:
        suffix = uuid.uuid4().hex[:10]
        one_key = cloud == ONE_KEY
        cloud = "s3" if one_key else cloud
        stores = Stores(cloud, f"tls-live-{suffix}", f"tls-backup-{suffix}", moto, azurite, one_key=one_key)
        if cloud == "s3":
            client = s3_client(moto.url)
            for bucket in (stores.live, stores.backup):
                client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
            tags = [{"Key": k, "Value": v} for k, v in backup_marks(stores.live, "public").items()]
            client.put_bucket_tagging(Bucket=stores.backup, Tagging={"TagSet": tags})
        else:
            service = azurite_service(azurite)
            service.create_container(stores.live)
            marks = {AZURE_OF_KEY: f"{AZURITE_ACCOUNT}/{stores.live}", AZURE_ROLE_KEY: "public"}
            service.create_container(stores.backup, metadata=marks)
        stores.put("uploads/a b é+&.txt", "hello, wörld\n".encode(), "text/plain; charset=utf-8", "max-age=60", {})
        stores.put("css/site.css", b"body { color: red }\n" * 50, "text/css", "public, max-age=3600", {"build": "7"})
        stores.put("img/pixel.bin", os.urandom(200 * 1024), "application/octet-stream", "no-cache", {"owner": "u1"})
        stores.put("empty.txt", b"", "text/plain", "max-age=1", {"kind": "empty"})
        if large:
            # More than one part: a multipart upload on S3, several staged blocks on Azure.
            stores.put("videos/large.bin", os.urandom(PART_SIZE + 4096), "video/mp4", "max-age=86400", {})
        made.append(stores)
        return stores

    yield make
    for stores in made:
        if stores.cloud == "azure":
            service = azurite_service(azurite)
            for name in (stores.live, stores.backup):
                service.delete_container(name)


def counts(out: str) -> dict[str, Any]:
    """The one store's counts of a ``--format json`` report."""
    document: dict[str, Any] = json.loads(out)
    (store,) = document["stores"]
    return dict(store)


def ca_named(way: str, bundle: Path) -> tuple[dict[str, str], list[str]]:
    """Environment variables and options that name ``bundle`` in one ``way``."""
    if way == "--ca-bundle":
        return {}, ["--ca-bundle", str(bundle)]
    return {way: str(bundle)}, []


def writes(log: list[str], stores: Stores, store: str) -> dict[str, int]:
    """How often each object of ``store`` was written (committed) according to the relay's log: an S3 PUT without
    a query or the completion of a multipart upload; an Azure PUT of a block list (or of a whole blob)."""
    prefix = f"/{store}/" if stores.cloud == "s3" else f"/{AZURITE_ACCOUNT}/{store}/"
    found: dict[str, int] = {}
    for line in log:
        method, target = line.split(" ")[:2]
        path, _, query = target.partition("?")
        if not path.startswith(prefix):
            continue
        if stores.cloud == "s3":
            commit = (method == "PUT" and not query) or (method == "POST" and "uploadId=" in query)
        else:
            commit = method == "PUT" and ("comp=blocklist" in query or "comp=" not in query)
        if commit:
            key = unquote(path[len(prefix) :])
            found[key] = found.get(key, 0) + 1
    return found


# --- every way of naming the CA, on each cloud -------------------------------------------------------------------


@pytest.mark.parametrize("way", CA_WAYS)
@pytest.mark.parametrize("cloud", [*CLOUDS, ONE_KEY])
def test_backup_then_restore_over_tls_with_the_ca_named_each_way(
    cloud: str, way: str, make_stores: Callable[..., Stores], pki: Pki
) -> None:
    stores = make_stores(cloud)
    variables, options = ca_named(way, pki.bundle)
    with relay(stores.upstream, pki) as tls:
        assert tls.url.startswith("https://")
        env = stores.env(tls.url, **variables)
        backed = run_cli("backup", "--format", "json", *options, env=env)
        assert backed.returncode == 0, backed.stderr
        assert stores.held("backup") == stores.placed
        stores.wipe_live()
        restored = run_cli("restore", "--format", "json", *options, env=env)
    assert restored.returncode == 0, restored.stderr
    assert stores.held("live") == stores.placed
    for ran in (backed, restored):
        assert counts(ran.stdout) == {
            "store": "public",
            "listed": 4,
            "copied": 4,
            "unchanged": 0,
            "failed": 0,
            "bytes": sum(len(held[0]) for held in stores.placed.values()),
            "would_copy": 0,
            "failures": [],
        }


# --- proxies -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cloud", [*CLOUDS, ONE_KEY])
def test_backup_and_restore_go_through_https_proxy_unless_no_proxy_names_the_host(
    cloud: str, make_stores: Callable[..., Stores], pki: Pki
) -> None:
    stores = make_stores(cloud)
    with relay(stores.upstream, pki) as tls, proxy() as through:
        target = urlsplit(tls.url).netloc
        env = stores.env(tls.url, HTTPS_PROXY=through.url, SSL_CERT_FILE=str(pki.bundle))
        backed = run_cli("backup", "--format", "json", env=env)
        assert backed.returncode == 0, backed.stderr
        # Every request went through the proxy's tunnel to the store: the markers, both listings, every copy.
        assert through.tunnels and set(through.tunnels) == {target}, through.tunnels
        assert len(tls.log) > 4
        seen = len(through.tunnels)
        stores.wipe_live()
        direct = stores.env(
            tls.url, HTTPS_PROXY=through.url, NO_PROXY="localhost,127.0.0.1", SSL_CERT_FILE=str(pki.bundle)
        )
        restored = run_cli("restore", "--format", "json", env=direct)
        assert restored.returncode == 0, restored.stderr
        assert len(through.tunnels) == seen, "NO_PROXY named the host, yet requests went through the proxy"
    assert stores.held("backup") == stores.held("live") == stores.placed


# --- throttling and dropped connections --------------------------------------------------------------------------


@pytest.mark.parametrize("cloud", CLOUDS)
def test_throttled_requests_wait_what_retry_after_asks_and_every_object_is_copied_once(
    cloud: str, make_stores: Callable[..., Stores], pki: Pki
) -> None:
    stores = make_stores(cloud, large=True)
    for direction, written in (("backup", stores.backup), ("restore", stores.live)):
        if direction == "restore":
            stores.wipe_live()
        with relay(stores.upstream, pki, throttle=2, retry_after="1") as throttling:
            ran = run_cli(direction, "--format", "json", "--ca-bundle", str(pki.bundle), env=stores.env(throttling.url))
            log, times = list(throttling.log), list(throttling.times)
        assert ran.returncode == 0, ran.stderr
        assert throttling.throttled == 2
        # The first request (the backup's markers) was answered 503 twice, and sent again each time only after
        # the second Retry-After asked for.
        assert log[0] == log[1] == log[2], log[:3]
        assert times[1] - times[0] >= 1.0 and times[2] - times[1] >= 1.0, times[:3]
        report = counts(ran.stdout)
        assert (report["listed"], report["copied"], report["failed"]) == (5, 5, 0), report
        assert writes(log, stores, written) == dict.fromkeys(stores.placed, 1)
    assert stores.held("backup") == stores.held("live") == stores.placed


@pytest.mark.parametrize("cloud", [*CLOUDS, ONE_KEY])
def test_keep_alive_connections_closed_under_the_next_request_do_not_stop_the_copy(
    cloud: str, make_stores: Callable[..., Stores], pki: Pki
) -> None:
    stores = make_stores(cloud, large=True)
    for direction, written in (("backup", stores.backup), ("restore", stores.live)):
        if direction == "restore":
            stores.wipe_live()
        with relay(stores.upstream, pki, drop_after_answer=True) as dropping:
            env = stores.env(dropping.url, AWS_CA_BUNDLE=str(pki.bundle))
            ran = run_cli(direction, "--format", "json", "--workers", "4", env=env)
            log = list(dropping.log)
        assert ran.returncode == 0, ran.stderr
        assert dropping.dropped >= 1, "the relay never closed a connection under a request: the test proves nothing"
        report = counts(ran.stdout)
        assert (report["listed"], report["copied"], report["failed"]) == (5, 5, 0), report
        # A request on a closed connection never reached the store; tried again, each object is written once.
        assert writes(log, stores, written) == dict.fromkeys(stores.placed, 1)
    assert stores.held("backup") == stores.held("live") == stores.placed


def test_copies_inside_one_store_wait_what_retry_after_asks_and_arrive_once(
    make_stores: Callable[..., Stores], pki: Pki
) -> None:
    """CopyObject requests themselves throttled (backup/servercopy.py sends them): each is sent again only after
    Retry-After, and every object arrives, with its headers and metadata."""
    stores = make_stores(ONE_KEY, large=True)
    for direction in ("backup", "restore"):
        if direction == "restore":
            stores.wipe_live()
        with relay(stores.upstream, pki, throttle=2, retry_after="1", throttle_header="x-amz-copy-source") as tls:
            ran = run_cli(direction, "--format", "json", "--ca-bundle", str(pki.bundle), env=stores.env(tls.url))
            log, times = list(tls.log), list(tls.times)
        assert ran.returncode == 0, ran.stderr
        assert tls.throttled == 2
        copies = [(when, line) for when, line in zip(times, log, strict=True) if line.startswith("PUT ")]
        assert len(copies) == len(stores.placed) + 2  # two copies answered 503 once each, then sent again
        sent: dict[str, list[float]] = {}
        for when, line in copies:
            sent.setdefault(line, []).append(when)
        again = [whens for whens in sent.values() if len(whens) > 1]
        assert again and all(whens[1] - whens[0] >= 1.0 for whens in again), sent
        report = counts(ran.stdout)
        assert (report["listed"], report["copied"], report["failed"]) == (5, 5, 0), report
    assert stores.held("backup") == stores.held("live") == stores.placed


# --- certificates and CA bundles, as bad as users meet them ------------------------------------------------------


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("fault", ["untrusted", "expired"])
def test_a_bad_certificate_ends_the_run_with_one_line_naming_it_and_no_secret(
    cloud: str, fault: str, make_stores: Callable[..., Stores], pki: Pki
) -> None:
    """Untrusted: the CA is not named (the SDKs' own CAs do not know it); expired: the CA is named, the certificate
    expired yesterday. Exit 3, one line in the words ``check`` uses, nothing copied, no secret in any form."""
    stores = make_stores(cloud)
    options = [] if fault == "untrusted" else ["--ca-bundle", str(pki.bundle)]
    with relay(stores.upstream, pki, cert="good" if fault == "untrusted" else "expired") as bad:
        target = urlsplit(bad.url).netloc
        ran = run_cli("backup", *options, env=stores.env(bad.url))
    assert ran.returncode == 3, ran.stderr
    assert "Traceback" not in ran.stderr
    lines = ran.stderr.splitlines()
    assert len(lines) == 1, ran.stderr
    if fault == "untrusted":
        assert lines[0].startswith(f"error: backup failed: the TLS certificate of {target} is not trusted: its issuer")
        assert "O=divio-storage test CA is not a CA of the default CA bundle (none named" in lines[0], lines[0]
    else:
        assert lines[0].startswith(f"error: backup failed: the TLS certificate of {target} expired on "), lines[0]
    for secret in stores.secrets():
        assert secret not in ran.stdout + ran.stderr
    assert stores.held("backup") == {}


@pytest.mark.parametrize(("variable", "command"), list(zip(CA_VARIABLES, ("backup", "restore", "backup"), strict=True)))
def test_a_ca_variable_naming_a_missing_file_is_bad_input_naming_the_variable(
    variable: str, command: str, tmp_path: Path
) -> None:
    missing = tmp_path / "corporate-ca.pem"
    env = clean_env(**{variable: str(missing)})
    env["DEFAULT_STORAGE_DSN"] = dsn_at("s3", "https://127.0.0.1:9", "live", "live", LIVE_KEY)
    env["BACKUP_STORAGE_DSN"] = dsn_at("s3", "https://127.0.0.1:9", "backup", "backup", BACKUP_KEY)
    ran = run_cli(command, env=env)
    assert ran.returncode == 2, ran.stderr
    assert ran.stderr.count("\n") == 1, ran.stderr
    assert ran.stderr.startswith(f"error: invalid connection setting: {variable}"), ran.stderr
    assert "not found" in ran.stderr and "Traceback" not in ran.stderr and ran.stdout == ""
