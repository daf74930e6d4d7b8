"""Reading plan documents for review: validated, tolerant of newer format versions and extra fields."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT_PATTERN = re.compile(r"divio-storage-plan/v[0-9]+")
"""Every version of the plan format is accepted; review reads only fields all versions share."""

SECRET_TEXT = "[secret]"
"""How a plan masks a secret value (also inside a string whose secret part was scrubbed)."""

UNKNOWN_TEXT = "(known after apply)"
"""How a plan shows a value the cloud computes."""

_EXCERPT = 60


class PlanInputError(ValueError):
    """A plan document is unreadable or not a plan; the message names the file and the field."""


@dataclass(frozen=True)
class Resource:
    """The fields of one plan resource that review uses."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    protect: bool
    retain_on_delete: bool
    provider: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    aliases: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Plan:
    """One plan document: its identity, resources by URN (in URN order) and stack outputs."""

    format: str
    project: str
    stack: str
    resources: dict[str, Resource]
    outputs: dict[str, Any]
    notes: tuple[str, ...] = field(default=())


def _excerpt(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"


def load_plan(path: Path | str, *, label: str | None = None) -> Plan:
    """Read and validate the plan document in ``path``; raises PlanInputError naming the problem."""
    where = label or str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise PlanInputError(f"{where}: cannot read the plan file: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise PlanInputError(
            f"{where}: not UTF-8 text; expected the output of `divio-storage plan --format json`"
        ) from None
    return parse_plan(text, label=where)


def parse_plan(text: str, *, label: str = "plan") -> Plan:
    """Parse the JSON text of a plan document; raises PlanInputError naming the problem."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise PlanInputError(
            f"{label}: invalid JSON at line {error.lineno} column {error.colno} ({error.msg}); "
            "expected the output of `divio-storage plan --format json`"
        ) from None
    return plan_from_document(document, label=label)


def plan_from_document(document: Any, *, label: str = "plan") -> Plan:
    """Validate a decoded plan document and return its review view."""
    if not isinstance(document, dict):
        raise PlanInputError(f"{label}: expected a JSON object at the top level, got {_excerpt(document)}")
    fmt = document.get("format")
    if not isinstance(fmt, str) or not FORMAT_PATTERN.fullmatch(fmt):
        raise PlanInputError(f"{label}: format: {_excerpt(fmt)} is not a plan format; expected divio-storage-plan/v<N>")
    for key in ("project", "stack"):
        if not isinstance(document.get(key), str):
            raise PlanInputError(f"{label}: {key}: {_excerpt(document.get(key))} is not allowed; expected a string")
    raw_resources = document.get("resources")
    if not isinstance(raw_resources, list):
        raise PlanInputError(f"{label}: resources: {_excerpt(raw_resources)} is not allowed; expected a list")
    outputs = document.get("outputs", {})
    if not isinstance(outputs, dict):
        raise PlanInputError(f"{label}: outputs: {_excerpt(outputs)} is not allowed; expected an object")
    notes = document.get("notes", [])
    resources: dict[str, Resource] = {}
    for index, raw in enumerate(raw_resources):
        resource = _resource(raw, f"{label}: resources[{index}]")
        if resource.urn in resources:
            raise PlanInputError(f"{label}: resources[{index}].urn: {_excerpt(resource.urn)} appears twice")
        resources[resource.urn] = resource
    return Plan(
        format=fmt,
        project=document["project"],
        stack=document["stack"],
        resources=dict(sorted(resources.items())),
        outputs=outputs,
        notes=tuple(str(note) for note in notes) if isinstance(notes, list) else (),
    )


def _resource(raw: Any, where: str) -> Resource:
    if not isinstance(raw, dict):
        raise PlanInputError(f"{where}: {_excerpt(raw)} is not allowed; expected an object")
    for key in ("urn", "type", "name"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise PlanInputError(f"{where}.{key}: {_excerpt(raw.get(key))} is not allowed; expected a string")
    parent = raw.get("parent")
    if parent is not None and not isinstance(parent, str):
        raise PlanInputError(f"{where}.parent: {_excerpt(parent)} is not allowed; expected a URN or null")
    provider = raw.get("provider")
    inputs = raw.get("inputs", {})
    outputs = raw.get("outputs", {})
    for key, value in (("inputs", inputs), ("outputs", outputs)):
        if not isinstance(value, dict):
            raise PlanInputError(f"{where}.{key}: {_excerpt(value)} is not allowed; expected an object")
    aliases = raw.get("aliases", [])
    return Resource(
        urn=raw["urn"],
        type=raw["type"],
        name=raw["name"],
        parent=parent or None,
        custom=bool(raw.get("custom", True)),
        protect=raw.get("protect") is True,
        retain_on_delete=raw.get("retainOnDelete") is True,
        provider=provider if isinstance(provider, str) else None,
        inputs=inputs,
        outputs=outputs,
        aliases=tuple(aliases) if isinstance(aliases, list) else (),
    )


def empty_plan(project: str, stack: str, note: str) -> Plan:
    """A plan with no resources (a stack that does not exist at one side of a diff)."""
    return Plan(format="divio-storage-plan/v1", project=project, stack=stack, resources={}, outputs={}, notes=(note,))
