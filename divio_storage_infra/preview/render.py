"""Renderers of the plan document: JSON for tools (the contract) and text for people. Pure functions of the document."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

SECRET_TEXT = "[secret]"
"""How the plan shows a secret value."""
UNKNOWN_TEXT = "(known after apply)"
"""How the plan shows a value only known after apply."""
INDENT = "    "
"""One level of the text form."""
_INDENT = INDENT
# The facade's type token (a contract of the components); each one is a website/environment in the summary.
WEBSITE_TYPE = "divio:storage:WebsiteMediaStorage"


def render_json(document: Mapping[str, Any]) -> str:
    """The JSON form: sorted keys, two-space indent, trailing newline; the same document gives the same bytes."""
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def render_text(document: Mapping[str, Any]) -> str:
    """The text form: resources as a tree by parent (flags, dependencies, inputs), then outputs and notes."""
    resources: list[dict[str, Any]] = list(document["resources"])
    by_urn = {r["urn"]: r for r in resources}
    lines = [
        f"Plan of stack {document['stack']} (project {document['project']}), {document['format']}",
        f"{len(resources)} resource{'' if len(resources) == 1 else 's'}",
    ]
    # Present only when a policy pack ran (plan --policy-pack): each violation is printed under its resource.
    violations: list[dict[str, Any]] | None = document.get("violations")
    by_resource: dict[str | None, list[dict[str, Any]]] = {}
    if violations is not None:
        mandatory = sum(1 for v in violations if v["enforcement"] == "mandatory")
        lines.append(
            f"Policy violations: {len(violations)} ({mandatory} mandatory)" if violations else "Policy violations: none"
        )
        for found in violations:
            by_resource.setdefault(found["urn"] if found["urn"] in by_urn else None, []).append(found)
    lines.append("")
    summary = [line for _urn, line in website_lines(resources)]
    if summary:
        lines.extend(["Websites:", *summary, ""])
    lines.extend(text for _urn, text in trees(resources, by_resource))
    lines.append("")
    lines.append("Outputs:")
    outputs: dict[str, Any] = document["outputs"]
    if outputs:
        for key in sorted(outputs):
            lines.extend(value_lines(key, outputs[key], 1))
    else:
        lines.append(f"{_INDENT}(none)")
    notes: list[str] = document["notes"]
    if notes:
        lines.append("")
        lines.append("Notes:")
        for note in notes:
            lines.append(f"{_INDENT}- {note}")
    if by_resource.get(None):
        lines.append("")
        lines.append("Policy violations of the stack:")
        lines.extend(_violation_line(v, 1) for v in by_resource[None])
    return "\n".join(lines) + "\n"


def _violation_line(found: Mapping[str, Any], depth: int) -> str:
    """``! <level> <policy>: <message>``, continuation lines indented under it."""
    message = str(found["message"]).replace("\n", "\n" + _INDENT * (depth + 1))
    return f"{_INDENT * depth}! {found['enforcement']} {found['policy']}: {message}"


def _children(resources: list[dict[str, Any]]) -> dict[str | None, list[dict[str, Any]]]:
    """The resources by parent URN (None: the top level, where a resource whose parent is not listed goes too)."""
    by_urn = {r["urn"]: r for r in resources}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for resource in resources:
        parent = resource["parent"] if resource["parent"] in by_urn else None
        children.setdefault(parent, []).append(resource)
    return children


def trees(
    resources: list[dict[str, Any]], by_resource: Mapping[str | None, list[dict[str, Any]]] | None = None
) -> list[tuple[str, str]]:
    """Each top-level resource's subtree as text (violations of ``by_resource`` under their resources), by URN."""
    by_urn = {r["urn"]: r for r in resources}
    children = _children(resources)
    marks_of = by_resource or {}

    def walk(resource: dict[str, Any], depth: int, lines: list[str]) -> None:
        resource_lines = _resource_lines(resource, by_urn, depth)
        marks = [_violation_line(v, depth + 1) for v in marks_of.get(resource["urn"], [])]
        lines.extend([resource_lines[0], *marks, *resource_lines[1:]])
        for child in sorted(children.get(resource["urn"], []), key=lambda r: str(r["urn"])):
            walk(child, depth + 1, lines)

    found: list[tuple[str, str]] = []
    for top in sorted(children.get(None, []), key=lambda r: str(r["urn"])):
        lines: list[str] = []
        walk(top, 0, lines)
        found.append((str(top["urn"]), "\n".join(lines)))
    return found


def website_lines(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """One line per website component, by URN: who it is (from its tags), what it holds, how much is protected."""
    children = _children(resources)
    lines: list[tuple[str, str]] = []
    for site in sorted((r for r in resources if r["type"] == WEBSITE_TYPE), key=lambda r: str(r["urn"])):
        below: list[dict[str, Any]] = []
        pending = [site]
        while pending:
            current = pending.pop()
            below.append(current)
            pending.extend(children.get(current["urn"], []))
        tags = next((t for r in below if isinstance(t := r["inputs"].get("tags"), dict) and "website" in t), {})
        who = f"{tags['website']}/{tags.get('environment', '?')}" if tags else str(site["name"])
        protected = sum(1 for r in below if r["protect"])
        guard = "all protected" if protected == len(below) else f"{protected} protected"
        kinds = sorted({str(r["type"]).rsplit(":", 1)[-1] for r in below if r["custom"]})
        held = ", ".join(kind for kind in kinds if kind in _STORES) or "no stores"
        lines.append((str(site["urn"]), f"{_INDENT}{who} ({site['name']}): {len(below)} resources, {guard}; {held}"))
    return lines


_STORES = frozenset({"Bucket", "StorageAccount", "BlobContainer", "User"})


def _label(urn: str, by_urn: Mapping[str, Mapping[str, Any]]) -> str:
    resource = by_urn.get(urn)
    if resource is None:
        return urn
    return f"{resource['type']} {json.dumps(resource['name'])}"


def _resource_lines(resource: Mapping[str, Any], by_urn: Mapping[str, Mapping[str, Any]], depth: int) -> list[str]:
    pad = _INDENT * depth
    flags = [
        flag
        for flag, on in (
            ("component", not resource["custom"]),
            ("protect", resource["protect"]),
            ("retain-on-delete", resource["retainOnDelete"]),
            ("delete-before-replace", resource["deleteBeforeReplace"]),
        )
        if on
    ]
    head = f"{pad}+ {resource['type']} {json.dumps(resource['name'])}"
    imported = f"  [import {resource['importId']}]" if resource.get("importId") else ""
    lines = [head + (f"  [{', '.join(flags)}]" if flags else "") + imported]
    inner = depth + 1
    for label, urns in (("depends on", resource["dependencies"]),):
        for urn in urns:
            lines.append(f"{_INDENT * inner}{label}: {_label(urn, by_urn)}")
    if resource["provider"]:
        lines.append(f"{_INDENT * inner}provider: {_label(resource['provider'], by_urn)}")
    lines.extend(f"{_INDENT * inner}{line}" for line in _alias_lines(resource["aliases"]))
    for key, title in (("ignoreChanges", "ignore changes"), ("additionalSecretOutputs", "secret outputs")):
        if resource[key]:
            lines.append(f"{_INDENT * inner}{title}: {', '.join(resource[key])}")
    if resource["inputs"]:
        lines.extend(value_lines("inputs", resource["inputs"], inner))
    if resource["outputs"]:
        lines.extend(value_lines("outputs", resource["outputs"], inner))
    return lines


def _alias_lines(aliases: list[Any]) -> list[str]:
    """Aliases one per line; bare former type tokens (provider SDKs add dozens) counted on one line."""
    type_only: list[str] = []
    lines: list[str] = []
    for alias in aliases:
        spec = alias.get("spec", {}) if isinstance(alias, dict) else {}
        fields = {k: v for k, v in spec.items() if v not in ("", None, False)}
        if list(fields) == ["type"]:
            type_only.append(str(fields["type"]))
        else:
            lines.append(f"alias: {json.dumps(alias, sort_keys=True, ensure_ascii=False)}")
    if len(type_only) == 1:
        lines.insert(0, f"alias: former type {type_only[0]}")
    elif type_only:
        lines.insert(0, f"alias: {len(type_only)} former types ({type_only[0]} ... {type_only[-1]})")
    return lines


def value_lines(key: str, value: Any, depth: int) -> list[str]:
    """``key: value`` at ``depth``, nested values below it; JSON documents in strings pretty-printed."""
    pad = _INDENT * depth
    if isinstance(value, dict) and value:
        lines = [f"{pad}{key}:"]
        for k in sorted(value):
            lines.extend(value_lines(k, value[k], depth + 1))
        return lines
    if isinstance(value, list) and value:
        lines = [f"{pad}{key}:"]
        for index, item in enumerate(value):
            if isinstance(item, dict | list) and item:
                lines.extend(value_lines(f"[{index}]", item, depth + 1))
            else:
                lines.append(f"{_INDENT * (depth + 1)}- {_scalar(item)}")
        return lines
    document = _json_document(value)
    if document is not None:
        body = json.dumps(document, indent=2, ensure_ascii=False).splitlines()
        return [f"{pad}{key}: (JSON)", *(f"{_INDENT * (depth + 1)}{line}" for line in body)]
    return [f"{pad}{key}: {_scalar(value)}"]


def _json_document(value: Any) -> dict[str, Any] | list[Any] | None:
    if not isinstance(value, str) or value[:1] not in ("{", "["):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict | list) and parsed else None


def _scalar(value: Any) -> str:
    if value in (SECRET_TEXT, UNKNOWN_TEXT) and isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
