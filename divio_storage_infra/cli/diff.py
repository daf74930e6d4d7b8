"""``divio-storage diff``: what changes between two plans, or in every stack of the repository between two git
revisions (``--rev``), dangerous changes first (Markdown or JSON)."""

from __future__ import annotations

import argparse

from divio_storage_infra.cli.output import write_document
from divio_storage_infra.cli.review_input import configure_inputs, load_review


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``diff``'s options to its sub-command parser."""
    configure_inputs(parser)
    parser.add_argument(
        "--format", choices=("markdown", "json"), default="markdown", help="markdown for a PR comment (default), json"
    )


def run(args: argparse.Namespace) -> int:
    """Print the diff; 0 without danger, 1 with danger, 2 for bad input (one line on stderr)."""
    from divio_storage_infra.review.render import render_json, render_markdown
    from divio_storage_infra.review.repository_render import render_repository_json, render_repository_markdown

    # The JSON counts the resources of every unchanged website, which only a full review plans.
    args.counts_unchanged = args.format == "json"
    review = load_review(args)
    if args.rev is not None:
        text = render_repository_json(review) if args.format == "json" else render_repository_markdown(review)
    else:
        (only,) = review.stacks
        render = render_json if args.format == "json" else render_markdown
        text = render(only.diff, only.findings)
    write_document(text)
    return 1 if review.findings else 0
