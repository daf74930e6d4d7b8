"""``bench`` without a store: percentiles, ratios, rounding, advice, option parsing and the bounded runner."""

from __future__ import annotations

import argparse
import time

import pytest

from divio_storage_infra.cli import bench as cli
from divio_storage_infra.probes.bench import BenchOptions, BenchReport, Figure, Runner, advise, new_figures, percentile


def report(**values: tuple[float | None, float | None]) -> BenchReport:
    figures = new_figures()
    for figure in figures:
        figure.store, figure.local = values.get(figure.name, (None, None))
    return BenchReport(figures, BenchOptions(), "/tmp/x")


def test_percentile_is_nearest_rank() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert percentile(samples, 0.5) == 50.0
    assert percentile(samples, 0.95) == 95.0
    assert percentile([3.0], 0.95) == 3.0
    assert percentile([5.0, 1.0], 0.5) == 1.0


def test_slower_by_reads_rates_and_latencies_the_right_way_round() -> None:
    assert Figure("small_write", "w", "ops/s", store=100.0, local=5000.0).slower_by == 50.0
    assert Figure("first_byte_p50", "t", "ms", store=20.0, local=0.5).slower_by == 40.0
    assert Figure("large_upload", "u", "MB/s", store=None, local=100.0).slower_by is None
    assert Figure("large_upload", "u", "MB/s", store=0.0, local=100.0).slower_by is None


def test_json_figures_have_three_significant_digits() -> None:
    figure = Figure("small_read", "r", "ops/s", store=1234.5678, local=0.0123456)
    document = figure.as_dict()
    assert document["store"] == 1230.0
    assert document["local"] == 0.0123
    assert set(document) == {"name", "label", "unit", "store", "local", "store_slower_by", "samples"}


def test_advice_follows_the_ratios() -> None:
    slow = report(small_write=(100.0, 5000.0), first_byte_p95=(120.0, 0.2), large_upload=(10.0, 500.0))
    ids = [key for key, _ in advise(slow)]
    assert ids == ["work-locally", "avoid-reads-in-requests", "stream-large-files", "local-is-temporary"]
    assert "50x slower" in dict(advise(slow))["work-locally"]
    near = {figure.name: (100.0, 110.0) for figure in new_figures()}
    near["first_byte_p50"] = near["first_byte_p95"] = (5.0, 4.0)
    assert [key for key, _ in advise(report(**near))] == ["store-is-fine", "local-is-temporary"]
    # Nothing measured: no claim that the store is fine.
    assert [key for key, _ in advise(report())] == ["local-is-temporary"]


@pytest.mark.parametrize(
    ("text", "size"), [("4096", 4096), ("4K", 4096), ("4KiB", 4096), ("16M", 16 * 1024**2), ("1 MiB", 1024**2)]
)
def test_sizes(text: str, size: int) -> None:
    assert cli._size(64 * 1024**2)(text) == size


@pytest.mark.parametrize("text", ["0", "-1", "4X", "lots", "2G"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        cli._size(1024**3)(text)


def test_runner_stops_at_its_deadline_and_counts_what_ran() -> None:
    runner = Runner(concurrency=2)
    start = time.monotonic()
    phase = runner.run([str(n) for n in range(1000)], lambda _: time.sleep(0.01), start + 0.2)
    assert time.monotonic() - start < 0.5
    assert phase.cut is True
    assert 10 <= phase.done < 1000


def test_runner_collects_samples_and_finishes_early() -> None:
    phase = Runner(concurrency=3).run(["a", "b", "c", "d"], lambda item: float(len(item)), time.monotonic() + 5)
    assert phase.done == 4 and phase.cut is False and phase.samples == [1.0] * 4
