"""The two plans ``diff`` and ``affected`` compare: plan JSON files, or one stack planned at two git revisions.

With ``--rev BASE..HEAD`` each revision is checked out with ``git worktree add --detach`` into a temporary
directory (removed afterwards; the working tree and the index are never touched) and planned there by
``python -m divio_storage_infra plan --format json`` in a subprocess whose working directory is that checkout
and whose ``PYTHONPATH`` starts with it. So the plan of a revision runs that revision's program *and* that
revision's copy of this package, and nothing imported in this process leaks into it. A stack whose config file
does not exist at one revision is planned as empty there (a new or a deleted website).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from divio_storage_infra.cli.errors import UsageError
from divio_storage_infra.review.plans import Plan, PlanInputError, empty_plan, load_plan, parse_plan

DEFAULT_STACK = "example-live"
"""The stack planned with ``--rev`` when ``--stack`` is not given (as ``divio-storage plan``)."""

_STDERR_TAIL = 20


class ReviewInputError(UsageError):
    """The plans to compare cannot be had (bad file, bad revision, failed plan); the message says why (exit 2, as
    every usage error :mod:`.main` reports)."""


def configure_inputs(parser: argparse.ArgumentParser) -> None:
    """Add BASE/HEAD plan files, ``--rev``, ``--stack`` and ``--project-dir`` to a sub-command parser."""
    parser.add_argument("base", nargs="?", type=Path, metavar="BASE", help="plan JSON file of the base")
    parser.add_argument("head", nargs="?", type=Path, metavar="HEAD", help="plan JSON file of the head")
    parser.add_argument(
        "--rev",
        metavar="BASE..HEAD",
        help="plan the stack at two git revisions of the repository instead of reading plan files",
    )
    parser.add_argument(
        "--stack",
        default=DEFAULT_STACK,
        help="with --rev: the stack to plan (a name, or a stack file path relative to the project; "
        f"default {DEFAULT_STACK})",
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=None,
        help="with --rev: directory of Pulumi.yaml (default: the current directory or its nearest parent with one)",
    )


def load_inputs(args: argparse.Namespace) -> tuple[Plan, Plan]:
    """BASE and HEAD plans from the parsed arguments; raises ReviewInputError with one clear message."""
    if args.rev is not None:
        if args.base is not None or args.head is not None:
            raise ReviewInputError("give either BASE and HEAD plan files or --rev BASE..HEAD, not both")
        return plans_at_revisions(args.rev, args.stack, args.project_dir)
    if args.base is None or args.head is None:
        raise ReviewInputError("give two plan files (BASE HEAD) or --rev BASE..HEAD")
    try:
        return load_plan(args.base), load_plan(args.head)
    except PlanInputError as error:
        raise ReviewInputError(str(error)) from None


def _git(cwd: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *arguments], cwd=cwd, capture_output=True, text=True, check=False)


def plans_at_revisions(
    spec: str, stack: str, project_dir: Path | None, *, cwd: Path | None = None
) -> tuple[Plan, Plan]:
    """Plan ``stack`` at the two revisions of ``spec`` (``BASE..HEAD``) of the repository around ``cwd``."""
    base_rev, sep, head_rev = spec.partition("..")
    if not sep or not base_rev or not head_rev or head_rev.startswith("."):
        raise ReviewInputError(f"--rev: {spec[:80]!r} is not allowed; expected BASE..HEAD, e.g. origin/main..HEAD")
    here = (cwd or Path.cwd()).resolve()
    project = (here / project_dir).resolve() if project_dir is not None else _find_project(here)
    top_result = _git(project, "rev-parse", "--show-toplevel")
    if top_result.returncode != 0:
        raise ReviewInputError(f"--rev: {project} is not inside a git repository")
    top = Path(top_result.stdout.strip()).resolve()
    relative = project.relative_to(top)
    commits = []
    for rev in (base_rev, head_rev):
        found = _git(top, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
        if found.returncode != 0:
            raise ReviewInputError(f"--rev: {rev[:80]!r} is not a commit of the repository at {top}")
        commits.append(found.stdout.strip())
    return _plan_at(top, commits[0], base_rev, relative, stack), _plan_at(top, commits[1], head_rev, relative, stack)


def _find_project(start: Path) -> Path:
    for directory in (start, *start.parents):
        if (directory / "Pulumi.yaml").is_file() or (directory / "Pulumi.yml").is_file():
            return directory
    raise ReviewInputError(f"--rev: no Pulumi.yaml in {start} or any parent directory; pass --project-dir")


def _plan_at(top: Path, commit: str, rev: str, relative: Path, stack: str) -> Plan:
    scratch = Path(tempfile.mkdtemp(prefix="divio-storage-rev-"))
    checkout = scratch / "checkout"
    try:
        added = _git(top, "worktree", "add", "--detach", "--quiet", str(checkout), commit)
        if added.returncode != 0:
            raise ReviewInputError(f"--rev: cannot check out {rev}: {added.stderr.strip()[:300]}")
        project = checkout / relative
        missing = _missing_stack(project, stack)
        if missing is not None:
            return empty_plan(
                missing[0], stack, f"stack {stack} has no config at {rev} ({missing[1]}); planned as empty"
            )
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(checkout), env.get("PYTHONPATH", "")) if p)
        env.pop("PYTHONSAFEPATH", None)
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "divio_storage_infra",
                "plan",
                "--format",
                "json",
                "--stack",
                stack,
                "--project-dir",
                str(project),
            ],
            cwd=project,
            env=env,
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            tail = "\n".join(result.stderr.decode("utf-8", "replace").splitlines()[-_STDERR_TAIL:])
            raise ReviewInputError(f"--rev: planning stack {stack} at {rev} failed:\n{tail}")
        try:
            return parse_plan(result.stdout.decode("utf-8"), label=f"plan of {stack} at {rev}")
        except PlanInputError as error:
            raise ReviewInputError(str(error)) from None
    finally:
        _git(top, "worktree", "remove", "--force", str(checkout))
        shutil.rmtree(scratch, ignore_errors=True)


def _missing_stack(project: Path, stack: str) -> tuple[str, str] | None:
    """(project name, expected file) when ``stack`` names a stack without a config file at this revision."""
    from divio_storage_infra.preview.stackconfig import StackConfigError, load_project

    if stack.endswith((".yaml", ".yml")):
        return None
    try:
        loaded = load_project(project)
    except StackConfigError:
        return None  # the plan subprocess reports the problem with the project itself
    name = stack.rsplit("/", 1)[-1]
    path = loaded.stack_file(name)
    return None if path.is_file() else (loaded.name, str(path.relative_to(project)))
