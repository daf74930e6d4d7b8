"""Read a YAML config file (Pulumi project, stack config, platform registry) safely, in bounded time and memory.

The Pulumi CLI reads these files with Go's yaml.v3: YAML 1.2 booleans (``yes``/``on`` stay strings), dates
kept as strings, merge keys and aliases allowed. :class:`Loader` gives PyYAML the same reading. On top of it,
:func:`read_document` refuses, with the file, line and column in one :class:`YamlFileError`:

- files over :attr:`Limits.max_bytes` (1 MiB), before parsing;
- bytes that are not UTF-8 (a UTF-16/UTF-32 byte order mark is named as such), NUL and other control characters;
- nesting deeper than :attr:`Limits.max_depth` (100), counted through aliases too, before Python's recursion
  limit is near;
- more than :attr:`Limits.max_nodes` (100,000) nodes once aliases are expanded: an alias bomb is refused after
  composing a few hundred nodes, never expanded; aliases that refer to their own enclosing node, too;
- tags other than plain strings, numbers, booleans, null, lists and maps (``!!timestamp``, ``!!set``,
  ``!!binary``, ``!!python/...``, custom ``!tags``), anywhere in the document;
- keys that are not strings (``1:``, ``true:``, ``null:``, lists), and a key given twice in one mapping.

Aliases stay allowed (merge keys are how a registry shares defaults) but are counted: PyYAML's composer shares
the aliased node, so the composed graph stays small and its expanded size is computed, not built. ruamel.yaml was
considered: it resolves YAML 1.2 by default, but its composer has the same unbounded expansion and recursion, it
still resolves dates, and Go's yaml.v3 (what Pulumi uses) reads ``017`` as octal like PyYAML; so it would add a
dependency without removing any of these checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml import cyaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

_TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null"))
SEQ, MAP, MERGE = f"{_TAG}seq", f"{_TAG}map", f"{_TAG}merge"
_SCALAR_TAGS = frozenset({STR, INT, FLOAT, BOOL, NULL})
_TIMESTAMP, _VALUE = f"{_TAG}timestamp", f"{_TAG}value"
# What YAML allows in a stream (1.1 and 1.2 alike): tab, line breaks and the printable ranges.
_NOT_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_BOMS = (
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\xfe\xff", "UTF-16"),
    (b"\xff\xfe", "UTF-16"),
)
_EXCERPT = 40


@dataclass(frozen=True)
class Limits:
    """Bounds for one file: ``max_bytes`` (1 MiB), ``max_depth`` levels of nesting (100), ``max_nodes`` nodes
    with aliases expanded (100,000)."""

    max_bytes: int = 1024 * 1024
    max_depth: int = 100
    max_nodes: int = 100_000


DEFAULT_LIMITS = Limits()


class YamlFileError(ValueError):
    """A config file cannot be read safely: ``path``, ``line`` and ``column`` (1-based, 0 when not known) and
    ``problem``; the message never quotes the file beyond a short excerpt of a tag or key."""

    def __init__(self, path: Path, problem: str, line: int = 0, column: int = 0, *, syntax: bool = False) -> None:
        self.path = path
        self.problem = problem
        self.line = line
        self.column = column
        where = f"line {line}, column {column}: " if line else ""
        super().__init__(f"{path}: {'invalid YAML: ' if syntax else ''}{where}{problem}")


class _PythonEvents(Reader, Scanner, Parser):
    """PyYAML's pure-Python event source (where PyYAML was built without libyaml)."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)


# libyaml scans and parses six times faster (1 MiB in about 1.5 s instead of 9 s); only its events are used, the
# composing stays PyYAML's Python code below, where the limits are counted. Without libyaml, PyYAML's own parser.
_Events: Any = cyaml.CParser if getattr(yaml, "__with_libyaml__", False) else _PythonEvents  # type: ignore[attr-defined]


class Loader(_Events, Composer, SafeConstructor, Resolver):  # type: ignore[misc]
    """PyYAML's safe loading reading scalars as the Pulumi CLI does: only ``true``/``false`` are booleans, dates
    and ``=`` stay strings; composing counts nodes and nesting depth against :class:`Limits`."""

    limits: Limits = DEFAULT_LIMITS
    path: Path = Path("<string>")
    # libyaml's parser composes documents itself, with no limits: the Python composer does it instead.
    get_single_node = Composer.get_single_node

    def __init__(self, stream: str) -> None:
        _Events.__init__(self, stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._depth = 0
        self._composed = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        """Compose one node, refusing past the depth and node limits before recursing further."""
        self._composed += 1
        if self._composed > self.limits.max_nodes:
            mark = self.peek_event().start_mark
            raise _error(self.path, f"more than {self.limits.max_nodes} YAML nodes", mark)
        if self._depth >= self.limits.max_depth:
            mark = self.peek_event().start_mark
            raise _error(self.path, f"nested deeper than {self.limits.max_depth} levels", mark)
        self._depth += 1
        try:
            node: yaml.Node | None = super().compose_node(parent, index)
            return node
        finally:
            self._depth -= 1


# PyYAML implements YAML 1.1, where `yes`, `no`, `on`, `off` are booleans, bare dates become date objects and `=`
# is a "value" key; yaml.v3 (the Pulumi CLI) keeps them as strings, and a date would not survive the JSON hand-over.
Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (BOOL, _TIMESTAMP, _VALUE)]
    for first, resolvers in Resolver.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _error(path: Path, problem: str, mark: Any) -> YamlFileError:
    if mark is None:
        return YamlFileError(path, problem)
    return YamlFileError(path, problem, mark.line + 1, mark.column + 1)


def _excerpt(text: str) -> str:
    shown = text if len(text) <= _EXCERPT else text[: _EXCERPT - 3] + "..."
    return repr(shown)


def decode(path: Path, data: bytes) -> str:
    """``data`` as text: UTF-8 (a UTF-8 byte order mark is dropped) with only characters YAML allows."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise YamlFileError(
                path, f"the file is {name}-encoded (it starts with a byte order mark); save it as UTF-8"
            )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        byte = data[error.start : error.start + 1].hex()
        raise YamlFileError(path, f"byte 0x{byte} is not UTF-8; save the file as UTF-8", line, column) from None
    text = text.removeprefix("\ufeff")
    found = _NOT_PRINTABLE.search(text)
    if found is not None:
        line = text.count("\n", 0, found.start()) + 1
        column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
        char = found.group()
        hint = " (a UTF-16 file without byte order mark?)" if char == "\x00" else ""
        raise YamlFileError(
            path, f"control character U+{ord(char):04X} is not allowed in YAML{hint}; remove it", line, column
        )
    return text


def read_text(path: Path, limits: Limits = DEFAULT_LIMITS) -> str:
    """The file's text, refused when larger than ``limits.max_bytes`` or not clean UTF-8."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limits.max_bytes + 1)
    except OSError as error:
        raise YamlFileError(path, f"cannot read it: {error.strerror}") from None
    if len(data) > limits.max_bytes:
        raise YamlFileError(path, f"the file is larger than {limits.max_bytes} bytes; config files are far smaller")
    return decode(path, data)


def compose(path: Path, text: str, limits: Limits = DEFAULT_LIMITS) -> yaml.Node | None:
    """The single document of ``text`` as a checked node graph (None for an empty file); see the module doc."""
    loader_class = type("BoundedLoader", (Loader,), {"limits": limits, "path": path})
    loader = loader_class(text)
    try:
        root: yaml.Node | None = loader.get_single_node()
    except yaml.YAMLError as error:
        raise YamlFileError(path, _yaml_problem(error), *_position(error), syntax=True) from None
    finally:
        loader.dispose()
    if root is not None:
        _Checker(path, limits).check(root)
    return root


def flatten(node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]]:
    """The key/value node pairs of a checked mapping with its merge keys (``<<``) applied, as yaml.v3 does."""
    loader = Loader("")
    try:
        loader.flatten_mapping(node)
    finally:
        loader.dispose()
    return list(node.value)


def to_python(node: yaml.Node) -> Any:
    """A checked node (from :func:`compose`) as plain values: str, int, float, bool, None, list, dict[str, ...]."""
    loader = Loader("")
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError as error:
        raise ValueError(f"invalid YAML: {_yaml_problem(error)}") from None
    finally:
        loader.dispose()


def read_document(path: Path, limits: Limits = DEFAULT_LIMITS) -> yaml.Node | None:
    """The checked node graph of the YAML file at ``path`` (None when empty); :class:`YamlFileError` otherwise."""
    return compose(path, read_text(path, limits), limits)


def load(path: Path, limits: Limits = DEFAULT_LIMITS) -> Any:
    """The YAML file at ``path`` as plain values (None when empty), read within ``limits``."""
    return parse(path, read_text(path, limits), limits)


def parse(path: Path, text: str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """``text`` (read from ``path`` by :func:`read_text`) as plain values (None when empty), within ``limits``."""
    node = compose(path, text, limits)
    if node is None:
        return None
    try:
        return to_python(node)
    except ValueError as error:
        raise YamlFileError(path, str(error), node.start_mark.line + 1, node.start_mark.column + 1) from None


def _yaml_problem(error: yaml.YAMLError) -> str:
    """What is wrong, without PyYAML's snippet of the offending line: that line may hold a secret."""
    if isinstance(error, yaml.MarkedYAMLError):
        return str(error.problem or error.context or type(error).__name__)
    return type(error).__name__


def _position(error: yaml.YAMLError) -> tuple[int, int]:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        return error.problem_mark.line + 1, error.problem_mark.column + 1
    return 0, 0


class _Checker:
    """Walks a composed graph once per distinct node: tags, keys, expanded size, depth through aliases, cycles."""

    def __init__(self, path: Path, limits: Limits) -> None:
        self.path = path
        self.limits = limits
        self.sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded nodes, height)
        self.open: set[int] = set()

    def fail(self, node: yaml.Node, problem: str) -> YamlFileError:
        return _error(self.path, problem, node.start_mark)

    def check(self, root: yaml.Node) -> None:
        size, _ = self._walk(root, 1)
        if size > self.limits.max_nodes:
            raise self.fail(
                root,
                f"the document expands to more than {self.limits.max_nodes} nodes through its aliases (an alias bomb?)",
            )

    def _walk(self, node: yaml.Node, depth: int) -> tuple[int, int]:
        known = self.sizes.get(id(node))
        if known is not None:
            if depth - 1 + known[1] > self.limits.max_depth:
                raise self.fail(node, f"nested deeper than {self.limits.max_depth} levels (through an alias)")
            return known
        if id(node) in self.open:
            raise self.fail(node, "an alias refers to a node that contains it (a cycle)")
        if depth > self.limits.max_depth:
            raise self.fail(node, f"nested deeper than {self.limits.max_depth} levels (through an alias)")
        self.open.add(id(node))
        try:
            result = self._measure(node, depth)
        finally:
            self.open.discard(id(node))
        if result[0] > self.limits.max_nodes:
            raise self.fail(
                node,
                f"the document expands to more than {self.limits.max_nodes} nodes through its aliases (an alias bomb?)",
            )
        self.sizes[id(node)] = result
        return result

    def _measure(self, node: yaml.Node, depth: int) -> tuple[int, int]:
        if isinstance(node, yaml.ScalarNode):
            if node.tag not in _SCALAR_TAGS:
                raise self.fail(node, _tag_problem(node.tag))
            if node.tag in (INT, FLOAT) and len(node.value) > 100:
                raise self.fail(node, "a number longer than 100 characters; quote it if it is text")
            return 1, 1
        if isinstance(node, yaml.SequenceNode):
            if node.tag != SEQ:
                raise self.fail(node, _tag_problem(node.tag))
            return self._sum([self._walk(item, depth + 1) for item in node.value])
        if isinstance(node, yaml.MappingNode):
            if node.tag != MAP:
                raise self.fail(node, _tag_problem(node.tag))
            parts: list[tuple[int, int]] = []
            seen: set[str] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag == MERGE:
                    if not isinstance(value, yaml.MappingNode | yaml.SequenceNode):
                        raise self.fail(value, "a merge key (<<) needs a mapping or a list of mappings")
                    parts.append(self._walk(value, depth + 1))
                    continue
                if not isinstance(key, yaml.ScalarNode) or key.tag != STR:
                    raise self.fail(key, f"keys must be strings, not {_kind(key)}; quote the key")
                elif key.value in seen:
                    raise self.fail(key, f"the key {_excerpt(key.value)} is given twice in this mapping")
                else:
                    seen.add(key.value)
                parts += [self._walk(key, depth + 1), self._walk(value, depth + 1)]
            return self._sum(parts)
        raise self.fail(node, f"unexpected YAML node {type(node).__name__}")

    @staticmethod
    def _sum(parts: list[tuple[int, int]]) -> tuple[int, int]:
        return 1 + sum(size for size, _ in parts), 1 + max((height for _, height in parts), default=0)


def _tag_problem(tag: str) -> str:
    shown = "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag
    return (
        f"the tag {_excerpt(shown)} is not allowed; config values are plain strings, numbers, booleans, null, "
        "lists and maps (quote the value to keep it as text)"
    )


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode):
        names = {INT: "a number", FLOAT: "a number", BOOL: "a boolean", NULL: "null"}
        return names.get(node.tag, _excerpt(node.tag))
    return "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"
