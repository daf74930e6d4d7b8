"""Read a YAML config file (Pulumi project, stack config, platform registry) safely, in bounded time and memory.

The Pulumi CLI reads these files with Go's yaml.v3: YAML 1.2 booleans (``yes``/``on`` stay strings), dates
kept as strings, merge keys and aliases allowed. :class:`Loader` gives PyYAML the same reading. On top of it,
:func:`read_document` refuses, with the file, line and column in one :class:`YamlFileError`:

- files over :attr:`Limits.max_bytes` (64 MiB), before parsing;
- bytes that are not UTF-8 (a UTF-16/UTF-32 byte order mark is named as such), NUL and other control characters;
- nesting deeper than :attr:`Limits.max_depth` (100), counted through aliases too, before Python's recursion
  limit is near;
- more than :attr:`Limits.max_nodes` (4,000,000) nodes once aliases are expanded: an alias bomb is refused after
  reading a few hundred nodes, never expanded; aliases that refer to their own enclosing node, too;
- tags other than plain strings, numbers, booleans, null, lists and maps (``!!timestamp``, ``!!set``,
  ``!!binary``, ``!!python/...``, custom ``!tags``), anywhere in the document;
- keys that are not strings (``1:``, ``true:``, ``null:``, lists), and a key given twice in one mapping.

Aliases stay allowed (merge keys are how a registry shares defaults) but are counted: an alias shares the aliased
value, so what is built stays small and its expanded size is computed, not built.

The bounds are those of a registry of some 100,000 websites (20,000 websites with tags, a media domain and two
origins each are 4.4 MB and 600,000 nodes); a larger file is refused with a message that names the limit and the
environment variable that raises it (:data:`ENVIRONMENT`). :func:`parse` (registries, ``load``) builds the values
straight from the parser's events, so reading a registry holds its values and never a node graph of it (a node
with its marks takes ten times the memory of the value); :func:`compose` (stack configs, whose errors point at
nodes) builds the checked graph. ruamel.yaml was
considered: it resolves YAML 1.2 by default, but its composer has the same unbounded expansion and recursion, it
still resolves dates, and Go's yaml.v3 (what Pulumi uses) reads ``017`` as octal like PyYAML; so it would add a
dependency without removing any of these checks.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable
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
    """Bounds for one file: ``max_bytes`` (64 MiB), ``max_depth`` levels of nesting (100), ``max_nodes`` nodes
    with aliases expanded (4,000,000)."""

    max_bytes: int = 64 * 1024 * 1024
    max_depth: int = 100
    max_nodes: int = 4_000_000


DEFAULT_LIMITS = Limits()
ENVIRONMENT = {
    "max_bytes": "DIVIO_STORAGE_YAML_MAX_BYTES",
    "max_depth": "DIVIO_STORAGE_YAML_MAX_DEPTH",
    "max_nodes": "DIVIO_STORAGE_YAML_MAX_NODES",
}
"""The environment variable that raises (or lowers) each limit of :data:`DEFAULT_LIMITS` for every file read."""


def default_limits() -> Limits:
    """:data:`DEFAULT_LIMITS`, with each limit whose variable of :data:`ENVIRONMENT` is set (a positive integer)
    taken from it; a bad value is a YamlFileError naming the variable."""
    values: dict[str, int] = {}
    for name, variable in ENVIRONMENT.items():
        text = os.environ.get(variable)
        if text is None:
            continue
        try:
            values[name] = int(text)
        except ValueError:
            values[name] = 0
        if values[name] < 1:
            raise YamlFileError(Path(variable), f"expected a positive whole number, not {_excerpt(text)}")
    return dataclasses.replace(DEFAULT_LIMITS, **values)


def _raise_hint(limit: str) -> str:
    return f"; if the file is right, raise the limit with the environment variable {ENVIRONMENT[limit]}"


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
            raise _error(self.path, f"more than {self.limits.max_nodes} YAML nodes{_raise_hint('max_nodes')}", mark)
        if self._depth >= self.limits.max_depth:
            mark = self.peek_event().start_mark
            raise _error(
                self.path, f"nested deeper than {self.limits.max_depth} levels{_raise_hint('max_depth')}", mark
            )
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


def read_text(path: Path, limits: Limits | None = None) -> str:
    """The file's text, refused when larger than ``limits.max_bytes`` or not clean UTF-8 (``limits``: the
    :func:`default_limits`)."""
    limits = limits or default_limits()
    try:
        with path.open("rb") as handle:
            # In chunks: read(max_bytes + 1) would allocate the whole limit up front, whatever the file's size.
            chunks: list[bytes] = []
            size = 0
            while size <= limits.max_bytes and (chunk := handle.read(min(1 << 20, limits.max_bytes + 1 - size))):
                chunks.append(chunk)
                size += len(chunk)
            data = b"".join(chunks)
    except OSError as error:
        raise YamlFileError(path, f"cannot read it: {error.strerror}") from None
    if len(data) > limits.max_bytes:
        raise YamlFileError(
            path,
            f"the file is larger than {limits.max_bytes} bytes; config files are far smaller{_raise_hint('max_bytes')}",
        )
    return decode(path, data)


def compose(path: Path, text: str, limits: Limits | None = None) -> yaml.Node | None:
    """The single document of ``text`` as a checked node graph (None for an empty file); see the module doc."""
    limits = limits or default_limits()
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


def read_document(path: Path, limits: Limits | None = None) -> yaml.Node | None:
    """The checked node graph of the YAML file at ``path`` (None when empty); :class:`YamlFileError` otherwise."""
    return compose(path, read_text(path, limits), limits)


def load(path: Path, limits: Limits | None = None) -> Any:
    """The YAML file at ``path`` as plain values (None when empty), read within ``limits``."""
    return parse(path, read_text(path, limits), limits)


def parse(path: Path, text: str, limits: Limits | None = None) -> Any:
    """``text`` (read from ``path`` by :func:`read_text`) as plain values (None when empty), within ``limits``.

    Built from the parser's events with every check of :func:`compose` (see :class:`_Builder`), never a node graph.
    """
    limits = limits or default_limits()
    loader = Loader(text)
    try:
        return _Builder(loader, path, limits).document()
    except yaml.YAMLError as error:
        raise YamlFileError(path, _yaml_problem(error), *_position(error), syntax=True) from None
    finally:
        loader.dispose()


Built = tuple[Any, str, int, int]
"""A value as :class:`_Builder` builds it: the value, its tag, its size with aliases expanded, its height."""


class _Builder:
    """Plain values from a loader's events, checked as :func:`compose` and :class:`_Checker` check the graph (tags,
    keys, node count, expanded size, depth through aliases, cycles) and merged as :func:`flatten` merges."""

    def __init__(self, loader: Loader, path: Path, limits: Limits) -> None:
        self.loader = loader
        self.path = path
        self.limits = limits
        self.anchors: dict[str, Built] = {}
        self.open: dict[str, Any] = {}
        """Anchors of the collections being built, with where each starts."""
        self.read = 0

    def fail(self, problem: str, mark: Any) -> YamlFileError:
        return _error(self.path, problem, mark)

    def document(self) -> Any:
        loader = self.loader
        loader.get_event()  # the stream's start
        if loader.check_event(yaml.StreamEndEvent):
            return None
        loader.get_event()  # the document's start
        value, _tag, size, _height = self.node(1)
        end = loader.get_event()
        if size > self.limits.max_nodes:
            raise self.fail(_bomb(self.limits), end.start_mark)
        if not loader.check_event(yaml.StreamEndEvent):
            raise self.fail(
                "expected a single document in the file, but found another document", loader.peek_event().start_mark
            )
        return value

    def node(self, depth: int) -> Built:
        loader = self.loader
        event = loader.peek_event()
        self.read += 1
        if self.read > self.limits.max_nodes:
            raise self.fail(f"more than {self.limits.max_nodes} YAML nodes{_raise_hint('max_nodes')}", event.start_mark)
        if depth > self.limits.max_depth:
            raise self.fail(
                f"nested deeper than {self.limits.max_depth} levels{_raise_hint('max_depth')}", event.start_mark
            )
        loader.get_event()
        if isinstance(event, yaml.AliasEvent):
            return self.alias(event, depth)
        if event.anchor is not None:
            if event.anchor in self.anchors or event.anchor in self.open:
                raise self.fail(f"the anchor {_excerpt(event.anchor)} is defined twice", event.start_mark)
            self.open[event.anchor] = event.start_mark
        if isinstance(event, yaml.ScalarEvent):
            built = self.scalar(event)
        elif isinstance(event, yaml.SequenceStartEvent):
            built = self.sequence(event, depth)
        else:
            built = self.mapping(event, depth)
        if built[2] > self.limits.max_nodes:
            raise self.fail(_bomb(self.limits), event.start_mark)
        if event.anchor is not None:
            del self.open[event.anchor]
            self.anchors[event.anchor] = built
        return built

    def alias(self, event: Any, depth: int) -> Built:
        if event.anchor in self.open:
            raise self.fail("an alias refers to a node that contains it (a cycle)", self.open[event.anchor])
        built = self.anchors.get(event.anchor)
        if built is None:
            raise self.fail(f"found undefined alias {_excerpt(event.anchor)}", event.start_mark)
        if depth - 1 + built[3] > self.limits.max_depth:
            raise self.fail(_deep_alias(self.limits), event.start_mark)
        return built

    def _tag(self, event: Any, kind: type[yaml.Node], value: str | None) -> str:
        tag: str | None = event.tag
        if tag is None or tag == "!":
            tag = str(self.loader.resolve(kind, value, event.implicit))  # type: ignore[no-untyped-call]
        return tag

    def scalar(self, event: Any) -> Built:
        tag = self._tag(event, yaml.ScalarNode, event.value)
        if tag not in _SCALAR_TAGS and tag != MERGE:
            raise self.fail(_tag_problem(tag), event.start_mark)
        if tag in (INT, FLOAT) and len(event.value) > 100:
            raise self.fail("a number longer than 100 characters; quote it if it is text", event.start_mark)
        if tag in (STR, MERGE):
            return event.value, tag, 1, 1
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        construct: Callable[[Loader, yaml.Node], Any] = self.loader.yaml_constructors[tag]
        return construct(self.loader, node), tag, 1, 1

    def sequence(self, event: Any, depth: int) -> Built:
        if self._tag(event, yaml.SequenceNode, None) != SEQ:
            raise self.fail(_tag_problem(self._tag(event, yaml.SequenceNode, None)), event.start_mark)
        items: list[Any] = []
        size, height = 1, 0
        while not self.loader.check_event(yaml.SequenceEndEvent):
            value, tag, item_size, item_height = self.node(depth + 1)
            if tag == MERGE:
                raise self.fail(_tag_problem(tag), event.start_mark)
            items.append(value)
            size, height = size + item_size, max(height, item_height)
        self.loader.get_event()
        return items, SEQ, size, height + 1

    def mapping(self, event: Any, depth: int) -> Built:
        if self._tag(event, yaml.MappingNode, None) != MAP:
            raise self.fail(_tag_problem(self._tag(event, yaml.MappingNode, None)), event.start_mark)
        merged: list[tuple[str, Any]] = []
        explicit: dict[str, Any] = {}
        size, height = 1, 0
        while not self.loader.check_event(yaml.MappingEndEvent):
            key_mark = self.loader.peek_event().start_mark
            key, key_tag, key_size, key_height = self.node(depth + 1)
            value, value_tag, value_size, value_height = self.node(depth + 1)
            if key_tag == MERGE:
                merged += self._merged(value, key_mark)
                size, height = size + value_size, max(height, value_height)
                continue
            if key_tag != STR:
                raise self.fail(f"keys must be strings, not {_kind_of(key, key_tag)}; quote the key", key_mark)
            if key in explicit:
                raise self.fail(f"the key {_excerpt(key)} is given twice in this mapping", key_mark)
            if value_tag == MERGE:
                raise self.fail(_tag_problem(value_tag), key_mark)
            explicit[key] = value
            size, height = size + key_size + value_size, max(height, key_height, value_height)
        self.loader.get_event()
        if not merged:
            return explicit, MAP, size, height + 1
        # As yaml.v3 and PyYAML's flatten_mapping: merged keys first (the first of a list of mappings wins), the
        # mapping's own keys override them.
        result = dict(merged)
        result.update(explicit)
        return result, MAP, size, height + 1

    def _merged(self, value: Any, mark: Any) -> list[tuple[str, Any]]:
        if isinstance(value, dict):
            return list(value.items())
        if isinstance(value, list) and all(isinstance(item, dict) for item in value):
            return [pair for item in reversed(value) for pair in item.items()]
        raise self.fail("a merge key (<<) needs a mapping or a list of mappings", mark)


def _kind_of(value: Any, tag: str) -> str:
    if tag in (SEQ, MAP):
        return "a list" if tag == SEQ else "a mapping"
    names = {INT: "a number", FLOAT: "a number", BOOL: "a boolean", NULL: "null"}
    return names.get(tag, _excerpt(tag))


def _bomb(limits: Limits) -> str:
    return (
        f"the document expands to more than {limits.max_nodes} nodes through its aliases (an alias bomb?)"
        f"{_raise_hint('max_nodes')}"
    )


def _deep_alias(limits: Limits) -> str:
    return f"nested deeper than {limits.max_depth} levels (through an alias){_raise_hint('max_depth')}"


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
                _bomb(self.limits),
            )

    def _walk(self, node: yaml.Node, depth: int) -> tuple[int, int]:
        known = self.sizes.get(id(node))
        if known is not None:
            if depth - 1 + known[1] > self.limits.max_depth:
                raise self.fail(node, _deep_alias(self.limits))
            return known
        if id(node) in self.open:
            raise self.fail(node, "an alias refers to a node that contains it (a cycle)")
        if depth > self.limits.max_depth:
            raise self.fail(node, _deep_alias(self.limits))
        self.open.add(id(node))
        try:
            result = self._measure(node, depth)
        finally:
            self.open.discard(id(node))
        if result[0] > self.limits.max_nodes:
            raise self.fail(
                node,
                _bomb(self.limits),
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
