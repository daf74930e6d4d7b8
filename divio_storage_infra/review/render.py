"""Renderings of a review: Markdown for a pull-request comment and JSON for tools (a stable contract)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from divio_storage_infra.review.danger import CLASSES, Finding
from divio_storage_infra.review.model import Action, Change, PlanDiff, ResourceDiff, WebsiteDiff
from divio_storage_infra.review.replacement import knows
from divio_storage_infra.review.values import ABSENT, differing_paths, render

FORMAT = "divio-storage-diff/v1"
"""The ``format`` of the JSON rendering; bumped when a field is removed or changes meaning."""

NO_CHANGES = "No changes"
SECRET_CHANGE = "changed (secret)"
UNCHANGED_NAMES_SHOWN = 10
"""How many unchanged websites the collapsed line names before "and N more"."""

DOCUMENT_PATHS_SHOWN = 3
"""How many differing paths the one line of a changed JSON document names before "and N more"."""

_SYMBOL = {"add": "+", "remove": "-", "replace": "-/+", "update": "~"}
_VERB = {"add": "added", "remove": "removed", "replace": "replaced", "update": "updated"}
_COUNTS: tuple[Action, ...] = ("add", "remove", "replace", "update", "same")


def plain(value: str) -> str:
    """Plain Markdown text from plan content: no HTML, no table breaks, no emphasis surprises."""
    out = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
    for char in "*_`[]#":
        out = out.replace(char, "\\" + char)
    return out.replace("\n", " ")


def code(value: str) -> str:
    """An inline code span that holds any text (fence longer than any backtick run inside)."""
    value = value.replace("\n", " ").replace("|", "\\|")
    run = 0
    longest = 0
    for char in value:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or not value else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def change_text(change: Change) -> str:
    """``old -> new`` of one change, or "changed (secret)" when either side is a secret."""
    if change.secret:
        return SECRET_CHANGE
    if change.document:
        paths = differing_paths(change.old, change.new)
        if change.old is ABSENT or change.new is ABSENT:
            verb = "added" if change.old is ABSENT else "removed"
            return f"JSON document {verb} ({len(paths)} values)"
        shown = ", ".join(p or "(the whole value)" for p in paths[:DOCUMENT_PATHS_SHOWN])
        more = f" and {len(paths) - DOCUMENT_PATHS_SHOWN} more" if len(paths) > DOCUMENT_PATHS_SHOWN else ""
        noun = "value differs" if len(paths) == 1 else "values differ"
        return f"JSON document changed: {len(paths)} {noun} ({shown}{more})"
    return f"{render(change.old)} -> {render(change.new)}"


def render_markdown(diff: PlanDiff, findings: Sequence[Finding]) -> str:
    """The PR comment: danger first, then a summary line per website, then each changed website's resources."""
    if not diff.changed:
        return f"{NO_CHANGES} (stack {code(diff.head.stack)})\n"
    lines = [f"## Storage changes in stack {code(diff.head.stack)}", ""]
    lines += format_note(diff)
    lines += danger_section(findings)
    lines += changes_section(diff, "###")
    return "\n".join(lines).rstrip("\n") + "\n"


def format_note(diff: PlanDiff) -> list[str]:
    """A note when the two plans have different format versions (URN changes show as remove and add)."""
    if diff.base.format == diff.head.format:
        return []
    return [
        f"> Note: the plans have different formats ({code(diff.base.format)} and {code(diff.head.format)}); "
        "resources whose URNs changed between them show as removed and added.",
        "",
    ]


def changes_section(diff: PlanDiff, level: str) -> list[str]:
    """Summary table, unchanged websites, each changed website and the stack outputs, headings at ``level``."""
    changed = [w for w in diff.websites if w.changed]
    unchanged = [w for w in diff.websites if not w.changed]
    lines = [
        f"{level} Summary",
        "",
        "| website | added | removed | replaced | updated | unchanged |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for website in changed:
        counts = " | ".join(str(website.count(action)) for action in _COUNTS)
        lines.append(f"| {plain(website.website)} | {counts} |")
    if unchanged:
        names = ", ".join(plain(w.website) for w in unchanged[:UNCHANGED_NAMES_SHOWN])
        more = f" and {len(unchanged) - UNCHANGED_NAMES_SHOWN} more" if len(unchanged) > UNCHANGED_NAMES_SHOWN else ""
        noun = "website" if len(unchanged) == 1 else "websites"
        lines += ["", f"{len(unchanged)} {noun} unchanged: {names}{more}."]
    lines.append("")
    for website in changed:
        lines += website_section(website, level)
    if diff.output_changes:
        lines += [f"{level} Stack outputs", ""]
        lines += [f"- {code(c.path)}: {code(change_text(c))}" for c in diff.output_changes]
        lines.append("")
    return lines


def danger_section(findings: Sequence[Finding], where: Sequence[str] = ()) -> list[str]:
    """The danger list (or "None found."); ``where`` gives each finding a location (its stack) when not empty."""
    if not findings:
        return ["### Danger", "", "None found.", ""]
    lines = [f"### :warning: Danger ({len(findings)})", ""]
    for index, finding in enumerate(findings):
        resource = f"{code(finding.type)} {code(finding.name)}" if finding.urn else code(finding.name)
        place = f" ({where[index]})" if where else ""
        lines.append(
            f"- **{finding.danger}** in **{plain(finding.website)}**{place}, {resource}: {plain(finding.message)}"
        )
    lines.append("")
    return lines


def website_section(website: WebsiteDiff, level: str = "###") -> list[str]:
    """One changed website: a heading at ``level`` and a line per changed resource with its changed values."""
    lines = [f"{level} {plain(website.website)}", ""]
    for item in website.resources:
        if item.action == "same":
            continue
        resource = item.current
        head = f"- {_SYMBOL[item.action]} {_VERB[item.action]} {code(resource.type)} {code(resource.name)}"
        if item.action == "replace":
            head += " (replaced because " + ", ".join(code(p) for p in item.replace_reasons) + " changes)"
        elif item.action == "update" and resource.custom and not knows(resource.type):
            head += " (type not in the replacement table: assumed in place)"
        lines.append(head)
        lines += [f"  - {code(c.path)}: {code(change_text(c))}" for c in item.changes]
    lines.append("")
    return lines


def review_document(diff: PlanDiff, findings: Sequence[Finding]) -> dict[str, Any]:
    """The JSON rendering as a dict (see docs/review.md); secrets appear only as ``"secret": true``."""
    return {
        "format": FORMAT,
        "base": {"format": diff.base.format, "project": diff.base.project, "stack": diff.base.stack},
        "head": {"format": diff.head.format, "project": diff.head.project, "stack": diff.head.stack},
        "changed": diff.changed,
        "danger": [
            {
                "class": f.danger,
                "website": f.website,
                "urn": f.urn,
                "type": f.type,
                "name": f.name,
                "message": f.message,
                "blockedByProtection": f.blocked_by_protection,
            }
            for f in findings
        ],
        "dangerClasses": dict(CLASSES),
        "websites": [website_document(w) for w in diff.websites],
        "outputs": [change_document(c) for c in diff.output_changes],
    }


def website_document(website: WebsiteDiff) -> dict[str, Any]:
    """One website of the JSON rendering: counts and the resources that change."""
    return {
        "website": website.website,
        "changed": website.changed,
        "counts": {
            "added": website.count("add"),
            "removed": website.count("remove"),
            "replaced": website.count("replace"),
            "updated": website.count("update"),
            "unchanged": website.count("same"),
        },
        "resources": [_resource_document(r) for r in website.resources if r.action != "same"],
    }


def _resource_document(item: ResourceDiff) -> dict[str, Any]:
    resource = item.current
    return {
        "action": _VERB[item.action],
        "urn": resource.urn,
        "baseUrn": item.base.urn if item.base else None,
        "type": resource.type,
        "name": resource.name,
        "replaceReasons": list(item.replace_reasons),
        "changes": [change_document(c) for c in item.changes],
    }


def change_document(change: Change) -> dict[str, Any]:
    """One change of the JSON rendering; a secret one without its values."""
    if change.secret:
        return {"path": change.path, "secret": True}
    document: dict[str, Any] = {"path": change.path, "secret": False}
    if change.document:
        # Only the paths: a document may hold masked secrets beside the values that changed.
        document["document"] = True
        document["paths"] = differing_paths(change.old, change.new)
        return document
    if change.old is not ABSENT:
        document["old"] = change.old
    if change.new is not ABSENT:
        document["new"] = change.new
    return document


def render_json(diff: PlanDiff, findings: Sequence[Finding]) -> str:
    """The JSON rendering as text: sorted keys, two-space indent, trailing newline (same input, same bytes)."""
    return json.dumps(review_document(diff, findings), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
