"""Module fixtures for tests over TLS: a generated CA, SeaweedFS and Azurite serving HTTPS with its certificate,
moto behind the TLS relay, and one website's declared stores applied to each (see tests/emulators/test_check_tls.py).

Import the fixtures a test module needs into it; each module gets its own servers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.localstores.apply_azure import AzureTarget, apply_azure
from divio_storage_infra.localstores.apply_s3 import S3Target, apply_aws
from divio_storage_infra.localstores.declared import declare_website, exported
from divio_storage_infra.localstores.localdsn import azure_emulator_dsn, s3_emulator_dsn, with_endpoint_url
from divio_storage_infra.localstores.tlsca import ServerCert
from support.emulators import SEAWEEDFS_KEY, Emulator, s3_target, start_azurite, start_seaweedfs
from support.faults import Pki, Relay, make_pki, relay

ORIGIN = "https://www.example.com"


@dataclass
class Site:
    """One website's stores over TLS: where they are and the DSNs the app gets (pointing at the TLS endpoint)."""

    name: str
    endpoint: str
    dsn: str
    private_dsn: str


# --- TLS servers -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tls_files(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> ServerCert:
    chain, key = pki.cert_files(tmp_path_factory.mktemp("certs"))
    # The servers' readiness check verifies against the certificate file itself: the chain then the test CA.
    full = chain.with_name("chain-and-ca.pem")
    full.write_bytes(chain.read_bytes() + pki.bundle.read_bytes())
    return ServerCert(full, key)


@pytest.fixture(scope="module")
def weed_tls(tls_files: ServerCert, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """SeaweedFS serving S3 over HTTPS only."""
    emulator = start_seaweedfs(tmp_path_factory.mktemp("weed-tls"), tls=tls_files)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def azurite_tls(tls_files: ServerCert, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """Azurite's blob service over HTTPS only."""
    emulator = start_azurite(tmp_path_factory.mktemp("azurite-tls"), tls=tls_files)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def moto_tls(moto_http: Emulator, pki: Pki) -> Iterator[Relay]:
    """moto behind the TLS relay with a good certificate from the test CA."""
    with relay(moto_http.url, pki) as running:
        yield running


# --- the website's stores, applied as declared -----------------------------------------------------------------


@pytest.fixture(scope="module")
def weed_site(weed_tls: Emulator, pki: Pki) -> Site:
    spec = StorageSpec.from_dict(
        {
            "website": "tls-weed",
            "environment": "live",
            "cloud": "s3-compatible",
            "region": "us-east-1",
            "endpoint": "objects.example.net",
            "credentials": "static",
            "privateStorage": True,
            "corsOrigins": [ORIGIN],
        }
    )
    declared = declare_website(spec, SEAWEEDFS_KEY)
    # The applier's own boto3 clients (not the CLI under test) trust the test CA through the target.
    applied = apply_aws(declared, S3Target(weed_tls.url, SEAWEEDFS_KEY, verify=str(pki.bundle)))
    assert any("applied as declared" in line for line in applied.log), applied.log
    return Site(
        "seaweedfs",
        weed_tls.url,
        with_endpoint_url(exported(declared, "storage_dsn"), weed_tls.url),
        with_endpoint_url(exported(declared, "private_storage_dsn"), weed_tls.url),
    )


@pytest.fixture(scope="module")
def moto_site(moto_http: Emulator, moto_tls: Relay) -> Site:
    spec = StorageSpec.from_dict(
        {
            "website": "tls-moto",
            "environment": "live",
            "region": "eu-central-1",
            "privateStorage": True,
            "credentials": "iam-user",
            "corsOrigins": [ORIGIN],
        }
    )
    declared = declare_website(spec)
    # moto evaluates no policy condition (it would deny everything with the TLS-only deny in), and behind the relay
    # it sees plain HTTP anyway: its policy goes in without that statement, as for plain-HTTP moto.
    applied = apply_aws(declared, s3_target(moto_http))
    key = applied.only_key()
    return Site(
        "moto",
        moto_tls.url,
        s3_emulator_dsn(exported(declared, "storage_dsn"), moto_tls.url, key),
        s3_emulator_dsn(exported(declared, "private_storage_dsn"), moto_tls.url, key),
    )


@pytest.fixture(scope="module")
def azure_site(azurite_tls: Emulator, pki: Pki) -> Site:
    spec = StorageSpec.from_dict(
        {
            "website": "tls-azure",
            "environment": "live",
            "cloud": "azure",
            "location": "switzerlandnorth",
            "corsOrigins": [ORIGIN],
            "privateStorage": True,
            "credentials": "sas",
            # Yesterday, so the SAS is valid now whatever the time zone.
            "sasStart": (dt.date.today() - dt.timedelta(days=1)).isoformat(),
        }
    )
    declared = declare_website(spec)
    applied = apply_azure(declared, AzureTarget(azurite_tls.url, verify=str(pki.bundle)))
    assert all("spr=https&" in token for token in applied.sas_tokens.values()), "SAS tokens must stay HTTPS-only"
    return Site(
        "azurite",
        azurite_tls.url,
        azure_emulator_dsn(exported(declared, "storage_dsn"), applied),
        azure_emulator_dsn(exported(declared, "private_storage_dsn"), applied),
    )
