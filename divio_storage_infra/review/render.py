"""Renderings of a review: Markdown for a pull-request comment and JSON for tools (a stable contract)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from divio_storage_infra.review.danger import CLASSES, Finding
from divio_storage_infra.review.model import OTHER_GROUP, Action, Change, PlanDiff, ResourceDiff, WebsiteDiff
from divio_storage_infra.review.replacement import knows
from divio_storage_infra.review.values import ABSENT, render

FORMAT = "divio-storage-diff/v1"
"""The ``format`` of the JSON rendering; bumped when a field is removed or changes meaning."""

NO_CHANGES = "No changes"
SECRET_CHANGE = "changed (secret)"
UNCHANGED_NAMES_SHOWN = 10
"""How many unchanged websites the collapsed line names before "and N more"."""

_SYMBOL = {"add": "+", "remove": "-", "replace": "-/+", "update": "~"}
_VERB = {"add": "added", "remove": "removed", "replace": "replaced", "update": "updated"}
_COUNTS: tuple[Action, ...] = ("add", "remove", "replace", "update", "same")


def _text(value: str) -> str:
    """Plain Markdown text from plan content: no HTML, no table breaks, no emphasis surprises."""
    out = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
    for char in "*_`[]#":
        out = out.replace(char, "\\" + char)
    return out.replace("\n", " ")


def _code(value: str) -> str:
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
    return f"{render(change.old)} -> {render(change.new)}"


def render_markdown(diff: PlanDiff, findings: Sequence[Finding]) -> str:
    """The PR comment: danger first, then a summary line per website, then each changed website's resources."""
    if not diff.changed:
        return f"{NO_CHANGES} (stack {_code(diff.head.stack)})\n"
    changed = [w for w in diff.websites if w.changed]
    unchanged = [w for w in diff.websites if not w.changed]
    lines = [f"## Storage changes in stack {_code(diff.head.stack)}", ""]
    if diff.base.format != diff.head.format:
        lines += [
            f"> Note: the plans have different formats ({_code(diff.base.format)} and {_code(diff.head.format)}); "
            "resources whose URNs changed between them show as removed and added.",
            "",
        ]
    lines += _danger_section(findings)
    lines += [
        "### Summary",
        "",
        "| website | added | removed | replaced | updated | unchanged |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for website in changed:
        counts = " | ".join(str(website.count(action)) for action in _COUNTS)
        lines.append(f"| {_text(website.website)} | {counts} |")
    if unchanged:
        names = ", ".join(_text(w.website) for w in unchanged[:UNCHANGED_NAMES_SHOWN])
        more = f" and {len(unchanged) - UNCHANGED_NAMES_SHOWN} more" if len(unchanged) > UNCHANGED_NAMES_SHOWN else ""
        noun = "website" if len(unchanged) == 1 else "websites"
        lines += ["", f"{len(unchanged)} {noun} unchanged: {names}{more}."]
    lines.append("")
    for website in changed:
        lines += _website_section(website)
    if diff.output_changes:
        lines += ["### Stack outputs", ""]
        lines += [f"- {_code(c.path)}: {_code(change_text(c))}" for c in diff.output_changes]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _danger_section(findings: Sequence[Finding]) -> list[str]:
    if not findings:
        return ["### Danger", "", "None found.", ""]
    lines = [f"### :warning: Danger ({len(findings)})", ""]
    for finding in findings:
        resource = f"{_code(finding.type)} {_code(finding.name)}" if finding.urn else _code(finding.name)
        lines.append(f"- **{finding.danger}** in **{_text(finding.website)}**, {resource}: {_text(finding.message)}")
    lines.append("")
    return lines


def _website_section(website: WebsiteDiff) -> list[str]:
    lines = [f"### {_text(website.website)}", ""]
    for item in website.resources:
        if item.action == "same":
            continue
        resource = item.current
        head = f"- {_SYMBOL[item.action]} {_VERB[item.action]} {_code(resource.type)} {_code(resource.name)}"
        if item.action == "replace":
            head += " (replaced because " + ", ".join(_code(p) for p in item.replace_reasons) + " changes)"
        elif item.action == "update" and resource.custom and not knows(resource.type):
            head += " (type not in the replacement table: assumed in place)"
        lines.append(head)
        lines += [f"  - {_code(c.path)}: {_code(change_text(c))}" for c in item.changes]
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
        "websites": [_website_document(w) for w in diff.websites],
        "outputs": [_change_document(c) for c in diff.output_changes],
    }


def _website_document(website: WebsiteDiff) -> dict[str, Any]:
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
        "changes": [_change_document(c) for c in item.changes],
    }


def _change_document(change: Change) -> dict[str, Any]:
    if change.secret:
        return {"path": change.path, "secret": True}
    document: dict[str, Any] = {"path": change.path, "secret": False}
    if change.old is not ABSENT:
        document["old"] = change.old
    if change.new is not ABSENT:
        document["new"] = change.new
    return document


def render_json(diff: PlanDiff, findings: Sequence[Finding]) -> str:
    """The JSON rendering as text: sorted keys, two-space indent, trailing newline (same input, same bytes)."""
    return json.dumps(review_document(diff, findings), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def affected_websites(diff: PlanDiff) -> list[str]:
    """Names of the websites whose storage changes (sorted), without the "(other)" group.

    Changed stack outputs count for the website of a one-website stack (its DSN or URL changed).
    """
    names = {w.website for w in diff.websites if w.changed and w.website != OTHER_GROUP}
    sites = {w.website for w in diff.websites if w.website != OTHER_GROUP}
    if diff.output_changes and len(sites) == 1:
        names |= sites
    return sorted(names)
