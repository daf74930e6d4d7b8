"""Session fixtures: the loopback emulators (started here, stopped at the end) and Django's minimal settings.

SeaweedFS is the real S3-compatible server (it checks signatures, enforces bucket policies and matches CORS
origins exactly); moto stands in for AWS (IAM included) and Azurite for Azure Blob. All three serve TLS with a
certificate of a CA the suite generates (:func:`tls_ca`), named to every client the way users name a corporate
CA: ``AWS_CA_BUNDLE``, ``REQUESTS_CA_BUNDLE`` and ``SSL_CERT_FILE`` in the tests' environment. The ``*_http``
servers speak plain HTTP: for the tests about plain HTTP, and behind the fault relay (``support.faults``), which
gives them TLS with certificates of its own (good, expired, wrong host, untrusted) and its faults.

Servers are session-scoped so the suite starts each one once. moto runs twice: one server keeps its auth off for
anonymous probes (public / private reads, CORS), the other turns IAM enforcement on after the stores are applied,
because with auth on moto answers every anonymous request with 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support.emulators import Emulator, moto_enable_auth, s3_target, start_azurite, start_moto, start_seaweedfs
from support.iam_world import IamWorld

from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.localstores.apply_s3 import apply_aws
from divio_storage_infra.localstores.declared import declare_website, exported
from divio_storage_infra.localstores.localdsn import s3_emulator_dsn
from divio_storage_infra.localstores.tlsca import CA_VARIABLES, LocalCA, ServerCert

# Module fixtures for tests over TLS (a generated CA, emulators serving HTTPS, stores applied as declared).
pytest_plugins = ["support.tls_sites"]


def _started(emulator: Emulator) -> Iterator[Emulator]:
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def tls_ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCA]:
    """The suite's CA, named by ``AWS_CA_BUNDLE``, ``REQUESTS_CA_BUNDLE`` and ``SSL_CERT_FILE`` (and Node's
    variable) for the rest of the session, as a user behind a corporate CA names theirs."""
    ca = LocalCA(tmp_path_factory.mktemp("tls-ca"), name="divio-storage test CA")
    with pytest.MonkeyPatch.context() as patch:
        for variable in CA_VARIABLES:
            patch.setenv(variable, str(ca.bundle))
        yield ca


@pytest.fixture(scope="session")
def server_cert(tls_ca: LocalCA) -> ServerCert:
    """A certificate for 127.0.0.1 / localhost signed by :func:`tls_ca`, which every TLS emulator serves."""
    return tls_ca.issue("emulators")


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory, server_cert: ServerCert) -> Iterator[Emulator]:
    """A moto server over TLS with auth off: anyone may call it, bucket policies and ACLs decide anonymous reads."""
    yield from _started(start_moto(tmp_path_factory.mktemp("moto"), tls=server_cert))


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory, server_cert: ServerCert) -> Iterator[Emulator]:
    """SeaweedFS (``weed mini``) over TLS on loopback ports, its data in a temporary directory, one S3 identity."""
    yield from _started(start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"), tls=server_cert))


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory, server_cert: ServerCert) -> Iterator[Emulator]:
    """Azurite's blob service (development account) over TLS, in memory."""
    yield from _started(start_azurite(tmp_path_factory.mktemp("azurite"), tls=server_cert))


@pytest.fixture(scope="session")
def moto_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """A moto server over plain HTTP with auth off (for ``check`` and ``bench`` until they read CA bundles)."""
    yield from _started(start_moto(tmp_path_factory.mktemp("moto-http")))


@pytest.fixture(scope="session")
def seaweedfs_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """SeaweedFS over plain HTTP (the TLS-only deny is then left out by the applier)."""
    yield from _started(start_seaweedfs(tmp_path_factory.mktemp("seaweedfs-http")))


@pytest.fixture(scope="session")
def azurite_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """Azurite over plain HTTP, in memory (for ``check`` and ``bench`` until they read CA bundles)."""
    yield from _started(start_azurite(tmp_path_factory.mktemp("azurite-http")))


SITE = StorageSpec.from_dict(
    {
        "website": "scope-site",
        "environment": "live",
        "region": "eu-central-1",
        "privateStorage": True,
        "credentials": "iam-user",
    }
)
OTHER = StorageSpec.from_dict(
    {
        "website": "scope-other",
        "environment": "live",
        "region": "eu-central-1",
        "privateStorage": True,
        "credentials": "iam-user",
    }
)


@pytest.fixture(scope="session")
def iam_world(tmp_path_factory: pytest.TempPathFactory, server_cert: ServerCert) -> Iterator[IamWorld]:
    """Two websites' declared stores and IAM users in their own moto server (over TLS), then moto's auth turned on."""
    emulator = start_moto(tmp_path_factory.mktemp("moto-iam"), tls=server_cert)
    try:
        site_declared, other_declared = declare_website(SITE), declare_website(OTHER)
        target = s3_target(emulator)
        site, other = apply_aws(site_declared, target), apply_aws(other_declared, target)
        moto_enable_auth(emulator)
        yield IamWorld(
            moto=emulator,
            site=site,
            other=other,
            site_dsn=s3_emulator_dsn(exported(site_declared, "storage_dsn"), emulator.url, site.only_key()),
            site_private_dsn=s3_emulator_dsn(
                exported(site_declared, "private_storage_dsn"), emulator.url, site.only_key()
            ),
            other_dsn=s3_emulator_dsn(exported(other_declared, "storage_dsn"), emulator.url, other.only_key()),
        )
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def django_settings() -> None:
    """Minimal Django settings for django-storages (the same defaults other modules use, whichever runs first)."""
    from django.conf import settings  # type: ignore[import-untyped]

    if not settings.configured:
        settings.configure()


@pytest.fixture
def dsn_setting() -> Iterator[Any]:
    """Set DEFAULT_STORAGE_DSN as a Divio app's settings would and return the storage django-storage-url makes."""
    from django.test import override_settings  # type: ignore[import-untyped]
    from django_storage_url import dsn_configured_storage  # type: ignore[import-untyped]

    overrides: list[Any] = []

    def storage(dsn: str) -> Any:
        override = override_settings(DEFAULT_STORAGE_DSN=dsn)
        override.enable()
        overrides.append(override)
        configured = dsn_configured_storage("DEFAULT_STORAGE_DSN")
        configured._setup()  # what the first attribute access would do: parse the DSN into a storage
        return configured._wrapped

    yield storage
    for override in reversed(overrides):
        override.disable()
