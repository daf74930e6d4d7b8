"""``divio-storage diff`` and ``affected`` as a user runs them: exit status, bad input, --rev on a real git
repository with two commits, and a fleet-sized diff (500 websites) that must stay correct."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from support.plans import edited, fleet, snapshot, without, write

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "divio_storage_infra", *args],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_exit_status_no_danger_danger_and_json(tmp_path: Path) -> None:
    base = write(tmp_path / "base.json", snapshot("example-live"))
    same = cli("diff", str(base), str(base))
    assert (same.returncode, same.stdout, same.stderr) == (0, "No changes (stack `example-live`)\n", "")
    head = write(tmp_path / "head.json", without(snapshot("example-live"), "example-live-media", ":Bucket"))
    danger = cli("diff", str(base), str(head))
    assert danger.returncode == 1 and danger.stderr == ""
    assert danger.stdout.startswith("## Storage changes") and "**data-loss**" in danger.stdout
    as_json = cli("diff", str(base), str(head), "--format", "json")
    assert as_json.returncode == 1
    document = json.loads(as_json.stdout)
    assert document["format"] == "divio-storage-diff/v1"
    assert [(d["class"], d["name"], d["blockedByProtection"]) for d in document["danger"]] == [
        ("data-loss", "example-live-media", True)
    ]
    assert cli("diff", str(base), str(head), "--format", "json").stdout == as_json.stdout
    harmless = write(
        tmp_path / "harmless.json",
        edited(snapshot("example-live"), "example-live-media", lambda r: r["inputs"]["tags"].update(a="b"), ":Bucket"),
    )
    update = cli("diff", str(base), str(harmless))
    assert update.returncode == 0 and "~ updated" in update.stdout


def test_bad_input_exits_2_with_one_clear_error(tmp_path: Path) -> None:
    good = write(tmp_path / "good.json", snapshot("example-live"))
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "other.json").write_text(json.dumps({"format": "something/v1", "resources": []}), encoding="utf-8")
    cases = {
        (str(tmp_path / "missing.json"), str(good)): "cannot read the plan file",
        (str(tmp_path / "broken.json"), str(good)): "invalid JSON at line 1",
        (str(good), str(tmp_path / "other.json")): 'format: "something/v1" is not a plan format',
    }
    for (base, head), expected in cases.items():
        for command in ("diff", "affected"):
            result = cli(command, base, head)
            assert result.returncode == 2, result
            assert result.stdout == ""
            assert result.stderr.startswith("error: ") and expected in result.stderr
            assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    only_one = cli("diff", str(good))
    assert only_one.returncode == 2 and "give two plan files" in only_one.stderr


def test_affected_lists_changed_websites(tmp_path: Path) -> None:
    base = write(tmp_path / "base.json", fleet(3))
    head = write(
        tmp_path / "head.json",
        fleet(
            3,
            edits={1: lambda rs: next(r for r in rs if r["name"] == "site001-live-user")["inputs"].update(path="/x/")},
        ),
    )
    text = cli("affected", str(base), str(head))
    assert (text.returncode, text.stdout) == (0, "divio-storage\tplatform\tsite001\tlive\n")
    as_json = cli("affected", str(base), str(head), "--format", "json")
    assert json.loads(as_json.stdout) == [
        {"project": "divio-storage", "stack": "platform", "website": "site001", "environment": "live"}
    ]
    assert cli("affected", str(base), str(base), "--format", "json").stdout == "[]\n"


def _widen_cors(resources: list[dict[str, Any]]) -> None:
    cors = next(r for r in resources if r["type"].endswith("BucketCorsConfiguration"))
    cors["inputs"]["corsRules"][0]["allowedOrigins"].append("https://evil.example")


def _drop_private_bucket(resources: list[dict[str, Any]]) -> None:
    resources[:] = [
        r for r in resources if not (r["type"] == "aws:s3/bucket:Bucket" and r["name"].endswith("-private"))
    ]


def test_fleet_of_500_websites(tmp_path: Path) -> None:
    """Two plans of 500 websites: the diff finds exactly the two changed ones (timing is measured separately)."""
    base = fleet(500)
    head = fleet(500, edits={7: _widen_cors, 421: _drop_private_bucket})
    per_site = len(snapshot("example-live")["resources"])
    assert len(base["resources"]) == 500 * per_site
    base_path, head_path = write(tmp_path / "base.json", base), write(tmp_path / "head.json", head)
    result = cli("diff", str(base_path), str(head_path), "--format", "json")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert [(d["class"], d["website"]) for d in document["danger"]] == [
        ("data-loss", "site421-live"),
        ("cors-widened", "site007-live"),
    ]
    changed = {w["website"]: w["counts"] for w in document["websites"] if w["changed"]}
    assert changed == {
        "site007-live": {"added": 0, "removed": 0, "replaced": 0, "updated": 1, "unchanged": per_site - 1},
        "site421-live": {"added": 0, "removed": 1, "replaced": 0, "updated": 0, "unchanged": per_site - 1},
    }
    assert sum(1 for w in document["websites"] if not w["changed"]) == 498
    markdown = cli("diff", str(base_path), str(head_path)).stdout
    assert "498 websites unchanged: site000-live, site001-live" in markdown and "and 488 more." in markdown
    lines = cli("affected", str(base_path), str(head_path)).stdout.splitlines()
    assert [line.split("\t")[2:] for line in lines] == [["site007", "live"], ["site421", "live"]]


# --- --rev ---------------------------------------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True).stdout


def test_rev_plans_two_commits_in_temporary_worktrees(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copytree(
        ROOT / "divio_storage_infra", repo / "divio_storage_infra", ignore=shutil.ignore_patterns("__pycache__")
    )
    # .gitignore too: Python writes __pycache__ into the checkout it imports from, as in any real repository.
    for name in ("Pulumi.yaml", "__main__.py", ".gitignore"):
        shutil.copy(ROOT / name, repo / name)
    (repo / "stacks").mkdir()
    stack_file = repo / "stacks" / "Pulumi.example-live.yaml"
    shutil.copy(ROOT / "stacks" / "Pulumi.example-live.yaml", stack_file)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    text = stack_file.read_text(encoding="utf-8")
    stack_file.write_text(
        text.replace("    - https://example.com\n", "    - https://example.com\n    - https://new.example.org\n")
    )
    _git(repo, "commit", "-qam", "a new origin")
    # An uncommitted edit in the working tree must neither be planned nor touched.
    stack_file.write_text(text.replace("eu-central-1", "eu-west-1"), encoding="utf-8")
    before = _git(repo, "status", "--porcelain")

    result = cli("diff", "--rev", "HEAD~1..HEAD", "--stack", "example-live", cwd=repo)
    assert result.returncode == 1, result.stderr
    assert "**cors-widened** in **example-live**" in result.stdout and "https://new.example.org" in result.stdout
    assert "eu-west-1" not in result.stdout
    assert _git(repo, "status", "--porcelain") == before
    assert len(_git(repo, "worktree", "list").splitlines()) == 1

    _git(repo, "checkout", "-q", "--", ".")
    shutil.copy(ROOT / "stacks" / "Pulumi.example-azure-live.yaml", repo / "stacks")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "a new website stack")
    added = cli("affected", "--rev", "HEAD~1..HEAD", "--stack", "example-azure-live", "--format", "json", cwd=repo)
    assert (added.returncode, json.loads(added.stdout)) == (
        0,
        [{"project": "divio-storage", "stack": "example-azure-live", "website": "example", "environment": "live"}],
    ), added.stderr

    bad = cli("diff", "--rev", "HEAD~1..no-such-branch", cwd=repo)
    assert bad.returncode == 2 and "'no-such-branch' is not a commit" in bad.stderr
    malformed = cli("diff", "--rev", "HEAD", cwd=repo)
    assert malformed.returncode == 2 and "expected BASE..HEAD" in malformed.stderr
    assert len(_git(repo, "worktree", "list").splitlines()) == 1
