"""The offline engine's own speed-ups keep their meaning: the struct decoder, the collector settings, and
components whose annotations the SDK does not re-read on every registration."""

from __future__ import annotations

import gc
import inspect
import pickle

from google.protobuf import json_format, struct_pb2

from divio_storage_infra.components import AzureMediaStorage, S3MediaStorage, WebsiteMediaStorage
from divio_storage_infra.preview import collector, mockrun

SIG = mockrun._SIG_KEY


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
    with collector.tuned():
        assert gc.get_threshold() == collector.THRESHOLDS
        assert gc.get_freeze_count() > 0
        with collector.tuned():
            assert gc.get_threshold() == collector.THRESHOLDS
        assert gc.get_threshold() == collector.THRESHOLDS  # the inner use does not restore early
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_mock_run_restores_the_collector() -> None:
    before = gc.get_threshold()
    seen: list[tuple[int, int, int]] = []
    mockrun.run(lambda: seen.append(gc.get_threshold()))
    assert seen == [collector.THRESHOLDS]
    assert gc.get_threshold() == before


def test_components_have_no_runtime_annotations() -> None:
    # The SDK calls typing.get_type_hints on a resource class's annotations on every registration.
    for component in (WebsiteMediaStorage, S3MediaStorage, AzureMediaStorage):
        assert inspect.get_annotations(component) == {}, component.__name__
