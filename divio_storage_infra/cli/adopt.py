"""``divio-storage adopt``: write Pulumi's bulk import file (``pulumi import --file``) for a stack or a registry.

The alternative route to ``adopt: true`` alone: the stack (``--stack``, as for ``plan``), a platform program
(``--program DIR``) or a registry file (``--registry FILE``, run through the platform program of ``--program``,
default ``stacks/platform``) is planned offline, and every resource the plan declares with the import option, plus
the components above it, becomes an entry of the file. Same input, same bytes. Exit status: 0 written, 2 bad input
(including a plan that adopts nothing), 1 a program that failed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from divio_storage_infra.preview.importfile import NothingToAdopt, import_file, render
from divio_storage_infra.preview.plan import PlanError, ProgramFailed, build_plan
from divio_storage_infra.preview.stackconfig import StackConfigError

DEFAULT_PLATFORM = Path("stacks/platform")
"""The platform program ``--registry`` runs when ``--program`` is not given."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``adopt``'s options to its sub-command parser."""
    parser.add_argument(
        "--stack",
        default=None,
        metavar="STACK|PATH",
        help="stack name or stack config file, as for plan (default: example-live; with --program or --registry: "
        "the project's only stack config)",
    )
    parser.add_argument("--program", type=Path, default=None, metavar="DIR", help="plan the Pulumi project in DIR")
    parser.add_argument(
        "--registry",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"a website registry to run through the platform program (--program, default {DEFAULT_PLATFORM})",
    )
    parser.add_argument(
        "--project-dir", type=Path, default=None, help="directory of Pulumi.yaml (without --program), as for plan"
    )
    parser.add_argument(
        "--output", type=Path, default=None, metavar="FILE", help="write the import file here (default: stdout)"
    )


def run(args: argparse.Namespace) -> int:
    """Write the import file; 0 on success, 2 for bad input, 1 when the program failed."""
    from divio_storage_infra.cli.output import write_document
    from divio_storage_infra.cli.plan import DEFAULT_STACK, resolve_program, resolve_stack

    try:
        if args.registry is not None:
            if args.project_dir is not None:
                raise StackConfigError("--registry runs a platform program: name it with --program, not --project-dir")
            stack_config = resolve_program(args.program or DEFAULT_PLATFORM, args.stack)
            document = build_plan(stack_config, program=_registry_program(args.registry.resolve()))
        elif args.program is not None:
            if args.project_dir is not None:
                raise StackConfigError("--program and --project-dir both name the project; give one")
            document = build_plan(resolve_program(args.program, args.stack))
        else:
            document = build_plan(resolve_stack(args.stack or DEFAULT_STACK, args.project_dir))
        text = render(import_file(document))
    except (StackConfigError, PlanError, NothingToAdopt) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ProgramFailed as failure:
        sys.stderr.write(failure.report)
        return 1
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}: run `pulumi import --file {args.output}` in the stack", file=sys.stderr)
    else:
        write_document(text)
    return 0


def _registry_program(path: Path) -> Callable[[], None]:
    """The platform program over the registry at ``path`` (validated whole before anything is declared)."""
    if not path.is_file():
        raise StackConfigError(f"--registry: {path.name} is not a file")

    def program() -> None:
        from divio_storage_infra import platform

        platform.main(path)

    return program
