"""``diff --rev`` and ``affected --rev`` review the whole repository: every Python Pulumi project and every stack
of each, at both revisions, against a git repository with one commit per kind of change (tests/support/
review_repo.py). Each test names the false "No changes" (or the traceback) it guards against."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.plans import snapshot, write
from support.review_repo import BIN, Repo, build, cli, git

PLATFORM = {"project": "divio-storage-platform", "stack": "example"}
EVERY_STACK = [
    ("divio-storage", "example-azure-live"),
    ("divio-storage", "example-exoscale-live"),
    ("divio-storage", "example-live"),
    ("divio-storage-platform", "example"),
]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repo]:
    built = build(tmp_path_factory.mktemp("review") / "repo")
    yield built
    # Every review removes its temporary checkouts: only the repository's own worktree is left.
    assert len(git(built.path, "worktree", "list").splitlines()) == 1


def review(repo: Repo, kind: str, *args: str, cwd: Path | None = None) -> tuple[int, dict[str, Any]]:
    result = cli(repo.path, "diff", "--rev", repo.range(kind), "--format", "json", *args, cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    document = json.loads(result.stdout)
    assert document["format"] == "divio-storage-review/v1"
    return result.returncode, document


def stacks(document: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(s["project"], s["stack"]): s["status"] for s in document["stacks"]}


def test_a_registry_entry_change_is_reviewed_without_naming_the_platform_stack(repo: Repo) -> None:
    """Before: the default stack was example-live, so a CORS change in the registry printed "No changes"."""
    result = cli(repo.path, "diff", "--rev", repo.range("registry"))
    assert result.returncode == 1, result.stderr
    assert "**cors-widened** in **shop-live** (stack `divio-storage-platform/example in stacks/platform/`)" in (
        result.stdout
    )
    assert "https://evil.example" in result.stdout
    # From inside the platform project, without --stack: the review covers the repository, not the directory.
    inside = cli(
        repo.path, "affected", "--rev", repo.range("registry"), "--format", "json", cwd=repo.path / "stacks/platform"
    )
    assert json.loads(inside.stdout) == [{**PLATFORM, "website": "shop", "environment": "live"}], inside.stderr


def test_a_per_website_stack_config_change_is_reviewed_by_default(repo: Repo) -> None:
    """Before: only example-live was planned, so a change to another stack's config gave ``[]``."""
    status, document = review(repo, "stack-config")
    assert status == 1
    assert [(d["class"], d["project"], d["stack"], d["website"]) for d in document["danger"]] == [
        ("cors-widened", "divio-storage", "example-exoscale-live", "example-ch-live")
    ]
    assert document["affected"] == [
        {"project": "divio-storage", "stack": "example-exoscale-live", "website": "example-ch", "environment": "live"}
    ]
    assert stacks(document) == dict.fromkeys(EVERY_STACK, "unchanged") | {
        ("divio-storage", "example-exoscale-live"): "changed"
    }


def test_a_library_change_reviews_every_stack_with_each_revisions_own_code(repo: Repo) -> None:
    """Library code belongs to no stack: every stack of every project is planned, each revision with its code."""
    status, document = review(repo, "library")
    assert status == 0 and document["danger"] == []
    assert stacks(document) == dict.fromkeys(EVERY_STACK, "changed")
    assert [(a["project"], a["stack"], a["website"]) for a in document["affected"]] == [
        ("divio-storage", "example-azure-live", "example"),
        ("divio-storage", "example-exoscale-live", "example-ch"),
        ("divio-storage", "example-live", "example"),
        ("divio-storage-platform", "example", "blog"),
        ("divio-storage-platform", "example", "shop"),
        ("divio-storage-platform", "example", "shop-ch"),
    ]
    for stack in document["stacks"]:
        changes = [c for w in stack["diff"]["websites"] for r in w["resources"] for c in r["changes"]]
        assert {"path": "tags.managed-by", "secret": False, "old": "divio-storage-infra", "new": "divio"} in changes


def test_an_added_stack_is_reviewed(repo: Repo) -> None:
    status, document = review(repo, "stack-added")
    assert status == 0
    assert stacks(document)[("divio-storage", "second-live")] == "added"
    assert document["affected"] == [
        {"project": "divio-storage", "stack": "second-live", "website": "second", "environment": "live"}
    ]
    added = next(s for s in document["stacks"] if s["stack"] == "second-live")["diff"]
    assert {w["website"]: w["counts"]["added"] > 0 for w in added["websites"]} == {"second-live": True}


def test_a_removed_stack_is_data_loss_and_the_markdown_groups_by_project_and_stack(repo: Repo) -> None:
    result = cli(repo.path, "diff", "--rev", repo.range("stack-removed"))
    assert result.returncode == 1, result.stderr
    markdown = result.stdout
    danger = [line for line in markdown.splitlines() if line.startswith("- **")]
    assert len(danger) == 4 and all(
        line.startswith("- **data-loss** in **example-live** (stack `divio-storage/example-azure-live`), ")
        and "protection blocks it" in line
        for line in danger
    )
    headings = [line for line in markdown.splitlines() if line.startswith(("## ", "### "))]
    assert headings == [
        "## Storage changes in 1 of 5 stacks",
        "### :warning: Danger (4)",
        "### Stacks",
        "## Project `divio-storage`, stack `example-azure-live` (removed)",
        "### Summary",
        "### example-live",
        "### Stack outputs",
    ]
    assert "| `divio-storage` | `example-azure-live` | removed | 1 |" in markdown
    assert "Unchanged (4): `divio-storage/example-exoscale-live`, `divio-storage/example-live`, " in markdown
    assert "different formats" not in markdown


def test_moving_an_exoscale_website_to_another_zone_is_data_loss(repo: Repo) -> None:
    """Before: the buckets kept their URNs and inputs, only their provider changed, and the review said "Danger:
    None found". A provider with another region or endpoint re-creates what it manages."""
    status, document = review(repo, "zone-move", "--stack", "example-exoscale-live")
    assert status == 1
    assert [(d["class"], d["name"], d["blockedByProtection"]) for d in document["danger"]] == [
        ("data-loss", "example-ch-live-media", True),
        ("data-loss", "example-ch-live-private", True),
    ]
    (only,) = document["stacks"]
    resources = [r for w in only["diff"]["websites"] for r in w["resources"]]
    bucket = next(r for r in resources if r["name"] == "example-ch-live-media")
    assert bucket["action"] == "replaced"
    assert bucket["replaceReasons"] == ["provider.endpoints[0].s3", "provider.region"]


def test_a_removed_registry_website_shows_its_stack_output_as_one_change(repo: Repo) -> None:
    """Before: the output ``blog/live`` (a JSON document) came out as one line per leaf under "Stack outputs"."""
    result = cli(repo.path, "diff", "--rev", repo.range("website-removed"), "--project-dir", "stacks/platform")
    assert result.returncode == 1, result.stderr
    section = result.stdout.split("### Stack outputs\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(section) == 1 and section[0].startswith("- `blog/live`: `JSON document removed ("), section


def test_a_change_no_plan_reads_is_no_changes_naming_every_stack_reviewed(repo: Repo) -> None:
    result = cli(repo.path, "diff", "--rev", repo.range("constraints"))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (
        "No changes (4 stacks reviewed: `divio-storage/example-exoscale-live`, `divio-storage/example-live`, "
        "`divio-storage/second-live`, `divio-storage-platform/example in stacks/platform/`)\n"
    )


def test_unknown_stack_or_project_is_exit_2_listing_what_exists(repo: Repo) -> None:
    """Before: a typo in --stack printed "No changes" (exit 0); one in --project-dir ended in a traceback."""
    typo = cli(repo.path, "affected", "--rev", repo.range("registry"), "--stack", "exmaple-live")
    assert (typo.returncode, typo.stdout) == (2, "")
    assert typo.stderr == (
        "error: --stack 'exmaple-live': no such stack at either revision; stacks: example, example-azure-live, "
        "example-exoscale-live, example-live; did you mean 'example-live'?\n"
    )
    project = cli(repo.path, "diff", "--rev", repo.range("registry"), "--project-dir", "stacks/platfrom")
    assert (project.returncode, project.stdout) == (2, "")
    assert project.stderr == (
        "error: --project-dir 'stacks/platfrom': no Python Pulumi project there at either revision; projects: ., "
        "stacks/platform; did you mean 'stacks/platform'?\n"
    )
    outside = cli(repo.path, "diff", "--rev", repo.range("registry"), "--project-dir", "/")
    assert outside.returncode == 2 and "not inside the repository" in outside.stderr
    assert "Traceback" not in typo.stderr + project.stderr + outside.stderr


def test_plan_files_of_different_stacks_are_refused_unless_allowed(tmp_path: Path) -> None:
    base = write(tmp_path / "base.json", snapshot("example-live"))
    head = write(tmp_path / "head.json", snapshot("example-exoscale-live"))
    refused = cli(tmp_path, "diff", str(base), str(head))
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr == (
        "error: the plans are of different stacks: BASE is project 'divio-storage' stack 'example-live', HEAD is "
        "project 'divio-storage' stack 'example-exoscale-live'; pass --allow-different-stacks to compare them "
        "anyway\n"
    )
    assert cli(tmp_path, "affected", str(base), str(head)).returncode == 2
    text = cli(tmp_path, "affected", str(base), str(head), "--allow-different-stacks")
    assert (text.returncode, text.stdout.splitlines()) == (
        0,
        [
            "divio-storage\texample-exoscale-live\texample\tlive",
            "divio-storage\texample-exoscale-live\texample-ch\tlive",
        ],
    )
    allowed = cli(tmp_path, "diff", str(base), str(head), "--allow-different-stacks")
    assert allowed.returncode == 1 and "**data-loss**" in allowed.stdout


def test_a_terminated_review_removes_its_checkouts(repo: Repo) -> None:
    """A cancelled CI job sends SIGTERM: the review ends as on Ctrl-C (exit 130) and leaves no worktree behind."""
    process = subprocess.Popen(
        [str(BIN / "divio-storage"), "diff", "--rev", repo.range("library")],
        cwd=repo.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while len(git(repo.path, "worktree", "list").splitlines()) < 3:
            assert process.poll() is None and time.monotonic() < deadline, process.returncode
            time.sleep(0.05)
        process.terminate()
        _, stderr = process.communicate(timeout=600)
    finally:
        process.kill()
    assert (process.returncode, stderr) == (130, "interrupted\n")
    assert len(git(repo.path, "worktree", "list").splitlines()) == 1
