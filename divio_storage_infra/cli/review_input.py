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
import dataclasses
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
from divio_storage_infra.cli.review_selection import FULL, Choice, changed_files, choose
from divio_storage_infra.cli.revisions import (
    ReviewInputError,
    Revision,
    Revisions,
    checkout,
    resolve,
    tracked_files,
)
from divio_storage_infra.preview.stackconfig import StackConfigError, load_project
from divio_storage_infra.review.model import OTHER_GROUP, WebsiteDiff
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
        "--full",
        action="store_true",
        help="with --rev: plan every website of every reviewed stack at both revisions, even when the change is "
        "confined to registry entries and stack configs (the output is the same; see docs/performance.md)",
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
        full = args.full or getattr(args, "counts_unchanged", False)
        return review_revisions(args.rev, args.stack, args.project_dir, full=full)
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


def plan_stack(side: Side, target: StackTarget, only: frozenset[str] | None = None) -> Plan:
    """The plan of ``target`` at one revision (of the registry entries named in ``only`` when given); an empty plan
    (with a note) where its stack config is missing."""
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
    command += [f"--only={name}" for name in sorted(only or ())]
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
    spec: str, stacks: Sequence[str], project_dirs: Sequence[Path], *, cwd: Path | None = None, full: bool = False
) -> RepositoryReview:
    """Plan the stacks :func:`review_targets` chooses at both revisions of ``spec`` (``BASE..HEAD``) and review
    every pair; the repository is the one around ``cwd`` (default: the current directory). Unless ``full``, a
    change confined to registry entries and stack configs plans only what it touches (:mod:`.review_selection`)."""
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
        choices = {} if full else selection_of(revisions, base, head, targets)
        planned = [t for t in targets if not choices.get(t.key, FULL).skip]
        jobs = max(1, min(len(os.sched_getaffinity(0)), 2 * len(planned)))
        pool = ThreadPoolExecutor(max_workers=jobs)
        try:
            only = {t.key: choices.get(t.key, FULL).only for t in planned}
            base_plans = [pool.submit(plan_stack, base, t, only[t.key]) for t in planned]
            head_plans = [pool.submit(plan_stack, head, t, only[t.key]) for t in planned]
            reviews = [
                completed(_review(target, base, head, old.result(), new.result()), choices.get(target.key, FULL))
                for target, old, new in zip(planned, base_plans, head_plans, strict=True)
            ]
        finally:
            # On a failed plan or an interrupt, plans not yet started are dropped; running ones end by themselves.
            pool.shutdown(wait=True, cancel_futures=True)
        reviews += [_unchanged(t, base, head) for t in targets if choices.get(t.key, FULL).skip]
    return review_repository(reviews)


def selection_of(
    revisions: Revisions, base: Side, head: Side, targets: Sequence[StackTarget]
) -> dict[tuple[str, str], Choice]:
    """How each target is planned (:func:`.review_selection.choose`); {} (every one in full) unless the change is
    confined to registry entries and stack configs."""
    files = changed_files(revisions.top, revisions.base.commit, revisions.head.commit)
    if files is None:
        return {}
    config_files: dict[tuple[str, str], set[str]] = {}
    for side in (base, head):
        for target in targets:
            try:
                path = load_project(side.path / target.directory).stack_file(target.stack)
            except StackConfigError:
                continue
            config_files.setdefault(target.key, set()).add(path.relative_to(side.path).as_posix())

    def read(name: str, path: str) -> str | None:
        file = (base if name == "base" else head).path / path
        try:
            return file.read_text(encoding="utf-8") if file.is_file() else None
        except (OSError, UnicodeDecodeError):
            return None

    return choose([t.key for t in targets], config_files, files, read) or {}


def completed(review: StackReview, choice: Choice) -> StackReview:
    """``review`` of the entries a choice planned, with the websites it did not plan added as unchanged (the full
    review lists them by name)."""
    present = {website.website for website in review.diff.websites}
    missing = [WebsiteDiff(label) for label in choice.labels - present]
    if not missing:
        return review
    websites = sorted([*review.diff.websites, *missing], key=lambda w: (w.website == OTHER_GROUP, w.website))
    diff = dataclasses.replace(review.diff, websites=tuple(websites))
    return dataclasses.replace(review, diff=diff)


def _unchanged(target: StackTarget, base: Side, head: Side) -> StackReview:
    """The review of a stack that the change does not reach: its plans are the same at both revisions."""
    plan = empty_plan(target.project, target.stack, "not planned: the change does not reach this stack")
    return review_stack(
        target.directory, plan, plan, in_base=target.key in base.stacks, in_head=target.key in head.stacks
    )


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
