"""Plan documents for review tests: the example snapshots, small edits to them, and fleet-sized replicas."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

SNAPSHOTS = Path(__file__).resolve().parents[1] / "cli" / "snapshots"


def snapshot(stack: str) -> dict[str, Any]:
    """A fresh copy of the plan snapshot of an example stack."""
    return json.loads((SNAPSHOTS / f"{stack}.json").read_text(encoding="utf-8"))


def resource(document: dict[str, Any], name: str, type_suffix: str = "") -> dict[str, Any]:
    """The one resource called ``name`` (and whose type ends in ``type_suffix``)."""
    found = [r for r in document["resources"] if r["name"] == name and r["type"].endswith(type_suffix)]
    assert len(found) == 1, (name, type_suffix, [r["name"] for r in document["resources"]])
    return found[0]


def edited(
    document: dict[str, Any], name: str, edit: Callable[[dict[str, Any]], None], suffix: str = ""
) -> dict[str, Any]:
    """A copy of ``document`` with ``edit`` applied to one resource."""
    copied = copy.deepcopy(document)
    edit(resource(copied, name, suffix))
    return copied


def without(document: dict[str, Any], name: str, suffix: str = "") -> dict[str, Any]:
    """A copy of ``document`` without one resource."""
    copied = copy.deepcopy(document)
    target = resource(copied, name, suffix)
    copied["resources"] = [r for r in copied["resources"] if r is not target]
    return copied


def policy(res: dict[str, Any]) -> dict[str, Any]:
    """The decoded policy document of a policy resource."""
    return json.loads(res["inputs"]["policy"])


def set_policy(res: dict[str, Any], document: dict[str, Any]) -> None:
    """Store ``document`` as the policy JSON string of a policy resource, as the components do."""
    res["inputs"]["policy"] = json.dumps(document, indent=2, sort_keys=True)


def fleet(
    count: int, base: str = "example-live", edits: dict[int, Callable[[dict[str, Any]], None]] | None = None
) -> dict[str, Any]:
    """One platform-like plan with ``count`` websites ``site000-live`` ..., each a copy of the example's resources.

    ``edits`` maps a website index to a function applied to that website's resource list (by name).
    """
    source = snapshot(base)
    text = json.dumps(source["resources"]).replace(f"urn:pulumi:{source['stack']}::", "urn:pulumi:platform::")
    resources: list[dict[str, Any]] = []
    for index in range(count):
        site = f"site{index:03d}-live"
        copied = json.loads(text.replace(base, site).replace("example-live", site))
        if edits and index in edits:
            edits[index](copied)
        resources.extend(copied)
    resources.sort(key=lambda r: r["urn"])
    return {
        "format": source["format"],
        "notes": [],
        "outputs": {},
        "project": source["project"],
        "resources": resources,
        "stack": "platform",
    }


def write(path: Path, document: dict[str, Any]) -> Path:
    """Write a plan document as `plan --format json` does; returns ``path``."""
    path.write_text(json.dumps(document, sort_keys=True, indent=2) + "\n", encoding="utf-8")
    return path
