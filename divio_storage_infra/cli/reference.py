"""The CLI reference page (``docs/reference/cli.md``), generated from the commands' argparse parsers.

``python -m divio_storage_infra.cli.reference`` writes it; ``--check`` exits 1 when the file differs from what the
parsers give (``scripts/test`` runs that, so a changed option cannot leave the page stale). The page is built from
the parsers' actions, not from argparse's help text, so its bytes do not depend on the terminal or Python version.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from divio_storage_infra.cli.main import COMMANDS, PROG, build_parser, subcommand_parsers
from divio_storage_infra.cli.options import DeprecatedOption

PAGE = Path("docs/reference/cli.md")
"""Where the page lives, relative to the repository root."""
HEADER = """# CLI reference

<!-- Generated from the argparse parsers by `python -m divio_storage_infra.cli.reference`; do not edit. -->

`divio-storage COMMAND [OPTIONS]` (or `python -m divio_storage_infra`); `divio-storage COMMAND --help` prints the
same. Exit status: 0 success, 1 a failed check, plan or danger found, 2 bad input (one `error:` line naming what to
fix, or the command's usage), 130 interrupted, 141 stdout closed early (`| head`), quietly.
"""


def render(parser: argparse.ArgumentParser | None = None) -> str:
    """The whole page for ``parser`` (default: the ``divio-storage`` parser), as Markdown ending in a newline."""
    commands = subcommand_parsers(parser or build_parser())
    lines = [HEADER, "| command | what it does |", "|---|---|"]
    lines += [f"| [`{name}`](#{name}) | {_text(COMMANDS[name][1])} |" for name in commands]
    for name, command in commands.items():
        lines += ["", *_command(name, command)]
    return "\n".join(lines) + "\n"


def _command(name: str, parser: argparse.ArgumentParser) -> list[str]:
    lines = [f"## {name}", "", f"`{PROG} {name}`: {parser.description}.", ""]
    formatter = parser._get_formatter()
    rows = [
        f"| {_names(action)} | {_value(action)} | {_text(formatter._expand_help(action))} |"
        for action in parser._actions
        if action.help is not argparse.SUPPRESS and not isinstance(action, argparse._HelpAction)
    ]
    if rows:
        lines += ["| option | value | what it does |", "|---|---|---|", *rows]
    if parser.epilog:
        lines += ["", _text(parser.epilog)]
    old = [action for action in parser._actions if isinstance(action, DeprecatedOption)]
    if old:
        spellings = ", ".join(f"`{'/'.join(action.option_strings)}` (use `{action.new}`)" for action in old)
        lines += ["", f"Deprecated, still accepted with a warning until the next release: {spellings}."]
    return lines


def _names(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}` (positional)"
    return ", ".join(f"`{option}`" for option in action.option_strings)


def _value(action: argparse.Action) -> str:
    if action.nargs == 0:
        return "-"
    if action.choices is not None:
        return " \\| ".join(f"`{choice}`" for choice in action.choices)
    metavar = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
    # Inside a code span a pipe does not end the cell (Python-Markdown's tables), and a backslash would show.
    return f"`{' '.join(metavar.split())}`"


def _cell(text: str) -> str:
    """One table cell: on one line, with Markdown's column separator escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _text(text: str) -> str:
    """Prose in a cell: :func:`_cell`, and ``<name>`` shown as written rather than read as an HTML tag."""
    return _cell(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def main(argv: Sequence[str] | None = None) -> int:
    """Write the page (default :data:`PAGE`), or with ``--check`` exit 1 when it is stale; returns the exit status."""
    cli = argparse.ArgumentParser(prog="python -m divio_storage_infra.cli.reference", description=__doc__)
    cli.add_argument("path", nargs="?", type=Path, default=PAGE, help=f"the page (default: {PAGE})")
    cli.add_argument("--check", action="store_true", help="do not write; exit 1 when the page is stale")
    args = cli.parse_args(argv)
    page = render()
    if args.check:
        current = args.path.read_text(encoding="utf-8") if args.path.is_file() else ""
        if current != page:
            print(f"{args.path} is stale: run python -m divio_storage_infra.cli.reference", file=sys.stderr)
            return 1
        return 0
    args.path.parent.mkdir(parents=True, exist_ok=True)
    args.path.write_text(page, encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
