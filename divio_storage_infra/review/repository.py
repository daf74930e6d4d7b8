"""The review of many stacks at once (``--rev``): one plan diff per (project, stack), and the affected websites.

Stacks are ordered by project directory, then stack name, so the same two revisions give the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from divio_storage_infra.review.danger import Finding, find_dangers
from divio_storage_infra.review.model import OTHER_GROUP, PlanDiff, diff_plans
from divio_storage_infra.review.plans import Plan

StackStatus = Literal["added", "removed", "changed", "unchanged"]


@dataclass(frozen=True)
class StackReview:
    """One stack's diff: where it lives, whether it exists at each side, the diff and its dangers."""

    directory: str
    """The project directory, POSIX, relative to the repository top (``.`` for the top)."""
    project: str
    stack: str
    in_base: bool
    in_head: bool
    diff: PlanDiff
    findings: tuple[Finding, ...]

    @property
    def status(self) -> StackStatus:
        """``added`` or ``removed`` (the stack config exists at one side only), else ``changed``/``unchanged``."""
        if not self.in_base:
            return "added"
        if not self.in_head:
            return "removed"
        return "changed" if self.diff.changed else "unchanged"


@dataclass(frozen=True)
class RepositoryReview:
    """Every reviewed stack, ordered by directory and stack."""

    stacks: tuple[StackReview, ...]

    @property
    def changed(self) -> bool:
        """Whether any stack's plan differs (added and removed stacks with resources count)."""
        return any(s.diff.changed for s in self.stacks)

    @property
    def findings(self) -> list[tuple[StackReview, Finding]]:
        """Every finding with its stack, in stack order, then the diff's own order."""
        return [(s, f) for s in self.stacks for f in s.findings]


def review_stack(directory: str, base: Plan, head: Plan, *, in_base: bool = True, in_head: bool = True) -> StackReview:
    """Diff one stack's two plans and find the dangers (project and stack named as HEAD names them)."""
    diff = diff_plans(base, head)
    current = head if in_head else base
    return StackReview(directory, current.project, current.stack, in_base, in_head, diff, tuple(find_dangers(diff)))


def review_repository(stacks: Sequence[StackReview]) -> RepositoryReview:
    """The reviews of ``stacks`` in directory and stack order."""
    return RepositoryReview(tuple(sorted(stacks, key=lambda s: (s.directory, s.stack))))


def split_label(label: str) -> tuple[str, str]:
    """(website, environment) from a component's logical name: ``<website>--<env>`` when the environment has a
    hyphen, else ``<website>-<env>`` split at the last hyphen (the naming module keeps both forms injective).
    A label of neither form is its own website with environment ``""``."""
    if "--" in label:
        website, _, environment = label.partition("--")
        return website, environment
    website, sep, environment = label.rpartition("-")
    return (website, environment) if sep and website else (label, "")


def affected(stacks: Sequence[StackReview]) -> list[dict[str, str]]:
    """``{"project", "stack", "website", "environment"}`` of every website whose storage changes, sorted by
    project, stack, website and environment (a CI matrix's input).

    Changed stack outputs count for the website of a one-website stack (its DSN or URL changed).
    """
    entries: set[tuple[str, str, str, str]] = set()
    for stack in stacks:
        for label in affected_websites(stack.diff):
            website, environment = split_label(label)
            entries.add((stack.project, stack.stack, website, environment))
    keys = ("project", "stack", "website", "environment")
    return [dict(zip(keys, entry, strict=True)) for entry in sorted(entries)]


def affected_websites(diff: PlanDiff) -> list[str]:
    """Names of the websites whose storage changes in one diff (sorted), without the "(other)" group."""
    names = {w.website for w in diff.websites if w.changed and w.website != OTHER_GROUP}
    sites = {w.website for w in diff.websites if w.website != OTHER_GROUP}
    if diff.output_changes and len(sites) == 1:
        names |= sites
    return sorted(names)
