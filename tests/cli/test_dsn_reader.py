"""One DSN reader for every command (``cli.options.read_dsn``): the option, else ``--X-env NAME``, else the default
variable; the same errors everywhere, naming the option or the variable, never the value."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from divio_storage_infra.cli.main import main

SECRET = "reader/test+secret=never/shown"
DSN = f"s3://AKIAREADERTESTKEY01:{quote(SECRET, safe='')}@reader-bucket.s3.eu-west-1.amazonaws.com/"
COMMANDS = ("dsn", "check", "bench", "backup", "restore")
STORE_VARIABLES = ("DEFAULT_STORAGE_DSN", "PRIVATE_STORAGE_DSN", "BACKUP_STORAGE_DSN", "PRIVATE_BACKUP_STORAGE_DSN")


@pytest.fixture(autouse=True)
def no_store_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*STORE_VARIABLES, "NOPE_NOT_SET"):
        monkeypatch.delenv(name, raising=False)


def one_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert SECRET not in captured.err and "Traceback" not in captured.err
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_named_variable_that_is_not_set_is_named_by_every_command(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--dsn-env", "NOPE_NOT_SET"]) == 2
    line = one_error(capsys)
    assert (
        line.startswith("error: no ")
        and (
            "environment variable NOPE_NOT_SET (named by --dsn-env) is not set (or empty); set it, or name another "
            "variable with --dsn-env NAME"
        )
        in line
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_an_option_and_its_variable_together_are_refused_by_every_command(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SITE_DSN", DSN)
    assert main([command, "--dsn", DSN, "--dsn-env", "SITE_DSN"]) == 2
    assert one_error(capsys) == "error: give --dsn or --dsn-env, not both"


@pytest.mark.parametrize("stem", ["private-dsn", "backup-dsn", "private-backup-dsn"])
@pytest.mark.parametrize("command", ["backup", "restore"])
def test_backup_and_restore_read_each_of_their_dsns_the_same_way(
    command: str, stem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, f"--{stem}-env", "NOPE_NOT_SET"]) == 2
    line = one_error(capsys)
    assert f"environment variable NOPE_NOT_SET (named by --{stem}-env) is not set" in line, line


@pytest.mark.parametrize("command", ["backup", "restore"])
def test_a_malformed_dsn_is_named_by_where_it_came_from_without_its_secret(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = DSN.replace("s3://", "s3x://")
    assert main([command, "--dsn", broken]) == 2
    assert one_error(capsys).startswith("error: --dsn: ")
    monkeypatch.setenv("BACKUP_STORAGE_DSN", broken)
    assert main([command]) == 2
    assert one_error(capsys).startswith("error: $BACKUP_STORAGE_DSN: ")
