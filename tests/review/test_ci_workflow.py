"""The example GitHub Actions workflow passes the workflow linters this project installs, and they catch breakage.

check-jsonschema validates it against the GitHub workflow schema it ships (no network); zizmor audits it for
security problems (template injection, credential persistence, unpinned actions) with ``--offline``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "ci" / "storage-review.yml"
BIN = Path(sys.executable).parent


def lint(path: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    commands = {
        "schema": [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
        "zizmor": [str(BIN / "zizmor"), "--offline", "--no-progress", str(path)],
    }
    return {name: subprocess.run(cmd, capture_output=True, text=True, check=False) for name, cmd in commands.items()}


def test_the_example_workflow_passes_both_linters() -> None:
    for name, result in lint(WORKFLOW).items():
        assert result.returncode == 0, (name, result.stdout, result.stderr)


@pytest.mark.parametrize(
    ("linter", "broken"),
    [
        # A job without runs-on is no valid workflow.
        ("schema", lambda text: text.replace("    runs-on: ubuntu-latest\n", "", 1)),
        # The PR title is attacker-controlled: expanding it inside a script is a template injection.
        (
            "zizmor",
            lambda text: text.replace(
                "          set +e\n", '          echo "${{ github.event.pull_request.title }}"\n          set +e\n', 1
            ),
        ),
        # Checking out without persist-credentials: false leaves the token in .git/config.
        ("zizmor", lambda text: text.replace("          persist-credentials: false\n", "", 1)),
    ],
)
def test_the_linters_fail_on_a_broken_copy(tmp_path: Path, linter: str, broken: object) -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    changed = broken(text)  # type: ignore[operator]
    assert changed != text
    copy = tmp_path / "storage-review.yml"
    copy.write_text(changed, encoding="utf-8")
    assert lint(copy)[linter].returncode != 0
