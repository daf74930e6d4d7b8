"""Incremental review (cli/review_selection.py): a change confined to registry entries and stack configs plans
only what it touches, and the review is the full review's byte for byte; any other change is reviewed in full."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from divio_storage_infra.cli import review_input
from divio_storage_infra.cli.plan import resolve_program
from divio_storage_infra.cli.review_input import completed, review_revisions
from divio_storage_infra.cli.review_selection import FULL, SKIP, choose, registry_choice
from divio_storage_infra.preview.plan import build_plan
from divio_storage_infra.preview.render import render_json
from divio_storage_infra.review.plans import parse_plan
from divio_storage_infra.review.repository import affected, review_repository, review_stack
from divio_storage_infra.review.repository_render import render_repository_markdown

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "platform-under-review"
MAIN = (
    "from pathlib import Path\n\nfrom divio_storage_infra.platform import main\n\n"
    'main(Path(__file__).resolve().with_name("websites.yaml"))\n'
)
STACK = (
    "config:\n"
    f"  {PROJECT}:s3Credentials:\n"
    "    exo-a:\n      accessKeyId: EXOkeyAAAAAAAAAAAAAAAAAAAA\n      secretAccessKey:\n"
    "        secure: v1:cGxhY2Vob2xkZXI=:c2VjcmV0LWE=\n"
    "    exo-b:\n      accessKeyId: EXOkeyBBBBBBBBBBBBBBBBBBBB\n      secretAccessKey:\n"
    "        secure: v1:cGxhY2Vob2xkZXI=:c2VjcmV0LWI=\n"
)


def write_project(directory: Path, registry: dict[str, Any]) -> Path:
    """A platform project of ``registry`` with static keys ``exo-a`` and ``exo-b`` in its stack ``review``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Pulumi.yaml").write_text(f"name: {PROJECT}\nruntime: python\n")
    (directory / "__main__.py").write_text(MAIN)
    (directory / "Pulumi.review.yaml").write_text(STACK)
    (directory / "websites.yaml").write_text(yaml.safe_dump(registry, sort_keys=False))
    return directory


# --- the property: generated registries and changes ------------------------------------------------------------

_AWS = {"cloud": "aws"}
_EXO = [
    {"cloud": "exoscale", "region": "ch-gva-2", "credentials": "static", "credentialsKey": "exo-a"},
    {"cloud": "exoscale", "region": "ch-dk-2", "credentials": "static", "credentialsKey": "exo-a"},
    {"cloud": "exoscale", "region": "ch-gva-2", "credentials": "static", "credentialsKey": "exo-b"},
]
_PLACES = st.sampled_from([_AWS, _AWS, *_EXO])
_ENTRY = st.fixed_dictionaries(
    {"place": _PLACES, "private": st.booleans(), "origins": st.integers(0, 2), "region": st.sampled_from(["", "w"])}
)


def _entry(index: int, drawn: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"website": name or f"site{index}", "environment": "live", **drawn["place"]}
    if drawn["private"]:
        entry["privateStorage"] = True
    if drawn["origins"]:
        entry["corsOrigins"] = [f"https://o{i}.site{index}.example.com" for i in range(drawn["origins"])]
    if drawn["region"] and entry["cloud"] == "aws":
        entry["region"] = "eu-west-1"  # overrides the defaults' region
    return entry


CHANGES = ["add", "remove", "rename", "change", "defaults", "provider", "nothing", "reorder"]


def _changed(registry: dict[str, Any], change: str, drawn: dict[str, Any], at: int) -> dict[str, Any]:
    websites = [dict(w) for w in registry["websites"]]
    defaults = dict(registry["defaults"])
    index = at % len(websites)
    if change == "add":
        websites.insert(index, _entry(90 + at, drawn))
    elif change == "remove":
        del websites[index]
    elif change == "rename":
        websites[index]["website"] = f"renamed{at}"
    elif change == "change":
        websites[index]["corsOrigins"] = [*websites[index].get("corsOrigins", []), "https://new.example.org"]
    elif change == "defaults":
        defaults["region"] = "eu-north-1"  # reaches the AWS entries that do not override it
    elif change == "provider":
        # Another zone for one S3-compatible website: a new shared provider, or one provider fewer.
        exo = [w for w in websites if w["cloud"] == "exoscale"] or websites
        target = exo[index % len(exo)]
        target.update(_EXO[1] if target.get("region") == "ch-gva-2" else _EXO[0])
    elif change == "reorder":
        websites.reverse()
    return {"defaults": defaults, "websites": websites}


def _plan(directory: Path, only: frozenset[str] | None = None) -> Any:
    document = build_plan(resolve_program(directory, "review"), only=only)
    return parse_plan(render_json(document), label=str(directory))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    entries=st.lists(_ENTRY, min_size=2, max_size=4),
    change=st.sampled_from(CHANGES),
    drawn=_ENTRY,
    at=st.integers(0, 20),
)
def test_the_review_of_the_selected_websites_is_the_full_review(
    tmp_path_factory: pytest.TempPathFactory, entries: list[dict[str, Any]], change: str, drawn: dict[str, Any], at: int
) -> None:
    base_registry = {
        "defaults": {"region": "eu-central-1", "tags": {"team": "web"}},
        "websites": [_entry(i, e) for i, e in enumerate(entries)],
    }
    head_registry = _changed(base_registry, change, drawn, at)
    work = tmp_path_factory.mktemp("review")
    base, head = write_project(work / "base", base_registry), write_project(work / "head", head_registry)
    full = review_stack(".", _plan(base), _plan(head))
    choice = registry_choice(yaml.safe_load((base / "websites.yaml").read_text()), head_registry)
    if choice is None:  # reviewed in full: every entry changed
        assert change == "defaults" or len(base_registry["websites"]) <= 1
        return
    if choice is SKIP:
        assert not full.diff.changed
        return
    assert choice.only is not None
    partial = completed(review_stack(".", _plan(base, choice.only), _plan(head, choice.only)), choice)
    whole, selected = review_repository([full]), review_repository([partial])
    assert render_repository_markdown(selected) == render_repository_markdown(whole)
    assert affected(selected.stacks) == affected(whole.stacks)
    assert [f.message for f in partial.findings] == [f.message for f in full.findings]


def test_choices_follow_the_changed_files() -> None:
    registry = {
        "defaults": {"region": "eu-central-1"},
        "websites": [{"website": f"s{i}", "environment": "live"} for i in range(3)],
    }
    changed = {
        **registry,
        "websites": [
            *registry["websites"][:2],
            {"website": "s2", "environment": "live", "corsOrigins": ["https://x.example.com"]},
        ],
    }
    texts = {
        ("base", "platform/websites.yaml"): yaml.safe_dump(registry),
        ("head", "platform/websites.yaml"): yaml.safe_dump(changed),
        ("base", "platform/Pulumi.a.yaml"): "config: {}\n",
        ("head", "platform/Pulumi.a.yaml"): "config: {}\n",
    }

    def read(side: str, path: str) -> str | None:
        return texts.get((side, path))

    stacks = [("platform", "a"), ("platform", "b"), (".", "example-live")]
    configs = {
        ("platform", "a"): {"platform/Pulumi.a.yaml"},
        ("platform", "b"): {"platform/Pulumi.b.yaml"},
        (".", "example-live"): {"stacks/Pulumi.example-live.yaml"},
    }
    found = choose(stacks, configs, ["platform/websites.yaml"], read)
    assert found is not None
    assert found[".", "example-live"] is SKIP
    assert found["platform", "a"].only == frozenset({"s2/live"})
    # A stack config and a registry: that stack in full, the other stacks of the project by entry.
    found = choose(stacks, configs, ["platform/Pulumi.a.yaml", "platform/websites.yaml"], read)
    assert found is not None and found["platform", "a"] is FULL and found["platform", "b"].only == {"s2/live"}
    # Anything else: library code, constraints, a program, a project file, a YAML file that is no registry.
    for other in (
        "divio_storage_infra/platform.py",
        "constraints.txt",
        "platform/__main__.py",
        "platform/Pulumi.yaml",
        "README.md",
    ):
        assert choose(stacks, configs, ["platform/websites.yaml", other], read) is None


# --- end to end: a git repository ----------------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with a platform project of 30 websites (every fifth one on a shared Exoscale provider)."""
    root = tmp_path / "repo"
    registry = {
        "defaults": {"region": "eu-central-1", "tags": {"team": "web"}},
        "websites": [
            _entry(i, {"place": _EXO[0] if i % 5 == 0 else _AWS, "private": i % 2 == 0, "origins": 1, "region": ""})
            for i in range(30)
        ],
    }
    write_project(root / "platform", registry)
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    return root


def _recording(monkeypatch: pytest.MonkeyPatch) -> list[frozenset[str] | None]:
    calls: list[frozenset[str] | None] = []
    real = review_input.plan_stack

    def recording(side: Any, target: Any, only: frozenset[str] | None = None) -> Any:
        calls.append(only)
        return real(side, target, only)

    monkeypatch.setattr(review_input, "plan_stack", recording)
    return calls


def test_a_registry_entry_change_plans_that_website_and_reviews_as_the_full_review(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = repo / "platform" / "websites.yaml"
    registry.write_text(registry.read_text().replace("https://o0.site7.example.com", "https://o0.site7.example.org"))
    _git(repo, "commit", "-qam", "one origin of one website")
    calls = _recording(monkeypatch)
    incremental = review_revisions("HEAD~1..HEAD", [], [], cwd=repo)
    # site7 changed; site0 declares the shared Exoscale provider at both revisions.
    assert calls == [frozenset({"site7/live", "site0/live"})] * 2
    calls.clear()
    full = review_revisions("HEAD~1..HEAD", [], [], cwd=repo, full=True)
    assert calls == [None, None]
    assert render_repository_markdown(incremental) == render_repository_markdown(full)
    shown = render_repository_markdown(full)
    assert "site7" in shown and "websites unchanged: site0-live" in shown
    assert affected(incremental.stacks) == affected(full.stacks)


def test_a_change_outside_the_registry_falls_back_to_the_full_review(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = repo / "platform" / "websites.yaml"
    registry.write_text(registry.read_text().replace("https://o0.site7.example.com", "https://o0.site7.example.org"))
    (repo / "platform" / "naming.py").write_text("SUFFIX = 'library code the program may import'\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "an entry and some code")
    calls = _recording(monkeypatch)
    review = review_revisions("HEAD~1..HEAD", [], [], cwd=repo)
    assert calls == [None, None]  # every website of the stack at both revisions
    assert "site7" in render_repository_markdown(review)


def test_the_cli_gives_the_same_bytes_with_and_without_full(repo: Path) -> None:
    registry = repo / "platform" / "websites.yaml"
    text = registry.read_text()
    registry.write_text(text.replace("website: site3\n", "website: site3-renamed\n"))
    _git(repo, "commit", "-qam", "a renamed website")
    command = [sys.executable, "-m", "divio_storage_infra"]
    outputs = {}
    for extra in ([], ["--full"]):
        for sub in ("diff", "affected"):
            done = subprocess.run(
                [*command, sub, "--rev", "HEAD~1..HEAD", *extra],
                cwd=repo,
                capture_output=True,
                text=True,
                check=False,
                timeout=600,
            )
            assert done.returncode in (0, 1), done.stderr[-2000:]
            outputs[sub, bool(extra)] = (done.returncode, done.stdout)
    assert outputs["diff", False] == outputs["diff", True]
    assert outputs["affected", False] == outputs["affected", True]
    assert "site3-renamed" in outputs["affected", True][1]
