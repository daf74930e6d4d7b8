"""Renderings of a repository review (``--rev``): Markdown grouped by project and stack, then website, and JSON.

"No changes" is printed only when every reviewed stack's two plans are identical, and it names every stack it
covered, so a reader sees what was (and was not) looked at.
"""

from __future__ import annotations

import json
from typing import Any

from divio_storage_infra.review.danger import CLASSES
from divio_storage_infra.review.render import (
    NO_CHANGES,
    changes_section,
    code,
    danger_section,
    format_note,
    plain,
    review_document,
)
from divio_storage_infra.review.repository import RepositoryReview, StackReview, affected

FORMAT = "divio-storage-review/v1"
"""The ``format`` of the JSON rendering of a repository review; bumped when a field is removed or changes meaning."""

UNCHANGED_STACKS_SHOWN = 20
"""How many unchanged stacks the collapsed line names before "and N more"."""


_STATUS_NOTES = {
    "added": " The stack config is new at HEAD: everything below is created by the stack's first `pulumi up`.",
    "removed": " The stack config is gone at HEAD: the stack's resources are what `pulumi destroy` of it deletes "
    "(or what is left unmanaged).",
}


def stack_label(stack: StackReview) -> str:
    """``project/stack`` with the project directory when it is not the top (as a reader finds the files)."""
    where = "" if stack.directory == "." else f" in {stack.directory}/"
    return f"{stack.project}/{stack.stack}{where}"


def _covered(review: RepositoryReview) -> str:
    names = [code(stack_label(s)) for s in review.stacks]
    shown = ", ".join(names[:UNCHANGED_STACKS_SHOWN])
    more = f" and {len(names) - UNCHANGED_STACKS_SHOWN} more" if len(names) > UNCHANGED_STACKS_SHOWN else ""
    return shown + more


def render_repository_markdown(review: RepositoryReview) -> str:
    """The PR comment: danger in every stack first, then a summary per stack, then each changed stack's websites."""
    count = len(review.stacks)
    noun = "stack" if count == 1 else "stacks"
    if not review.changed:
        return f"{NO_CHANGES} ({count} {noun} reviewed: {_covered(review)})\n"
    changed = [s for s in review.stacks if s.diff.changed]
    unchanged = [s for s in review.stacks if not s.diff.changed]
    lines = [f"## Storage changes in {len(changed)} of {count} {noun}", ""]
    pairs = review.findings
    lines += danger_section([f for _, f in pairs], [f"stack {code(stack_label(s))}" for s, _ in pairs])
    lines += ["### Stacks", "", "| project | stack | change | websites changed |", "|---|---|---|---:|"]
    for stack in changed:
        websites = sum(1 for w in stack.diff.websites if w.changed)
        lines.append(f"| {code(stack.project)} | {code(stack.stack)} | {stack.status} | {websites} |")
    if unchanged:
        names = ", ".join(code(stack_label(s)) for s in unchanged[:UNCHANGED_STACKS_SHOWN])
        extra = len(unchanged) - UNCHANGED_STACKS_SHOWN
        more = f" and {extra} more" if extra > 0 else ""
        lines += ["", f"Unchanged ({len(unchanged)}): {names}{more}."]
    lines.append("")
    for stack in changed:
        lines += _stack_section(stack)
    return "\n".join(lines).rstrip("\n") + "\n"


def _stack_section(stack: StackReview) -> list[str]:
    where = "the top directory" if stack.directory == "." else plain(stack.directory)
    lines = [f"## Project {code(stack.project)}, stack {code(stack.stack)} ({stack.status})", ""]
    lines += [f"Project in {where}.{_STATUS_NOTES.get(stack.status, '')}", ""]
    lines += format_note(stack.diff)
    lines += changes_section(stack.diff, "###")
    return lines


def repository_document(review: RepositoryReview) -> dict[str, Any]:
    """The JSON rendering as a dict (see docs/review-format.md): every stack's diff document, and their dangers
    with the stack each is in."""
    return {
        "format": FORMAT,
        "changed": review.changed,
        "danger": [
            {**review_document(s.diff, [f])["danger"][0], "project": s.project, "stack": s.stack}
            for s, f in review.findings
        ],
        "dangerClasses": dict(CLASSES),
        "affected": affected(review.stacks),
        "stacks": [
            {
                "directory": s.directory,
                "project": s.project,
                "stack": s.stack,
                "status": s.status,
                "diff": review_document(s.diff, s.findings),
            }
            for s in review.stacks
        ],
    }


def render_repository_json(review: RepositoryReview) -> str:
    """The JSON rendering as text: sorted keys, two-space indent, trailing newline (same input, same bytes)."""
    return json.dumps(repository_document(review), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
