"""``python -m benchmarks.platform``: the platform plan, library against raw pulumi-aws, and the targets.

For registries of 1, 50, 200 and 500 AWS websites (private bucket, IAM user, two CORS origins), it plans the
library's platform program and the raw baseline (``raw_program.py``, the same resources declared with pulumi-aws
directly) with ``divio-storage plan --program DIR --format json --jobs 1``, interleaved (library, raw, library,
raw, ...), and takes the median of ``--runs`` runs of each. Every run is a whole process: wall time, CPU time
(user + system of the child, from ``os.wait4``) and peak memory (``ru_maxrss``). The library/raw CPU ratio is then
measured in ``--runs`` pairs in each start order that run at the same time on one CPU, the median of the pairs'
ratios, with each program also run against itself as a control (see :func:`measure_together`). Then it measures
the 500-website platform plan as ``divio-storage plan`` runs it by default (worker processes), the single example
stack, and ``import divio_storage_infra``; prints a table and the targets, and writes every figure to a JSON file.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks import projects

ROOT = Path(__file__).resolve().parent.parent
PLAN = [sys.executable, "-m", "divio_storage_infra.cli.main", "plan"]
HEAVY = ("pulumi", "pulumi_aws", "pulumi_azure_native", "grpc", "google", "boto3", "botocore", "azure")
_IMPORT_PROBE = (
    "import sys, time\n"
    "start = time.perf_counter()\n"
    "import divio_storage_infra\n"
    "took = time.perf_counter() - start\n"
    f"heavy = sorted({{m for m in sys.modules if m.split('.')[0] in {HEAVY!r}}})\n"
    "print(repr((took, heavy)))\n"
)


@dataclass(frozen=True)
class Run:
    """One whole process: wall and CPU seconds, peak resident memory in MB."""

    wall: float
    cpu: float
    peak_mb: float


# Python's defaults for every child: with PYTHONDONTWRITEBYTECODE set (as on some CI machines), each process compiles
# Pulumi and the provider SDK from source again (about a second); the benchmark measures the usual cached case.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(command: list[str], cwd: Path = ROOT) -> tuple[Run, bytes]:
    """Run ``command`` to completion, not pinned; its resource usage (``os.wait4``: the process and the workers it
    waited for; peak memory is the largest of them) and its standard output."""
    return measure_together([Group(None, {"run": command})], cwd)[0]["run"]


@dataclass(frozen=True)
class Group:
    """Commands started together, in the order of ``commands`` (label -> command), all pinned to ``cpu`` (None: the
    CPUs this process may use)."""

    cpu: int | None
    commands: dict[str, list[str]]


def measure_together(groups: list[Group], cwd: Path = ROOT) -> list[dict[str, tuple[Run, bytes]]]:
    """Start every command of every group at once, each group pinned to its CPU, and wait for all; per group, each
    command's resource usage and standard output. Wall time runs from the start of all until the command is reaped:
    a command's own only when it runs alone.

    Why pairs: a virtual CPU's speed changes within seconds, differently on each CPU, so programs run one after the
    other see different machines (the benchmark's separate runs of the same program differ by up to 15 %). Sharing
    one CPU, the programs of a group are alternated by the scheduler every few milliseconds and see the same
    machine, so the ratio of their CPU times is what their code costs; each size also runs the same program twice
    in a group as a check of that (the control). Raises RuntimeError naming every command that failed; no child
    outlives it.
    """
    available = os.sched_getaffinity(0)
    for group in groups:
        if group.cpu is not None and group.cpu not in available:
            raise ValueError(f"CPU {group.cpu} is not available to this process (available: {sorted(available)})")
    with tempfile.TemporaryDirectory() as tmp:
        started: list[tuple[int, str, subprocess.Popen[bytes], Path, Path]] = []
        try:
            begun = time.perf_counter()
            for index, group in enumerate(groups):
                pin = None if group.cpu is None else functools.partial(os.sched_setaffinity, 0, {group.cpu})
                for label, command in group.commands.items():
                    out, err = Path(tmp, f"{len(started)}.out"), Path(tmp, f"{len(started)}.err")
                    with out.open("wb") as stdout, err.open("wb") as stderr:
                        process = subprocess.Popen(
                            command, cwd=cwd, stdout=stdout, stderr=stderr, env=ENV, preexec_fn=pin
                        )
                    started.append((index, label, process, out, err))
            found: list[dict[str, tuple[Run, bytes]]] = [{} for _ in groups]
            failed: list[str] = []
            for index, label, process, out, err in started:
                _pid, status, usage = os.wait4(process.pid, 0)
                wall = time.perf_counter() - begun
                process.returncode = os.waitstatus_to_exitcode(status)
                if process.returncode != 0:
                    stderr_text = err.read_bytes().decode(errors="replace")[-2000:]
                    command_text = " ".join(groups[index].commands[label])
                    failed.append(f"{command_text} failed ({process.returncode}):\n{stderr_text}")
                run = Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)
                found[index][label] = (run, out.read_bytes())
            if failed:
                raise RuntimeError("\n".join(failed))
            return found
        finally:
            for _index, _label, process, _out, _err in started:
                if process.returncode is None:  # not reaped: interrupted, or a later start failed
                    process.kill()
                    process.wait()


def median(runs: list[Run]) -> Run:
    """Median of each figure on its own."""
    return Run(
        statistics.median(r.wall for r in runs),
        statistics.median(r.cpu for r in runs),
        statistics.median(r.peak_mb for r in runs),
    )


@dataclass(frozen=True)
class Measured:
    """One registry size: separate runs of each program, pairs on one CPU, and the same-program controls."""

    samples: dict[str, list[Run]]
    pairs: list[dict[str, Any]]
    """CPU seconds of ``library`` and ``raw`` in each pair, and which one was started ``first``."""
    controls: list[float]
    """CPU ratio of one program to itself, run together on one CPU (library, then raw)."""

    @property
    def medians(self) -> dict[str, Run]:
        """The median of each program's separate runs."""
        return {kind: median(runs) for kind, runs in self.samples.items()}

    @property
    def ratios(self) -> list[float]:
        """library/raw CPU time of each pair."""
        return [pair["library"] / pair["raw"] for pair in self.pairs]

    def paired_cpu(self, kind: str) -> float:
        """The median CPU seconds of ``kind`` (library or raw) in the pairs."""
        return statistics.median(float(pair[kind]) for pair in self.pairs)


def compare(sizes: list[int], runs: int, work: Path) -> dict[int, Measured]:
    """Library and raw for each size: ``runs`` separate runs of each, interleaved; ``runs`` pairs on one CPU in
    each start order (on two CPUs at once when there are two); one control of each program against itself."""
    cpus = sorted(os.sched_getaffinity(0))[:2]
    results: dict[int, Measured] = {}
    for count in sizes:
        dirs = {
            "library": projects.write_library(work / f"library-{count}", count),
            "raw": projects.write_raw(work / f"raw-{count}", count),
        }
        commands = {kind: [*PLAN, "--program", str(d), "--format", "json", "--jobs", "1"] for kind, d in dirs.items()}
        samples: dict[str, list[Run]] = {"library": [], "raw": []}
        outputs: dict[str, bytes] = {}
        if count == sizes[0]:
            for command in commands.values():  # untimed: fills the bytecode caches of everything a plan imports
                measure(command)
        for _ in range(runs):
            for kind, command in commands.items():
                run, out = measure(command)
                samples[kind].append(run)
                outputs[kind] = out
                print(
                    f"  {count:>4} {kind:<8} wall {run.wall:7.2f} s  cpu {run.cpu:7.2f} s  {run.peak_mb:6.0f} MB",
                    file=sys.stderr,
                )
        if outputs["library"] != outputs["raw"]:
            raise RuntimeError(f"library and raw plans differ at {count} websites: the baseline is not equivalent")
        library, raw = commands["library"], commands["raw"]
        pairs: list[dict[str, Any]] = []
        both_orders = [
            Group(cpus[0], {"library": library, "raw": raw}),
            Group(cpus[-1], {"raw": raw, "library": library}),
        ]
        for _ in range(runs):
            for found in side_by_side(both_orders):
                pair: dict[str, Any] = {
                    "library": found["library"][0].cpu,
                    "raw": found["raw"][0].cpu,
                    "first": next(iter(found)),
                }
                pairs.append(pair)
                print(
                    f"  {count:>4} pair     cpu {pair['library']:7.2f} s / {pair['raw']:7.2f} s  "
                    f"ratio {pair['library'] / pair['raw']:.3f}  ({pair['first']} first)",
                    file=sys.stderr,
                )
        twice = [Group(cpus[0], {"library": library, "again": library}), Group(cpus[-1], {"raw": raw, "again": raw})]
        controls: list[float] = []
        for found in side_by_side(twice):
            first, again = (run for run, _out in found.values())
            controls.append(first.cpu / again.cpu)
        print(f"  {count:>4} control  same program twice: {', '.join(f'{c:.3f}' for c in controls)}", file=sys.stderr)
        results[count] = Measured(samples, pairs, controls)
    return results


def side_by_side(groups: list[Group]) -> list[dict[str, tuple[Run, bytes]]]:
    """:func:`measure_together` for groups on different CPUs; one group after the other where they share one."""
    if len({group.cpu for group in groups}) == len(groups):
        return measure_together(groups)
    return [measure_together([group])[0] for group in groups]


def whole_plan(count: int, runs: int, work: Path) -> tuple[Run, bool]:
    """``divio-storage plan --program`` of ``count`` websites as it runs by default; and whether its bytes equal a
    serial run's."""
    directory = projects.write_library(work / f"library-{count}", count)
    found = [measure([*PLAN, "--program", str(directory), "--format", "json"]) for _ in range(runs)]
    _serial, serial_bytes = measure([*PLAN, "--program", str(directory), "--format", "json", "--jobs", "1"])
    return median([run for run, _ in found]), all(out == serial_bytes for _, out in found)


def example_stack(runs: int) -> Run:
    """``divio-storage plan`` of the repository's example stack (whole process, text output)."""
    return median([measure(PLAN)[0] for _ in range(runs)])


def import_time(runs: int) -> tuple[float, list[str]]:
    """Seconds ``import divio_storage_infra`` takes in a fresh interpreter (median), and heavy modules it loaded."""
    found = []
    heavy: list[str] = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", _IMPORT_PROBE], cwd=ROOT, capture_output=True, check=True).stdout
        took, loaded = eval(out)  # noqa: S307 - our own probe's repr of a float and a list of names
        found.append(took)
        heavy = sorted(set(heavy) | set(loaded))
    return statistics.median(found), heavy


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }


def report(args: argparse.Namespace) -> dict[str, Any]:
    """Measure everything and return the JSON document (targets included)."""
    with tempfile.TemporaryDirectory(prefix="divio-bench-") as tmp:
        work = Path(tmp)
        compared = compare(args.sizes, args.runs, work)
        largest = max(args.sizes)
        whole, identical = whole_plan(largest, args.runs, work)
    example = example_stack(args.runs)
    imported, heavy = import_time(args.runs)
    return document(args.runs, Figures(compared, whole, identical, example, imported, heavy))


@dataclass(frozen=True)
class Figures:
    """Everything one benchmark run measured."""

    compared: dict[int, Measured]
    whole: Run
    """The largest registry's plan as ``plan`` runs it by default."""
    identical: bool
    """Whether that plan's bytes equal a serial run's."""
    example: Run
    imported: float
    """Seconds ``import divio_storage_infra`` takes."""
    heavy: list[str]
    """Heavy modules that import loaded."""


def document(runs: int, figures: Figures) -> dict[str, Any]:
    """The JSON document of a benchmark's measurements, targets included."""
    compared = figures.compared
    smallest = min(compared)
    rows = []
    for count, measured in compared.items():
        lib, raw = measured.medians["library"], measured.medians["raw"]
        base = compared[smallest].medians
        per_site = {
            kind: (measured.medians[kind].cpu - base[kind].cpu) / (count - smallest) * 1000
            if count > smallest
            else None
            for kind in ("library", "raw")
        }
        rows.append(
            {
                "websites": count,
                "library": asdict(lib),
                "raw": asdict(raw),
                "samples": {kind: [asdict(run) for run in found] for kind, found in measured.samples.items()},
                "cpu_ratio": lib.cpu / raw.cpu,
                "wall_ratio": lib.wall / raw.wall,
                "cpu_ms_per_website": per_site,
                "paired_cpu": {kind: measured.paired_cpu(kind) for kind in ("library", "raw")},
                "paired_cpu_ratio": statistics.median(measured.ratios),
                "paired_cpu_ratios": measured.ratios,
                "pairs": measured.pairs,
                "control_cpu_ratios": measured.controls,
            }
        )
    return {
        "machine": machine(),
        "runs": runs,
        "command": "python -m benchmarks.platform " + " ".join(sys.argv[1:]),
        "rows": rows,
        "platform_plan": {"websites": max(compared), **asdict(figures.whole), "identical_to_serial": figures.identical},
        "example_stack": asdict(figures.example),
        "import": {"seconds": figures.imported, "heavy_modules": figures.heavy},
        "targets": _targets(figures),
    }


CONTROL_LIMIT = 0.05
"""How far from 1 the CPU ratio of a program to itself, run together on one CPU, may be for the pairs to count: a
pairing that does not work reads like separate runs (up to 15 % apart); one that works, within about 2 %."""


def _targets(figures: Figures) -> list[dict[str, Any]]:
    compared = figures.compared
    sizes = sorted(compared)
    smallest, largest = sizes[0], sizes[-1]
    found: list[tuple[str, float, float]] = []
    for n in sizes:
        if n >= 50:
            ratio = statistics.median(compared[n].ratios)
            found.append((f"library/raw CPU at {n} (median of the pairs on one CPU)", ratio, 1.05))
    # The method's own check: the same program twice on one CPU must read 1, or the pairs say nothing.
    spread = max(abs(c - 1) for m in compared.values() for c in m.controls)
    found.append(("control: same program twice on one CPU, largest |ratio - 1|", spread, CONTROL_LIMIT))
    if 50 in compared and largest > 50:
        # Program time as the plan costs its user: whole processes (start, imports, runs, document, output). Read
        # on the pairs: six samples per size steady the median more than the separate runs' three (both printed).
        growth = compared[largest].paired_cpu("library") / compared[50].paired_cpu("library")
        label = f"program CPU growth 50->{largest} (whole processes, library in the pairs), x"
        found.append((label, growth, largest / 50 * 1.05))
    for count in sizes:
        if count > smallest:
            lib_small, lib_large = compared[smallest].medians["library"], compared[count].medians["library"]
            per_site = (lib_large.peak_mb - lib_small.peak_mb) / (count - smallest)
            label = f"peak memory per website at {count}, MB (above the {smallest}-website process)"
            found.append((label, per_site, 0.9))
    found += [
        (f"platform plan of {largest} websites, wall s (default jobs)", figures.whole.wall, 25.0),
        ("... byte-identical to a serial run (1 = yes)", 1.0 if figures.identical else 0.0, 1.0),
        ("plan of the example stack, wall s", figures.example.wall, 1.5),
        ("import divio_storage_infra, s", figures.imported, 0.1),
        ("heavy modules imported by it (count)", float(len(figures.heavy)), 0.0),
    ]
    results = []
    for name, value, limit in found:
        met = value >= limit if name.startswith("...") else value <= limit
        results.append({"target": name, "value": value, "limit": limit, "met": met})
    return results


def render(document: dict[str, Any]) -> str:
    """The table and the targets as text."""
    m = document["machine"]
    lines = [
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}; {document['runs']} separate runs of each "
        f"(medians) and {document['runs']} pairs on one CPU in each start order",
        "",
        "| websites | library wall s | raw wall s | library CPU s | raw CPU s | library/raw CPU, separate runs "
        "| library/raw CPU, pairs on one CPU (range) | same program twice on one CPU (range) | library ms/website "
        "| raw ms/website | library peak MB | raw peak MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    def spread(values: list[float]) -> str:
        return f"{min(values):.3f}-{max(values):.3f}"

    for row in document["rows"]:
        lib, raw, per = row["library"], row["raw"], row["cpu_ms_per_website"]
        lines.append(
            f"| {row['websites']} | {lib['wall']:.2f} | {raw['wall']:.2f} | {lib['cpu']:.2f} | {raw['cpu']:.2f} "
            f"| {row['cpu_ratio']:.3f} | {row['paired_cpu_ratio']:.3f} ({spread(row['paired_cpu_ratios'])}) "
            f"| {spread(row['control_cpu_ratios'])} | {ms(per['library'])} | {ms(per['raw'])} "
            f"| {lib['peak_mb']:.0f} | {raw['peak_mb']:.0f} |"
        )
    whole = document["platform_plan"]
    rows = {row["websites"]: row for row in document["rows"]}
    if 50 in rows and max(rows) > 50:
        small, large = rows[50], rows[max(rows)]
        paired = (small["paired_cpu"]["library"], large["paired_cpu"]["library"])
        lines += [
            "",
            f"Library CPU growth 50->{max(rows)}: {paired[1] / paired[0]:.2f}x in the pairs (median {paired[0]:.2f} s"
            f" -> {paired[1]:.2f} s), {large['library']['cpu'] / small['library']['cpu']:.2f}x in the separate runs",
        ]
    lines += [
        "",
        f"Platform plan of {whole['websites']} websites (default jobs): wall {whole['wall']:.2f} s, CPU "
        f"{whole['cpu']:.2f} s (parent process and its workers), peak {whole['peak_mb']:.0f} MB (largest process); "
        f"byte-identical to a serial run: {'yes' if whole['identical_to_serial'] else 'NO'}",
        f"Example stack plan: wall {document['example_stack']['wall']:.2f} s; "
        f"import divio_storage_infra: {document['import']['seconds'] * 1000:.0f} ms, heavy modules: "
        f"{', '.join(document['import']['heavy_modules']) or 'none'}",
        "",
        "| target | value | limit | met |",
        "|---|---:|---:|---|",
    ]
    for target in document["targets"]:
        lines.append(
            f"| {target['target']} | {target['value']:.3f} | {target['limit']:g} | {'yes' if target['met'] else 'NO'} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.platform", description=__doc__)
    parser.add_argument(
        "--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1, 50, 200, 500], help="registry sizes"
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="separate runs of each program, and pairs in each order (default 3)"
    )
    parser.add_argument("--json", type=Path, default=Path("benchmark-results.json"), help="where to write figures")
    args = parser.parse_args(argv)
    document = report(args)
    args.json.write_text(json.dumps(document, indent=2) + "\n")
    sys.stdout.write(render(document))
    print(f"\nFigures written to {args.json}")
    return 0 if all(t["met"] for t in document["targets"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
