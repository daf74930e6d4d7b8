"""Pulumi's bulk import file (``pulumi import --file``) from a plan document: the alternative route of adoption.

Every resource of the plan that carries an ``importId`` (declared with ``adopt: true``) becomes an entry
``{"type", "name", "id", "logicalName"?, "parent"?, "provider"?}``; the components above them become
``{"component": true}`` entries, so the whole parent chain exists once the import ran, with the URNs the program
declares. Explicit providers go into ``nameTable`` by URN (they must exist in the stack before the import). Pure
function of the document: same plan, same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class NothingToAdopt(ValueError):
    """The plan declares no resource with the import option."""


def import_file(document: Mapping[str, Any]) -> dict[str, Any]:
    """The import file for every imported resource of ``document`` (a plan), with the components above them."""
    resources: list[Mapping[str, Any]] = list(document["resources"])
    by_urn = {str(r["urn"]): r for r in resources}
    imported = [r for r in resources if r.get("importId")]
    if not imported:
        raise NothingToAdopt(
            f"stack {document['stack']}: no resource is declared with the import option; set adopt: true (with the "
            "existing names) in the stack config or registry entry first"
        )
    wanted: dict[str, Mapping[str, Any]] = {}
    for resource in imported:
        wanted[str(resource["urn"])] = resource
        parent = resource.get("parent")
        while parent is not None and parent in by_urn:
            wanted.setdefault(parent, by_urn[parent])
            parent = by_urn[parent].get("parent")
    # Parents before children (shorter type chains first), then by URN: deterministic and importable in order.
    ordered = sorted(wanted.values(), key=lambda r: (_depth(str(r["urn"])), str(r["urn"])))
    keys = _keys(ordered)
    name_table: dict[str, str] = {}
    entries: list[dict[str, Any]] = []
    for resource in ordered:
        urn = str(resource["urn"])
        entry: dict[str, Any] = {"type": resource["type"], "name": keys[urn]}
        if keys[urn] != resource["name"]:
            entry["logicalName"] = resource["name"]
        if resource.get("importId"):
            entry["id"] = resource["importId"]
        else:
            entry["component"] = True
        parent = resource.get("parent")
        if parent is not None:
            entry["parent"] = keys[parent]
        provider = resource.get("provider")
        if provider:
            # The provider must already exist in the stack (docs/adoption.md); the file names it by URN.
            provider_key = f"provider-{by_urn[provider]['name'] if provider in by_urn else len(name_table)}"
            name_table.setdefault(provider_key, provider)
            entry["provider"] = provider_key
        entries.append(entry)
    return {"nameTable": dict(sorted(name_table.items())), "resources": entries}


def render(file: Mapping[str, Any]) -> str:
    """The import file as JSON text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(file, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _depth(urn: str) -> int:
    return urn.split("::")[2].count("$")


def _keys(resources: list[Mapping[str, Any]]) -> dict[str, str]:
    """A name per resource that is unique in the file: its logical name, or ``<name>-<Type>`` where names repeat
    (the website component and its cloud component share one name)."""
    counts: dict[str, int] = {}
    for resource in resources:
        counts[str(resource["name"])] = counts.get(str(resource["name"]), 0) + 1
    keys: dict[str, str] = {}
    for resource in resources:
        name = str(resource["name"])
        kind = str(resource["type"]).rsplit(":", 1)[-1]
        keys[str(resource["urn"])] = name if counts[name] == 1 else f"{name}-{kind}"
    return keys
