"""The diff of two plans: resources matched by URN (or alias), grouped by website, with their changed values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from divio_storage_infra.review.plans import Plan, Resource
from divio_storage_infra.review.replacement import PROVIDER_PREFIX, replacing_paths
from divio_storage_infra.review.values import ABSENT, flatten, is_document, is_secret, parse_json_text

STORAGE_TYPE_PREFIX = "divio:storage:"
"""Components of this project; the topmost one a resource descends from is its website."""

OTHER_GROUP = "(other)"
"""The group of resources that descend from no storage component (providers, a program's own resources)."""

Action = Literal["add", "remove", "replace", "update", "same"]

_OPTIONS = (("protect", "protect"), ("retainOnDelete", "retain_on_delete"))


@dataclass(frozen=True)
class Change:
    """One changed value: its path (``inputs`` are bare, options ``option.x``, outputs ``outputs.x``)."""

    path: str
    old: Any
    new: Any
    document: bool = False
    """Whether both sides are whole JSON documents (a stack output holding one), compared as documents."""

    @property
    def secret(self) -> bool:
        """Whether either side is a secret, so that only "changed (secret)" may be shown. A document's change
        shows only the paths that differ, never values, so it is never secret as a whole."""
        return not self.document and (is_secret(self.old) or is_secret(self.new))


@dataclass(frozen=True)
class ResourceDiff:
    """What happens to one resource: its BASE and HEAD entries (one may be missing) and the changes."""

    website: str
    action: Action
    base: Resource | None
    head: Resource | None
    changes: tuple[Change, ...] = ()
    replace_reasons: tuple[str, ...] = ()

    @property
    def current(self) -> Resource:
        """The HEAD entry, or the BASE one for a removed resource."""
        resource = self.head or self.base
        assert resource is not None
        return resource


@dataclass
class WebsiteDiff:
    """All resource diffs of one website, in URN order."""

    website: str
    resources: list[ResourceDiff] = field(default_factory=list)

    def count(self, action: Action) -> int:
        """How many resources of this website get ``action``."""
        return sum(1 for r in self.resources if r.action == action)

    @property
    def changed(self) -> bool:
        """Whether any resource of the website is added, removed, replaced or updated."""
        return any(r.action != "same" for r in self.resources)


@dataclass(frozen=True)
class PlanDiff:
    """The whole diff: both plans, every website (sorted by name), and changed stack outputs."""

    base: Plan
    head: Plan
    websites: tuple[WebsiteDiff, ...]
    output_changes: tuple[Change, ...]

    @property
    def changed(self) -> bool:
        """Whether anything differs between the plans."""
        return bool(self.output_changes) or any(w.changed for w in self.websites)

    def resource_diffs(self) -> list[ResourceDiff]:
        """Every resource diff, website by website."""
        return [r for w in self.websites for r in w.resources]


def websites_of(plan: Plan) -> dict[str, str]:
    """URN -> website label: the name of the topmost ``divio:storage:*`` component the resource descends from."""
    top: dict[str, Resource | None] = {}
    for urn in plan.resources:
        chain: list[str] = []
        members: set[str] = set()
        current: str | None = urn
        while current is not None and current in plan.resources and current not in top and current not in members:
            chain.append(current)
            members.add(current)
            current = plan.resources[current].parent
        above = top.get(current) if current is not None else None
        # From the root down: the first storage component met is the topmost one for everything below it.
        for member in reversed(chain):
            resource = plan.resources[member]
            if above is None and resource.type.startswith(STORAGE_TYPE_PREFIX) and not resource.custom:
                above = resource
            top[member] = above
    return {urn: (component.name if component is not None else OTHER_GROUP) for urn, component in top.items()}


def _alias_candidates(resource: Resource, head: Plan, matched: dict[str, str]) -> tuple[set[str], set[tuple[Any, ...]]]:
    """URNs and (type, name, parent) tuples that HEAD's aliases say this resource used to have."""
    urns: set[str] = set()
    tuples: set[tuple[Any, ...]] = set()
    parents = {resource.parent}
    if resource.parent is not None and resource.parent in matched:
        parents.add(matched[resource.parent])
    for alias in resource.aliases:
        if isinstance(alias, str):
            urns.add(alias)
            continue
        if not isinstance(alias, dict):
            continue
        if isinstance(alias.get("urn"), str):
            urns.add(alias["urn"])
        spec = alias.get("spec", alias)
        if not isinstance(spec, dict) or isinstance(alias.get("urn"), str):
            continue
        name = spec.get("name") or resource.name
        type_ = spec.get("type") or resource.type
        if spec.get("noParent"):
            alias_parents: set[str | None] = {None}
        elif spec.get("parentUrn"):
            alias_parents = {spec["parentUrn"]}
        else:
            alias_parents = set(parents)
        for parent in alias_parents:
            tuples.add((type_, name, parent))
    return urns, tuples


def match(base: Plan, head: Plan) -> dict[str, str]:
    """HEAD URN -> BASE URN for every resource present in both (same URN, or an alias naming a BASE resource)."""
    matched = {urn: urn for urn in head.resources if urn in base.resources}
    matched_base = set(matched.values())
    unmatched_base = {urn for urn in base.resources if urn not in matched_base}
    if not unmatched_base:
        return matched
    by_tuple = {(r.type, r.name, r.parent): r.urn for u, r in base.resources.items() if u in unmatched_base}
    # Parents before children, so a child's alias may name its parent's old URN.
    for urn in sorted(head.resources, key=lambda u: (_depth(head, u), u)):
        resource = head.resources[urn]
        if urn in matched or not resource.aliases:
            continue
        urns, tuples = _alias_candidates(resource, head, matched)
        found = next((u for u in sorted(urns) if u in unmatched_base), None)
        if found is None:
            found = next((by_tuple[t] for t in sorted(tuples, key=repr) if by_tuple.get(t) in unmatched_base), None)
        if found is not None:
            matched[urn] = found
            unmatched_base.discard(found)
    return matched


def _depth(plan: Plan, urn: str) -> int:
    depth = 0
    current = plan.resources[urn].parent
    while current is not None and current in plan.resources and depth < 64:
        depth += 1
        current = plan.resources[current].parent
    return depth


def value_changes(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[Change]:
    """Changed leaves between two value maps, in path order."""
    if old == new:
        return []
    flat_old = flatten(old, prefix)
    flat_new = flatten(new, prefix)
    changes = []
    for path in sorted(set(flat_old) | set(flat_new)):
        before = flat_old.get(path, ABSENT)
        after = flat_new.get(path, ABSENT)
        if before != after or type(before) is not type(after):
            if (before == {} and after is ABSENT) or (before is ABSENT and after == {}):
                continue
            changes.append(Change(path, before, after))
    return changes


def output_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Changed stack outputs, by name; an output holding a JSON document (an object, a list of objects, or a
    string of JSON) is compared as the decoded document and is one change however many of its values differ."""
    changes: list[Change] = []
    for key in sorted(set(old) | set(new)):
        before = parse_json_text(old.get(key, ABSENT))
        after = parse_json_text(new.get(key, ABSENT))
        if before == after and type(before) is type(after):
            continue
        if is_document(before) or is_document(after):
            changes.append(Change(key, before, after, document=True))
        else:
            changes.extend(value_changes({key: old[key]} if key in old else {}, {key: new[key]} if key in new else {}))
    return changes


def _resource_changes(
    base: Resource, head: Resource, urn_map: dict[str, str], replaced_providers: dict[str, list[str]]
) -> tuple[list[Change], list[str]]:
    changes = value_changes(base.inputs, head.inputs)
    replace = replacing_paths(head.type, [c.path for c in changes]) if head.custom else []
    for option, attribute in _OPTIONS:
        before, after = getattr(base, attribute), getattr(head, attribute)
        if before != after:
            changes.append(Change(f"option.{option}", before, after))
    head_provider = urn_map.get(head.provider, head.provider) if head.provider else None
    if head.custom and head_provider != base.provider:
        changes.append(Change("option.provider", base.provider, head.provider))
        replace.append("option.provider")
    elif head.custom and head.provider in replaced_providers:
        # Its provider now points somewhere else (region, endpoint): the resource is created anew there.
        replace += [f"provider.{path}" for path in replaced_providers[head.provider]]
    if not head.custom:
        changes.extend(value_changes(base.outputs, head.outputs, "outputs"))
    return changes, replace


def diff_plans(base: Plan, head: Plan) -> PlanDiff:
    """Match, group and compare the resources of ``base`` and ``head``."""
    head_to_base = match(base, head)
    base_to_head = {b: h for h, b in head_to_base.items()}
    base_sites = websites_of(base)
    head_sites = websites_of(head)
    groups: dict[str, WebsiteDiff] = {}

    def add(diff: ResourceDiff) -> None:
        groups.setdefault(diff.website, WebsiteDiff(diff.website)).resources.append(diff)

    replaced_providers: dict[str, list[str]] = {}
    # Providers first: whether a provider is replaced decides whether the resources it manages are.
    for urn in sorted(head.resources, key=lambda u: (not head.resources[u].type.startswith(PROVIDER_PREFIX), u)):
        resource = head.resources[urn]
        website = head_sites[urn]
        base_urn = head_to_base.get(urn)
        if base_urn is None:
            add(ResourceDiff(website, "add", None, resource))
            continue
        before = base.resources[base_urn]
        changes, replace = _resource_changes(before, resource, head_to_base, replaced_providers)
        if replace and resource.type.startswith(PROVIDER_PREFIX):
            replaced_providers[urn] = replace
        action: Action = "replace" if replace else ("update" if changes else "same")
        add(ResourceDiff(website, action, before, resource, tuple(changes), tuple(replace)))
    for urn, resource in base.resources.items():
        if urn not in base_to_head:
            add(ResourceDiff(base_sites[urn], "remove", resource, None))
    for group in groups.values():
        group.resources.sort(key=lambda r: r.current.urn)
    websites = tuple(groups[name] for name in sorted(groups, key=lambda n: (n == OTHER_GROUP, n)))
    return PlanDiff(base, head, websites, tuple(output_changes(base.outputs, head.outputs)))
