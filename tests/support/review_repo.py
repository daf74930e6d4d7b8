"""A git repository laid out like this one, with one commit per kind of change a review must see.

The repository holds a copy of the library (each revision is planned with its own code), the per-website program
with three stack configs, and the platform program with a small registry. Every commit after ``base`` makes one
kind of change; ``Repo.range(kind)`` is the ``--rev`` range that reviews exactly that commit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

REGISTRY = """\
defaults:
  cloud: aws
  region: eu-central-1
websites:
  - {website: shop, environment: live, credentials: iam-user, corsOrigins: [https://shop.example.com]}
  - {website: blog, environment: live}
  - {website: shop-ch, environment: live, cloud: exoscale, region: ch-gva-2, credentials: static,
     credentialsKey: exoscale-main}
"""

SECOND_STACK = """\
config:
  aws:region: eu-central-1
  divio-storage:website: second
  divio-storage:environment: live
  divio-storage:cloud: aws
  divio-storage:region: eu-central-1
"""


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` as a fixed author; raises on failure."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True).stdout


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _registry_cors(repo: Path) -> None:
    _edit(
        repo / "stacks/platform/websites.yaml",
        "[https://shop.example.com]",
        "[https://shop.example.com, https://evil.example]",
    )


def _stack_config_cors(repo: Path) -> None:
    _edit(
        repo / "stacks/Pulumi.example-exoscale-live.yaml",
        "    - https://www.example.ch\n",
        "    - https://www.example.ch\n    - https://new.example.org\n",
    )


def _library(repo: Path) -> None:
    _edit(repo / "divio_storage_infra/core/spec.py", '"managed-by": "divio-storage-infra"', '"managed-by": "divio"')


def _stack_added(repo: Path) -> None:
    (repo / "stacks/Pulumi.second-live.yaml").write_text(SECOND_STACK, encoding="utf-8")


def _stack_removed(repo: Path) -> None:
    (repo / "stacks/Pulumi.example-azure-live.yaml").unlink()


def _zone_move(repo: Path) -> None:
    _edit(repo / "stacks/Pulumi.example-exoscale-live.yaml", "region: ch-gva-2", "region: ch-dk-2")


def _website_removed(repo: Path) -> None:
    _edit(repo / "stacks/platform/websites.yaml", "  - {website: blog, environment: live}\n", "")


def _constraints(repo: Path) -> None:
    with (repo / "constraints.txt").open("a", encoding="utf-8") as stream:
        stream.write("# a comment: nothing any plan reads changes\n")


CHANGES: dict[str, Callable[[Path], None]] = {
    "registry": _registry_cors,
    "stack-config": _stack_config_cors,
    "library": _library,
    "stack-added": _stack_added,
    "stack-removed": _stack_removed,
    "zone-move": _zone_move,
    "website-removed": _website_removed,
    "constraints": _constraints,
}
"""Each kind of change, in commit order (each commit builds on the one before)."""


@dataclass
class Repo:
    """The fixture repository and the commit of each kind of change."""

    path: Path
    commits: dict[str, str] = field(default_factory=dict)

    def range(self, kind: str) -> str:
        """``BASE..HEAD`` that reviews exactly the commit making ``kind`` of change."""
        commit = self.commits[kind]
        return f"{commit}~1..{commit}"


def build(path: Path) -> Repo:
    """Create the repository in ``path`` (a new directory) with a ``base`` commit and one commit per change."""
    path.mkdir(parents=True)
    shutil.copytree(
        ROOT / "divio_storage_infra", path / "divio_storage_infra", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("Pulumi.yaml", "__main__.py", ".gitignore", "constraints.txt"):
        shutil.copy(ROOT / name, path / name)
    (path / "stacks/platform").mkdir(parents=True)
    for name in ("Pulumi.example-live.yaml", "Pulumi.example-azure-live.yaml", "Pulumi.example-exoscale-live.yaml"):
        shutil.copy(ROOT / "stacks" / name, path / "stacks" / name)
    for name in ("Pulumi.yaml", "Pulumi.example.yaml", "__main__.py"):
        shutil.copy(ROOT / "stacks/platform" / name, path / "stacks/platform" / name)
    (path / "stacks/platform/websites.yaml").write_text(REGISTRY, encoding="utf-8")
    repo = Repo(path)
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "base")
    repo.commits["base"] = git(path, "rev-parse", "HEAD").strip()
    for kind, change in CHANGES.items():
        change(path)
        git(path, "add", "-A")
        git(path, "commit", "-qm", kind)
        repo.commits[kind] = git(path, "rev-parse", "HEAD").strip()
    return repo


def cli(repo: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``divio-storage ARGS`` as a user runs it, in ``cwd`` (default: the repository's top)."""
    return subprocess.run(
        [str(BIN / "divio-storage"), *args],
        cwd=cwd or repo,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
