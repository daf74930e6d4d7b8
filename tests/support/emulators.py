"""The suite's loopback servers: SeaweedFS and Azurite as ``divio_storage_infra.localstores`` starts them for
``dev``, plus moto's S3/IAM server (a test helper only: moto stands in for AWS, it is no store a developer runs).

Every server serves TLS with a certificate of the CA the suite generates (:func:`tls_ca`), unless a test is about
plain HTTP, or sits behind the fault relay that gives it TLS (``tls=None``). Clients find the CA the way users name
a corporate CA: the tests' environment names it in ``AWS_CA_BUNDLE``, ``REQUESTS_CA_BUNDLE`` and ``SSL_CERT_FILE``
(see tests/conftest.py), never by patching certifi or an SDK. A missing binary is an error naming the set-up step,
never a reason to skip: the suite must prove behaviour.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import requests

from divio_storage_infra.localstores import azurite as local_azurite
from divio_storage_infra.localstores import clients
from divio_storage_infra.localstores import seaweedfs as local_seaweedfs
from divio_storage_infra.localstores.apply_azure import AzureTarget
from divio_storage_infra.localstores.apply_s3 import S3Target
from divio_storage_infra.localstores.ports import free_port
from divio_storage_infra.localstores.servers import Launch, Server, ServerError, answers, start
from divio_storage_infra.localstores.tlsca import ServerCert

Emulator = Server
EmulatorError = ServerError
MOTO_SERVER = Path(sys.executable).parent / "moto_server"
BOOTSTRAP_HINT = "run `bash scripts/bootstrap` (pip installs moto[server])"
AZURITE_ACCOUNT = local_azurite.ACCOUNT
AZURITE_KEY = local_azurite.ACCOUNT_KEY
# moto accepts any key pair while its auth is off; these only have to look like keys.
MOTO_ADMIN_KEY = ("AKIAMOTOADMINEXAMPLE", "moto-admin-secret-not-checked-while-auth-is-off")
# SeaweedFS checks signatures: its one identity (all rights on every bucket, as a provider's key would have). The
# secret holds characters the DSN must percent-encode and django-storage-url must decode.
SEAWEEDFS_KEY = ("SEAWEEDFSKEYEXAMPLE1", "seaweed/secret+with=odd%chars")

__all__ = ["Emulator", "EmulatorError", "free_port"]


def closed_port() -> int:
    """A loopback port with nothing listening on it, for "endpoint unreachable" probes."""
    return free_port()


def start_moto(workdir: Path, *, tls: ServerCert | None = None, timeout: float = 30.0) -> Emulator:
    """Start ``moto_server`` on a free loopback port with moto's global CORS off (so bucket CORS rules decide),
    serving HTTPS with ``tls``."""
    if not MOTO_SERVER.exists():
        raise EmulatorError(f"moto_server not found at {MOTO_SERVER}; {BOOTSTRAP_HINT}")
    scheme = "https" if tls else "http"
    certificate = ["--ssl-cert", str(tls.cert), "--ssl-key", str(tls.key)] if tls else []
    launch = Launch(
        name="moto",
        command=lambda port: [str(MOTO_SERVER), "--host", "127.0.0.1", "--port", str(port), *certificate],
        url_for=lambda port: f"{scheme}://127.0.0.1:{port}",
        ready=lambda url: answers(f"{url}/moto-api/", ca_bundle=tls.cert if tls else None),
        env={**os.environ, "MOTO_DISABLE_GLOBAL_CORS": "1"},
    )
    return start(launch, workdir, timeout=timeout)


def start_seaweedfs(workdir: Path, *, tls: ServerCert | None = None, timeout: float = 30.0) -> Emulator:
    """Start ``weed mini`` as ``dev`` does, with :data:`SEAWEEDFS_KEY` as its one identity, HTTPS with ``tls``."""
    identity = local_seaweedfs.Identity("provider-key", *SEAWEEDFS_KEY)
    return local_seaweedfs.start_seaweedfs(workdir, [identity], tls=tls, timeout=timeout)


def start_azurite(workdir: Path, *, tls: ServerCert | None = None, timeout: float = 60.0) -> Emulator:
    """Start Azurite's blob service in memory as ``dev`` does, HTTPS with ``tls``."""
    return local_azurite.start_azurite(workdir, tls=tls, timeout=timeout)


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
    """A boto3 client for ``service`` at the emulator ``url`` (path-style S3, one attempt, short timeouts); it
    trusts what ``AWS_CA_BUNDLE`` names, as boto3 does for users."""
    return clients.s3_client(url, key, region=region, service=service)


def azurite_service(emulator: Emulator) -> Any:
    """A BlobServiceClient for the development account, with its key; it trusts what ``REQUESTS_CA_BUNDLE`` names."""
    return clients.azurite_service(emulator.url)


def s3_target(emulator: Emulator) -> S3Target:
    """What the applier needs to create stores in ``emulator`` (moto or SeaweedFS), signing with its admin key.

    moto takes every policy condition as met, so the TLS-only deny would refuse every request there even over TLS:
    the applier leaves it out on moto and keeps it on SeaweedFS over TLS (which evaluates it as AWS does)."""
    if emulator.name == "seaweedfs":
        return S3Target(emulator.url, SEAWEEDFS_KEY)
    return S3Target(emulator.url, MOTO_ADMIN_KEY, evaluates_conditions=False)


def azure_target(emulator: Emulator) -> AzureTarget:
    """What the applier needs to create stores in ``emulator`` (Azurite)."""
    return AzureTarget(emulator.url)
