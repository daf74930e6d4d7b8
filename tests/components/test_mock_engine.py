"""The offline engine's own speed-ups keep their meaning: the struct decoder, the collector settings, source
positions left out, and components whose annotations the SDK does not re-read on every registration."""

from __future__ import annotations

import contextlib
import gc
import inspect
import pickle
import weakref
from pathlib import Path

import pytest
from google.protobuf import json_format, struct_pb2

from divio_storage_infra.cli.plan import resolve_program
from divio_storage_infra.components import AzureMediaStorage, S3MediaStorage, WebsiteMediaStorage
from divio_storage_infra.preview import gcsettings, mockrun, plan, sourcepositions

SIG = mockrun._SIG_KEY
ROOT = Path(__file__).resolve().parents[2]


def test_the_struct_decoder_reads_what_the_json_printer_and_decode_read() -> None:
    struct = struct_pb2.Struct()
    struct.update(
        {
            "name": "media",
            "count": 3.0,
            "ratio": 0.5,
            "flag": True,
            "nothing": None,
            "unknown": mockrun._UNKNOWN_VALUE,
            "secret": {SIG: mockrun._SECRET_SIG, "value": {"key": "s3cr3t", "list": [1.0, "x"]}},
            "ref": {SIG: mockrun._RESOURCE_SIG, "urn": "urn:pulumi:s::p::t::n", "id": ""},
            "output": {SIG: mockrun._OUTPUT_SIG, "secret": True, "dependencies": []},
            "known": {SIG: mockrun._OUTPUT_SIG, "value": "v"},
            "nested": [{"a": [mockrun._UNKNOWN_VALUE, 2.0]}, []],
        }
    )
    expected = mockrun.decode(json_format.MessageToDict(struct))
    decoded = mockrun._struct(struct)
    assert decoded == expected
    assert decoded["unknown"] is mockrun.UNKNOWN
    assert decoded["secret"] == mockrun.Secret({"key": "s3cr3t", "list": [1, "x"]})
    assert decoded["output"] == mockrun.Secret(mockrun.UNKNOWN)
    assert type(decoded["count"]) is int and decoded["ratio"] == 0.5


def test_unknown_survives_pickling_as_the_one_instance() -> None:
    assert pickle.loads(pickle.dumps([mockrun.UNKNOWN]))[0] is mockrun.UNKNOWN


def test_the_collector_settings_hold_only_inside_and_nest() -> None:
    before = gc.get_threshold()
    with gcsettings.tuned():
        assert gc.get_threshold() == gcsettings.THRESHOLDS
        assert gc.get_freeze_count() > 0
        with gcsettings.tuned():
            assert gc.get_threshold() == gcsettings.THRESHOLDS
        assert gc.get_threshold() == gcsettings.THRESHOLDS  # the inner use does not restore early
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_mock_run_restores_the_collector() -> None:
    before = gc.get_threshold()
    seen: list[tuple[int, int, int]] = []
    mockrun.run(lambda: seen.append(gc.get_threshold()))
    assert seen == [gcsettings.THRESHOLDS]
    assert gc.get_threshold() == before


def test_components_have_no_runtime_annotations() -> None:
    # The SDK calls typing.get_type_hints on a resource class's annotations on every registration.
    for component in (WebsiteMediaStorage, S3MediaStorage, AzureMediaStorage):
        assert inspect.get_annotations(component) == {}, component.__name__


class _Cycle:
    """A reference cycle (reference counting alone never frees it) that a weak reference can watch."""

    def __init__(self) -> None:
        self.me = self


def test_a_mock_run_collects_its_own_cyclic_garbage_even_inside_the_plan_settings() -> None:
    # Inside the plan's settings (thresholds so high the old generations are practically never collected), the
    # cycles a run leaves behind would stay until the process ends; a plan in blocks would grow with every block.
    watched: list[weakref.ref[_Cycle]] = []
    kept_before_the_run = _Cycle()
    before = weakref.ref(kept_before_the_run)
    del kept_before_the_run

    def program() -> None:
        watched.append(weakref.ref(_Cycle()))  # unreachable at once, but only the collector can free it

    with gcsettings.tuned():
        mockrun.run(program)
        assert watched and watched[0]() is None
        # What existed before the run was frozen, not scanned: the old cycle is still there until the plan ends.
        assert before() is not None
    gc.collect()
    assert before() is None


def test_garbage_made_between_two_runs_is_collected_not_frozen_for_good() -> None:
    # A plan in blocks turns each run's record into pieces of the document between two runs; cycles left by that
    # must not be frozen by the next run's start, or a plan's memory grows with every block (with the fleet).
    with gcsettings.tuned():
        mockrun.run(lambda: None)
        between = _Cycle()
        left = weakref.ref(between)
        del between
        mockrun.run(lambda: None)
        assert left() is None


def test_no_source_positions_inside_a_mock_run_and_the_sdk_walks_the_stack_again_after() -> None:
    from pulumi.runtime import resource as sdk_resource

    frames: list[int] = []
    mockrun.run(lambda: frames.append(len(sdk_resource._get_stack_trace().frames)))
    assert frames == [0]
    assert sdk_resource._get_stack_trace is not sourcepositions._empty_stack_trace
    with sourcepositions.omitted():
        with sourcepositions.omitted():
            assert sdk_resource._get_stack_trace is sourcepositions._empty_stack_trace
        assert sdk_resource._get_stack_trace is sourcepositions._empty_stack_trace  # the inner use keeps it
    assert sdk_resource._get_stack_trace is not sourcepositions._empty_stack_trace


def test_source_positions_change_nothing_a_plan_records(monkeypatch: pytest.MonkeyPatch) -> None:
    # The monitor records inputs, options, parents and dependencies; the stack walk only fed the Pulumi CLI.
    stack = resolve_program(ROOT / "stacks" / "platform")
    without = plan.declare(stack)
    monkeypatch.setattr(sourcepositions, "omitted", contextlib.nullcontext)
    with_positions = plan.declare(stack)
    # Compared by URN: the SDK registers from several threads, so the order of the record may differ between runs.
    assert {r.urn: r for r in with_positions.resources} == {r.urn: r for r in without.resources}
    assert len(with_positions.resources) == len(without.resources)
    assert (with_positions.outputs, with_positions.component_outputs) == (without.outputs, without.component_outputs)
