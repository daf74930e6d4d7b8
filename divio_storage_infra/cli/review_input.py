"""What ``diff`` and ``affected`` compare: two plan JSON files, or every stack of the repository at two revisions.

With ``--rev BASE..HEAD`` each revision is checked out into a temporary worktree (:mod:`.revisions`); which
(project, stack) pairs to plan there is :func:`review_targets` (:mod:`.review_scope`); each is planned by
:func:`plan_stack`: ``python -m divio_storage_infra plan --format json`` in a subprocess whose working directory
is the project in that checkout and whose ``PYTHONPATH`` starts with the checkout. So a revision is planned with
its own program *and* its own copy of this package (a library change shows in the diff), and nothing imported in
this process leaks into it. A stack whose config exists at one revision only is planned as empty at the other.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from divio_storage_infra.cli.review_scope import Narrowing, StackTarget, narrowing, select, stacks_at
from divio_storage_infra.cli.revisions import (
    ReviewInputError,
    Revision,
    Revisions,
    checkout,
    resolve,
    tracked_files,
)
from divio_storage_infra.review.plans import Plan, PlanInputError, empty_plan, load_plan, parse_plan
from divio_storage_infra.review.repository import RepositoryReview, StackReview, review_repository, review_stack

__all__ = ["ReviewInputError", "configure_inputs", "load_review", "plan_stack", "review_targets"]

_STDERR_TAIL = 20


def configure_inputs(parser: argparse.ArgumentParser) -> None:
    """Add BASE/HEAD plan files, ``--rev``, ``--stack``, ``--project-dir`` and ``--allow-different-stacks``."""
    parser.add_argument("base", nargs="?", type=Path, metavar="BASE", help="plan JSON file of the base")
    parser.add_argument("head", nargs="?", type=Path, metavar="HEAD", help="plan JSON file of the head")
    parser.add_argument(
        "--rev",
        metavar="BASE..HEAD",
        help="plan every stack of every Pulumi project of the repository at two git revisions instead of reading "
        "plan files",
    )
    parser.add_argument(
        "--stack",
        action="append",
        default=[],
        metavar="STACK",
        help="with --rev: review only this stack (a name, or its stack config file); repeatable; default: every stack",
    )
    parser.add_argument(
        "--project-dir",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="with --rev: review only the project in DIR (a directory with Pulumi.yaml); repeatable; default: "
        "every project of the repository",
    )
    parser.add_argument(
        "--allow-different-stacks",
        action="store_true",
        help="compare plan files of different projects or stacks (refused by default: such a diff shows "
        "differences that no deployment makes)",
    )


def load_review(args: argparse.Namespace) -> RepositoryReview:
    """The review of the parsed arguments; raises ReviewInputError with one clear message."""
    if args.rev is not None:
        if args.base is not None or args.head is not None:
            raise ReviewInputError("give either BASE and HEAD plan files or --rev BASE..HEAD, not both")
        return review_revisions(args.rev, args.stack, args.project_dir)
    if args.stack or args.project_dir:
        raise ReviewInputError("--stack and --project-dir choose stacks to plan with --rev; plan files name theirs")
    if args.base is None or args.head is None:
        raise ReviewInputError("give two plan files (BASE HEAD) or --rev BASE..HEAD")
    try:
        base, head = load_plan(args.base), load_plan(args.head)
    except PlanInputError as error:
        raise ReviewInputError(str(error)) from None
    if (base.project, base.stack) != (head.project, head.stack) and not args.allow_different_stacks:
        raise ReviewInputError(
            f"the plans are of different stacks: BASE is project {base.project[:80]!r} stack {base.stack[:80]!r}, "
            f"HEAD is project {head.project[:80]!r} stack {head.stack[:80]!r}; pass --allow-different-stacks to "
            "compare them anyway"
        )
    return review_repository([review_stack(".", base, head)])


@dataclass(frozen=True)
class Side:
    """One revision checked out: the revision, its checkout's top directory and the stacks it has."""

    revision: Revision
    path: Path
    stacks: dict[tuple[str, str], StackTarget]


def review_targets(base: Side, head: Side, narrowed: Narrowing) -> list[StackTarget]:
    """Which (project, stack) pairs to plan: every stack at either revision, kept by ``narrowed`` (an explicitly
    named stack or project that exists at neither revision is a ReviewInputError listing what exists)."""
    return select(list(base.stacks.values()), list(head.stacks.values()), narrowed)


def plan_stack(side: Side, target: StackTarget) -> Plan:
    """The plan of ``target`` at one revision; an empty plan (with a note) where its stack config is missing."""
    revision = side.revision
    found = side.stacks.get(target.key)
    if found is None:
        note = f"stack {target.stack} of {target.directory} does not exist at {revision.name}; planned as empty"
        return empty_plan(target.project, target.stack, note)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(side.path), env.get("PYTHONPATH", "")) if p)
    env.pop("PYTHONSAFEPATH", None)
    project = side.path / target.directory
    command = [sys.executable, "-m", "divio_storage_infra", "plan", "--format", "json"]
    result = subprocess.run(
        [*command, "--program", str(project), "--stack", target.stack],
        cwd=project,
        env=env,
        capture_output=True,
        check=False,
    )
    label = f"stack {target.stack} of {target.directory} at {revision.name}"
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").replace(f"{side.path}/", "").splitlines()
        raise ReviewInputError(f"--rev: planning {label} failed:\n" + "\n".join(lines[-_STDERR_TAIL:]))
    try:
        return parse_plan(result.stdout.decode("utf-8"), label=f"plan of {label}")
    except PlanInputError as error:
        raise ReviewInputError(str(error)) from None


def review_revisions(
    spec: str, stacks: Sequence[str], project_dirs: Sequence[Path], *, cwd: Path | None = None
) -> RepositoryReview:
    """Plan the stacks :func:`review_targets` chooses at both revisions of ``spec`` (``BASE..HEAD``) and review
    every pair; the repository is the one around ``cwd`` (default: the current directory)."""
    here = (cwd or Path.cwd()).resolve()
    revisions = resolve(spec, here)
    narrowed = narrowing(stacks, project_dirs, cwd=here, top=revisions.top)
    with _sides(revisions) as (base, head):
        targets = review_targets(base, head, narrowed)
        if not targets:
            raise ReviewInputError(
                f"--rev: the repository has no Python Pulumi project (a directory with Pulumi.yaml) at "
                f"{revisions.base.name} or {revisions.head.name}"
            )
        jobs = max(1, min(len(os.sched_getaffinity(0)), 2 * len(targets)))
        pool = ThreadPoolExecutor(max_workers=jobs)
        try:
            base_plans = [pool.submit(plan_stack, base, t) for t in targets]
            head_plans = [pool.submit(plan_stack, head, t) for t in targets]
            reviews = [
                _review(target, base, head, old.result(), new.result())
                for target, old, new in zip(targets, base_plans, head_plans, strict=True)
            ]
        finally:
            # On a failed plan or an interrupt, plans not yet started are dropped; running ones end by themselves.
            pool.shutdown(wait=True, cancel_futures=True)
    return review_repository(reviews)


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a cancelled CI job, ``kill``) ends the review as Ctrl-C does, so the checkouts are still removed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _review(target: StackTarget, base: Side, head: Side, old: Plan, new: Plan) -> StackReview:
    in_base, in_head = target.key in base.stacks, target.key in head.stacks
    # The empty side of an added or removed stack takes the other side's format: no "different formats" note.
    if not in_base:
        old = replace(old, format=new.format)
    if not in_head:
        new = replace(new, format=old.format)
    return review_stack(target.directory, old, new, in_base=in_base, in_head=in_head)


@contextmanager
def _sides(revisions: Revisions) -> Iterator[tuple[Side, Side]]:
    """Both revisions checked out, with the stacks each has; the checkouts are removed on exit."""
    with ExitStack() as stack:
        stack.enter_context(_terminate_as_interrupt())
        sides = []
        for revision in (revisions.base, revisions.head):
            path = stack.enter_context(checkout(revisions.top, revision))
            found = stacks_at(path, tracked_files(revisions.top, revision.commit), revision.name)
            sides.append(Side(revision, path, {t.key: t for t in found}))
        yield sides[0], sides[1]
