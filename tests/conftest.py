"""Session fixtures: the loopback emulators (started here, stopped at the end) and Django's minimal settings.

SeaweedFS is the real S3-compatible server (it checks signatures, enforces bucket policies and matches CORS
origins exactly); moto stands in for AWS (IAM included) and Azurite for Azure Blob.

Servers are session-scoped so the suite starts each one once. moto runs twice: one server keeps its auth off for
anonymous probes (public / private reads, CORS), the other turns IAM enforcement on after the stores are applied,
because with auth on moto answers every anonymous request with 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from support.apply_declared import AwsApplied, apply_aws, declare_website, exported, s3_emulator_dsn
from support.emulators import Emulator, moto_enable_auth, start_azurite, start_moto, start_seaweedfs

from divio_storage_infra.core.spec import StorageSpec

# Module fixtures for tests over TLS (a generated CA, emulators serving HTTPS, stores applied as declared).
pytest_plugins = ["support.tls_sites"]


def _started(emulator: Emulator) -> Iterator[Emulator]:
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """A moto server with auth off: anyone may call it, bucket policies and ACLs decide anonymous reads."""
    yield from _started(start_moto(tmp_path_factory.mktemp("moto")))


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """SeaweedFS (``weed mini``) on loopback ports, its data in a temporary directory, one S3 identity."""
    yield from _started(start_seaweedfs(tmp_path_factory.mktemp("seaweedfs")))


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """Azurite's blob service (development account), in memory."""
    yield from _started(start_azurite(tmp_path_factory.mktemp("azurite")))


@dataclass
class IamWorld:
    """Two websites applied to a moto server whose IAM enforcement is on."""

    moto: Emulator
    site: AwsApplied
    other: AwsApplied
    site_dsn: str
    site_private_dsn: str
    other_dsn: str


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
def iam_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IamWorld]:
    """Two websites' declared stores and IAM users in their own moto server, then moto's auth turned on."""
    emulator = start_moto(tmp_path_factory.mktemp("moto-iam"))
    try:
        site_declared, other_declared = declare_website(SITE), declare_website(OTHER)
        site, other = apply_aws(site_declared, emulator), apply_aws(other_declared, emulator)
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
