"""The README's benchmark command runs from a clone and writes every figure it reports (sizes kept tiny: this is
no timing, only the command and its checks working end to end)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import platform

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
        # One pair sharing a CPU per run: both programs finished and were measured.
        assert len(row["paired_cpu_ratios"]) == 1 and row["paired_cpu_ratio"] > 0
    # It refuses to compare unless the baseline planned the same bytes, and checks the default plan against --jobs 1.
    assert document["platform_plan"]["identical_to_serial"] is True
    assert document["import"]["heavy_modules"] == []
    targets = {t["target"]: t for t in document["targets"]}
    assert any(name.startswith("peak memory per website at 3") for name in targets)
    assert "| websites |" in done.stdout and "| target | value | limit | met |" in done.stdout


def test_a_pair_runs_both_programs_on_the_one_cpu_given() -> None:
    cpu = max(os.sched_getaffinity(0))
    probe = [sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"]
    pair = platform.measure_pair({"library": probe, "raw": probe}, cpu)
    pinned = f"[{cpu}]\n".encode()
    assert {kind: out for kind, (_run, out) in pair.items()} == {"library": pinned, "raw": pinned}
    assert all(run.cpu > 0 for run, _out in pair.values())


def test_a_failing_program_of_a_pair_is_named_with_its_error() -> None:
    fails = [sys.executable, "-c", "raise SystemExit('no such registry')"]
    with pytest.raises(RuntimeError, match="no such registry"):
        platform.measure_pair({"library": fails, "raw": [sys.executable, "-c", "pass"]}, min(os.sched_getaffinity(0)))
