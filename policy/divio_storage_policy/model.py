"""What a rule sees: plain resource records (type, URN, name, inputs, options) and the violations it reports."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class _Unknown:
    """A value that is not known before the resource exists (``(known after apply)`` in a preview)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()
"""The marker for unknown values; rules skip what they cannot decide instead of guessing."""

# The tags by which a stack marks what a store is for (the components set them; hand-written stacks may too).
STORE_TAG = "media-store"
"""Tag naming a bucket's (or Azure storage account's) role: ``public`` or ``private``."""
PUBLIC = "public"
CORS_UPLOADS_TAG = "cors-uploads"
"""Tag value ``allowed`` opts a store in to CORS upload methods (PUT, POST, DELETE)."""
CORS_ANY_ORIGIN_TAG = "cors-any-origin"
"""Tag value ``allowed`` opts a store in to a wildcard CORS origin."""
ALLOWED = "allowed"


@dataclass(frozen=True)
class Provider:
    """The provider a resource is declared with: its type token, logical name and (plain) inputs."""

    type: str
    name: str
    props: Mapping[str, Any]


@dataclass(frozen=True)
class Resource:
    """One declared resource as the rules see it; ``props`` are plain data with :data:`UNKNOWN` markers."""

    type: str
    urn: str
    name: str
    props: Mapping[str, Any]
    protect: bool = False
    provider: Provider | None = None
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def get(self, *path: str | int) -> Any:
        """The value at ``path`` inside ``props`` (None where a step is missing, UNKNOWN where one is unknown)."""
        value: Any = self.props
        for step in path:
            if value is UNKNOWN:
                return UNKNOWN
            if isinstance(step, int):
                if not isinstance(value, Sequence) or isinstance(value, str) or step >= len(value):
                    return None
                value = value[step]
            else:
                if not isinstance(value, Mapping):
                    return None
                value = value.get(step)
        return value

    def tag(self, key: str) -> Any:
        """The value of tag ``key`` (None when absent, UNKNOWN when the tags are unknown)."""
        tags = self.props.get("tags")
        if tags is UNKNOWN:
            return UNKNOWN
        return tags.get(key) if isinstance(tags, Mapping) else None

    def label(self) -> str:
        """How messages name the resource: its type token and logical name."""
        return f'{self.type} "{self.name}"'


@dataclass(frozen=True)
class Violation:
    """A rule's finding: the message (resource, property, fix) and the URN it is about (None: the stack)."""

    message: str
    urn: str | None = None


def shown(value: Any) -> str:
    """A value as messages quote it: JSON, or ``(known after apply)`` for an unknown one."""
    return "(known after apply)" if value is UNKNOWN else json.dumps(value, default=str)


def violation(resource: Resource, prop: str, problem: str, fix: str) -> Violation:
    """The standard message: ``<type> "<name>": <property> <problem>; fix: <fix>``."""
    return Violation(f"{resource.label()}: {prop} {problem}; fix: {fix}", resource.urn)


def of_types(resources: Iterable[Resource], types: Iterable[str]) -> list[Resource]:
    """The resources whose type token is one of ``types``, in the given order."""
    wanted = frozenset(types)
    return [r for r in resources if r.type in wanted]


def as_list(value: Any) -> list[Any]:
    """A policy field that may be one value or a list, as a list (unknown stays ``[UNKNOWN]``)."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def parse_document(value: Any) -> Any:
    """A JSON document given as a string (as pulumi-aws takes policies) or as data; None when not decodable."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def matches_any(name: Any, patterns: Iterable[str]) -> bool:
    """Whether ``name`` matches one of the shell-style ``patterns`` (config lists of store names)."""
    return isinstance(name, str) and any(fnmatch.fnmatchcase(name, p) for p in patterns)


def config_list(config: Mapping[str, Any], key: str, default: Sequence[str] = ()) -> list[str]:
    """A list of strings from a policy's config (``default`` when unset)."""
    value = config.get(key)
    if value is None:
        return list(default)
    return [str(v) for v in as_list(value)]


def linked(
    owner_types: Iterable[str],
    resources: Sequence[Resource],
    child: Resource,
    *,
    key: str,
    owner_key: str,
) -> Resource | None:
    """The resource ``child`` refers to through its input ``key``: the one whose URN the input depends on, else
    the one whose ``owner_key`` input equals it (physical names are often known before apply)."""
    owners = of_types(resources, owner_types)
    by_urn = {o.urn: o for o in owners}
    for urn in child.property_dependencies.get(key, ()):
        if urn in by_urn:
            return by_urn[urn]
    value = child.props.get(key)
    if value is None or value is UNKNOWN:
        return None
    for owner in owners:
        if owner.props.get(owner_key) == value:
            return owner
    return None


def children(
    child_types: Iterable[str],
    resources: Sequence[Resource],
    owner: Resource,
    owner_types: Iterable[str],
    *,
    key: str,
    owner_key: str,
) -> Iterator[Resource]:
    """The resources of ``child_types`` that refer to ``owner`` through ``key`` (see :func:`linked`)."""
    owner_types = tuple(owner_types)
    for child in of_types(resources, child_types):
        found = linked(owner_types, resources, child, key=key, owner_key=owner_key)
        if found is not None and found.urn == owner.urn:
            yield child
