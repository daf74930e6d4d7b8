"""``divio-storage diff``: what changes between two plans, dangerous changes first (Markdown or JSON)."""

from __future__ import annotations

import argparse

from divio_storage_infra.cli.output import write_document
from divio_storage_infra.cli.review_input import configure_inputs, load_inputs


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``diff``'s options to its sub-command parser."""
    configure_inputs(parser)
    parser.add_argument(
        "--format", choices=("markdown", "json"), default="markdown", help="markdown for a PR comment (default), json"
    )


def run(args: argparse.Namespace) -> int:
    """Print the diff; 0 without danger, 1 with danger, 2 for bad input (one line on stderr)."""
    from divio_storage_infra.review.danger import find_dangers
    from divio_storage_infra.review.model import diff_plans
    from divio_storage_infra.review.render import render_json, render_markdown

    base, head = load_inputs(args)
    diff = diff_plans(base, head)
    findings = find_dangers(diff)
    text = render_json(diff, findings) if args.format == "json" else render_markdown(diff, findings)
    write_document(text)
    return 1 if findings else 0
