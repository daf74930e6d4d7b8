"""What the Azure component declares, applied to Azurite, behaves as the design says.

Azurite enforces container public access, blob-service CORS (origin and method) and SAS scope, permissions and
expiry, so these are probed for real. Azurite's development account plays the website's storage account; the
SAS tokens are signed from the declared ``listStorageAccountServiceSAS`` arguments (container, permissions,
start, expiry), widened from HTTPS-only to HTTP for the loopback emulator.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import ContainerClient
from support.apply_declared import declared_with
from support.emulators import Emulator, azure_target, azurite_service

from divio_storage_infra.cli.main import main
from divio_storage_infra.core.naming import PRIVATE_CONTAINER, PUBLIC_CONTAINER
from divio_storage_infra.core.spec import StorageSpec
from divio_storage_infra.localstores.applier import UnappliedResource
from divio_storage_infra.localstores.apply_azure import AzureApplied, apply_azure
from divio_storage_infra.localstores.declared import declare_website, exported
from divio_storage_infra.localstores.localdsn import azure_emulator_dsn
from divio_storage_infra.preview.mockrun import Declared

pytestmark = pytest.mark.emulator

ORIGIN = "https://www.example.com"
TODAY = dt.date.today()
BASE: dict[str, Any] = {
    "website": "emulated",
    "environment": "live",
    "cloud": "azure",
    "location": "switzerlandnorth",
    "corsOrigins": [ORIGIN, "https://example.com"],
    "privateStorage": True,
}
# The SAS starts yesterday so that it is valid now whatever the time zone; it lasts the default 90 days.
SAS: dict[str, Any] = {"credentials": "sas", "sasStart": (TODAY - dt.timedelta(days=1)).isoformat()}


@dataclass
class Site:
    """One website's declared storage applied to Azurite, with its DSNs pointed at the emulator."""

    azurite: Emulator
    declared: Declared
    applied: AzureApplied
    dsn: str
    private_dsn: str

    def url(self, container: str, blob: str = "") -> str:
        return f"{self.azurite.url}/{container}/{blob}"


def apply(azurite: Emulator, **overrides: Any) -> Site:
    """Declare the website for ``BASE`` plus ``overrides`` and apply it to Azurite."""
    declared = declare_website(StorageSpec.from_dict({**BASE, **overrides}))
    applied = apply_azure(declared, azure_target(azurite))
    return Site(
        azurite=azurite,
        declared=declared,
        applied=applied,
        dsn=azure_emulator_dsn(exported(declared, "storage_dsn"), applied),
        private_dsn=azure_emulator_dsn(exported(declared, "private_storage_dsn"), applied),
    )


# Both sites declare the same containers and CORS rules, so applying both leaves one consistent account.
@pytest.fixture(scope="module")
def key_site(azurite: Emulator) -> Site:
    return apply(azurite)


@pytest.fixture(scope="module")
def sas_site(azurite: Emulator, key_site: Site) -> Site:
    return apply(azurite, **SAS)


def admin_put(site: Site, container: str, body: bytes = b"media bytes") -> str:
    name = f"uploads/{uuid.uuid4().hex}.txt"
    azurite_service(site.azurite).get_blob_client(container, name).upload_blob(body)
    return name


def preflight(site: Site, origin: str, method: str = "GET") -> requests.Response:
    return requests.options(
        site.url(PUBLIC_CONTAINER, "uploads/any.jpg"),
        headers={"Origin": origin, "Access-Control-Request-Method": method},
        timeout=10,
    )


def sas_client(site: Site, container: str, token: str) -> Any:
    return ContainerClient(site.azurite.url, container, credential=token, retry_total=0)


def error_code(error: HttpResponseError) -> str:
    code = getattr(error, "error_code", None)
    return str(getattr(code, "value", code))


# --- the declared configuration is what Azurite holds ------------------------------------------------------------


def test_declared_containers_and_cors_reached_azurite(key_site: Site) -> None:
    service = azurite_service(key_site.azurite)
    public = service.get_container_client(PUBLIC_CONTAINER).get_container_properties()
    private = service.get_container_client(PRIVATE_CONTAINER).get_container_properties()
    assert public.public_access == "blob"
    assert private.public_access is None
    cors = service.get_service_properties()["cors"]
    assert [rule.allowed_origins for rule in cors] == [ORIGIN, "https://example.com"]
    assert {rule.allowed_methods for rule in cors} == {"GET,HEAD"}


# --- anonymous access --------------------------------------------------------------------------------------------


def test_public_blob_is_readable_anonymously(key_site: Site) -> None:
    name = admin_put(key_site, PUBLIC_CONTAINER, b"public bytes")
    response = requests.get(key_site.url(PUBLIC_CONTAINER, name), timeout=10)
    assert response.status_code == 200
    assert response.content == b"public bytes"


def test_public_container_cannot_be_listed_anonymously(key_site: Site) -> None:
    admin_put(key_site, PUBLIC_CONTAINER)
    response = requests.get(f"{key_site.url(PUBLIC_CONTAINER)}?restype=container&comp=list", timeout=10)
    assert response.status_code in (403, 404)
    assert "uploads/" not in response.text


def test_private_blob_is_refused_anonymously(key_site: Site) -> None:
    name = admin_put(key_site, PRIVATE_CONTAINER, b"private bytes")
    response = requests.get(key_site.url(PRIVATE_CONTAINER, name), timeout=10)
    assert response.status_code in (403, 404)
    assert b"private bytes" not in response.content


# --- CORS: configured origins and methods only -------------------------------------------------------------------


@pytest.mark.parametrize("origin", [ORIGIN, "https://example.com"])
def test_preflight_from_a_configured_origin_is_allowed(key_site: Site, origin: str) -> None:
    response = preflight(key_site, origin)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin


@pytest.mark.parametrize(
    "origin", ["https://evil.example.net", "http://www.example.com", "https://www.example.com.evil"]
)
def test_preflight_from_another_origin_is_refused(key_site: Site, origin: str) -> None:
    response = preflight(key_site, origin)
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers


def test_preflight_for_an_upload_is_refused_without_allow_uploads(key_site: Site) -> None:
    assert preflight(key_site, ORIGIN, "PUT").status_code == 403
    assert preflight(key_site, ORIGIN, "DELETE").status_code == 403


def test_allow_uploads_opens_put_for_the_configured_origins_only(azurite: Emulator, key_site: Site) -> None:
    uploads = apply(azurite, allowUploads=True)
    try:
        allowed = preflight(uploads, ORIGIN, "PUT")
        assert allowed.status_code == 200
        assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert preflight(uploads, "https://evil.example.net", "PUT").status_code == 403
        assert preflight(uploads, ORIGIN, "DELETE").status_code == 403
    finally:
        # The account's CORS rules are shared by every test in this module: put the base declaration back.
        apply(azurite)
    assert preflight(key_site, ORIGIN, "PUT").status_code == 403


# --- SAS scope: one container, the declared permissions, the declared lifetime ----------------------------------


def test_container_sas_works_in_its_own_container(sas_site: Site) -> None:
    for container in (PUBLIC_CONTAINER, PRIVATE_CONTAINER):
        client = sas_client(sas_site, container, sas_site.applied.sas_tokens[container])
        client.upload_blob("sas/own.txt", b"own", overwrite=True)
        assert client.download_blob("sas/own.txt").readall() == b"own"
        assert "sas/own.txt" in [b.name for b in client.list_blobs(name_starts_with="sas/")]
        client.delete_blob("sas/own.txt")


def test_container_sas_is_refused_in_other_containers(sas_site: Site) -> None:
    service = azurite_service(sas_site.azurite)
    other = f"another-website-{uuid.uuid4().hex[:8]}"
    service.create_container(other)
    service.get_blob_client(other, "theirs.txt").upload_blob(b"theirs")
    service.get_blob_client(PUBLIC_CONTAINER, "public.txt").upload_blob(b"public", overwrite=True)
    private_token = sas_site.applied.sas_tokens[PRIVATE_CONTAINER]
    try:
        client = sas_client(sas_site, other, private_token)
        with pytest.raises(HttpResponseError) as read:
            client.download_blob("theirs.txt").readall()
        assert read.value.status_code == 403
        # Public blobs are readable by anyone anyway; what the SAS must not do there is write or delete.
        for container, blob in ((other, "theirs.txt"), (PUBLIC_CONTAINER, "public.txt")):
            client = sas_client(sas_site, container, private_token)
            with pytest.raises(HttpResponseError) as write:
                client.upload_blob("intruder.txt", b"x", overwrite=True)
            assert write.value.status_code == 403
            with pytest.raises(HttpResponseError) as delete:
                client.delete_blob(blob)
            assert delete.value.status_code == 403
        # Nor can it see which containers the account has.
        listing = requests.get(f"{sas_site.azurite.url}?comp=list&{private_token}", timeout=10)
        assert listing.status_code == 403
    finally:
        service.delete_container(other)


def test_sas_permissions_come_from_the_spec(azurite: Emulator, sas_site: Site) -> None:
    read_only = apply(azurite, **SAS, sasPermissions="rl")
    try:
        token = read_only.applied.sas_tokens[PRIVATE_CONTAINER]
        assert "sp=rl" in token
        client = sas_client(read_only, PRIVATE_CONTAINER, token)
        name = admin_put(read_only, PRIVATE_CONTAINER, b"readable")
        assert client.download_blob(name).readall() == b"readable"
        with pytest.raises(HttpResponseError) as write:
            client.upload_blob("nope.txt", b"x")
        assert error_code(write.value) == "AuthorizationPermissionMismatch"
        with pytest.raises(HttpResponseError) as delete:
            client.delete_blob(name)
        assert error_code(delete.value) == "AuthorizationPermissionMismatch"
    finally:
        apply(azurite, **SAS)


def test_sas_expiry_comes_from_the_spec(azurite: Emulator, sas_site: Site) -> None:
    expired = apply(
        azurite, credentials="sas", sasStart=(TODAY - dt.timedelta(days=40)).isoformat(), sasLifetimeDays=30
    )
    try:
        token = expired.applied.sas_tokens[PRIVATE_CONTAINER]
        assert f"se={TODAY - dt.timedelta(days=10)}" in token
        with pytest.raises(HttpResponseError) as refused:
            sas_client(expired, PRIVATE_CONTAINER, token).upload_blob("late.txt", b"x")
        assert refused.value.status_code == 403
    finally:
        apply(azurite, **SAS)


# --- check, on the store exactly as declared --------------------------------------------------------------------


@pytest.mark.parametrize("credential", ["account-key", "sas"])
def test_check_passes_on_the_declared_store(
    azurite: Emulator, capsys: pytest.CaptureFixture[str], credential: str
) -> None:
    # Over TLS, as in production: check trusts the CA the tests' environment names (SSL_CERT_FILE and friends).
    site = apply(azurite) if credential == "account-key" else apply(azurite, **SAS)
    argv = ["check", "--dsn", site.dsn, "--private-dsn", site.private_dsn, "--format", "json"]
    argv += [arg for origin in BASE["corsOrigins"] for arg in ("--origin", origin)]
    code = main(argv)
    out = capsys.readouterr().out
    assert code == 0, out
    report = json.loads(out)
    # A SAS DSN gets one more probe per store: sas-expiry (its expiry is the declared one, still ahead).
    assert report["summary"] == {"pass": 14 if credential == "sas" else 12, "fail": 0, "skip": 0}
    for token in site.applied.sas_tokens.values():
        assert token.split("sig=")[1] not in out


# --- the applier never skips what it cannot apply ----------------------------------------------------------------


@pytest.mark.parametrize(
    "resource_type",
    ["azure-native:storage:ManagementPolicy", "azure-native:cdn:Endpoint", "azure-native:storage:Queue"],
)
def test_applier_fails_loudly_on_types_it_cannot_apply(azurite: Emulator, resource_type: str) -> None:
    with pytest.raises(UnappliedResource, match=resource_type):
        apply_azure(declared_with(resource_type, {}), azure_target(azurite))


def test_applier_fails_loudly_on_unknown_invokes(azurite: Emulator) -> None:
    declared = Declared(calls=[("azure-native:storage:listStorageAccountSAS", {"accountName": "x"})])
    with pytest.raises(UnappliedResource, match="listStorageAccountSAS"):
        apply_azure(declared, azure_target(azurite))
