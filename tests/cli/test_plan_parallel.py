"""A platform plan in several processes (preview/fanout.py) gives the bytes of a serial plan; the raw baseline of
the benchmark declares exactly what the library declares. Neither test times anything."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from benchmarks import projects
from divio_storage_infra.cli.plan import resolve_program
from divio_storage_infra.preview import fanout, plan
from divio_storage_infra.preview.mockrun import UNKNOWN, Declared, DuplicateUrnError
from divio_storage_infra.preview.render import render_json, render_text

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fan out from one entry per process, so a small registry uses every job."""
    monkeypatch.setattr(fanout, "MIN_ENTRIES_PER_JOB", 1)


def test_platform_example_in_three_processes_is_byte_identical_to_one(
    small_blocks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The example registry has every cloud, static keys and providers shared by websites of different blocks.
    stack = resolve_program(ROOT / "stacks" / "platform")
    serial = plan.build_plan(stack, jobs=1)
    merged: list[int] = []
    real_merge = fanout.merge

    def spy(first: Declared, others: list[Declared]) -> Declared:
        merged.append(len(others))
        return real_merge(first, others)

    monkeypatch.setattr(fanout, "merge", spy)
    parallel = plan.build_plan(stack, jobs=3)
    assert merged == [2]  # two workers did plan their blocks
    assert render_json(parallel) == render_json(serial)
    assert render_text(parallel) == render_text(serial)
    # Shared providers were declared by several blocks and are listed once.
    providers = [r["urn"] for r in serial["resources"] if r["type"] == "pulumi:providers:aws"]
    assert providers and len(providers) == len(set(providers))


def test_blocks_cover_every_entry_once() -> None:
    entries = list(range(10))
    for count in (1, 2, 3, 4, 10):
        blocks = [list(fanout.block(entries, i, count)) for i in range(count)]
        assert [e for b in blocks for e in b] == entries
        assert max(map(len, blocks)) - min(map(len, blocks)) <= 1


def test_small_registries_stay_in_one_process(tmp_path: Path) -> None:
    stack = resolve_program(projects.write_library(tmp_path / "library", 3))
    parallel = fanout.FanOut(stack, jobs=2)
    entries = list(range(fanout.MIN_ENTRIES_PER_JOB * 2 - 1))
    assert parallel.hook(entries) == entries
    assert parallel.workers == []


def test_a_failed_worker_falls_back_to_one_process(small_blocks: None, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = resolve_program(ROOT / "stacks" / "platform")
    serial = render_json(plan.build_plan(stack, jobs=1))
    monkeypatch.setattr(fanout, "WORKER_MODULE", "divio_storage_infra.no_such_worker")
    assert render_json(plan.build_plan(stack, jobs=2)) == serial


def test_merge_refuses_two_different_registrations_of_one_urn(tmp_path: Path) -> None:
    stack = resolve_program(projects.write_library(tmp_path / "library", 2))
    declared = plan.declare(stack)
    first = Declared(resources=declared.resources[:1])
    same = Declared(resources=declared.resources[:1])
    assert fanout.merge(first, [same]).resources == first.resources
    other = dataclasses.replace(declared.resources[0], inputs={"bucket": UNKNOWN})
    with pytest.raises(DuplicateUrnError, match="duplicate URN"):
        fanout.merge(first, [Declared(resources=[other])])


def test_the_raw_baseline_declares_exactly_what_the_library_declares(tmp_path: Path) -> None:
    """The benchmark's comparison is fair: same resources, types, names, inputs, options, parents, outputs."""
    library = plan.build_plan(resolve_program(projects.write_library(tmp_path / "library", 3)))
    raw = plan.build_plan(resolve_program(projects.write_raw(tmp_path / "raw", 3)))
    assert len(library["resources"]) == 3 * 20
    assert render_json(raw) == render_json(library)
