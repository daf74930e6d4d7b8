"""A platform plan in blocks and in several processes (preview/blockplan.py, its pieces merged by
preview/planparts.py) gives the bytes of one run over every entry; a selection plans just its entries; the raw
baseline of the benchmark declares exactly what the library declares. No test times anything."""

from __future__ import annotations

import io
import itertools
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from benchmarks import projects
from divio_storage_infra import planblocks
from divio_storage_infra import platform as platform_module
from divio_storage_infra.cli.plan import resolve_program
from divio_storage_infra.core import registry as core_registry
from divio_storage_infra.preview import blockplan, plan, planparts
from divio_storage_infra.preview.mockrun import Declared, DeclaredResource, RecordingMonitor
from divio_storage_infra.preview.render import INDENT, render_json, render_text
from divio_storage_infra.preview.stackconfig import StackConfig

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fan out from one entry per process, so a small registry uses every job."""
    monkeypatch.setattr(blockplan, "MIN_ENTRIES_PER_JOB", 1)


def test_platform_example_in_three_processes_is_byte_identical_to_one(
    small_blocks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The example registry has every cloud, static keys and providers shared by websites of different blocks.
    stack = resolve_program(ROOT / "stacks" / "platform")
    serial = plan.build_plan(stack, jobs=1)
    merged: list[int] = []
    real_results = blockplan.FanOut.results

    def spy(self: blockplan.FanOut) -> list[dict[str, Path]]:
        found = real_results(self)
        merged.append(len(found))
        return found

    monkeypatch.setattr(blockplan.FanOut, "results", spy)
    parallel = plan.build_plan(stack, jobs=3)
    assert merged == [2]  # two workers did plan their blocks
    assert render_json(parallel) == render_json(serial)
    assert render_text(parallel) == render_text(serial)
    # Shared providers were declared by several blocks and are listed once.
    providers = [r["urn"] for r in serial["resources"] if r["type"] == "pulumi:providers:aws"]
    assert providers and len(providers) == len(set(providers))


def test_shares_cover_every_entry_once() -> None:
    entries = list(range(10))
    for count in (1, 2, 3, 4, 10):
        blocks = [entries[start:stop] for start, stop in blockplan.shares(len(entries), count)]
        assert [e for b in blocks for e in b] == entries
        assert max(map(len, blocks)) - min(map(len, blocks)) <= 1


def test_small_registries_stay_in_one_process(tmp_path: Path) -> None:
    stack = resolve_program(projects.write_library(tmp_path / "library", 3))
    spill = planparts.Spill(tmp_path, planparts.JSON_KINDS)
    parallel = blockplan.FanOut(stack, 2, spill, blockplan.Selection())
    entries = list(range(blockplan.MIN_ENTRIES_PER_JOB * 2 - 1))
    # Too few for two processes: this one plans them all, in blocks of at most BLOCK_ENTRIES.
    first, *rest = blockplan.spans(0, len(entries))
    assert len(rest) >= 1 and all(stop - start <= blockplan.BLOCK_ENTRIES for start, stop in [first, *rest])
    assert parallel.hook(lambda: entries, str) == entries[first[0] : first[1]]
    assert parallel.own == rest
    assert parallel.workers == []


def test_spans_are_contiguous_nearly_equal_and_bounded() -> None:
    assert blockplan.spans(0, 500, 50) == [(i * 50, i * 50 + 50) for i in range(10)]
    assert blockplan.spans(0, 60, 50) == [(0, 30), (30, 60)]
    assert blockplan.spans(250, 500, 50)[0] == (250, 300)
    assert blockplan.spans(0, 0, 50) == [(0, 0)]
    for size in range(0, 130):
        found = blockplan.spans(7, 7 + size, 50)
        assert found[0][0] == 7 and found[-1][1] == 7 + size
        assert all(a[1] == b[0] for a, b in itertools.pairwise(found))
        assert all(stop - start <= 50 for start, stop in found)
        assert len(found) == max(1, -(-size // 50))


def test_platform_example_in_blocks_is_byte_identical_to_one_run(monkeypatch: pytest.MonkeyPatch) -> None:
    stack = resolve_program(ROOT / "stacks" / "platform")
    whole = plan.build_plan(stack, program=None, jobs=1)
    runs: list[list[DeclaredResource]] = []
    real_declare = plan.declare

    def counting(stack_config: StackConfig, program: Callable[[], None] | None = None) -> Declared:
        declared = real_declare(stack_config, program)
        runs.append(declared.resources)
        return declared

    monkeypatch.setattr(blockplan, "BLOCK_ENTRIES", 4)
    monkeypatch.setattr(plan, "declare", counting)
    blocks = plan.build_plan(stack, jobs=1)
    assert len(runs) == 7  # 27 websites in blocks of at most 4, each a run of its own
    assert render_json(blocks) == render_json(whole)
    assert render_text(blocks) == render_text(whole)
    # Every website's resources were declared by exactly one block; only shared providers by several.
    one_run = {r.urn: r for r in real_declare(stack).resources}
    seen = Counter(r.urn for run in runs for r in run)
    assert set(seen) == set(one_run)
    shared = {urn for urn, count in seen.items() if count > 1}
    assert shared and all(one_run[urn].type == "pulumi:providers:aws" for urn in shared)
    # The streamed forms (what `plan` prints) are the same bytes as the renderers of the whole document.
    for kinds, write, expected in (
        (planparts.JSON_KINDS, lambda p, out: p.write_json(out), render_json(whole)),
        (planparts.TEXT_KINDS, lambda p, out: p.write_text(out, INDENT), render_text(whole)),
    ):
        parts = plan.plan_parts(stack, jobs=1, kinds=kinds)
        try:
            out = io.StringIO()
            write(parts, out)
        finally:
            parts.close()
        assert out.getvalue() == expected


def test_a_failing_block_reports_what_one_run_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    stack = resolve_program(ROOT / "stacks" / "platform")
    monkeypatch.setattr(blockplan, "BLOCK_ENTRIES", 4)
    calls: list[bool] = []
    real_declare = plan.declare

    def third_block_fails(stack_config: StackConfig, program: Callable[[], None] | None = None) -> Declared:
        calls.append(planblocks._hook is not None)
        if len(calls) == 3:
            raise RuntimeError("block three broke")
        return real_declare(stack_config, program)

    monkeypatch.setattr(plan, "declare", third_block_fails)
    document = plan.build_plan(stack, jobs=1)
    # After the failure, one more run over every entry: what a plan without blocks gives.
    assert calls == [True, True, True, True]
    monkeypatch.setattr(plan, "declare", real_declare)
    assert render_json(document) == render_json(plan.build_plan(stack, jobs=1))


def test_a_failed_worker_falls_back_to_one_process(small_blocks: None, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = resolve_program(ROOT / "stacks" / "platform")
    serial = render_json(plan.build_plan(stack, jobs=1))
    monkeypatch.setattr(blockplan, "WORKER_MODULE", "divio_storage_infra.no_such_worker")
    assert render_json(plan.build_plan(stack, jobs=2)) == serial


def test_merge_refuses_two_different_registrations_of_one_urn(tmp_path: Path) -> None:
    same, other = tmp_path / "same", tmp_path / "other"
    planparts.write_records(tmp_path / "first", [("urn:a", "1"), ("urn:b", "2")])
    planparts.write_records(same, [("urn:b", "2"), ("urn:c", "3")])
    planparts.write_records(other, [("urn:b", "changed")])
    found = list(planparts.merged([tmp_path / "first", same], "resources"))
    assert found == [("urn:a", "1"), ("urn:b", "2"), ("urn:c", "3")]  # a shared registration once
    with pytest.raises(planparts.ConflictError, match="URN urn:b"):
        list(planparts.merged([tmp_path / "first", other], "resources"))


def test_merging_many_runs_in_steps_gives_one_merge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(7)
    keys = [f"urn:{i:04d}" for i in range(300)]
    paths = []
    for index in range(23):
        chosen = sorted(rng.sample(keys, 40))
        paths.append(tmp_path / f"run-{index}")
        planparts.write_records(paths[-1], [(key, key.upper()) for key in chosen])
    expected = sorted({(key, key.upper()) for path in paths for key in dict(planparts.read_records(path))})
    monkeypatch.setattr(planparts, "MAX_OPEN", 4)
    out = planparts.merge_files(paths, "resources", tmp_path / "merged")
    assert list(planparts.read_records(out)) == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged"]  # every input and step removed


def test_a_selection_plans_exactly_the_selected_websites(small_blocks: None, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = resolve_program(ROOT / "stacks" / "platform")
    whole = plan.build_plan(stack, jobs=1)
    by_urn = {r["urn"]: r for r in whole["resources"]}
    names = sorted(whole["outputs"])
    only = frozenset(names[1::5])
    monkeypatch.setattr(blockplan, "BLOCK_ENTRIES", 2)
    for jobs in (1, 2):
        part = plan.build_plan(stack, jobs=jobs, only=only)
        assert sorted(part["outputs"]) == sorted(only)
        assert all(part["outputs"][name] == whole["outputs"][name] for name in only)
        # Each of its resources is the full plan's, and every resource of a selected website is there.
        assert all(by_urn[r["urn"]] == r for r in part["resources"])
        sites = [r for r in part["resources"] if r["type"] == "divio:storage:WebsiteMediaStorage"]
        assert len(sites) == len(only)
    assert plan.build_plan(stack, jobs=1, only=frozenset())["outputs"] == {}


def test_a_plan_in_blocks_reads_and_validates_the_registry_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = resolve_program(projects.write_library(tmp_path / "library", 9))
    validated: list[int] = []
    real = core_registry.validate_registry

    def counting(*args: Any, **kwargs: Any) -> Any:
        validated.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(platform_module, "validate_registry", counting)
    monkeypatch.setattr(blockplan, "BLOCK_ENTRIES", 2)
    runs: list[int] = []
    real_declare = plan.declare

    def counted(stack_config: StackConfig, program: Callable[[], None] | None = None) -> Declared:
        runs.append(1)
        return real_declare(stack_config, program)

    monkeypatch.setattr(plan, "declare", counted)
    plan.build_plan(stack, jobs=1)
    assert len(runs) == 5 and len(validated) == 1


def test_the_raw_baseline_declares_exactly_what_the_library_declares(tmp_path: Path) -> None:
    """The benchmark's comparison is fair: same resources, types, names, inputs, options, parents, outputs."""
    library = plan.build_plan(resolve_program(projects.write_library(tmp_path / "library", 3)))
    raw = plan.build_plan(resolve_program(projects.write_raw(tmp_path / "raw", 3)))
    assert len(library["resources"]) == 3 * 20
    assert render_json(raw) == render_json(library)


def test_plan_bytes_do_not_depend_on_registration_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # The SDK sends registrations from executor threads, so resources that do not wait for each other (two buckets,
    # two websites) reach the engine in either order. Delays before each registration shuffle that order; the plan
    # must not change.
    stack = resolve_program(ROOT / "stacks" / "platform")
    plain = render_json(plan.build_plan(stack, jobs=1))
    real = RecordingMonitor.RegisterResource
    orders: list[list[str]] = []

    for seed in (1, 2):
        rng = random.Random(seed)
        order: list[str] = []
        orders.append(order)

        def delayed(self: RecordingMonitor, request: Any, rng: random.Random = rng, order: list[str] = order) -> Any:
            time.sleep(rng.random() * 0.002)
            order.append(request.name)
            return real(self, request)

        monkeypatch.setattr(RecordingMonitor, "RegisterResource", delayed)
        assert render_json(plan.build_plan(stack, jobs=1)) == plain
    assert orders[0] != orders[1] and sorted(orders[0]) == sorted(orders[1])
