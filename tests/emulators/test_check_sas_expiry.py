"""``divio-storage check`` reports when a DSN's SAS expires: against Azurite, with SAS tokens generated for it."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from azure.storage.blob import generate_container_sas
from support.emulators import AZURITE_ACCOUNT, AZURITE_KEY, Emulator, azurite_service

from divio_storage_infra.cli.main import main
from divio_storage_infra.core.dsn import azure_dsn

pytestmark = pytest.mark.emulator


@pytest.fixture(scope="module")
def service(azurite: Emulator) -> Any:
    return azurite_service(azurite)


def sas_dsn(azurite: Emulator, service: Any, *, starts: dt.timedelta, expires: dt.timedelta) -> tuple[str, str]:
    """A public container and a DSN with a SAS valid from now + ``starts`` until now + ``expires``."""
    container = f"expiry-{uuid.uuid4().hex[:12]}"
    service.create_container(container, public_access="blob")
    now = dt.datetime.now(dt.UTC)
    token: str = generate_container_sas(
        AZURITE_ACCOUNT,
        container,
        account_key=AZURITE_KEY,
        permission="racwdl",
        start=now + starts,
        expiry=now + expires,
    )
    return azure_dsn(account=AZURITE_ACCOUNT, container=container, sas_token=token, endpoint_url=azurite.url), token


def run_check(capsys: pytest.CaptureFixture[str], dsn: str, token: str, *extra: str) -> tuple[int, dict[str, Any], str]:
    code = main(["check", "--dsn", dsn, "--format", "json", *extra])
    captured = capsys.readouterr()
    signature = token.split("sig=")[1]
    assert signature not in captured.out + captured.err
    probes = {p["probe"]: p for p in json.loads(captured.out)["stores"][0]["probes"]}
    return code, probes, captured.err


def test_a_sas_far_from_expiry_passes_with_the_days_left(
    azurite: Emulator, service: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn, token = sas_dsn(azurite, service, starts=-dt.timedelta(minutes=5), expires=dt.timedelta(days=100, hours=1))
    code, probes, err = run_check(capsys, dsn, token)
    assert code == 0
    assert probes["sas-expiry"]["status"] == "pass"
    assert "in 100 days" in probes["sas-expiry"]["detail"]
    assert "warning" not in err


def test_a_sas_expiring_soon_warns_but_works(
    azurite: Emulator, service: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn, token = sas_dsn(azurite, service, starts=-dt.timedelta(minutes=5), expires=dt.timedelta(days=10, hours=1))
    code, probes, err = run_check(capsys, dsn, token)
    assert code == 0
    assert probes["sas-expiry"]["status"] == "pass"
    assert probes["sas-expiry"]["detail"].startswith("warning: the SAS expires on ")
    assert "in 10 days (under 30)" in probes["sas-expiry"]["detail"]
    assert "warning: public store: the SAS expires on" in err
    # Below the threshold only: with --warn-days 5 the same SAS is fine.
    code, probes, err = run_check(capsys, dsn, token, "--warn-days", "5")
    assert code == 0 and "warning" not in err and not probes["sas-expiry"]["detail"].startswith("warning")


def test_an_expired_sas_fails(azurite: Emulator, service: Any, capsys: pytest.CaptureFixture[str]) -> None:
    dsn, token = sas_dsn(azurite, service, starts=-dt.timedelta(days=30), expires=-dt.timedelta(days=2, hours=1))
    code, probes, _err = run_check(capsys, dsn, token)
    assert code == 1
    assert probes["sas-expiry"]["status"] == "fail"
    assert "expired on" in probes["sas-expiry"]["detail"] and "(2 days ago)" in probes["sas-expiry"]["detail"]
    # Azurite agrees: the expired token writes nothing.
    assert probes["write"]["status"] == "fail"


def test_warn_days_must_be_a_number_of_days(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["check", "--dsn", "az://a@blob.core.windows.net/c", "--warn-days", "soon"])
    assert exit_info.value.code == 2
    assert "expected a whole number of days" in capsys.readouterr().err
