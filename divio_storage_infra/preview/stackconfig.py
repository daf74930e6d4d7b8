"""Read a Pulumi project and one stack's config the way the Pulumi CLI hands them to a program. No Pulumi import.

The CLI passes a program a flat ``{"namespace:key": "string"}`` map plus the list of secret keys. Scalars arrive as
their YAML source text (``true``, ``3600``), lists and maps as JSON text (what ``pulumi.Config.get_object`` parses),
and keys without a namespace get the project's name. ``secure:`` values cannot be decrypted offline: they become
:data:`SECURE_PLACEHOLDER`, their key is marked secret, and the ciphertext is dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from divio_storage_infra import yamlfile

PROJECT_FILES: tuple[str, ...] = ("Pulumi.yaml", "Pulumi.yml")
SECURE_PLACEHOLDER = "secret-not-decrypted-offline"
"""What a ``secure:`` config value reads as under ``plan``; its key is secret, so the plan shows ``[secret]``."""

_DECLARATION_KEYS = frozenset({"type", "description", "default", "value", "items", "secret"})
_STACK_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


class StackConfigError(ValueError):
    """The project or stack config cannot be read: missing file, wrong shape, unknown stack, unsafe YAML."""


@dataclass(frozen=True)
class Project:
    """A Pulumi project: its name, directory, program file and where stack configs live."""

    name: str
    directory: Path
    program: Path
    stack_config_dir: Path
    defaults: Mapping[str, str]
    """Project-level config values (``config:`` in Pulumi.yaml), flattened like stack config."""
    secret_keys: frozenset[str]
    """Keys the project declares ``secret: true``."""

    def stack_file(self, stack: str) -> Path:
        """Where the config of ``stack`` lives (the ``.yaml`` name even when it does not exist)."""
        for suffix in (".yaml", ".yml"):
            path = self.stack_config_dir / f"Pulumi.{stack}{suffix}"
            if path.is_file():
                return path
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"

    def stacks(self) -> list[str]:
        """Names of the stacks that have a config file, sorted."""
        names = {
            match.group(1)
            for path in self.stack_config_dir.glob("Pulumi.*.y*ml")
            if (match := re.fullmatch(r"Pulumi\.(.+)\.ya?ml", path.name))
        }
        return sorted(names)


@dataclass(frozen=True)
class StackConfig:
    """One stack's config, ready for the program: flat string map, secret keys and what plan should tell."""

    project: Project
    stack: str
    source: Path
    config: Mapping[str, str]
    secret_keys: tuple[str, ...]
    notes: tuple[str, ...] = ()
    """What the offline read could not do (secure values replaced, ESC environments not resolved)."""


def find_project_dir(start: Path) -> Path:
    """The nearest directory at or above ``start`` with a Pulumi.yaml; StackConfigError if there is none."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if any((directory / name).is_file() for name in PROJECT_FILES):
            return directory
    raise StackConfigError(f"no Pulumi.yaml in {start} or any parent directory; pass --project-dir")


def load_project(directory: Path) -> Project:
    """Read Pulumi.yaml in ``directory``: name, runtime (must be Python), ``main``, ``stackConfigDir``, config."""
    directory = directory.resolve()
    path = next((directory / n for n in PROJECT_FILES if (directory / n).is_file()), None)
    if path is None:
        raise StackConfigError(f"{directory / PROJECT_FILES[0]} does not exist")
    raw, nodes = _read_yaml(path)
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise StackConfigError(f"{path}: 'name' must be a non-empty string")
    runtime = raw.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise StackConfigError(f"{path}: runtime is {runtime_name!r}; plan runs Python programs only")
    main = raw.get("main")
    if main is not None and not isinstance(main, str):
        raise StackConfigError(f"{path}: 'main' must be a path")
    program = directory / (main or ".")
    if program.is_dir():
        program = program / "__main__.py"
    if not program.is_file():
        raise StackConfigError(f"{path}: the program {program} does not exist")
    config_dir = raw.get("stackConfigDir")
    if config_dir is not None and not isinstance(config_dir, str):
        raise StackConfigError(f"{path}: 'stackConfigDir' must be a path")
    defaults, secret_keys = _project_config(path, name, nodes.get("config"))
    return Project(
        name=name,
        directory=directory,
        program=program,
        stack_config_dir=directory / (config_dir or "."),
        defaults=defaults,
        secret_keys=secret_keys,
    )


def stack_name(stack: str) -> str:
    """The name part of ``stack`` (a name, or ``org/project/name``); StackConfigError when it is not one."""
    parts = stack.split("/")
    if len(parts) > 3 or not all(_STACK_NAME_RE.match(p) and p not in (".", "..") for p in parts):
        raise StackConfigError(
            f"{stack!r} is not a stack name ([org/[project/]]name of letters, digits, '_', '.', '-')"
        )
    return parts[-1]


def load_stack(project: Project, stack: str) -> StackConfig:
    """The config of stack ``stack`` (a name, or ``org/project/name``) from the project's stack config dir."""
    name = stack_name(stack)
    path = project.stack_file(name)
    if not path.is_file():
        known = project.stacks()
        listing = ", ".join(known) if known else "none"
        raise StackConfigError(
            f"no config for stack {name!r}: {path} does not exist (stacks in {project.stack_config_dir}: {listing})"
        )
    return load_stack_file(project, path, stack=name)


def without_config(project: Project, stack: str) -> StackConfig:
    """Stack ``stack`` without a config file: only ``Pulumi.yaml``'s config, as ``pulumi`` runs a new stack."""
    return StackConfig(
        project=project,
        stack=stack,
        source=project.stack_file(stack),
        config=dict(sorted(project.defaults.items())),
        secret_keys=tuple(sorted(project.secret_keys)),
        notes=(f"stack {stack} has no config file; the program ran without stack config",),
    )


def load_stack_file(project: Project, path: Path, *, stack: str | None = None) -> StackConfig:
    """The config in ``path``; the stack name is ``stack`` or taken from a ``Pulumi.<stack>.yaml`` file name."""
    if not path.is_file():
        raise StackConfigError(f"stack config {path} does not exist")
    if stack is None:
        match = re.fullmatch(r"Pulumi\.(.+)\.ya?ml", path.name)
        stack = match.group(1) if match else path.stem
    raw, nodes = _read_yaml(path)
    notes: list[str] = []
    if raw.get("environment"):
        notes.append(f"{path.name}: ESC environments are not resolved offline; their values are missing here")
    config_node = nodes.get("config")
    values: dict[str, str] = dict(project.defaults)
    secret_keys = set(project.secret_keys)
    if config_node is not None and not _is_null(config_node):
        if not isinstance(config_node, yaml.MappingNode):
            raise StackConfigError(f"{path}: 'config' must be a mapping of keys to values")
        for key, value_node in _pairs(path, config_node):
            full_key = _full_key(key, project.name)
            text, secure = _flatten(value_node)
            values[full_key] = text
            if secure:
                secret_keys.add(full_key)
                notes.append(f"{full_key} is encrypted (secure): plan cannot decrypt it and shows it as [secret]")
    return StackConfig(
        project=project,
        stack=stack,
        source=path,
        config=dict(sorted(values.items())),
        secret_keys=tuple(sorted(secret_keys)),
        notes=tuple(sorted(notes)),
    )


def _read_yaml(path: Path) -> tuple[dict[str, Any], dict[str, yaml.Node]]:
    """The document as plain values and its top-level value nodes (for raw scalar text); must be a mapping.

    Read by :mod:`.yamlfile`: bounded size, depth and alias expansion, UTF-8 only, plain YAML types only.
    """
    try:
        root = yamlfile.read_document(path)
    except yamlfile.YamlFileError as error:
        raise StackConfigError(str(error)) from None
    if root is None:
        return {}, {}
    if not isinstance(root, yaml.MappingNode):
        raise StackConfigError(f"{path}: expected a mapping at the top level")
    nodes = dict(_pairs(path, root))
    raw = {key: _construct(node) for key, node in nodes.items()}
    return raw, nodes


def _pairs(path: Path, node: yaml.MappingNode) -> list[tuple[str, yaml.Node]]:
    pairs: list[tuple[str, yaml.Node]] = []
    for key_node, value_node in yamlfile.flatten(node):
        if not isinstance(key_node, yaml.ScalarNode) or _is_null(key_node):
            raise StackConfigError(f"{path}: line {key_node.start_mark.line + 1}: keys must be strings")
        pairs.append((key_node.value, value_node))
    return pairs


def _full_key(key: str, project: str) -> str:
    # Pulumi puts keys without a namespace into the project's namespace.
    return key if ":" in key else f"{project}:{key}"


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _flatten(node: yaml.Node) -> tuple[str, bool]:
    """One config value as the string the CLI passes, and whether it held a ``secure:`` value."""
    if isinstance(node, yaml.ScalarNode):
        # The CLI passes scalars as written: `true`, `3600`, `1.50`; pulumi.Config parses them on demand.
        return ("" if _is_null(node) else node.value), False
    value = _construct(node)
    if _is_secure(value):
        return SECURE_PLACEHOLDER, True
    replaced, secure = _replace_secure(value)
    # Structured values arrive as JSON text; sorted keys match the Go encoder the CLI uses.
    return json.dumps(replaced, sort_keys=True, separators=(",", ":"), ensure_ascii=False), secure


def _construct(node: yaml.Node) -> Any:
    # The node graph was checked when the file was read: plain types only, bounded size and depth.
    return yamlfile.to_python(node)


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and list(value) == ["secure"] and isinstance(value["secure"], str)


def _replace_secure(value: Any) -> tuple[Any, bool]:
    """``value`` with every nested ``{secure: ...}`` replaced by the placeholder, and whether there was one."""
    if _is_secure(value):
        return SECURE_PLACEHOLDER, True
    if isinstance(value, dict):
        items = [(k, _replace_secure(v)) for k, v in value.items()]
        return {str(k): v for k, (v, _) in items}, any(s for _, (_, s) in items)
    if isinstance(value, list):
        parts = [_replace_secure(v) for v in value]
        return [v for v, _ in parts], any(s for _, s in parts)
    return value, False


def _project_config(path: Path, project: str, node: yaml.Node | None) -> tuple[dict[str, str], frozenset[str]]:
    """Values and secret keys of Pulumi.yaml's ``config:`` block (short values or typed declarations)."""
    if node is None or _is_null(node):
        return {}, frozenset()
    if not isinstance(node, yaml.MappingNode):
        raise StackConfigError(f"{path}: 'config' must be a mapping")
    values: dict[str, str] = {}
    secret: set[str] = set()
    for key, value_node in _pairs(path, node):
        full_key = _full_key(key, project)
        declaration = _declaration(value_node)
        if declaration is None:
            values[full_key], is_secure = _flatten(value_node)
        else:
            if declaration.get("secret") is not None and _construct(declaration["secret"]) is True:
                secret.add(full_key)
            given = declaration.get("value", declaration.get("default"))
            if given is None:
                continue
            values[full_key], is_secure = _flatten(given)
        if is_secure:
            secret.add(full_key)
    return values, frozenset(secret)


def _declaration(node: yaml.Node) -> dict[str, yaml.Node] | None:
    """The fields of a typed config declaration (``type``/``default``/``value``...), or None for a plain value."""
    if not isinstance(node, yaml.MappingNode) or not node.value:
        return None
    fields: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.value not in _DECLARATION_KEYS:
            return None
        fields[key_node.value] = value_node
    return fields
