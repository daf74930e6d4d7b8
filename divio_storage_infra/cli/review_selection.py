"""Incremental review: which websites of which stacks a ``--rev`` review plans when the change allows less than all.

When every file the two revisions differ in is a stack config of a reviewed stack or a platform registry (a YAML
mapping of ``defaults`` and ``websites`` inside a project), the plans of the other stacks are the same at both
revisions (same code, same config), and so are the plans of the registry's websites whose effective configuration
is the same. So:

- a stack whose config file and registry did not change is not planned (its review is "unchanged");
- a stack whose config file changed is planned in full (its config may reach every website: static keys, a
  project-wide setting);
- a stack whose registry changed plans, at both revisions, only the entries whose effective configuration differs
  (the entry with the defaults it does not override; an entry added, removed or renamed differs), plus the first
  entry of every shared provider (a provider of the same cloud, endpoint, region and key), so that every provider
  is declared exactly as in the full plan. The websites not planned are unchanged: the review lists them by name.

Anything else (library code, ``constraints.txt``, a program, a ``Pulumi.yaml``, a registry that does not validate,
a registry whose every entry changes) is reviewed in full. The review is the full review's byte for byte (proven by
tests); ``--full`` forces the full one. Only the renderings that name unchanged websites without their resources
can be had this way: ``diff --format json`` counts every unchanged website's resources and plans in full.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from divio_storage_infra.cli.revisions import git
from divio_storage_infra.core.clouds import capabilities
from divio_storage_infra.core.errors import SpecError
from divio_storage_infra.core.registry import PlatformEntry, validate_registry
from divio_storage_infra.yamlfile import YamlFileError, parse

REGISTRY_KEYS = frozenset({"defaults", "websites"})
"""The top-level keys of a platform registry file."""


@dataclass(frozen=True)
class Choice:
    """How one stack is reviewed: in full (the default), not planned (``skip``: unchanged), or only the entries
    named in ``only`` at both revisions, the websites in ``labels`` that are not planned being unchanged."""

    only: frozenset[str] | None = None
    skip: bool = False
    labels: frozenset[str] = frozenset()
    """Every website the full plans of the stack have at either revision (component names, "(other)" included)."""


FULL = Choice()
SKIP = Choice(skip=True)


def changed_files(top: Path, base: str, head: str) -> list[str] | None:
    """The files (POSIX, relative to the top) that differ between commits ``base`` and ``head``; None when git
    cannot say (then the review is full)."""
    found = git(top, "diff", "--name-only", "-z", "--no-renames", base, head)
    if found.returncode != 0:
        return None
    return sorted(name for name in found.stdout.split("\0") if name)


Read = Callable[[str, str], str | None]
"""``read(side, path)``: the text of ``path`` (relative to the top) at ``side`` ("base" or "head"), None if absent."""


def choose(
    stacks: Sequence[tuple[str, str]],
    config_files: Mapping[tuple[str, str], set[str]],
    files: Sequence[str],
    read_text: Read,
) -> dict[tuple[str, str], Choice] | None:
    """The choice for every stack ``(directory, stack)`` given the changed ``files``, the stack config file paths
    of each stack (at either revision) and the files' texts; None when the change is not confined to stack configs
    and registries (review in full)."""
    parsed: dict[tuple[str, str], Any] = {}

    def read(side: str, path: str) -> Any:
        """The parsed YAML of ``path`` at ``side``; None if absent, :data:`_BROKEN` if it is not YAML."""
        if (side, path) not in parsed:
            text = read_text(side, path)
            try:
                parsed[side, path] = None if text is None else parse(Path(path), text)
            except YamlFileError:
                parsed[side, path] = _BROKEN
        return parsed[side, path]

    directories = sorted({directory for directory, _ in stacks}, key=lambda d: -len(d))
    by_config = {path: key for key, paths in config_files.items() for path in paths}
    registries: dict[str, list[str]] = {}
    for path in files:
        if path in by_config:
            continue
        directory = _project_of(path, directories)
        if directory is None or not _is_registry(read, path):
            return None
        registries.setdefault(directory, []).append(path)
    choices: dict[tuple[str, str], Choice] = {}
    for key in stacks:
        directory, _stack = key
        if any(path in config_files.get(key, set()) for path in files):
            choices[key] = FULL
        elif directory not in registries:
            choices[key] = SKIP
        elif len(registries[directory]) != 1:
            return None
        else:
            found = registry_choice(read("base", registries[directory][0]), read("head", registries[directory][0]))
            if found is None:
                return None
            choices[key] = found
    return choices


def registry_choice(base_raw: Any, head_raw: Any) -> Choice | None:
    """The entries to plan for a registry that changed from ``base_raw`` to ``head_raw`` (parsed YAML); None for
    in full."""
    base, head = _entries(base_raw), _entries(head_raw)
    if base is None or head is None:
        return None
    changed = {key for key in base.keys() | head.keys() if _effective(base.get(key)) != _effective(head.get(key))}
    if not changed:
        return SKIP
    if changed == base.keys() | head.keys():
        return None  # every entry differs (defaults that reach every entry): nothing to save
    shared = _first_of_each_provider(base) | _first_of_each_provider(head)
    labels = {e.logical_name for e in base.values()} | {e.logical_name for e in head.values()}
    if any(_provider_key(e) is not None for e in (*base.values(), *head.values())):
        labels.add("(other)")
    return Choice(only=frozenset(changed | shared), labels=frozenset(labels))


def _entries(raw: Any) -> dict[str, PlatformEntry] | None:
    if raw is None or raw is _BROKEN:
        return None
    try:
        registry = validate_registry(raw, source="websites.yaml")
    except SpecError:
        return None
    return {entry.output_name: entry for entry in registry.entries}


def _effective(entry: PlatformEntry | None) -> tuple[Any, ...] | None:
    """What decides an entry's resources: its spec (merged with the defaults) and the name of its key."""
    return None if entry is None else (entry.spec, entry.credentials_key)


def _provider_key(entry: PlatformEntry) -> tuple[str, ...] | None:
    """The shared provider of ``entry`` as :class:`divio_storage_infra.platform.ProviderCache` keys it; None for
    the default provider."""
    spec = entry.spec
    caps = capabilities(spec.cloud)
    if not caps.explicit_provider:
        return None
    return (
        spec.cloud,
        caps.endpoint_host(spec.region or "", spec.endpoint),
        spec.region or "",
        entry.credentials_key or "anonymous",
    )


def _first_of_each_provider(entries: Mapping[str, PlatformEntry]) -> set[str]:
    """The key of the first entry (in registry order) of each shared provider: the one that declares it."""
    first: dict[tuple[str, ...], str] = {}
    for key, entry in sorted(entries.items(), key=lambda item: item[1].position):
        provider = _provider_key(entry)
        if provider is not None:
            first.setdefault(provider, key)
    return set(first.values())


def _project_of(path: str, directories: Sequence[str]) -> str | None:
    """The reviewed project directory that holds ``path`` (the deepest one), if any."""
    parents = {parent.as_posix() for parent in PurePosixPath(path).parents}
    for directory in directories:  # deepest first
        if directory in parents:
            return directory
    return None


def _is_registry(read: Callable[[str, str], Any], path: str) -> bool:
    """Whether ``path`` is a registry at both revisions (a YAML mapping of ``defaults`` and ``websites``)."""
    if not path.endswith((".yaml", ".yml")):
        return False
    for side in ("base", "head"):
        raw = read(side, path)
        if not isinstance(raw, dict) or "websites" not in raw or not set(raw) <= REGISTRY_KEYS:
            return False
    return True


_BROKEN = object()
"""What a file that is not valid YAML parses to here (it is reviewed in full, which reports it)."""
