"""``divio-storage check`` against stores served over TLS with a CA the suite generates, named as users name theirs.

SeaweedFS and Azurite serve HTTPS themselves (``-s3.cert.file`` / ``--cert``); moto sits behind the TLS relay of
:mod:`support.faults`. The stores are the website's declared stores, applied as declared: the TLS-only deny stays
in SeaweedFS's bucket policies (it enforces it, so a plain-HTTP request would be refused; moto cannot evaluate it
and gets the policy without it) and the SAS tokens are HTTPS-only. The CLI runs as a subprocess whose
environment names the CA in exactly one way: ``REQUESTS_CA_BUNDLE``, ``AWS_CA_BUNDLE``, ``SSL_CERT_FILE`` or
``--ca-bundle``; nothing patches certifi or an SDK.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.cli_env import clean_env, run_cli, spawn_cli
from support.faults import Pki, proxy
from support.tls_sites import ORIGIN, Site

pytestmark = pytest.mark.emulator

CA_WAYS = ("REQUESTS_CA_BUNDLE", "AWS_CA_BUNDLE", "SSL_CERT_FILE", "--ca-bundle")


def ca_named(way: str, bundle: Path) -> tuple[dict[str, str], list[str]]:
    """Environment variables and options that name ``bundle`` in one ``way``."""
    if way == "--ca-bundle":
        return {}, ["--ca-bundle", str(bundle)]
    return {way: str(bundle)}, []


def probes(out: str) -> dict[str, str]:
    """``store/probe -> status`` from check's JSON."""
    document: dict[str, Any] = json.loads(out)
    return {f"{s['store']}/{p['probe']}": p["status"] for s in document["stores"] for p in s["probes"]}


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
    assert "is not trusted: its issuer OU=Testing CA" in write["detail"], write
    assert "O=divio-storage test CA is not a CA of the default CA bundle" in write["detail"], write


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
