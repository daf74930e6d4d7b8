"""JSON Schemas of stack configs and platform registries, built from the table of config keys. Pure Python.

Editors validate and complete with them (``docs/editor-schema.md``); the test suite validates the examples with
``check-jsonschema``. The schema accepts what the spec reads (``"true"`` and ``"3600"`` as Pulumi's CLI writes
them); cross-field rules (a region per cloud, CORS only with a public store...) stay with the spec's own checks.
"""

from __future__ import annotations

import json
from typing import Any

from divio_storage_infra.core.clouds import CLOUDS
from divio_storage_infra.core.configkeys import KEYS, ConfigKey, key

NAMESPACE = "divio-storage"
"""The stack config namespace of the per-website program (``divio-storage:website``)."""
_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_NUMBER_TEXT = r"^\s*-?[0-9]{1,18}\s*$"
_BOOLEAN_TEXT = ("true", "false", "True", "False", "TRUE", "FALSE")
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# A namespace one typo away from ours (divio_storage:, divio-storge:, Divio-Storage:) holds keys nobody reads.
_NEAR_MISS_NAMESPACE = r"^(?!divio-storage:)[Dd][Ii][Vv][Ii][Oo][-_. ]?[Ss][Tt][Oo]?[Rr][Aa]?[Gg][Ee]?:"


def _default_text(row: ConfigKey) -> str:
    if row.cloud_default is not None:
        return ", ".join(f"{name}: {json.dumps(row.cloud_default(caps))}" for name, caps in CLOUDS.items())
    return json.dumps(list(row.default) if isinstance(row.default, tuple) else row.default)


def _typed(row: ConfigKey) -> dict[str, Any]:
    """The schema of a value of ``row``'s type, with its bounds and allowed values."""
    enum: dict[str, Any] = {"enum": list(row.values)} if row.values else {}
    if row.type == "boolean":
        return {"anyOf": [{"type": "boolean"}, {"type": "string", "enum": list(_BOOLEAN_TEXT)}]}
    if row.type == "integer":
        number = {"type": "integer", "minimum": row.low, "maximum": row.high}
        return {"anyOf": [number, {"type": "string", "pattern": _NUMBER_TEXT}]}
    if row.type == "string-list":
        items = {"type": "string", **enum}
        return {"anyOf": [{"type": "array", "items": items}, {"type": "string"}]}
    if row.type == "string-map":
        return {"type": "object", "additionalProperties": {"type": "string"}}
    if row.type == "date":
        return {"type": "string", "pattern": _DATE}
    return {"type": "string", **enum}


def key_schema(row: ConfigKey, *, nullable: bool = False) -> dict[str, Any]:
    """The schema of one key's value, with a description that gives its default and clouds (editors show it)."""
    clouds = row.clouds()
    where = "every cloud" if len(clouds) == len(CLOUDS) else " / ".join(clouds)
    parts = [row.description]
    if row.default is not None or row.cloud_default is not None:
        parts.append(f"Default: {_default_text(row)}.")
    parts.append(f"Applies to: {where}.")
    schema: dict[str, Any] = {"description": " ".join(parts)}
    typed = _typed(row)
    if row.secret:
        secure = {"type": "object", "properties": {"secure": {"type": "string"}}, "required": ["secure"]}
        typed = {"anyOf": [typed, {**secure, "additionalProperties": False}]}
    if nullable:
        typed = {"anyOf": [typed, {"type": "null"}]}
    schema.update(typed)
    if row.default is not None and row.cloud_default is None and row.type != "string-map":
        schema["default"] = list(row.default) if isinstance(row.default, tuple) else row.default
    return schema


def stack_config_schema() -> dict[str, Any]:
    """The schema of a website's Pulumi stack config (``Pulumi.<stack>.yaml`` with ``divio-storage:`` keys)."""
    rows = [row for row in KEYS if row.scope in ("spec", "stack")]
    names = [f"{NAMESPACE}:{row.name}" for row in rows]
    known = "|".join(row.name for row in rows)
    config = {
        "type": "object",
        "description": "Stack config: divio-storage:<key> for this project's keys, other namespaces for providers.",
        "properties": {name: key_schema(row) for name, row in zip(names, rows, strict=True)},
        "required": [f"{NAMESPACE}:{row.name}" for row in rows if row.required],
        "patternProperties": {
            f"^{NAMESPACE}:(?!({known})$)": {"not": {}, "description": "Not a config key of divio-storage."},
            _NEAR_MISS_NAMESPACE: {"not": {}, "description": "A misspelt namespace: did you mean divio-storage:?"},
        },
    }
    return {
        "$schema": _DIALECT,
        "title": "divio-storage stack config",
        "description": "A website's Pulumi stack config for divio-storage-infra (generated; see config-keys.md).",
        "type": "object",
        "properties": {"config": config},
    }


def registry_schema() -> dict[str, Any]:
    """The schema of a platform registry (``stacks/platform/websites.yaml``): ``defaults`` and ``websites``."""
    rows = [row for row in KEYS if row.scope in ("spec", "registry")]
    entry = {row.name: key_schema(row, nullable=True) for row in rows}
    defaults = {name: schema for name, schema in entry.items() if not key(name).required}
    return {
        "$schema": _DIALECT,
        "title": "divio-storage platform registry",
        "description": "Every website's storage for a platform stack (generated; see config-keys.md).",
        "type": "object",
        "properties": {
            "defaults": {
                "type": ["object", "null"],
                "description": "Keys applied to every entry; an entry's keys override them, tags merge.",
                "properties": defaults,
                "additionalProperties": False,
            },
            "websites": {
                "type": "array",
                "minItems": 1,
                "description": "One entry per website and environment.",
                "items": {
                    "type": "object",
                    "properties": entry,
                    "required": [row.name for row in rows if row.required],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["websites"],
        "additionalProperties": False,
    }


def to_text(schema: dict[str, Any]) -> str:
    """A schema as the file holds it: indented JSON, keys in table order, a final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
