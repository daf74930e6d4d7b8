"""Git revisions for review: ``BASE..HEAD`` resolved to commits, and a temporary checkout of one commit.

A checkout is ``git worktree add --detach`` into a temporary directory, removed afterwards: the user's working
tree and index are never touched, and what is planned is exactly what the commit holds.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from divio_storage_infra.cli.errors import UsageError


class ReviewInputError(UsageError):
    """The plans to compare cannot be had (bad file, bad revision, unknown stack, failed plan); the message says
    why (exit 2, as every usage error :mod:`.main` reports)."""


@dataclass(frozen=True)
class Revision:
    """One side of ``BASE..HEAD``: the name the user gave and the commit it resolves to."""

    name: str
    commit: str


@dataclass(frozen=True)
class Revisions:
    """The repository's top directory and both resolved revisions."""

    top: Path
    base: Revision
    head: Revision


def git(cwd: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run git in ``cwd``; never raises for a failing git (callers read ``returncode``)."""
    return subprocess.run(["git", *arguments], cwd=cwd, capture_output=True, text=True, check=False)


def resolve(spec: str, cwd: Path) -> Revisions:
    """``BASE..HEAD`` of the repository around ``cwd``; ReviewInputError naming what is wrong."""
    base_rev, sep, head_rev = spec.partition("..")
    if not sep or not base_rev or not head_rev or head_rev.startswith("."):
        raise ReviewInputError(f"--rev: {spec[:80]!r} is not allowed; expected BASE..HEAD, e.g. origin/main..HEAD")
    found = git(cwd, "rev-parse", "--show-toplevel")
    if found.returncode != 0:
        raise ReviewInputError(f"--rev: {cwd} is not inside a git repository")
    top = Path(found.stdout.strip()).resolve()
    commits = []
    for rev in (base_rev, head_rev):
        commit = git(top, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
        if commit.returncode != 0:
            raise ReviewInputError(f"--rev: {rev[:80]!r} is not a commit of the repository at {top}")
        commits.append(Revision(rev, commit.stdout.strip()))
    return Revisions(top, commits[0], commits[1])


def tracked_files(top: Path, commit: str) -> list[str]:
    """Every file path (POSIX, relative to the top) that ``commit`` holds, sorted."""
    listed = git(top, "ls-tree", "-r", "-z", "--name-only", commit)
    if listed.returncode != 0:
        raise ReviewInputError(f"--rev: cannot list the files of {commit[:12]}: {listed.stderr.strip()[:300]}")
    return sorted(name for name in listed.stdout.split("\0") if name)


@contextmanager
def checkout(top: Path, revision: Revision) -> Iterator[Path]:
    """A temporary detached worktree of ``revision`` (its top directory), removed on exit."""
    scratch = Path(tempfile.mkdtemp(prefix="divio-storage-rev-"))
    path = scratch / "checkout"
    try:
        added = git(top, "worktree", "add", "--detach", "--quiet", str(path), revision.commit)
        if added.returncode != 0:
            raise ReviewInputError(f"--rev: cannot check out {revision.name}: {added.stderr.strip()[:300]}")
        yield path
    finally:
        # Twice --force: a checkout interrupted while git was still creating it is left locked.
        git(top, "worktree", "remove", "--force", "--force", str(path))
        shutil.rmtree(scratch, ignore_errors=True)
