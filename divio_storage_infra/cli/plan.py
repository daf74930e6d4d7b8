"""``divio-storage plan``: run a stack's real program offline and print what it would declare (text or JSON)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from divio_storage_infra.cli.check import warn_days_type
from divio_storage_infra.cli.output import stream_document, write_document
from divio_storage_infra.core.sas import WARN_DAYS, assess, parse_time
from divio_storage_infra.preview import gcsettings
from divio_storage_infra.preview.plan import PlanError, ProgramFailed, build_plan, plan_parts
from divio_storage_infra.preview.planparts import JSON_KINDS, TEXT_KINDS
from divio_storage_infra.preview.render import INDENT, render_json, render_text
from divio_storage_infra.preview.stackconfig import (
    StackConfig,
    StackConfigError,
    find_project_dir,
    load_project,
    load_stack,
    load_stack_file,
    stack_name,
    without_config,
)

DEFAULT_STACK = "example-live"
"""The stack planned when neither ``--stack`` nor ``--program`` is given: the example website of the repository."""
NO_CONFIG_STACK = "dev"
"""The stack name under which ``--program`` runs a project that has no stack config file at all."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``plan``'s options to its sub-command parser."""
    parser.add_argument(
        "--stack",
        default=None,
        metavar="STACK|PATH",
        help=f"stack name (its config is <stackConfigDir>/Pulumi.<stack>.yaml) or a path to a stack config file "
        f"(default: {DEFAULT_STACK}; with --program: the project's only stack config, else none)",
    )
    parser.add_argument(
        "--program",
        type=Path,
        default=None,
        metavar="DIR",
        help="plan the Python Pulumi project in DIR (DIR/Pulumi.yaml); --stack is optional there, and a stack "
        "without a config file runs with no config",
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=None,
        help="directory of Pulumi.yaml (default: the current directory or its nearest parent with one)",
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="text for people (default), json for tools"
    )
    parser.add_argument(
        "--warn-days",
        type=warn_days_type,
        default=WARN_DAYS,
        metavar="DAYS",
        help=f"warn on stderr when a SAS in the plan expires within DAYS days (default: {WARN_DAYS})",
    )
    parser.add_argument(
        "--jobs",
        type=_jobs,
        default=None,
        metavar="N",
        help="processes a large platform registry is planned in (default: the available CPUs); the output is the "
        "same for any N",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=None,
        metavar="NAME",
        help="plan only the registry entry whose stack output is NAME (website/environment); repeatable; a platform "
        "program's plan of some of its websites (what an incremental review plans)",
    )
    parser.add_argument(
        "--policy-pack",
        type=Path,
        default=None,
        metavar="DIR",
        help="also run this Python CrossGuard pack (e.g. policy/) over the plan; exit 1 on a mandatory violation",
    )
    parser.add_argument(
        "--policy-pack-config",
        type=Path,
        default=None,
        metavar="FILE",
        help="JSON of enforcement levels and settings per policy, as for pulumi --policy-pack-config",
    )


def run(args: argparse.Namespace) -> int:
    """Plan the stack and print it; 0 on success, 2 for bad config (the message names what to fix), 1 otherwise
    (a failing program, or a mandatory policy violation with ``--policy-pack``)."""
    # The collector settings of the mock run hold until the plan is printed: building and rendering the document
    # of a large platform would otherwise re-scan the whole heap the run left behind (see preview/gcsettings.py).
    with gcsettings.tuned():
        return _plan(args)


def _plan(args: argparse.Namespace) -> int:
    try:
        if args.program is not None:
            if args.project_dir is not None:
                raise StackConfigError("--program and --project-dir both name the project; give one")
            stack_config = resolve_program(args.program, args.stack)
        else:
            stack_config = resolve_stack(args.stack or DEFAULT_STACK, args.project_dir)
        jobs = args.jobs if args.jobs is not None else len(os.sched_getaffinity(0))
        if args.policy_pack is not None:
            document = build_plan(stack_config, jobs=jobs)
        else:
            kinds = JSON_KINDS if args.format == "json" else TEXT_KINDS
            only = frozenset(args.only) if args.only is not None else None
            parts = plan_parts(stack_config, jobs=jobs, kinds=kinds, only=only)
    except (StackConfigError, PlanError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ProgramFailed as failure:
        sys.stderr.write(failure.report)
        return 1
    if args.policy_pack is None:
        # Streamed from the plan's pieces: a plan of thousands of websites is never held whole in this process.
        try:
            _warn(parts.sas_terms(), args.warn_days)
            if args.format == "json":
                stream_document(parts.write_json)
            else:
                stream_document(lambda out: parts.write_text(out, INDENT))
        finally:
            parts.close()
        return 0
    from divio_storage_infra.preview import policypack

    try:
        pack = policypack.load_pack(args.policy_pack)
        config = policypack.read_config(args.policy_pack_config, pack) if args.policy_pack_config else None
    except policypack.PolicyPackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # Only with the option: the default document (and its JSON bytes) stays exactly as before.
    document["violations"] = policypack.run_pack(document, pack, config)
    _warn(document["resources"], args.warn_days)
    rendered = render_json(document) if args.format == "json" else render_text(document)
    write_document(rendered)
    return 1 if any(v["enforcement"] == "mandatory" for v in document.get("violations", ())) else 0


def _warn(resources: Iterable[Mapping[str, Any]], warn_days: int) -> None:
    # On stderr, never in the document: the plan's bytes must not depend on the day it runs.
    for warning in sas_warnings(resources, dt.datetime.now(dt.UTC), warn_days):
        print(f"warning: {warning}", file=sys.stderr)


def sas_warnings(resources: Iterable[Mapping[str, Any]], now: dt.datetime, warn_days: int) -> list[str]:
    """A line for every SAS in the plan's resources (a component's ``sas_terms`` output) that has expired or expires
    within ``warn_days`` days of ``now``, in URN order."""
    lines: list[str] = []
    for resource in resources:
        terms = resource["outputs"].get("sas_terms") if isinstance(resource["outputs"], dict) else None
        expiry = terms.get("expiry") if isinstance(terms, dict) else None
        expires = parse_time(expiry) if isinstance(expiry, str) else None
        if expires is None:
            continue
        state = assess(expires, now=now, warn_days=warn_days)
        if state.expired or state.warn:
            fix = "move sasStart forward (docs/rotation.md) and deploy the new DSN before the old one expires"
            lines.append(f"{resource['type']} {resource['name']}: {state.sentence()}; {fix}")
    return lines


def _jobs(text: str) -> int:
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if not 1 <= jobs <= 64:
        raise argparse.ArgumentTypeError(f"expected a number of processes from 1 to 64, not {text[:20]!r}")
    return jobs


def resolve_stack(stack: str, project_dir: Path | None = None, *, cwd: Path | None = None) -> StackConfig:
    """The config of ``stack``: a stack name, or a path to a stack config file (ends in .yaml/.yml, or exists)."""
    base = cwd or Path.cwd()
    as_path = base / stack
    is_path = stack.endswith((".yaml", ".yml")) or (as_path.is_file() and "/" in stack)
    # Like the Pulumi CLI with --config-file: the project is where the command runs, wherever the file lives.
    project = load_project(base / project_dir if project_dir is not None else find_project_dir(base))
    if is_path:
        return load_stack_file(project, as_path)
    return load_stack(project, stack)


def resolve_program(directory: Path, stack: str | None = None, *, cwd: Path | None = None) -> StackConfig:
    """The project in ``directory`` and one of its stacks.

    ``stack`` None: the project's only stack config, or no config at all (stack ``dev``) when it has none; a
    name without a config file runs with no config (as a new Pulumi stack does); a path is read as a file.
    """
    base = cwd or Path.cwd()
    project = load_project(base / directory)
    if stack is None:
        stacks = project.stacks()
        if len(stacks) > 1:
            raise StackConfigError(
                f"{project.directory} has several stacks ({', '.join(stacks)}); pass --stack to choose one"
            )
        return load_stack(project, stacks[0]) if stacks else without_config(project, NO_CONFIG_STACK)
    if stack.endswith((".yaml", ".yml")):
        return load_stack_file(project, base / stack)
    name = stack_name(stack)
    if not project.stack_file(name).is_file():
        return without_config(project, name)
    return load_stack(project, stack)
