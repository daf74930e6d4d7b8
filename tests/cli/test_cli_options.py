"""The commands' shared options: the same DSN options and ``--format`` values everywhere, old spellings with a
deprecation warning, the sub-command's usage with a "did you mean" for an unknown option, and a quiet end when
stdout is closed early."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from divio_storage_infra.cli import main as cli

ROOT = Path(__file__).resolve().parents[2]
DSN = "s3://AKIAEXAMPLE:wJalr%2FK7MDENGbPxRfiCYEXAMPLEKEY@media.s3.eu-central-1.amazonaws.com/?auth=s3v4&acl=private"
READS_A_DSN = {"dsn": True, "check": True, "bench": True, "backup": True, "restore": True}
"""Commands that read a DSN, and whether they read the private store's too."""


def _options(command: str) -> dict[str, argparse.Action]:
    parser = cli.subcommand_parsers(cli.build_parser())[command]
    return {option: action for action in parser._actions for option in action.option_strings}


def _documented(command: str) -> set[str]:
    return {option for option, action in _options(command).items() if action.help is not argparse.SUPPRESS}


@pytest.mark.parametrize("command", sorted(READS_A_DSN))
def test_every_command_that_reads_a_dsn_takes_the_same_options(command: str) -> None:
    documented = _documented(command)
    assert {"--dsn", "--dsn-env"} <= documented
    private = {"--private-dsn", "--private-dsn-env"}
    assert (private <= documented) is READS_A_DSN[command]
    assert not {"--env", "--private-env"} & documented


def test_format_takes_the_same_values_for_the_same_kind_of_output() -> None:
    formats = {
        name: tuple(_options(name)["--format"].choices or ()) for name in cli.COMMANDS if "--format" in _options(name)
    }
    # Human-readable output is "text" everywhere, tools get "json"; diff's document for PR comments is Markdown.
    assert formats == {
        "plan": ("text", "json"),
        "check": ("text", "json"),
        "dsn": ("text", "json"),
        "bench": ("text", "json"),
        "diff": ("markdown", "json"),
        "affected": ("text", "json"),
        "backup": ("text", "json"),
        "restore": ("text", "json"),
    }
    for name in formats:
        assert _options(name)["--format"].default == formats[name][0]


@pytest.mark.parametrize("command", ["check", "bench"])
def test_format_table_still_works_with_a_deprecation_warning(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = cli.parse([command, "--format", "table"])
    assert args.format == "text"
    assert capsys.readouterr().err == (
        "warning: --format table is deprecated and will be removed in the next release; use --format text\n"
    )
    assert cli.parse([command, "--format", "json"]).format == "json"
    assert capsys.readouterr().err == ""


def _cli(*argv: str, stdout: int = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEFAULT_STORAGE_DSN": DSN, "COLUMNS": "100"}
    return subprocess.run(
        [sys.executable, "-m", "divio_storage_infra", *argv],
        cwd=ROOT,
        env=env,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
    )


def test_an_unknown_option_prints_the_subcommands_usage_with_a_suggestion() -> None:
    result = _cli("plan", "--stak", "example-live")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("usage: divio-storage plan ")
    assert result.stderr.splitlines()[-1] == (
        "divio-storage plan: error: unrecognized arguments: --stak (did you mean --stack?) 'example-live'"
    )
    dsn = _cli("dsn", "--dsn-evn", "X")
    assert dsn.stderr.startswith("usage: divio-storage dsn ")
    assert "--dsn-evn (did you mean --dsn-env?)" in dsn.stderr


def test_an_unknown_argument_that_holds_a_secret_is_not_echoed() -> None:
    result = _cli("check", "--dsn-env", "NOPE", DSN)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "wJalr" not in result.stderr and "unrecognized arguments: 's3://***@" in result.stderr


@pytest.mark.parametrize("argv", [("dsn",), ("dsn", "--format", "json"), ("plan",)], ids=" ".join)
def test_output_into_a_closed_pipe_ends_quietly(argv: tuple[str, ...]) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first byte, as after `| head -1` has its line
    try:
        result = _cli(*argv, stdout=write)
    finally:
        os.close(write)
    assert result.stderr == ""
    assert result.returncode == cli.EXIT_CLOSED_PIPE


def test_head_gets_its_line_and_the_pipeline_no_traceback() -> None:
    shell = f"{sys.executable} -m divio_storage_infra dsn | head -1"
    result = subprocess.run(
        ["bash", "-c", shell],
        cwd=ROOT,
        env={**os.environ, "DEFAULT_STORAGE_DSN": DSN},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("DSN") and result.stdout.count("\n") == 1
