"""``python -m benchmarks.platform``: the platform plan, library against raw pulumi-aws, and the targets.

For registries of 1, 50, 200 and 500 AWS websites (private bucket, IAM user, two CORS origins), it plans the
library's platform program and the raw baseline (``raw_program.py``, the same resources declared with pulumi-aws
directly) with ``divio-storage plan --program DIR --format json --jobs 1``, interleaved (library, raw, library,
raw, ...), and takes the median of ``--runs`` runs of each. Every run is a whole process: wall time, CPU time
(user + system of the child, from ``os.wait4``) and peak memory (``ru_maxrss``). The library/raw CPU ratio is then
measured in ``--runs`` pairs that run at the same time on one CPU (see :func:`measure_pair`), the median of the
pairs' ratios. Then it measures the 500-website platform plan as ``divio-storage plan`` runs it by default (worker
processes), the single example stack, and ``import divio_storage_infra``; prints a table and the targets, and
writes every figure to a JSON file.
"""

from __future__ import annotations

import argparse
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
    """Run ``command`` to completion; its resource usage (``os.wait4``: the process and the workers it waited for;
    peak memory is the largest of them) and its standard output."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.PIPE, env=ENV)
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        stderr = process.stderr.read() if process.stderr else b""
        if process.stderr:
            process.stderr.close()
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{stderr.decode()[-2000:]}")
        out.seek(0)
        return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024), out.read()


def measure_pair(commands: dict[str, list[str]], cpu: int, cwd: Path = ROOT) -> dict[str, tuple[Run, bytes]]:
    """Run the commands at the same time, all pinned to ``cpu``; each one's resource usage and standard output.

    Why: a virtual CPU's speed changes by up to half within seconds, differently on each CPU, so two programs run
    one after the other (or side by side on two CPUs) see different machines and their CPU times differ by up to
    ±15 % between runs. Sharing one CPU, the scheduler alternates them every few milliseconds: both see the same
    machine, and the ratio of their CPU times is what their code costs. Wall times mean nothing here (they share).
    """

    def pin() -> None:
        os.sched_setaffinity(0, {cpu})

    with tempfile.TemporaryDirectory() as tmp:
        started: dict[str, tuple[subprocess.Popen[bytes], Path, Path]] = {}
        for kind, command in commands.items():
            out, err = Path(tmp, f"{kind}.out"), Path(tmp, f"{kind}.err")
            with out.open("wb") as stdout, err.open("wb") as stderr:
                process = subprocess.Popen(command, cwd=cwd, stdout=stdout, stderr=stderr, env=ENV, preexec_fn=pin)
            started[kind] = (process, out, err)
        found: dict[str, tuple[Run, bytes]] = {}
        failed: list[str] = []
        for kind, (process, out, err) in started.items():
            _pid, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            if process.returncode != 0:
                failed.append(f"{' '.join(commands[kind])} failed ({process.returncode}):\n{err.read_text()[-2000:]}")
            found[kind] = (Run(0.0, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024), out.read_bytes())
        if failed:
            raise RuntimeError("\n".join(failed))
        return found


def median(runs: list[Run]) -> Run:
    """Median of each figure on its own."""
    return Run(
        statistics.median(r.wall for r in runs),
        statistics.median(r.cpu for r in runs),
        statistics.median(r.peak_mb for r in runs),
    )


def compare(sizes: list[int], runs: int, work: Path) -> tuple[dict[int, dict[str, Run]], dict[int, list[float]]]:
    """Library and raw for each size: the median of each over interleaved runs, and the library/raw CPU ratios of
    ``runs`` pairs sharing one CPU."""
    results: dict[int, dict[str, Run]] = {}
    ratios: dict[int, list[float]] = {}
    cpu = min(os.sched_getaffinity(0))
    for count in sizes:
        dirs = {
            "library": projects.write_library(work / f"library-{count}", count),
            "raw": projects.write_raw(work / f"raw-{count}", count),
        }
        samples: dict[str, list[Run]] = {"library": [], "raw": []}
        outputs: dict[str, bytes] = {}
        if count == sizes[0]:
            for directory in dirs.values():  # untimed: fills the bytecode caches of everything a plan imports
                measure([*PLAN, "--program", str(directory), "--format", "json", "--jobs", "1"])
        for _ in range(runs):
            for kind, directory in dirs.items():
                run, out = measure([*PLAN, "--program", str(directory), "--format", "json", "--jobs", "1"])
                samples[kind].append(run)
                outputs[kind] = out
                print(
                    f"  {count:>4} {kind:<8} wall {run.wall:7.2f} s  cpu {run.cpu:7.2f} s  {run.peak_mb:6.0f} MB",
                    file=sys.stderr,
                )
        if outputs["library"] != outputs["raw"]:
            raise RuntimeError(f"library and raw plans differ at {count} websites: the baseline is not equivalent")
        results[count] = {kind: median(found) for kind, found in samples.items()}
        ratios[count] = []
        for index in range(runs):
            # Started in turns, so neither is always the one that had the CPU first.
            kinds = list(dirs) if index % 2 == 0 else list(reversed(dirs))
            commands = {
                kind: [*PLAN, "--program", str(dirs[kind]), "--format", "json", "--jobs", "1"] for kind in kinds
            }
            pair = measure_pair(commands, cpu)
            ratios[count].append(pair["library"][0].cpu / pair["raw"][0].cpu)
            print(
                f"  {count:>4} paired   cpu {pair['library'][0].cpu:7.2f} s / {pair['raw'][0].cpu:7.2f} s"
                f"  ratio {ratios[count][-1]:.3f}",
                file=sys.stderr,
            )
    return results, ratios


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
        compared, ratios = compare(args.sizes, args.runs, work)
        largest = max(args.sizes)
        whole, identical = whole_plan(largest, args.runs, work)
    example = example_stack(args.runs)
    imported, heavy = import_time(args.runs)
    smallest = min(args.sizes)
    rows = []
    for count, kinds in compared.items():
        lib, raw = kinds["library"], kinds["raw"]
        base = compared[smallest]
        per_site = {
            kind: (kinds[kind].cpu - base[kind].cpu) / (count - smallest) * 1000 if count > smallest else None
            for kind in ("library", "raw")
        }
        rows.append(
            {
                "websites": count,
                "library": asdict(lib),
                "raw": asdict(raw),
                "cpu_ratio": lib.cpu / raw.cpu,
                "wall_ratio": lib.wall / raw.wall,
                "paired_cpu_ratio": statistics.median(ratios[count]),
                "paired_cpu_ratios": ratios[count],
                "cpu_ms_per_website": per_site,
            }
        )
    targets = _targets(compared, ratios, whole, identical, example, imported, heavy)
    return {
        "machine": machine(),
        "runs": args.runs,
        "command": "python -m benchmarks.platform " + " ".join(sys.argv[1:]),
        "rows": rows,
        "platform_plan": {"websites": max(args.sizes), **asdict(whole), "identical_to_serial": identical},
        "example_stack": asdict(example),
        "import": {"seconds": imported, "heavy_modules": heavy},
        "targets": targets,
    }


def _targets(
    compared: dict[int, dict[str, Run]],
    ratios: dict[int, list[float]],
    whole: Run,
    identical: bool,
    example: Run,
    imported: float,
    heavy: list[str],
) -> list[dict[str, Any]]:
    sizes = sorted(compared)
    smallest, largest = sizes[0], sizes[-1]
    found: list[tuple[str, float, float]] = [
        (f"library/raw CPU at {n} (median of the pairs on one CPU)", statistics.median(ratios[n]), 1.05)
        for n in sizes
        if n >= 50
    ]
    if 50 in compared and largest > 50:
        # Program time as the plan costs its user: whole processes (start, imports, runs, document, output).
        growth = compared[largest]["library"].cpu / compared[50]["library"].cpu
        found.append((f"program CPU growth 50->{largest} (whole processes), x", growth, largest / 50 * 1.05))
    for count in sizes:
        if count > smallest:
            lib_small, lib_large = compared[smallest]["library"], compared[count]["library"]
            per_site = (lib_large.peak_mb - lib_small.peak_mb) / (count - smallest)
            label = f"peak memory per website at {count}, MB (above the {smallest}-website process)"
            found.append((label, per_site, 0.9))
    found += [
        (f"platform plan of {largest} websites, wall s (default jobs)", whole.wall, 25.0),
        ("... byte-identical to a serial run (1 = yes)", 1.0 if identical else 0.0, 1.0),
        ("plan of the example stack, wall s", example.wall, 1.5),
        ("import divio_storage_infra, s", imported, 0.1),
        ("heavy modules imported by it (count)", float(len(heavy)), 0.0),
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
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}; median of {document['runs']} runs",
        "",
        "| websites | library wall s | raw wall s | library CPU s | raw CPU s | library/raw CPU, separate runs "
        "| library/raw CPU, pairs on one CPU (range) | library ms/website | raw ms/website | library peak MB "
        "| raw peak MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in document["rows"]:
        lib, raw, per = row["library"], row["raw"], row["cpu_ms_per_website"]

        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value:.1f}"

        lines.append(
            f"| {row['websites']} | {lib['wall']:.2f} | {raw['wall']:.2f} | {lib['cpu']:.2f} | {raw['cpu']:.2f} "
            f"| {row['cpu_ratio']:.3f} | {row['paired_cpu_ratio']:.3f} ({min(row['paired_cpu_ratios']):.3f}-"
            f"{max(row['paired_cpu_ratios']):.3f}) | {ms(per['library'])} | {ms(per['raw'])} "
            f"| {lib['peak_mb']:.0f} | {raw['peak_mb']:.0f} |"
        )
    whole = document["platform_plan"]
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
    parser.add_argument("--runs", type=int, default=3, help="runs of each program and size (median; default 3)")
    parser.add_argument("--json", type=Path, default=Path("benchmark-results.json"), help="where to write figures")
    args = parser.parse_args(argv)
    document = report(args)
    args.json.write_text(json.dumps(document, indent=2) + "\n")
    sys.stdout.write(render(document))
    print(f"\nFigures written to {args.json}")
    return 0 if all(t["met"] for t in document["targets"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
