"""``divio-storage affected``: the websites whose storage changes between two plans, for a CI matrix."""

from __future__ import annotations

import argparse
import json

from divio_storage_infra.cli.output import write_document
from divio_storage_infra.cli.review_input import configure_inputs, load_inputs


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``affected``'s options to its sub-command parser."""
    configure_inputs(parser)
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="one website per line (default), or a JSON list"
    )


def run(args: argparse.Namespace) -> int:
    """Print the affected websites (sorted); 0 on success, 2 for bad input."""
    from divio_storage_infra.review.model import diff_plans
    from divio_storage_infra.review.render import affected_websites

    base, head = load_inputs(args)
    names = affected_websites(diff_plans(base, head))
    text = json.dumps(names, ensure_ascii=False) + "\n" if args.format == "json" else "".join(f"{n}\n" for n in names)
    write_document(text)
    return 0
