"""YAML as the Pulumi CLI reads it (YAML 1.2 core schema, safe types only), shared by stack config and registry.

PyYAML implements YAML 1.1, where ``yes``, ``no``, ``on``, ``off`` are booleans and bare dates become date
objects; the Pulumi CLI keeps them as strings, and a date object would not survive a JSON hand-over anyway.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class Loader(yaml.SafeLoader):
    """A safe loader with YAML 1.2 booleans (``true``/``false`` only) and no timestamps."""


Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


class YamlFileError(ValueError):
    """A YAML file cannot be read or parsed; the message says where, never quoting the file's lines."""


def problem(error: yaml.YAMLError) -> str:
    """Where and what, without PyYAML's snippet of the offending line: that line may hold a secret."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"line {mark.line + 1}, column {mark.column + 1}: {error.problem or error.context}"
    return type(error).__name__


def load_file(path: Path) -> Any:
    """The plain data of the YAML document in ``path`` (None for an empty file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise YamlFileError(f"cannot read {path}: {error.strerror}") from None
    try:
        return yaml.load(text, Loader=Loader)  # noqa: S506 - Loader is a SafeLoader
    except yaml.YAMLError as error:
        raise YamlFileError(f"{path}: invalid YAML: {problem(error)}") from None
