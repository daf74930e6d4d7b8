"""``divio-storage dsn``: explains a DSN, masks the secret everywhere, stable JSON, exit codes."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from divio_storage_infra.cli import dsn as explain
from divio_storage_infra.cli import main as cli
from divio_storage_infra.core.dsn import azure_dsn, parse_dsn, s3_dsn

SECRET = "wJalr/K7+MDENG=bPx%Rfi:CY@EXAMPLEKEY"
AZURE_KEY = base64.b64encode(bytes(range(200, 256)) + bytes(range(8))).decode()
SAS = "sv=2022-11-02&sr=c&sp=rl&se=2026-04-01T00%3A00%3A00Z&sig=k3Y%2Bq%2Fz9Secret%3D"

AWS_DSN = s3_dsn(
    bucket="media",
    endpoint_host="s3.eu-central-1.amazonaws.com",
    access_key_id="AKIAEXAMPLE",
    secret_access_key=SECRET,
    custom_domain="media.example.com",
)
DSNS = {
    "aws": AWS_DSN,
    "exoscale-private": s3_dsn(
        bucket="private",
        endpoint_host="sos-ch-gva-2.exo.io",
        access_key_id="EXO1",
        secret_access_key=SECRET,
        signed_urls=True,
    ),
    "emulator": s3_dsn(
        bucket="media",
        endpoint_host="s3.us-east-1.amazonaws.com",
        access_key_id="k",
        secret_access_key=SECRET,
        endpoint_url="http://127.0.0.1:5000",
    ),
    "azure-key": azure_dsn(account="acct", container="public-media", account_key=AZURE_KEY),
    "azure-sas": azure_dsn(
        account="devstoreaccount1",
        container="private-media",
        sas_token=SAS,
        endpoint_url="http://127.0.0.1:10000/devstoreaccount1",
    ),
}
# Every form in which a secret could leak: raw, percent-encoded, and the base64 the Azure DSN carries.
LEAKS = (
    SECRET,
    quote(SECRET, safe=""),
    "EXAMPLEKEY",
    AZURE_KEY,
    quote(AZURE_KEY, safe=""),
    SAS,
    "z9Secret",
    base64.b64encode(SAS.encode()).decode(),
)

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """Run ``divio-storage`` in-process with only the ``dsn`` command (the others are not this test's subject)."""
    monkeypatch.setattr(cli, "COMMANDS", {"dsn": cli.COMMANDS["dsn"]})
    monkeypatch.delenv("DEFAULT_STORAGE_DSN", raising=False)

    def invoke(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        try:
            code = cli.main(["dsn", *argv])
        except SystemExit as exit_:  # argparse errors
            code = int(exit_.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for leak in LEAKS:
            assert leak not in text


def test_text_output_explains_an_aws_dsn_from_the_environment(run: Run) -> None:
    code, out, err = run(env={"DEFAULT_STORAGE_DSN": AWS_DSN})
    assert code == 0 and err == ""
    assert_no_secret(out, err)
    for needle in (
        "AWS S3",
        "bucket         media",
        "eu-central-1",
        "access key AKIAEXAMPLE, secret ***",
        "bucket-owner-full-control",
        "signed URLs    no",
        "custom domain  media.example.com",
        "media URL      https://media.example.com/",
        "'secret_key': '***'",
        "'BACKEND': 'storages.backends.s3.S3Storage'",
        "s3://AKIAEXAMPLE:***@media.s3.eu-central-1.amazonaws.com/",
    ):
        assert needle in out


def test_dsn_env_option_reads_a_named_variable(run: Run) -> None:
    code, out, _ = run("--dsn-env", "PRIVATE_STORAGE_DSN", env={"PRIVATE_STORAGE_DSN": DSNS["exoscale-private"]})
    assert code == 0
    assert "signed URLs    yes" in out and "Exoscale" in out and "ch-gva-2" in out


def test_dsn_on_the_command_line_works_but_warns(run: Run) -> None:
    code, out, err = run("--dsn", AWS_DSN)
    assert code == 0
    assert "secret on the command line" in err
    assert_no_secret(out, err)


@pytest.mark.parametrize("name", sorted(DSNS))
def test_json_is_masked_sorted_and_byte_identical(run: Run, name: str) -> None:
    first = run("--format", "json", env={"DEFAULT_STORAGE_DSN": DSNS[name]})
    second = run("--format", "json", env={"DEFAULT_STORAGE_DSN": DSNS[name]})
    assert first == second
    code, out, err = first
    assert code == 0
    assert_no_secret(out, err)
    report = json.loads(out)
    assert out == json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert report["credentials"]["secret"] == "***"
    options = report["django"]["STORAGES"]["default"]["OPTIONS"]
    assert "***" in json.dumps(options)
    assert report["dsn"] == parse_dsn(DSNS[name]).masked()


def test_json_for_azure_sas_masks_the_connection_string(run: Run) -> None:
    _, out, _ = run("--format", "json", env={"DEFAULT_STORAGE_DSN": DSNS["azure-sas"]})
    report = json.loads(out)
    options = report["django"]["STORAGES"]["default"]["OPTIONS"]
    assert options["sas_token"] == "***"
    assert options["connection_string"].endswith("SharedAccessSignature=***;")
    assert report["media_url"] == "http://127.0.0.1:10000/devstoreaccount1/private-media/"
    assert report["credentials"]["kind"] == "sas"


@pytest.mark.parametrize(
    "dsn",
    [
        f"s3://AKIAEXAMPLE:{SECRET}@media.s3.eu-central-1.amazonaws.com/",
        f"s3://AKIAEXAMPLE:{quote(SECRET, safe='')}@media.s3.eu-central-1.amazonaws.com/?qs_auth=perhaps",
        f"az://acct:{quote(SECRET, safe='')}@blob.core.windows.net/public-media",
        SECRET,
    ],
)
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_malformed_dsn_exits_2_with_one_line_and_no_secret(run: Run, dsn: str, fmt: str) -> None:
    code, out, err = run("--format", fmt, env={"DEFAULT_STORAGE_DSN": dsn})
    assert code == 2
    assert out == ""
    assert err.startswith("error: invalid storage DSN") and err.count("\n") == 1
    assert "Traceback" not in err
    assert_no_secret(out, err)


def test_missing_variable_exits_2(run: Run) -> None:
    code, _, err = run()
    assert code == 2 and "DEFAULT_STORAGE_DSN" in err
    code, _, err = run("--dsn-env", "NOPE_DSN")
    assert code == 2 and "NOPE_DSN" in err


def test_argument_and_env_together_exit_2(run: Run) -> None:
    code, _, err = run("--dsn", AWS_DSN, "--dsn-env", "X", env={"X": AWS_DSN})
    assert code == 2
    assert_no_secret(err)


def test_bad_format_is_an_argparse_error(run: Run) -> None:
    code, _, _ = run("--format", "yaml", env={"DEFAULT_STORAGE_DSN": AWS_DSN})
    assert code == 2


def test_warnings_are_listed(run: Run) -> None:
    code, out, _ = run(env={"DEFAULT_STORAGE_DSN": "s3://k:abcdefghij@media.s3.eu-west-1.amazonaws.com/?foo=1"})
    assert code == 0
    assert "warnings:" in out and "no acl" in out and "unknown parameter(s) foo" in out


# Control characters are refused in secrets (no provider issues them; they break request headers).
SECRETS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc",)) | st.sampled_from("/+=%:@"),
    min_size=4,
    max_size=30,
)


@settings(max_examples=50, deadline=None)
@given(SECRETS, st.booleans(), st.sampled_from(["s3", "az-key", "az-sas"]))
def test_explain_never_shows_a_random_secret(tail: str, json_format: bool, kind: str) -> None:
    secret = "Q7zSECRET" + tail
    if kind == "s3":
        dsn = s3_dsn(bucket="media", endpoint_host="sos-ch-gva-2.exo.io", access_key_id="k", secret_access_key=secret)
        forms = [secret, quote(secret, safe="")]
    elif kind == "az-key":
        key = base64.b64encode(b"\xff" + secret.encode()).decode()
        dsn = azure_dsn(account="acct", container="media", account_key=key)
        forms = [key, quote(key, safe="")]
    else:
        sas = f"sv=1&sig={quote(secret, safe='')}"
        dsn = azure_dsn(account="acct", container="media", sas_token=sas)
        forms = [sas, quote(secret, safe=""), base64.b64encode(sas.encode()).decode()]
    report: dict[str, Any] = explain.explain(parse_dsn(dsn))
    shown = json.dumps(report, sort_keys=True, ensure_ascii=False) if json_format else explain.render_text(report)
    for form in forms:
        assert form not in shown
    assert "Q7zSECRET" not in shown


@pytest.mark.parametrize(
    ("dsn", "option"),
    [
        (
            s3_dsn(bucket="media", endpoint_host="sos-ch-gva-2.exo.io", access_key_id="k", secret_access_key="ab"),
            "secret_key",
        ),
        (azure_dsn(account="acct", container="media", account_key="YWI="), "account_key"),
        (azure_dsn(account="acct", container="media", sas_token="sig=x"), "sas_token"),
    ],
)
def test_short_secrets_are_masked_by_field_not_by_search(dsn: str, option: str) -> None:
    # A secret this short cannot be searched for in the output without garbling it; the fields must hide it.
    report = explain.explain(parse_dsn(dsn))
    assert report["django"]["STORAGES"]["default"]["OPTIONS"][option] == "***"
    assert "***" in report["dsn"]


# --- the third-party apps' settings and the private store ------------------------------------------------------

PRIVATE_DSN = s3_dsn(
    bucket="private",
    endpoint_host="s3.eu-central-1.amazonaws.com",
    access_key_id="AKIAEXAMPLE",
    secret_access_key=SECRET,
    signed_urls=True,
)


def test_settings_for_easy_thumbnails_and_filer_are_printed(run: Run) -> None:
    code, out, err = run(
        "--private-dsn-env",
        "PRIVATE_STORAGE_DSN",
        env={"DEFAULT_STORAGE_DSN": AWS_DSN, "PRIVATE_STORAGE_DSN": PRIVATE_DSN},
    )
    assert code == 0 and err == ""
    assert_no_secret(out, err)
    for needle in (
        "THUMBNAIL_DEFAULT_STORAGE_ALIAS = 'easy_thumbnails'",
        "THUMBNAIL_DEFAULT_STORAGE = 'divio_storage_infra.app.backends.ThumbnailStorage'",
        "FILER_STORAGES = {",
        "'UPLOAD_TO_PREFIX': 'filer_private'",
        "private DSN  s3://AKIAEXAMPLE:***@private.s3.eu-central-1.amazonaws.com/",
        "signed URLs  yes",
    ):
        assert needle in out


def test_json_settings_with_a_private_dsn(run: Run) -> None:
    code, out, err = run(
        "--format",
        "json",
        "--private-dsn-env",
        "PRIVATE_STORAGE_DSN",
        env={
            "DEFAULT_STORAGE_DSN": DSNS["azure-key"],
            "PRIVATE_STORAGE_DSN": azure_dsn(account="acct", container="private-media", account_key=AZURE_KEY),
        },
    )
    assert code == 0
    assert_no_secret(out, err)
    report = json.loads(out)
    django = report["django"]
    assert set(django) == {"STORAGES", "THUMBNAIL_DEFAULT_STORAGE_ALIAS", "THUMBNAIL_DEFAULT_STORAGE", "FILER_STORAGES"}
    assert set(django["STORAGES"]) == {"default", "easy_thumbnails", "private"}
    assert django["STORAGES"]["private"]["OPTIONS"]["expiration_secs"] == 3600
    assert django["FILER_STORAGES"]["private"]["main"]["OPTIONS"]["account_key"] == "***"
    assert report["private"] == {
        "dsn": "az://acct:***@blob.core.windows.net/private-media",
        "cloud": "azure",
        "signed_urls": True,
        "warnings": [],
    }


def test_without_a_private_dsn_the_report_says_so(run: Run) -> None:
    code, out, _ = run("--format", "json", env={"DEFAULT_STORAGE_DSN": AWS_DSN})
    report = json.loads(out)
    assert code == 0 and report["private"] is None
    assert set(report["django"]["FILER_STORAGES"]) == {"public"}
    _, text, _ = run(env={"DEFAULT_STORAGE_DSN": AWS_DSN})
    assert "FILER_STORAGES has no private half" in text


def test_a_private_dsn_without_signed_urls_is_signed_anyway_and_warned_about(run: Run) -> None:
    code, out, err = run(
        "--private-dsn", AWS_DSN.replace("&domain=media.example.com", ""), env={"DEFAULT_STORAGE_DSN": AWS_DSN}
    )
    assert code == 0
    assert "secret on the command line" in err
    assert "no qs_auth=true" in out and "django-storage-url" in out
    assert "'querystring_auth': True" in out.split("private DSN", 1)[1]
    assert_no_secret(out, err)


def test_a_private_azure_dsn_with_a_sas_is_refused(run: Run) -> None:
    sas = azure_dsn(account="acct", container="private-media", sas_token=SAS)
    code, out, err = run("--private-dsn-env", "P", env={"DEFAULT_STORAGE_DSN": DSNS["azure-key"], "P": sas})
    assert code == 2 and out == ""
    assert err.startswith("error: invalid storage DSN for private store: credential:")
    assert "credentials: account-key" in err
    assert_no_secret(out, err)


def test_the_old_spellings_work_for_one_release_with_a_warning(run: Run) -> None:
    new = run("--dsn-env", "D", "--private-dsn-env", "P", env={"D": AWS_DSN, "P": PRIVATE_DSN})
    old = run("--env", "D", "--private-env", "P", env={"D": AWS_DSN, "P": PRIVATE_DSN})
    assert old[:2] == new[:2] and new[0] == 0 and new[2] == ""
    assert old[2] == (
        "warning: --env is deprecated and will be removed in the next release; use --dsn-env\n"
        "warning: --private-env is deprecated and will be removed in the next release; use --private-dsn-env\n"
    )
    positional = run(AWS_DSN)
    assert positional[1] == run("--dsn", AWS_DSN)[1]
    assert "the DSN as a positional argument is deprecated" in positional[2] and "use --dsn" in positional[2]
    code, _, err = run(AWS_DSN, "--dsn", AWS_DSN)
    assert code == 2 and "give the DSN once" in err
    assert_no_secret(*positional[1:], err)
    # The old spellings are not offered: --help documents the new ones only.
    code, out, _ = run("--help")
    assert code == 0 and "--dsn-env" in out and "--private-dsn-env" in out
    assert "--env" not in out.replace("--dsn-env", "") and "--private-env" not in out


def test_bad_private_dsn_exits_2_naming_it(run: Run) -> None:
    code, _, err = run(
        "--private-dsn-env",
        "PRIVATE_STORAGE_DSN",
        env={"DEFAULT_STORAGE_DSN": AWS_DSN, "PRIVATE_STORAGE_DSN": "ftp://x"},
    )
    assert code == 2 and "private store's DSN" in err
    code, _, err = run("--private-dsn-env", "UNSET_VARIABLE_FOR_TEST", env={"DEFAULT_STORAGE_DSN": AWS_DSN})
    assert code == 2 and "UNSET_VARIABLE_FOR_TEST" in err
