"""divio-storage: plan a stack offline, check or bench a deployed store, explain a DSN, review, fan out and adopt.

``diff`` / ``affected`` review two plans, ``stacks`` fans a registry out into one stack per website, ``adopt`` writes
Pulumi's bulk import file.

Each sub-command lives in its own module with ``configure(parser)`` and ``run(args) -> int``; those modules
import Pulumi or cloud SDKs only inside ``run``, so ``divio-storage dsn`` stays light.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from divio_storage_infra.cli.errors import UsageError
from divio_storage_infra.core.errors import SpecError

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
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(prog="divio-storage", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.configure(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code (0 ok, 1 a failed check or plan, 2 bad input,
    130 interrupted by Ctrl-C)."""
    try:
        args = build_parser().parse_args(argv)
        code: int = args._run(args)
    except (SpecError, UsageError) as error:
        # Bad input is the user's to fix: the message names field, value and what is allowed; no traceback.
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # One Ctrl-C ends the command; commands that write something clean up and say so themselves.
        print("interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
