"""``divio-storage dev`` as a developer runs it: a foreground process started here, stopped by a signal.

:func:`start_dev` runs the command in its own process group and returns once the env file exists (the command
writes it when the stores are ready), or raises with the command's output. :meth:`DevProcess.stop` sends SIGINT or
SIGTERM (to the process, or to its whole group) and waits for it to end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from divio_storage_infra.localstores import envfile
from divio_storage_infra.localstores.lock import read_holder

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 120.0


@dataclass
class DevProcess:
    """A running ``divio-storage dev``: its process, env file, data directory and output file."""

    process: subprocess.Popen[bytes]
    env_file: Path
    data_dir: Path
    output: Path
    server_pids: list[int] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        """The variables of the env file it wrote."""
        return envfile.read(self.env_file)

    def text(self) -> str:
        """What it printed so far (stdout and stderr)."""
        return self.output.read_text(errors="replace")

    def stop(self, signum: int = signal.SIGINT, *, group: bool = False, timeout: float = 60.0) -> int:
        """Send ``signum`` (to the whole process group with ``group``) and wait; its exit status."""
        if self.process.poll() is None:
            if group:
                os.killpg(self.process.pid, signum)
            else:
                self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            raise AssertionError(f"dev did not stop within {timeout:g} s after {signum}:\n{self.text()}") from None


def run_dev(args: list[str], cwd: Path, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run ``divio-storage dev`` to its end (for runs that must refuse to start); its status and output."""
    return subprocess.run(
        [sys.executable, "-m", "divio_storage_infra", "dev", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_dev(args: list[str], cwd: Path, env_file: Path, data_dir: Path) -> DevProcess:
    """Start ``divio-storage dev`` with ``args`` in ``cwd`` and wait until it wrote ``env_file``."""
    output = cwd / f"dev-{time.monotonic_ns()}.log"
    command = [sys.executable, "-m", "divio_storage_infra", "dev", *args]
    command += ["--env-file", str(env_file), "--data-dir", str(data_dir)]
    with output.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    dev = DevProcess(process, env_file, data_dir, output)
    deadline = time.monotonic() + READY_TIMEOUT
    while not env_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            dev.stop(signal.SIGTERM, group=True)
            raise AssertionError(f"dev did not become ready (status {process.poll()}):\n{dev.text()}")
        time.sleep(0.1)
    dev.server_pids = list(read_holder(data_dir).get("servers", []))
    return dev


def alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (and is no zombie)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


ALLOWED_ORIGIN = "http://www.allowed.test"
"""The origin the dev stacks allow (the browser tests' page server answers under it)."""
STACKS: dict[str, dict[str, object]] = {
    "aws": {
        "website": "devsite",
        "environment": "local",
        "cloud": "aws",
        "region": "eu-central-1",
        "privateStorage": True,
        "credentials": "iam-user",
        "corsOrigins": [ALLOWED_ORIGIN],
        "mediaDomain": "media.devsite.example",
    },
    "azure": {
        "website": "devsite",
        "environment": "local",
        "cloud": "azure",
        "location": "switzerlandnorth",
        "privateStorage": True,
        "corsOrigins": [ALLOWED_ORIGIN],
    },
}


def stack_file(directory: Path, cloud: str, **overrides: object) -> Path:
    """A stack config file for the dev stack of ``cloud`` (keys of :data:`STACKS` plus ``overrides``)."""
    import yaml

    values = {**STACKS[cloud], **overrides}
    path = directory / f"Pulumi.dev-{cloud}.yaml"
    path.write_text(yaml.safe_dump({"config": {f"divio-storage:{k}": v for k, v in values.items()}}))
    return path


def dev_args(stack: Path, *extra: str) -> list[str]:
    """``dev``'s arguments for a stack file of this repository's per-website project."""
    return ["--stack", str(stack), "--project-dir", str(REPO), *extra]


def group_members(pgid: int) -> list[int]:
    """The processes of process group ``pgid`` still alive (zombies left out)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members
