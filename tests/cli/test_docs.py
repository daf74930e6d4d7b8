"""The documentation cannot drift: the CLI reference is generated from the parsers (stale is a failure), and the
site builds in strict mode, which a broken link or a page missing from the navigation fails."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from divio_storage_infra.cli import main as cli
from divio_storage_infra.cli import reference

ROOT = Path(__file__).resolve().parents[2]
MKDOCS = Path(sys.executable).parent / "mkdocs"


def test_the_cli_reference_is_the_one_the_parsers_give() -> None:
    page = (ROOT / reference.PAGE).read_text(encoding="utf-8")
    assert page == reference.render(), "stale: run .venv/bin/python -m divio_storage_infra.cli.reference"


def test_the_cli_reference_documents_every_command_and_option() -> None:
    page = reference.render()
    for name, command in cli.subcommand_parsers(cli.build_parser()).items():
        assert f"\n## {name}\n" in page
        for action in command._actions:
            if action.help is argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
                continue
            for option in action.option_strings:
                assert f"`{option}`" in page, (name, option)
    # The old spellings are named as deprecated, never as options of their own.
    assert "`--env` (use `--dsn-env`)" in page and "| `--env` |" not in page


def test_a_stale_reference_fails_the_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "cli.md"
    assert reference.main([str(page)]) == 0
    assert reference.main(["--check", str(page)]) == 0
    page.write_text(page.read_text(encoding="utf-8").replace("--dsn-env", "--dsn-environment"), encoding="utf-8")
    assert reference.main(["--check", str(page)]) == 1
    assert "is stale" in capsys.readouterr().err
    assert reference.main(["--check", str(tmp_path / "missing.md")]) == 1


def test_the_reference_does_not_depend_on_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    narrow = reference.render()
    monkeypatch.setenv("COLUMNS", "300")
    assert reference.render() == narrow


def _site(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy2(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(ROOT / "docs", root / "docs")
    return root


def _build(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(root / "site")],
        cwd=root,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_site_builds_in_strict_mode(tmp_path: Path) -> None:
    root = _site(tmp_path)
    result = _build(root)
    assert result.returncode == 0, result.stderr
    assert (root / "site" / "reference" / "cli" / "index.html").is_file()


@pytest.mark.parametrize(
    ("breakage", "says"),
    [
        ("link", "contains a link 'no-such-page.md'"),
        ("anchor", "no-such-anchor"),
        ("missing page", "reference/config-keys.md"),
    ],
)
def test_a_broken_link_or_a_missing_page_fails_the_strict_build(tmp_path: Path, breakage: str, says: str) -> None:
    root = _site(tmp_path)
    page = root / "docs" / "app.md"
    if breakage == "link":
        page.write_text(page.read_text(encoding="utf-8") + "\nSee [nothing](no-such-page.md).\n", encoding="utf-8")
    elif breakage == "anchor":
        page.write_text(page.read_text(encoding="utf-8") + "\nSee [x](dsn.md#no-such-anchor).\n", encoding="utf-8")
    else:
        (root / "docs" / "reference" / "config-keys.md").unlink()
    result = _build(root)
    assert result.returncode != 0
    assert says in result.stdout + result.stderr
