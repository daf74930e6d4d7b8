"""A website's stores on loopback, created from its plan: what ``divio-storage dev`` runs.

SeaweedFS plays ``aws``, ``exoscale`` and ``s3-compatible``; Azurite plays ``azure``. The per-website program runs
under the mock runtime, the one applier creates what it declared, and the app gets DSNs that carry the local
endpoint (``endpoint_url``) and a local key. Everything lives in the data directory, so a restart keeps the files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from divio_storage_infra.core import policies
from divio_storage_infra.core.dsn import parse_dsn
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.localstores import azurite, seaweedfs
from divio_storage_infra.localstores.apply_azure import AzureTarget, apply_azure
from divio_storage_infra.localstores.apply_s3 import S3Target, apply_aws, put_user_policy
from divio_storage_infra.localstores.clients import s3_client
from divio_storage_infra.localstores.declared import declare_website, exported, has_output
from divio_storage_infra.localstores.localdsn import azure_emulator_dsn, s3_emulator_dsn, without_domain
from divio_storage_infra.localstores.ports import free_port, in_use
from divio_storage_infra.localstores.relay import Relay, Shaping
from divio_storage_infra.localstores.servers import PortInUse, Server
from divio_storage_infra.localstores.tlsca import LocalCA

S3_PORT = 8333
"""The default port of the S3 store (SeaweedFS's own default)."""
AZURE_PORT = 10000
"""The default port of the Azure blob store (Azurite's own default)."""
APP_USER = "divio-storage-dev-app"
"""The local IAM user whose key the app gets where production gives it a role or a provider's key."""


@dataclass(frozen=True)
class DevOptions:
    """How to run the stores: where their data lives, TLS or not, the port the app and browsers use (None: the
    store's default), and the shaping relay's settings (None: no relay)."""

    data_dir: Path
    tls: bool = False
    port: int | None = None
    shaping: Shaping | None = None


@dataclass
class RunningWebsite:
    """The running stores: what to write to the env file, what to tell the developer, and how to stop."""

    spec: StorageSpec
    url: str
    """Where the app and browsers reach the store (through the relay when shaping)."""
    env: dict[str, str]
    notes: list[str]
    stores: list[tuple[str, str, str]]
    """(store, name, public URL or how it is read) for the summary."""
    servers: list[Server] = field(default_factory=list)
    relay: Relay | None = None
    ca: LocalCA | None = None

    def pids(self) -> list[int]:
        """The process ids of the servers."""
        return [server.process.pid for server in self.servers]

    def stop(self) -> None:
        """Stop the relay and every server (each waited for)."""
        if self.relay is not None:
            self.relay.stop()
            self.relay = None
        for server in reversed(self.servers):
            server.stop()


def default_port(spec: StorageSpec) -> int:
    """The store's default port for ``spec``'s cloud."""
    return AZURE_PORT if spec.cloud == "azure" else S3_PORT


def start_website(spec: StorageSpec, options: DevOptions, started: Callable[[Server], None]) -> RunningWebsite:
    """Start the store for ``spec`` and create its declared stores; ``started`` is told of each server at once
    (so a signal during the start can stop it). Raises PortInUse, ServerError, UnappliedResource."""
    port = options.port if options.port is not None else default_port(spec)
    if in_use(port):
        raise PortInUse("the store" if options.shaping is None else "the shaping relay", port)
    store_port = free_port() if options.shaping is not None else port
    ca = LocalCA(options.data_dir / "ca") if options.tls else None
    cert = ca.issue("store") if ca is not None else None
    scheme = "https" if options.tls else "http"
    verify = str(ca.bundle) if ca is not None else None
    if spec.cloud == "azure":
        server = azurite.start_azurite(
            options.data_dir / "azurite", data=options.data_dir / "azurite" / "data", tls=cert, port=store_port
        )
        started(server)
        public = f"{scheme}://127.0.0.1:{port}/{azurite.ACCOUNT}"
        running = _azure(spec, server, public, verify)
    else:
        admin = _admin_key(options.data_dir)
        server = seaweedfs.start_seaweedfs(
            options.data_dir / "seaweedfs",
            [seaweedfs.Identity("dev-admin", *admin)],
            data=options.data_dir / "seaweedfs" / "data",
            tls=cert,
            port=store_port,
        )
        started(server)
        running = _s3(spec, server, f"{scheme}://127.0.0.1:{port}", admin, verify)
    running.servers.append(server)
    running.ca = ca
    if ca is not None:
        running.env.update(ca.environment())
    if options.shaping is not None:
        running.relay = Relay(port, store_port, options.shaping)
        running.relay.start()
        running.notes.append(f"shaping relay on port {port}: {options.shaping.describe()}")
    return running


def reset(data_dir: Path) -> None:
    """Empty ``data_dir`` (every store's files, keys and the local CA), keeping the directory itself."""
    if not data_dir.is_dir():
        return
    for entry in data_dir.iterdir():
        if entry.name == "dev.lock":
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _admin_key(data_dir: Path) -> tuple[str, str]:
    """The store's admin key pair, made once per data directory (kept readable by its owner only)."""
    path = data_dir / "admin-key.json"
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
        return str(value["accessKeyId"]), str(value["secretAccessKey"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    key = ("DEVADMIN" + secrets.token_hex(6).upper(), secrets.token_urlsafe(30))
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    os.chmod(path, 0o600)
    path.write_text(json.dumps({"accessKeyId": key[0], "secretAccessKey": key[1]}), encoding="utf-8")
    return key


_OUTPUTS = (
    ("storage_dsn", "DEFAULT_STORAGE_DSN", "public"),
    ("private_storage_dsn", "PRIVATE_STORAGE_DSN", "private"),
    ("backup_storage_dsn", "BACKUP_STORAGE_DSN", "backup"),
    ("private_backup_storage_dsn", "PRIVATE_BACKUP_STORAGE_DSN", "private backup"),
)
"""Stack output, env variable and store of each DSN the env file may hold (the backups' with ``backup: true``)."""


def _s3(spec: StorageSpec, server: Server, public: str, admin: tuple[str, str], verify: str | None) -> RunningWebsite:
    # credentials: static names the provider's key in stack config: locally that is the store's admin key, with
    # which the declared provider (and so the applier) creates the buckets.
    declared = declare_website(spec, admin if spec.credentials == "static" else None)
    target = S3Target(server.url, admin, verify=verify)
    applied = apply_aws(declared, target)
    notes: list[str] = []
    if spec.credentials == "iam-user":
        key = applied.only_key()
        notes.append(f"credentials: the declared IAM user's local key ({key[0]})")
    else:
        key = _app_key(target, list(applied.buckets.values()), spec.region or "us-east-1")
        why = "where production gives the app a role" if spec.credentials == "none" else "for the provider's key"
        notes.append(f"credentials: a local key ({key[0]}) limited to the website's buckets, {why}")
    if applied.without_tls_deny:
        notes.append("plain HTTP: the bucket policies' TLS-only deny is left out (--tls keeps it, as in production)")
    if has_output(declared, "storage_dsn") and parse_dsn(exported(declared, "storage_dsn")).acl == "public-read":
        bucket = str(parse_dsn(exported(declared, "storage_dsn")).bucket)
        _public_by_policy(target, bucket, spec.region or "us-east-1")
        notes.append(
            f"{bucket}: public through a public-read bucket policy locally (SeaweedFS serves no object by its "
            f"public-read ACL, which {spec.cloud} uses)"
        )
    env: dict[str, str] = {}
    stores: list[tuple[str, str, str]] = []
    for output, variable, store in _OUTPUTS:
        if not has_output(declared, output):
            continue
        dsn = exported(declared, output)
        # A backup DSN without credentials (AWS) is used with the platform's own role: locally the admin key.
        platform = "backup" in store and parse_dsn(dsn).secret is None
        local = without_domain(s3_emulator_dsn(dsn, public, admin if platform else key))
        if platform:
            notes.append(f"{variable}: the store's admin key, where production uses the platform's own role")
        env[variable] = local
        bucket = str(parse_dsn(local).bucket)
        stores.append((store, bucket, f"{public}/{bucket}/" if store == "public" else "signed URLs only"))
    return _running(spec, public, env, notes, stores)


def _running(
    spec: StorageSpec, public: str, env: dict[str, str], notes: list[str], stores: list[tuple[str, str, str]]
) -> RunningWebsite:
    """The website as it runs at ``public``: its media URL (the public store's, when it has one) and the note on a
    media domain added to what the cloud's side found."""
    if spec.media_domain:
        notes.append(f"mediaDomain {spec.media_domain} is served from {public} locally")
    if stores and stores[0][0] == "public":
        env["MEDIA_URL"] = stores[0][2]
    return RunningWebsite(spec=spec, url=public, env=env, notes=notes, stores=stores)


def _public_by_policy(target: S3Target, bucket: str, region: str) -> None:
    """The public-read bucket policy of AWS stacks (GetObject for anyone, never list) on ``bucket``; over plain HTTP
    without its TLS-only deny, as the applier does."""
    document = dict(policies.public_bucket_policy(bucket, region))
    if not target.keeps_tls_deny:
        document["Statement"] = [s for s in document["Statement"] if "Condition" not in s]
    client = s3_client(target.url, target.admin_key, region=region, verify=target.verify)
    client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(document))


def _app_key(target: S3Target, buckets: list[str], region: str) -> tuple[str, str]:
    """A local IAM user with the website's least-privilege policy on ``buckets`` and a new key of its."""
    iam = s3_client(target.url, target.admin_key, service="iam", verify=target.verify)
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_user(UserName=APP_USER)
    put_user_policy(iam, APP_USER, "media-access", dict(policies.access_policy(sorted(buckets), region)))
    key = iam.create_access_key(UserName=APP_USER)["AccessKey"]
    return str(key["AccessKeyId"]), str(key["SecretAccessKey"])


def _azure(spec: StorageSpec, server: Server, public: str, verify: str | None) -> RunningWebsite:
    declared = declare_website(spec)
    applied = apply_azure(declared, AzureTarget(server.url, verify=verify))
    # The DSNs name where the app and browsers connect: the relay when shaping, else the store itself.
    as_seen = dataclasses.replace(applied, endpoint_url=public)
    notes = [f"credentials: {_azure_credentials(spec.credentials)}"]
    if not public.startswith("https://") and applied.sas_tokens:
        notes.append("plain HTTP: SAS tokens are signed for https,http (--tls signs them for https only)")
    env: dict[str, str] = {}
    stores: list[tuple[str, str, str]] = []
    for output, variable, store in _OUTPUTS:
        if not has_output(declared, output):
            continue
        local = without_domain(azure_emulator_dsn(exported(declared, output), as_seen, key_for_none=True))
        env[variable] = local
        container = str(parse_dsn(local).container)
        stores.append((store, container, f"{public}/{container}/" if store == "public" else "signed URLs only"))
    return _running(spec, public, env, notes, stores)


def _azure_credentials(kind: str) -> str:
    if kind == "sas":
        return "container SAS tokens signed with the development account's key"
    if kind == "none":
        return "the development account's key, where production gives the app a role"
    return "the development account's key (devstoreaccount1, published by Microsoft)"
