"""``divio-storage affected``: the websites whose storage changes, with the project and stack that declare them
(the input of a CI matrix that runs ``pulumi preview`` on the right stacks)."""

from __future__ import annotations

import argparse
import json

from divio_storage_infra.cli.output import write_document
from divio_storage_infra.cli.review_input import configure_inputs, load_review


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``affected``'s options to its sub-command parser."""
    configure_inputs(parser)
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="one website per line: project, stack, website and environment separated by tabs (default), or a "
        'JSON list of {"project", "stack", "website", "environment"}',
    )


def run(args: argparse.Namespace) -> int:
    """Print the affected websites (sorted by project, stack, website, environment); 0 on success, 2 for bad
    input."""
    from divio_storage_infra.review.repository import affected

    entries = affected(load_review(args).stacks)
    if args.format == "json":
        text = json.dumps(entries, ensure_ascii=False) + "\n"
    else:
        text = "".join("\t".join(entry.values()) + "\n" for entry in entries)
    write_document(text)
    return 0
