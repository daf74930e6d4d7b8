"""``python -m benchmarks.scale``: the platform plan and the review of a pull request as the fleet grows.

For each review size (default 500, 2,000 and 5,000 websites), a git repository with the fleet's platform project
(:func:`benchmarks.projects.fleet_registry`: a private bucket, an IAM user, two CORS origins, a media domain and
tags per website) and a commit that adds one CORS origin to one website; it measures ``divio-storage diff --rev
HEAD~1..HEAD`` as a reviewer runs it (default options: the incremental review) and with ``--full``. For each plan
size (default 500, 5,000 and 20,000) it measures ``divio-storage plan --program DIR --format json`` with the default
jobs. Every figure is one whole process: wall time, CPU time (user + system of it and every process it waited for)
and the peak memory of the largest of those processes (``ru_maxrss`` from ``os.wait4``). It prints a table and the
issue's targets and writes every figure to a JSON file; exit 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from benchmarks import projects
from benchmarks.platform import ENV, Group, Run, machine, side_by_side

DIVIO_STORAGE = [sys.executable, "-m", "divio_storage_infra"]
REVIEW_SIZES = [500, 2000, 5000]
PLAN_SIZES = [500, 5000, 20000]
MEMORY_LIMIT_MB = 300.0
"""The most memory any one process of a plan may hold, at any fleet size."""
BLOCKS_SIZE = 50
"""Websites of the comparison of a plan in blocks with a plain program in one run (where blocks cannot help)."""
BLOCKS_LIMIT = 1.05
"""The most CPU time a plan in blocks may take for :data:`BLOCKS_SIZE` websites, per second of the plain run."""


def measured(command: list[str], cwd: Path) -> tuple[Run, bytes]:
    """Run ``command`` to completion (its output to a file, never held here unless small); wall, CPU and the peak
    memory of the largest process it waited for, and the first MiB of its output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err, env=ENV)
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        if process.returncode not in (0, 1):  # diff exits 1 when it finds danger (a widened CORS is one)
            tail = err.read()[-2000:].decode(errors="replace")
            raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{tail}")
        out.seek(0)
        return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024), out.read(1 << 20)


def _git(repo: Path, *arguments: str) -> None:
    env = {**ENV, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com"}
    env |= {"GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    subprocess.run(["git", *arguments], cwd=repo, env=env, check=True, capture_output=True)


def review_repository(directory: Path, count: int) -> Path:
    """A git repository whose platform project holds ``count`` websites, and a commit that adds one CORS origin to
    one website (the one in the middle); returns its top directory."""
    project = projects.write_fleet(directory / "platform", count)
    _git(directory, "init", "-q")
    _git(directory, "add", "-A")
    _git(directory, "commit", "-qm", "the fleet")
    registry = projects.fleet_registry(count)
    registry["websites"][count // 2]["corsOrigins"].append("https://new.example.org")
    (project / "websites.yaml").write_text(yaml.safe_dump(registry, sort_keys=False))
    _git(directory, "commit", "-qam", "one more CORS origin for one website")
    return directory


def review(count: int, work: Path, *, full: bool = True) -> dict[str, Any]:
    """The incremental and (``full``) the full review of a one-website change in a fleet of ``count``, and whether
    both printed the same bytes."""
    repo = review_repository(work / f"review-{count}", count)
    command = [*DIVIO_STORAGE, "diff", "--rev", "HEAD~1..HEAD"]
    incremental, incremental_out = measured(command, repo)
    found: dict[str, Any] = {"websites": count, "incremental": asdict(incremental)}
    print(f"  review {count:>6} {'incremental':<11} {_line(incremental)}", file=sys.stderr)
    if full:
        whole, whole_out = measured([*command, "--full"], repo)
        print(f"  review {count:>6} {'full':<11} {_line(whole)}", file=sys.stderr)
        found |= {"full": asdict(whole), "identical": incremental_out == whole_out}
    return found


def plan(count: int, work: Path) -> dict[str, Any]:
    """The full platform plan of a fleet of ``count`` websites, as ``plan`` runs by default."""
    directory = projects.write_fleet(work / f"plan-{count}", count)
    run, _out = measured([*DIVIO_STORAGE, "plan", "--program", str(directory), "--format", "json"], directory)
    print(f"  plan   {count:>6} {'full':<11} {_line(run)}", file=sys.stderr)
    return {"websites": count, **asdict(run)}


def blocks_cost(count: int, work: Path, rounds: int = 3) -> dict[str, Any]:
    """The library's plan of ``count`` websites (in blocks, ``--jobs 1``) against a plain program that declares the
    same resources in one run (:func:`benchmarks.projects.write_plain`): ``rounds`` pairs in each start order, each
    pair started together on one CPU (see :func:`benchmarks.platform.measure_together`); the ratios of their CPU
    times. Raises RuntimeError when the two plans differ."""
    directories = {
        "library": projects.write_library(work / f"blocks-library-{count}", count),
        "plain": projects.write_plain(work / f"blocks-plain-{count}", count),
    }
    commands = {
        kind: [*DIVIO_STORAGE, "plan", "--program", str(d), "--format", "json", "--jobs", "1"]
        for kind, d in directories.items()
    }
    cpus = sorted(os.sched_getaffinity(0))[:2]
    orders = [
        Group(cpus[0], {"library": commands["library"], "plain": commands["plain"]}),
        Group(cpus[-1], {"plain": commands["plain"], "library": commands["library"]}),
    ]
    ratios: list[float] = []
    for _ in range(rounds):
        for found in side_by_side(orders):
            if found["library"][1] != found["plain"][1]:
                raise RuntimeError(f"the plan in blocks and the plain program's plan differ at {count} websites")
            ratios.append(found["library"][0].cpu / found["plain"][0].cpu)
    ratios.sort()
    median = (ratios[(len(ratios) - 1) // 2] + ratios[len(ratios) // 2]) / 2
    print(f"  blocks {count:>6} vs plain  cpu ratios {', '.join(f'{r:.3f}' for r in ratios)}", file=sys.stderr)
    return {"websites": count, "ratios": ratios, "median": median}


def _line(run: Run) -> str:
    return f"wall {run.wall:8.2f} s  cpu {run.cpu:8.2f} s  largest process {run.peak_mb:6.0f} MB"


def targets(
    reviews: list[dict[str, Any]], plans: list[dict[str, Any]], blocks: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The issue's targets that the measured sizes allow checking."""
    found: list[tuple[str, float, float]] = []
    if blocks is not None:
        found.append(
            (
                f"plan of {blocks['websites']} in blocks / plain program in one run, CPU (median of pairs)",
                blocks["median"],
                BLOCKS_LIMIT,
            )
        )
    by_review = {row["websites"]: row for row in reviews}
    for count, limit in ((2000, 5.0), (5000, 6.0)):
        if count in by_review:
            found.append(
                (f"one-website change reviewed at {count}, wall s", by_review[count]["incremental"]["wall"], limit)
            )
    for row in (row for row in reviews if "full" in row):
        found.append(
            (
                f"... incremental and full review print the same bytes at {row['websites']} (1 = yes)",
                1.0 if row["identical"] else 0.0,
                1.0,
            )
        )
    by_plan = {row["websites"]: row for row in plans}
    if 5000 in by_plan:
        found.append(("full platform plan of 5000, wall s", by_plan[5000]["wall"], 75.0))
    if 500 in by_plan and 5000 in by_plan:
        found.append(("full plan wall growth 500->5000, x", by_plan[5000]["wall"] / by_plan[500]["wall"], 10.5))
    for row in plans:
        found.append((f"largest process of the plan of {row['websites']}, MB", row["peak_mb"], MEMORY_LIMIT_MB))
    # Every target is an upper bound.
    return [{"target": name, "value": value, "limit": limit, "met": value <= limit} for name, value, limit in found]


def render(document: dict[str, Any]) -> str:
    """The tables and the targets as Markdown."""
    m = document["machine"]
    lines = [
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, load average before "
        f"{', '.join(f'{x:.1f}' for x in m['load_average'])}; one run of each",
        "",
        "| scenario | websites | wall s | CPU s | largest process MB |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in document["reviews"]:
        for kind in (kind for kind in ("incremental", "full") if kind in row):
            run = row[kind]
            label = "review, one-website change" + (" (`--full`)" if kind == "full" else " (default)")
            lines.append(
                f"| {label} | {row['websites']} | {run['wall']:.2f} | {run['cpu']:.2f} | {run['peak_mb']:.0f} |"
            )
    for row in document["plans"]:
        lines.append(
            f"| full platform plan | {row['websites']} | {row['wall']:.2f} | {row['cpu']:.2f} | {row['peak_mb']:.0f} |"
        )
    blocks = document.get("blocks")
    if blocks:
        ratios = ", ".join(f"{r:.3f}" for r in blocks["ratios"])
        lines += [
            "",
            f"Plan of {blocks['websites']} websites in blocks against a plain program declaring the same resources in "
            f"one run, CPU ratio of pairs on one CPU: {ratios} (median {blocks['median']:.3f})",
        ]
    lines += ["", "| target | value | limit | met |", "|---|---:|---:|---|"]
    for target in document["targets"]:
        met = "yes" if target["met"] else "NO"
        lines.append(f"| {target['target']} | {target['value']:.3f} | {target['limit']:g} | {met} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__)

    def sizes(text: str) -> list[int]:
        return [int(x) for x in text.split(",") if x]

    parser.add_argument("--review-sizes", type=sizes, default=REVIEW_SIZES, help="fleet sizes of the review")
    parser.add_argument(
        "--full-review-sizes", type=sizes, default=None, help="sizes also reviewed with --full (default: all)"
    )
    parser.add_argument("--plan-sizes", type=sizes, default=PLAN_SIZES, help="fleet sizes of the full plan")
    parser.add_argument(
        "--no-blocks",
        dest="blocks",
        action="store_false",
        help=f"leave out the plan of {BLOCKS_SIZE} websites in blocks against a plain program in one run",
    )
    parser.add_argument("--json", type=Path, default=Path("scale-results.json"), help="where to write figures")
    args = parser.parse_args(argv)
    before = machine()
    with tempfile.TemporaryDirectory(prefix="divio-scale-") as tmp:
        work = Path(tmp)
        with_full = args.review_sizes if args.full_review_sizes is None else args.full_review_sizes
        reviews = [review(count, work, full=count in with_full) for count in args.review_sizes]
        plans = [plan(count, work) for count in args.plan_sizes]
        blocks = blocks_cost(BLOCKS_SIZE, work) if args.blocks else None
    document = {
        "machine": before,
        "command": "python -m benchmarks.scale " + " ".join(sys.argv[1:] if argv is None else argv),
        "reviews": reviews,
        "plans": plans,
        "blocks": blocks,
        "targets": targets(reviews, plans, blocks),
    }
    args.json.write_text(json.dumps(document, indent=2) + "\n")
    sys.stdout.write(render(document))
    print(f"\nFigures written to {args.json}")
    return 0 if all(t["met"] for t in document["targets"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
