"""The example GitHub Actions workflow passes the workflow linters this project installs, and they catch breakage;
its own review commands, read from the YAML, review each kind of change in a git repository and give the preview
matrix the right stacks.

check-jsonschema validates it against the GitHub workflow schema it ships (no network); zizmor audits it for
security problems (template injection, credential persistence, unpinned actions) with ``--offline``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.review_repo import Repo, build, git

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


# --- the workflow's own commands, read from the YAML, against a git repository with each kind of change -----------

WORKFLOW_CONTEXT_KEYS = ("github.event.pull_request.base.sha", "github.event.pull_request.head.sha")


def _steps(job: str) -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return {step["id"]: step for step in document["jobs"][job]["steps"] if "id" in step}


def _expand(value: str, context: dict[str, str]) -> str:
    """``${{ expr }}`` replaced from ``context``; an expression the test does not know fails it (KeyError)."""
    return re.sub(r"\$\{\{\s*(.+?)\s*\}\}", lambda m: context[m.group(1)], value)


def _run_step(step: dict[str, Any], env: dict[str, str], context: dict[str, str], cwd: Path) -> dict[str, str]:
    """Run a step's script as a GitHub runner does (bash -eo pipefail), returning what it wrote to GITHUB_OUTPUT."""
    output = cwd.parent / "github-output"
    output.write_text("")
    step_env = {key: _expand(str(value), context) for key, value in step.get("env", {}).items()}
    full = {
        **os.environ,
        **env,
        **step_env,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(cwd.parent / "github-summary"),
    }
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, (step.get("name"), result.stdout, result.stderr)
    return dict(line.split("=", 1) for line in output.read_text().splitlines())


@pytest.fixture(scope="module")
def review_repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    return build(tmp_path_factory.mktemp("workflow") / "repo")


@pytest.mark.parametrize(
    ("kind", "danger", "stacks"),
    [
        ("registry", "1", [("divio-storage-platform", "example", "stacks/platform")]),
        ("stack-config", "1", [("divio-storage", "example-exoscale-live", ".")]),
        (
            "library",
            "0",
            [
                ("divio-storage", "example-azure-live", "."),
                ("divio-storage", "example-exoscale-live", "."),
                ("divio-storage", "example-live", "."),
                ("divio-storage-platform", "example", "stacks/platform"),
            ],
        ),
    ],
)
def test_the_workflow_reviews_each_kind_of_change_and_previews_the_right_stacks(
    review_repo: Repo, kind: str, danger: str, stacks: list[tuple[str, str, str]]
) -> None:
    """The review job's diff and affected steps, then the preview job's "Find the project" step for each matrix
    entry: a registry entry, a per-website stack config and a library change, with the workflow as it is."""
    document = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    commit = review_repo.commits[kind]
    git(review_repo.path, "checkout", "-q", commit)
    context = dict(zip(WORKFLOW_CONTEXT_KEYS, (f"{commit}~1", commit), strict=True))
    env = {key: str(value) for key, value in document["env"].items()}
    review = _steps("review")
    diff = _run_step(review["diff"], env, context, review_repo.path)
    assert diff == {"status": danger}
    comment = (review_repo.path / "diff.md").read_text(encoding="utf-8")
    assert comment.startswith("## Storage changes in ")
    affected = _run_step(review["affected"], env, context, review_repo.path)
    websites = json.loads(affected["websites"])
    assert websites and all(set(w) == {"project", "stack", "website", "environment"} for w in websites)
    matrix = json.loads(affected["stacks"])
    assert [(m["project"], m["stack"]) for m in matrix] == [(p, s) for p, s, _ in stacks]
    # Each matrix entry leads the preview job to the project directory that holds that stack's config.
    preview_env = document["jobs"]["preview"]["env"]
    for entry, (_, stack, directory) in zip(matrix, stacks, strict=True):
        matrix_context = {f"matrix.{key}": value for key, value in entry.items()}
        job_env = {k: _expand(str(v), matrix_context) for k, v in preview_env.items() if "secrets." not in str(v)}
        found = _run_step(_steps("preview")["project"], job_env, {}, review_repo.path)
        assert found == {"directory": directory}
        config_dir = "stacks" if directory == "." else directory
        assert (review_repo.path / config_dir / f"Pulumi.{stack}.yaml").is_file()
