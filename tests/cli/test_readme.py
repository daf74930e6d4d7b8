"""The README stays what a newcomer reads in five minutes: short, its links resolve, and its worked example (a CORS
origin added to the example stack, planned and diffed) prints exactly what it shows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from divio_storage_infra.cli import main as cli

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MAX_BYTES = 12 * 1024


def test_the_readme_is_at_most_12_kb() -> None:
    assert len(README.read_bytes()) <= MAX_BYTES


def test_every_relative_link_of_the_readme_resolves() -> None:
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README.read_text(encoding="utf-8"))
    relative = [link for link in links if "://" not in link]
    assert relative, "the README links into docs/"
    assert [link for link in relative if not (ROOT / link).exists()] == []


def test_the_public_api_the_readme_shows_imports() -> None:
    code = README.read_text(encoding="utf-8").split("## Public API", 1)[1].split("```python\n", 1)[1].split("```")[0]
    exec(compile(code, str(README), "exec"), {})


def test_the_worked_cors_example_prints_what_the_readme_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    monkeypatch.chdir(ROOT)
    stack = (ROOT / "stacks" / "Pulumi.example-live.yaml").read_text(encoding="utf-8")
    origin = "    - https://example.com\n"
    assert origin in stack
    changed = tmp_path / "Pulumi.example-live.yaml"
    changed.write_text(stack.replace(origin, origin + "    - https://shop.example.com\n", 1), encoding="utf-8")
    base, head = tmp_path / "base.json", tmp_path / "head.json"
    for stack_arg, out in (("example-live", base), (str(changed), head)):
        assert cli.main(["plan", "--stack", stack_arg, "--format", "json"]) == 0
        out.write_bytes(capsysbinary.readouterr().out)
    assert cli.main(["diff", str(base), str(head)]) == 1
    shown = re.search(r"````markdown\n(.*?)````", README.read_text(encoding="utf-8"), re.DOTALL)
    assert shown is not None
    assert capsysbinary.readouterr().out.decode("utf-8") == shown.group(1)
