"""``python -m benchmarks.backup``: backup and restore against rclone, on a local SeaweedFS, in the same run.

Two data sets: ``--small`` objects of 1-4 KiB (default 10,000) and ``--large-gib`` GiB in objects of
``--large-mib`` MiB (default 1 GiB in 128 MiB objects). For each set it times, as whole processes (wall time, CPU
time and peak memory from ``os.wait4``):

- ``divio-storage backup`` from the live bucket into its (emptied) backup bucket, and ``rclone copy`` of the same
  live bucket into an emptied bucket;
- ``divio-storage restore`` into the emptied live bucket, and ``rclone copy`` of the backup into an emptied bucket;

``--rounds`` times (default 3), the two tools in alternating order, and compares the runs of median wall time.

Both stores of a set are on the one emulator with one key, so both tools copy inside the store (S3 CopyObject):
rclone within one remote, ``divio-storage`` because both DSNs reach the same endpoint with the same key. Both get
the same parallelism (``--transfers`` = ``--checkers`` = ``--workers``). The target is at
most 1.3x rclone's wall time. Prints a Markdown table and writes every figure to ``--json``. rclone comes from the
Debian package (``apt-get install rclone``); the benchmark is not part of the test command.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.emulators import SEAWEEDFS_KEY, Emulator, s3_client, start_seaweedfs  # noqa: E402

from divio_storage_infra.core.backup import backup_marks  # noqa: E402

TARGET = 1.3
REGION = "us-east-1"


@dataclass(frozen=True)
class Run:
    """One whole process: wall and CPU seconds, peak resident memory in MB."""

    wall: float
    cpu: float
    peak_mb: float


def measure(command: list[str], env: dict[str, str]) -> Run:
    """Run ``command`` to completion; fail loudly on a non-zero exit."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            err.seek(0)
            raise SystemExit(
                f"{command[0]} failed ({process.returncode}): {err.read()[-2000:].decode(errors='replace')}"
            )
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def dsn(bucket: str, url: str, *, private: bool) -> str:
    """A path-style S3-compatible DSN for ``bucket`` on the emulator, with its key."""
    query = "auth=s3v4&acl=private" + ("&qs_auth=true" if private else "")
    user = f"{quote(SEAWEEDFS_KEY[0], safe='')}:{quote(SEAWEEDFS_KEY[1], safe='')}"
    return f"s3://{user}@{bucket}.objects.example.net/?{query}&addressing_style=path&endpoint_url={quote(url, safe='')}"


def rclone_env(url: str, config: Path) -> dict[str, str]:
    """The rclone remote ``store``: the emulator with its key (environment-only configuration)."""
    # The emulator speaks plain HTTP; rclone's S3 backend refuses a custom CA bundle on its HTTP transport.
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    env["RCLONE_CONFIG"] = str(config)
    for remote in ("STORE",):
        env.update(
            {
                f"RCLONE_CONFIG_{remote}_TYPE": "s3",
                f"RCLONE_CONFIG_{remote}_PROVIDER": "Other",
                f"RCLONE_CONFIG_{remote}_ACCESS_KEY_ID": SEAWEEDFS_KEY[0],
                f"RCLONE_CONFIG_{remote}_SECRET_ACCESS_KEY": SEAWEEDFS_KEY[1],
                f"RCLONE_CONFIG_{remote}_ENDPOINT": url,
                f"RCLONE_CONFIG_{remote}_REGION": REGION,
                f"RCLONE_CONFIG_{remote}_FORCE_PATH_STYLE": "true",
            }
        )
    return env


def fill(url: str, bucket: str, sizes: list[int], prefix: str) -> int:
    """Upload objects of ``sizes`` bytes to ``bucket`` in a fresh process; the total bytes.

    A process of its own: a child's peak memory (``ru_maxrss``) starts from its parent's at fork, so the
    benchmark's own process must stay small for the figures of the measured commands to be theirs.
    """
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return int(pool.apply(_fill, (url, bucket, sizes, prefix)))


def _fill(url: str, bucket: str, sizes: list[int], prefix: str) -> int:
    client = s3_client(url, SEAWEEDFS_KEY, region=REGION)
    block = os.urandom(1024 * 1024)

    def put(index: int) -> None:
        size = sizes[index]
        body = (block * (size // len(block) + 1))[:size]
        client.put_object(
            Bucket=bucket, Key=f"{prefix}/{index:06d}.bin", Body=body, ContentType="application/octet-stream"
        )

    # Many small uploads at once; large ones two at a time (each body is in memory while it is sent).
    with ThreadPoolExecutor(32 if max(sizes) < 2**20 else 2) as pool:
        list(pool.map(put, range(len(sizes))))
    return sum(sizes)


def empty(client: Any, bucket: str) -> None:
    """Delete every object of ``bucket``."""
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})


def median_run(runs: list[Run]) -> Run:
    """The run of median wall time (of an odd count; the lower middle one of an even count)."""
    return sorted(runs, key=lambda run: run.wall)[(len(runs) - 1) // 2]


def one_set(
    name: str, sizes: list[int], weed: Emulator, workers: int, rclone: str, config: Path, rounds: int
) -> dict[str, Any]:
    """Backup and restore of one data set, each beside rclone, ``rounds`` times in alternating order; the medians
    and every run."""
    client = s3_client(weed.url, SEAWEEDFS_KEY, region=REGION)
    live, backup, copy_a, copy_b = (f"bench-{name}-{part}" for part in ("live", "backup", "rclone-a", "rclone-b"))
    for bucket in (live, backup, copy_a, copy_b):
        client.create_bucket(Bucket=bucket)
    marks = backup_marks(live, "public")
    client.put_bucket_tagging(Bucket=backup, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in marks.items()]})
    started = time.perf_counter()
    total = fill(weed.url, live, sizes, name)
    print(
        f"{name}: {len(sizes)} objects, {total / 2**20:.0f} MiB uploaded in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    env = {
        **os.environ,
        "DEFAULT_STORAGE_DSN": dsn(live, weed.url, private=False),
        "BACKUP_STORAGE_DSN": dsn(backup, weed.url, private=True),
    }
    ours = [sys.executable, "-m", "divio_storage_infra.cli.main"]
    flags = ["--workers", str(workers)]
    theirs = [
        rclone,
        "copy",
        "--transfers",
        str(workers),
        "--checkers",
        str(workers),
        "--s3-upload-cutoff",
        "8M",
        "--s3-chunk-size",
        "8M",
    ]
    renv = rclone_env(weed.url, config)
    figures: dict[str, Any] = {"objects": len(sizes), "bytes": total}
    # Each measured command: what it runs, its environment, and the bucket it fills (emptied before each run).
    commands: dict[str, tuple[list[str], dict[str, str], str]] = {
        "backup": ([*ours, "backup", *flags], env, backup),
        "rclone_backup": ([*theirs, f"store:{live}", f"store:{copy_a}"], renv, copy_a),
        "restore": ([*ours, "restore", *flags], env, live),
        "rclone_restore": ([*theirs, f"store:{backup}", f"store:{copy_b}"], renv, copy_b),
    }
    runs: dict[str, list[Run]] = {key: [] for key in commands}
    for index in range(rounds):
        for step in (("backup", "rclone_backup"), ("restore", "rclone_restore")):
            # Alternate who goes first: the machine's speed drifts within seconds, and neither tool should always
            # get the first (or the second) of two consecutive runs.
            for key in step if index % 2 == 0 else step[::-1]:
                command, environment, filled = commands[key]
                empty(client, filled)
                runs[key].append(measure(command, environment))
        restored = sum(
            1
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=live)
            for _ in page.get("Contents", [])
        )
        if restored != len(sizes):
            raise SystemExit(f"{name}: restore left {restored} of {len(sizes)} objects")
    for key, measured in runs.items():
        figures[key] = asdict(median_run(measured))
        figures[f"{key}_runs"] = [asdict(run) for run in measured]
    for bucket in (live, backup, copy_a, copy_b):
        empty(client, bucket)
    print(f"{name}: {json.dumps(figures)}", file=sys.stderr)
    return figures


def table(results: dict[str, Any]) -> str:
    """The Markdown table of the run."""
    lines = [
        "| data set | operation | divio-storage wall s | rclone wall s | ratio | divio-storage CPU s | peak MB |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, figures in results["sets"].items():
        label = f"{figures['objects']:,} objects, {figures['bytes'] / 2**20:,.0f} MiB"
        for operation in ("backup", "restore"):
            ours, theirs = figures[operation], figures[f"rclone_{operation}"]
            ratio = ours["wall"] / theirs["wall"]
            lines.append(
                f"| {name}: {label} | {operation} | {ours['wall']:.1f} | {theirs['wall']:.1f} | {ratio:.2f} "
                f"| {ours['cpu']:.1f} | {ours['peak_mb']:.0f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every ratio is within the target, 1 otherwise."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.backup", description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000, help="small objects (1-4 KiB each)")
    parser.add_argument("--large-gib", type=float, default=1.0, help="GiB in large objects")
    parser.add_argument("--large-mib", type=int, default=128, help="MiB per large object")
    parser.add_argument("--workers", type=int, default=16, help="parallel copies, both tools")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each command (medians are compared)")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "backup-results.json")
    args = parser.parse_args(argv)
    rclone = shutil.which("rclone")
    if rclone is None:
        raise SystemExit("rclone not found: apt-get install rclone")
    version = subprocess.run([rclone, "version"], capture_output=True, text=True, check=True).stdout.split("\n")[0]
    small = [1024 + (i * 37) % 3072 for i in range(args.small)]
    large_count = max(1, round(args.large_gib * 1024 / args.large_mib))
    large = [args.large_mib * 2**20] * large_count
    with tempfile.TemporaryDirectory(prefix="backup-bench-") as tmp:
        weed = start_seaweedfs(Path(tmp) / "weed")
        try:
            config = Path(tmp) / "rclone.conf"
            config.write_text("")
            results: dict[str, Any] = {
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "rclone": version},
                "workers": args.workers,
                "rounds": args.rounds,
                "target": TARGET,
                "sets": {
                    "small": one_set("small", small, weed, args.workers, rclone, config, args.rounds),
                    "large": one_set("large", large, weed, args.workers, rclone, config, args.rounds),
                },
            }
        finally:
            weed.stop()
    print(table(results))
    args.json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    ratios = [
        s[op]["wall"] / s[f"rclone_{op}"]["wall"] for s in results["sets"].values() for op in ("backup", "restore")
    ]
    met = all(r <= TARGET for r in ratios)
    print(f"target (at most {TARGET}x rclone's wall time): {'met' if met else 'NOT met'}", file=sys.stderr)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
