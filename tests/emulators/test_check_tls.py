"""``divio-storage check`` against stores served over TLS with a CA the suite generates, named as users name theirs.

SeaweedFS and Azurite serve HTTPS themselves (``-s3.cert.file`` / ``--cert``); moto sits behind the TLS relay of
:mod:`support.faults`. The stores are the website's declared stores, applied as declared: the TLS-only deny stays
in SeaweedFS's bucket policies (it enforces it, so a plain-HTTP request would be refused; moto cannot evaluate it
and gets the policy without it) and the SAS tokens are HTTPS-only. The CLI runs as a subprocess whose environment names the CA in exactly one way: ``REQUESTS_CA_BUNDLE``,
``AWS_CA_BUNDLE``, ``SSL_CERT_FILE`` or ``--ca-bundle``; nothing patches certifi or an SDK.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.apply_declared import (
    apply_aws,
    apply_azure,
    azure_emulator_dsn,
    declare_website,
    exported,
    s3_emulator_dsn,
    with_endpoint_url,
)
from support.emulators import SEAWEEDFS_KEY, Emulator, TlsFiles, start_azurite, start_seaweedfs
from support.faults import Pki, Relay, make_pki, proxy, relay

from divio_storage_infra.core.spec import StorageSpec

pytestmark = pytest.mark.emulator

ORIGIN = "https://www.example.com"
CA_WAYS = ("REQUESTS_CA_BUNDLE", "AWS_CA_BUNDLE", "SSL_CERT_FILE", "--ca-bundle")
_NETWORK_VARIABLES = (
    "REQUESTS_CA_BUNDLE",
    "AWS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "CURL_CA_BUNDLE",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
)


@dataclass
class Site:
    """One website's stores over TLS: where they are and the DSNs the app gets (pointing at the TLS endpoint)."""

    name: str
    endpoint: str
    dsn: str
    private_dsn: str


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any CA or proxy variable (in any case), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in _NETWORK_VARIABLES}
    env.pop("PRIVATE_STORAGE_DSN", None)
    env.pop("DEFAULT_STORAGE_DSN", None)
    return {**env, **extra}


def run_cli(*args: str, env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """The console entry point as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "divio_storage_infra", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def spawn_cli(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "divio_storage_infra", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def ca_named(way: str, bundle: Path) -> tuple[dict[str, str], list[str]]:
    """Environment variables and options that name ``bundle`` in one ``way``."""
    if way == "--ca-bundle":
        return {}, ["--ca-bundle", str(bundle)]
    return {way: str(bundle)}, []


def probes(out: str) -> dict[str, str]:
    """``store/probe -> status`` from check's JSON."""
    document: dict[str, Any] = json.loads(out)
    return {f"{s['store']}/{p['probe']}": p["status"] for s in document["stores"] for p in s["probes"]}


# --- TLS servers -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tls_files(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    chain, key = pki.cert_files(tmp_path_factory.mktemp("certs"))
    return TlsFiles(chain, key, pki.bundle)


@pytest.fixture(scope="module")
def weed_tls(tls_files: TlsFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """SeaweedFS serving S3 over HTTPS only."""
    emulator = start_seaweedfs(tmp_path_factory.mktemp("weed-tls"), tls=tls_files)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def azurite_tls(tls_files: TlsFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """Azurite's blob service over HTTPS only."""
    emulator = start_azurite(tmp_path_factory.mktemp("azurite-tls"), tls=tls_files)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def moto_tls(moto: Emulator, pki: Pki) -> Iterator[Relay]:
    """moto behind the TLS relay with a good certificate from the test CA."""
    with relay(moto.url, pki) as running:
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
    with pytest.MonkeyPatch.context() as patch:
        # The applier's own boto3 clients (not the CLI under test) find the CA the way boto3 does.
        patch.setenv("AWS_CA_BUNDLE", str(pki.bundle))
        applied = apply_aws(declared, weed_tls, tls=True)
    assert any("applied as declared" in line for line in applied.log), applied.log
    return Site(
        "seaweedfs",
        weed_tls.url,
        with_endpoint_url(exported(declared, "storage_dsn"), weed_tls.url),
        with_endpoint_url(exported(declared, "private_storage_dsn"), weed_tls.url),
    )


@pytest.fixture(scope="module")
def moto_site(moto: Emulator, moto_tls: Relay) -> Site:
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
    applied = apply_aws(declared, moto)
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
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", str(pki.bundle))  # the applier's azure-storage-blob client
        applied = apply_azure(declared, azurite_tls, tls=True)
    assert all("spr=https&" in token for token in applied.sas_tokens.values()), "SAS tokens must stay HTTPS-only"
    return Site(
        "azurite",
        azurite_tls.url,
        azure_emulator_dsn(exported(declared, "storage_dsn"), applied),
        azure_emulator_dsn(exported(declared, "private_storage_dsn"), applied),
    )


SITES = ("moto_site", "weed_site", "azure_site")


# --- every way of naming the CA, on every emulator ---------------------------------------------------------------


@pytest.mark.parametrize("site_name", SITES)
def test_check_passes_over_tls_with_the_ca_named_each_way(
    site_name: str, pki: Pki, request: pytest.FixtureRequest
) -> None:
    site: Site = request.getfixturevalue(site_name)
    assert site.endpoint.startswith("https://")
    runs = {}
    for way in CA_WAYS:
        variables, options = ca_named(way, pki.bundle)
        env = clean_env(DEFAULT_STORAGE_DSN=site.dsn, PRIVATE_STORAGE_DSN=site.private_dsn, **variables)
        runs[way] = spawn_cli("check", "--origin", ORIGIN, "--format", "json", "--timeout", "20", *options, env=env)
    for way, process in runs.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, f"{site.name}, CA named by {way}: {err}\n{out}"
        statuses = probes(out)
        assert set(statuses.values()) == {"pass"}, (way, statuses)
        assert {"public/write", "public/public-read", "private/anonymous-refused", "private/signed-read"} <= set(
            statuses
        )


@pytest.mark.parametrize("site_name", SITES)
def test_without_the_ca_the_certificate_is_named_untrusted_with_its_issuer(
    site_name: str, request: pytest.FixtureRequest
) -> None:
    site: Site = request.getfixturevalue(site_name)
    ran = run_cli("check", "--format", "json", env=clean_env(DEFAULT_STORAGE_DSN=site.dsn))
    assert ran.returncode == 1, ran.stderr
    assert "Traceback" not in ran.stderr
    write = next(p for p in json.loads(ran.stdout)["stores"][0]["probes"] if p["probe"] == "write")
    assert "is not trusted: issued by O=divio-storage test CA" in write["detail"], write
    assert "the default CA bundle" in write["detail"]


# --- proxies -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("site_name", SITES)
def test_check_goes_through_https_proxy_unless_no_proxy_says_otherwise(
    site_name: str, pki: Pki, request: pytest.FixtureRequest
) -> None:
    site: Site = request.getfixturevalue(site_name)
    target = site.endpoint.split("://")[1].split("/")[0]
    dsns = {"DEFAULT_STORAGE_DSN": site.dsn, "PRIVATE_STORAGE_DSN": site.private_dsn}
    with proxy() as through:
        env = clean_env(**dsns, HTTPS_PROXY=through.url, REQUESTS_CA_BUNDLE=str(pki.bundle))
        ran = run_cli("check", "--origin", ORIGIN, "--format", "json", env=env)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        # Every request went through the proxy: the SDK's (write, read, delete) and the anonymous ones.
        assert through.tunnels and set(through.tunnels) == {target}
        seen = len(through.tunnels)
        bypass = clean_env(
            **dsns, HTTPS_PROXY=through.url, NO_PROXY="localhost,127.0.0.1", REQUESTS_CA_BUNDLE=str(pki.bundle)
        )
        direct = run_cli("check", "--origin", ORIGIN, "--format", "json", env=bypass)
        assert direct.returncode == 0, direct.stdout + direct.stderr
        assert len(through.tunnels) == seen, "NO_PROXY named the host, yet requests went through the proxy"


def test_a_proxy_that_refuses_is_named_with_its_answer(moto_site: Site, pki: Pki) -> None:
    with proxy(refuse=True) as refusing:
        env = clean_env(DEFAULT_STORAGE_DSN=moto_site.dsn, HTTPS_PROXY=refusing.url, SSL_CERT_FILE=str(pki.bundle))
        ran = run_cli("check", "--format", "json", env=env)
    assert ran.returncode == 1
    write = next(p for p in json.loads(ran.stdout)["stores"][0]["probes"] if p["probe"] == "write")
    assert f"the proxy {refusing.url} did not connect to {moto_site.endpoint}" in write["detail"], write
    assert "403" in write["detail"]
