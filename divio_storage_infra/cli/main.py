"""divio-storage: plan a stack offline, check or bench a deployed store, run it locally, back it up, review, fan out.

``diff`` / ``affected`` review two plans, ``stacks`` fans a registry out into one stack per website, ``adopt`` writes
Pulumi's bulk import file.

Each sub-command lives in its own module with ``configure(parser)`` and ``run(args) -> int``; those modules
import Pulumi or cloud SDKs only inside ``run``, so ``divio-storage dsn`` stays light.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Protocol

from divio_storage_infra.cli import adopt, affected, backup, bench, check, dev, diff, dsn, plan, restore, stacks
from divio_storage_infra.cli.errors import UsageError
from divio_storage_infra.cli.options import unrecognized
from divio_storage_infra.core.errors import SpecError

PROG = "divio-storage"
"""The console script's name, as usage lines and the generated CLI reference show it."""
EXIT_CLOSED_PIPE = 141
"""Exit status when stdout was closed early (``divio-storage dsn | head -1``): 128 + SIGPIPE, as a shell reports a
tool that the closed pipe ended."""


class Command(Protocol):
    """What a sub-command module provides."""

    __name__: str

    def configure(self, parser: argparse.ArgumentParser) -> None:
        """Add the sub-command's options to its parser."""

    def run(self, args: argparse.Namespace) -> int:
        """Run the sub-command; returns its exit status."""


# Imported with import statements, so the import contracts see what the CLI depends on (no importlib).
MODULES: dict[str, Command] = {
    module.__name__: module for module in (plan, check, dsn, bench, diff, affected, stacks, adopt, backup, restore, dev)
}
"""Every command module by its dotted name; a command in :data:`COMMANDS` must have its module here."""

COMMANDS: dict[str, tuple[str, str]] = {
    "plan": ("divio_storage_infra.cli.plan", "run a stack's program offline and print what it would declare"),
    "check": ("divio_storage_infra.cli.check", "probe a deployed store from its DSN"),
    "dsn": ("divio_storage_infra.cli.dsn", "explain a DSN and print the Django settings it yields"),
    "bench": ("divio_storage_infra.cli.bench", "measure a deployed store against the local disk"),
    "diff": ("divio_storage_infra.cli.diff", "review what changes between two plans (dangerous changes first)"),
    "affected": ("divio_storage_infra.cli.affected", "list the websites whose storage changes between two plans"),
    "stacks": ("divio_storage_infra.cli.stacks", "render one per-website stack config per registry entry"),
    "adopt": ("divio_storage_infra.cli.adopt", "write Pulumi's bulk import file for the stores a stack adopts"),
    "backup": ("divio_storage_infra.cli.backup", "copy each store into its own backup (what the provider does not)"),
    "restore": ("divio_storage_infra.cli.restore", "put each backup back into the store it came from, privacy kept"),
    "dev": ("divio_storage_infra.cli.dev", "run a website's storage on this machine, created from its plan"),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command (:func:`subcommand_parsers` gives them by name)."""
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = MODULES.get(module_name)
        if module is None:
            raise RuntimeError(f"command {name}: import {module_name} in cli/main.py and list it in MODULES")
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.configure(command)
        command.set_defaults(_run=module.run)
    return parser


def subcommand_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The sub-command parsers of :func:`build_parser`'s parser, by command name, in the order of ``COMMANDS``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The parsed command line; an unknown option ends with the sub-command's usage and a "did you mean"."""
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:
        command = subcommand_parsers(parser)[args.command]
        command.error(unrecognized(extras, command))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code (0 ok, 1 a failed check or plan, 2 bad input,
    130 interrupted by Ctrl-C, 141 stdout closed early)."""
    try:
        args = parse(argv)
        code: int = args._run(args)
        sys.stdout.flush()
    except (SpecError, UsageError) as error:
        # Bad input is the user's to fix: the message names field, value and what is allowed; no traceback.
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # One Ctrl-C ends the command; commands that write something clean up and say so themselves.
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (head, less) has what it wanted: end quietly, and keep the interpreter's final flush of the
        # closed stdout from printing a traceback of its own.
        _silence_stdout()
        return EXIT_CLOSED_PIPE
    return code


def _silence_stdout() -> None:
    try:
        target = sys.stdout.fileno()
    except (OSError, ValueError):
        return  # not a real file (a test's capture): nothing flushes it to the closed pipe at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, target)
    os.close(devnull)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
