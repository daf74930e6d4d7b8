"""The README's benchmark command runs from a clone and writes every figure it reports (sizes kept tiny: this is
no timing, only the command and its checks working end to end)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks import platform
from benchmarks.platform import Group

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_command_runs_and_writes_its_figures(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    command = [sys.executable, "-m", "benchmarks.platform", "--sizes", "1,3", "--runs", "1", "--json", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    # Exit 1 only means a target was missed (tiny sizes say nothing about them); anything else is a failure.
    assert done.returncode in (0, 1), done.stderr[-2000:]
    document = json.loads(out.read_text())
    assert [row["websites"] for row in document["rows"]] == [1, 3]
    for row in document["rows"]:
        for kind in ("library", "raw"):
            assert row[kind]["cpu"] > 0 and row[kind]["peak_mb"] > 0
        # One pair sharing a CPU in each start order per run, and each program against itself.
        assert sorted(pair["first"] for pair in row["pairs"]) == ["library", "raw"]
        assert row["paired_cpu_ratios"] == [pair["library"] / pair["raw"] for pair in row["pairs"]]
        assert len(row["control_cpu_ratios"]) == 2 and all(c > 0 for c in row["control_cpu_ratios"])
    # It refuses to compare unless the baseline planned the same bytes, and checks the default plan against --jobs 1.
    assert document["platform_plan"]["identical_to_serial"] is True
    assert document["import"]["heavy_modules"] == []
    targets = {t["target"]: t for t in document["targets"]}
    assert any(name.startswith("peak memory per website at 3") for name in targets)
    assert any(name.startswith("control: same program twice") for name in targets)
    assert "| websites |" in done.stdout and "| target | value | limit | met |" in done.stdout


def probe(code: str) -> list[str]:
    """A Python one-liner as a command."""
    return [sys.executable, "-c", code]


AFFINITY = probe("import os; print(sorted(os.sched_getaffinity(0)))")


def test_each_group_runs_pinned_to_its_own_cpu() -> None:
    first, last = min(os.sched_getaffinity(0)), max(os.sched_getaffinity(0))
    groups = [Group(first, {"a": AFFINITY, "b": AFFINITY}), Group(last, {"c": AFFINITY})]
    found = platform.measure_together(groups)
    outputs = [{label: out for label, (_run, out) in group.items()} for group in found]
    assert outputs == [{"a": f"[{first}]\n".encode(), "b": f"[{first}]\n".encode()}, {"c": f"[{last}]\n".encode()}]
    assert all(run.cpu > 0 for group in found for run, _out in group.values())


def test_the_programs_of_a_group_run_at_the_same_time(tmp_path: Path) -> None:
    # Each one announces itself, then waits for the other: run one after the other, the first would time out.
    def meet(me: str, other: str) -> list[str]:
        return probe(
            "import pathlib, sys, time\n"
            f"pathlib.Path({str(tmp_path / me)!r}).touch()\n"
            "deadline = time.monotonic() + 30\n"
            f"while not pathlib.Path({str(tmp_path / other)!r}).exists():\n"
            "    if time.monotonic() > deadline: sys.exit('alone')\n"
            "    time.sleep(0.01)\n"
        )

    cpu = min(os.sched_getaffinity(0))
    found = platform.measure_together([Group(cpu, {"library": meet("a", "b"), "raw": meet("b", "a")})])
    assert sorted(found[0]) == ["library", "raw"]


def test_a_failing_program_is_named_with_its_error_and_no_child_outlives_the_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[subprocess.Popen[bytes]] = []
    real_popen = subprocess.Popen

    def recording(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        process = real_popen(*args, **kwargs)
        started.append(process)
        return process

    monkeypatch.setattr(subprocess, "Popen", recording)
    cpu = min(os.sched_getaffinity(0))
    fails = probe("raise SystemExit('no such registry')")
    with pytest.raises(RuntimeError, match="no such registry"):
        platform.measure_together([Group(cpu, {"library": fails, "raw": probe("pass")})])
    # A start that fails leaves the one already started neither running nor unreaped.
    sleeper = probe("import time; time.sleep(60)")
    with pytest.raises(FileNotFoundError):
        platform.measure_together([Group(cpu, {"library": sleeper, "raw": ["/nonexistent/program"]})])
    assert len(started) == 3 and all(process.returncode is not None for process in started)
    assert started[-1].returncode == -signal.SIGKILL


def test_a_cpu_this_process_may_not_use_is_refused_before_anything_starts() -> None:
    unavailable = max(os.sched_getaffinity(0)) + 1
    with pytest.raises(ValueError, match=f"CPU {unavailable} is not available"):
        platform.measure_together([Group(unavailable, {"library": AFFINITY})])


def measured(pairs: list[tuple[float, float]], controls: list[float]) -> platform.Measured:
    """A size's measurements with the given (library, raw) CPU seconds of each pair; separate runs of 1 s."""
    run = platform.Run(1.0, 1.0, 100.0)
    return platform.Measured(
        samples={"library": [run], "raw": [run]},
        pairs=[{"library": lib, "raw": raw, "first": "library"} for lib, raw in pairs],
        controls=controls,
    )


def test_the_target_is_the_median_of_the_pairs_ratios_and_the_control_must_read_one() -> None:
    run = platform.Run(1.0, 1.0, 100.0)
    compared = {
        1: measured([(1.0, 1.0)], [1.0, 1.0]),
        50: measured([(1.02, 1.0), (2.2, 2.0), (1.03, 1.0)], [1.01, 0.99]),  # median 1.03: met
        200: measured([(1.2, 1.0), (1.06, 1.0), (0.9, 1.0)], [1.0, 1.0]),  # median 1.06: missed
    }
    document = platform.document(3, platform.Figures(compared, run, True, run, 0.01, []))
    assert [row["paired_cpu_ratio"] for row in document["rows"]] == pytest.approx([1.0, 1.03, 1.06])
    targets = {t["target"]: t for t in document["targets"]}
    assert targets["library/raw CPU at 50 (median of the pairs on one CPU)"]["met"] is True
    assert targets["library/raw CPU at 200 (median of the pairs on one CPU)"]["met"] is False
    # Growth is read on the library's CPU time in the pairs (medians 1.03 s and 1.06 s), not the separate runs (1 s).
    growth = targets["program CPU growth 50->200 (whole processes, library in the pairs), x"]
    assert growth["value"] == pytest.approx(1.06 / 1.03) and growth["limit"] == pytest.approx(4.2)
    control = targets["control: same program twice on one CPU, largest |ratio - 1|"]
    assert control["value"] == pytest.approx(0.01) and control["met"] is True
    compared[50] = measured([(1.0, 1.0)], [1.0, 0.94])
    again = {
        t["target"]: t for t in platform.document(3, platform.Figures(compared, run, True, run, 0.01, []))["targets"]
    }
    assert again["control: same program twice on one CPU, largest |ratio - 1|"]["met"] is False
    rendered = platform.render(document)
    assert "| 1.030 (1.020-1.100) | 0.990-1.010 |" in rendered
    assert "Library CPU growth 50->200: 1.03x in the pairs (median 1.03 s -> 1.06 s), 1.00x in the separate runs" in (
        rendered
    )


def test_the_scale_benchmark_runs_and_checks_its_targets(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    command = [sys.executable, "-m", "benchmarks.scale", "--review-sizes", "3", "--plan-sizes", "3,4"]
    done = subprocess.run(
        [*command, "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    document = json.loads(out.read_text())
    (review,) = document["reviews"]
    assert review["websites"] == 3 and review["identical"] is True
    assert all(review[kind]["cpu"] > 0 and review[kind]["peak_mb"] > 0 for kind in ("incremental", "full"))
    assert [row["websites"] for row in document["plans"]] == [3, 4]
    names = [t["target"] for t in document["targets"]]
    assert "largest process of the plan of 4, MB" in names
    assert all(t["met"] for t in document["targets"])  # same bytes, and tiny plans far below 300 MB
    assert "| review, one-website change (default) | 3 |" in done.stdout


def test_the_scale_targets_are_the_issue_s() -> None:
    from benchmarks import scale

    def run(wall: float, peak: float = 100.0) -> dict[str, float]:
        return {"wall": wall, "cpu": wall, "peak_mb": peak}

    reviews = [
        {"websites": n, "incremental": run(w), "full": run(60), "identical": True}
        for n, w in ((2000, 4.9), (5000, 6.1))
    ]
    plans = [{"websites": 500, **run(7.0)}, {"websites": 5000, **run(74.0, 301.0)}]
    found = {t["target"]: t["met"] for t in scale.targets(reviews, plans)}
    assert found == {
        "one-website change reviewed at 2000, wall s": True,
        "one-website change reviewed at 5000, wall s": False,
        "... incremental and full review print the same bytes at 2000 (1 = yes)": True,
        "... incremental and full review print the same bytes at 5000 (1 = yes)": True,
        "full platform plan of 5000, wall s": True,
        "full plan wall growth 500->5000, x": False,  # 74 / 7 > 10.5
        "largest process of the plan of 500, MB": True,
        "largest process of the plan of 5000, MB": False,
    }
