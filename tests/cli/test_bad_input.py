"""Every command's bad input, through the real console entry point: exit 2, one clear ``error:`` line (or
argparse's usage), never a traceback, never the secret; Ctrl-C anywhere: exit 130, one line, no traceback."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from divio_storage_infra.cli import main as cli

ROOT = Path(__file__).resolve().parents[2]
SECRET = "bad-input-secret/value+42"
ALIAS_BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
)


def stack_files(directory: Path) -> dict[str, Path]:
    """Broken stack config files for ``plan --stack PATH``."""
    files = {
        "nul": b"config:\n  divio-storage-infra:website: sh\x00op\n",
        "utf16": "config:\n  divio-storage-infra:website: shop\n".encode("utf-16"),
        "latin1": b"config:\n  divio-storage-infra:website: caf\xe9\n",
        "bomb": ALIAS_BOMB.encode(),
        "deep": ("config:\n  divio-storage-infra:tags: " + "[" * 5000 + "]" * 5000 + "\n").encode(),
        "timestamp": b"config:\n  divio-storage-infra:tags: [!!timestamp 2026-01-01]\n",
        "set": b"config:\n  divio-storage-infra:tags: {a: !!set {x: null}}\n",
        "binary": b"config:\n  divio-storage-infra:website: !!binary aGVsbG8=\n",
        "python": b"config:\n  divio-storage-infra:tags: [!!python/object/apply:os.system [id]]\n",
        "int-key": b"config:\n  divio-storage-infra:tags: {1: x}\n",
        "list": b"- just\n- a list\n",
    }
    paths = {}
    for name, content in files.items():
        path = directory / f"Pulumi.{name}.yaml"
        path.write_bytes(content)
        paths[name] = path
    return paths


def cases(tmp: Path) -> dict[str, list[str]]:
    files = stack_files(tmp)
    dsn_cases = {
        "dsn: none set": ["dsn"],
        "dsn: --dsn-env unset": ["dsn", "--dsn-env", "NOPE_NOT_SET"],
        "dsn: both": ["dsn", "--dsn", f"s3://KEY:{SECRET}@b.s3.eu-west-1.amazonaws.com/", "--dsn-env", "X"],
        "dsn: garbage": ["dsn", "--dsn", "not a dsn at all"],
        "dsn: no host": ["dsn", "--dsn", f"s3://KEY:{SECRET}@"],
        "dsn: unknown scheme": ["dsn", "--dsn", f"gs://KEY:{SECRET}@bucket/"],
        "dsn: control chars": ["dsn", "--dsn", f"s3://KEY:{SECRET}@b\x07\x1b.s3.eu-west-1.amazonaws.com/"],
        "dsn: bad format": ["dsn", "--format", "yaml"],
        "dsn: unknown option": ["dsn", "--dsn-evn", "X"],
        "dsn: private sas": ["dsn", "--dsn-env", "X", "--private-dsn-env", "AZ_SAS"],
    }
    check_cases = {
        "check: none set": ["check"],
        "check: --dsn-env unset": ["check", "--dsn-env", "NOPE_NOT_SET"],
        "check: both": ["check", "--dsn", "s3://a@b.s3.eu-west-1.amazonaws.com/", "--dsn-env", "X"],
        "check: malformed": ["check", "--dsn", f"s3://KEY:{SECRET}@"],
        "check: timeout 0": ["check", "--timeout", "0"],
        "check: timeout text": ["check", "--timeout", "soon"],
        "check: timeout nan": ["check", "--timeout", "nan"],
        "check: bad origin": ["check", "--origin", "example.com"],
        "check: wildcard refused origin": ["check", "--refused-origin", "*"],
        "check: unknown option": ["check", "--nope"],
    }
    plan_cases = {
        "plan: unknown stack": ["plan", "--stack", "nope-live"],
        "plan: not a stack name": ["plan", "--stack", "../x"],
        "plan: missing project dir": ["plan", "--project-dir", str(tmp / "nowhere")],
        "plan: bad format": ["plan", "--format", "yaml"],
        "plan: stack is a directory": ["plan", "--stack", f"{tmp}/"],
        **{f"plan: {name} stack file": ["plan", "--stack", str(path)] for name, path in files.items()},
    }
    top = {"no command": [], "unknown command": ["nope"]}
    return {**dsn_cases, **check_cases, **plan_cases, **top}


def test_bad_input_to_every_command_exits_2_without_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DEFAULT_STORAGE_DSN", "PRIVATE_STORAGE_DSN", "X")}
    env["X"] = f"s3://KEY:{SECRET}@b.s3.eu-west-1.amazonaws.com/"
    env["AZ_SAS"] = f"az://acct:{base64.b64encode(f'sp=rwdl&sig={SECRET}'.encode()).decode()}@blob.core.windows.net/p"
    running = {
        name: subprocess.Popen(
            [sys.executable, "-m", "divio_storage_infra", *argv],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name, argv in cases(tmp_path).items()
    }
    failures = []
    for name, process in running.items():
        out_bytes, err_bytes = process.communicate(timeout=120)
        out, err = out_bytes.decode(errors="replace"), err_bytes.decode(errors="replace")
        lines = err.strip().splitlines()
        problems = []
        if process.returncode != 2:
            problems.append(f"exit {process.returncode}")
        if "Traceback" in out + err:
            problems.append("traceback")
        if SECRET in out + err:
            problems.append("secret printed")
        argparse_usage = lines and lines[0].startswith("usage:")
        if not argparse_usage and (len(lines) != 1 or not lines[0].startswith("error: ")):
            problems.append("not one 'error:' line")
        if problems:
            failures.append(f"{name}: {', '.join(problems)}: {err.strip()[:300]!r}")
    assert not failures, "\n".join(failures)


def test_no_dsn_says_which_variable_is_not_set(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEFAULT_STORAGE_DSN", raising=False)
    assert cli.main(["dsn"]) == 2
    assert capsys.readouterr().err == (
        "error: no DSN: environment variable DEFAULT_STORAGE_DSN is not set (or empty); set it, "
        "name another variable with --dsn-env NAME, or give --dsn\n"
    )
    assert cli.main(["dsn", "--dsn-env", "SITE_DSN"]) == 2
    assert capsys.readouterr().err == (
        "error: no DSN: environment variable SITE_DSN (named by --dsn-env) is not set (or empty); set it, "
        "or name another variable with --dsn-env NAME\n"
    )
    monkeypatch.delenv("PRIVATE_STORAGE_DSN", raising=False)
    assert cli.main(["check"]) == 2
    assert capsys.readouterr().err.startswith(
        "error: no DSN: environment variables DEFAULT_STORAGE_DSN and PRIVATE_STORAGE_DSN are not set (or empty)"
    )


@pytest.mark.parametrize("command", ["dsn", "plan", "check"])
def test_ctrl_c_in_any_command_exits_130_with_one_line(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    module = importlib.import_module(f"divio_storage_infra.cli.{command}")

    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "run", interrupted)
    assert cli.main([command]) == 130
    captured = capsys.readouterr()
    assert captured.err == "interrupted\n"
    assert captured.out == ""


def test_ctrl_c_during_plan_in_a_real_process() -> None:
    """SIGINT while ``plan`` imports and runs the program: exit 130, one line, no traceback."""
    import signal
    import time

    # The platform example (hundreds of resources) runs for seconds, so the signal surely lands while it runs.
    process = subprocess.Popen(
        [sys.executable, "-m", "divio_storage_infra", "plan", "--program", "stacks/platform"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # Signal once the program runs (the SDK's gRPC extension is loaded), not while the interpreter still starts up.
    maps = Path(f"/proc/{process.pid}/maps")
    deadline = time.monotonic() + 30
    while "cygrpc" not in maps.read_text(errors="replace") and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    text = err.decode(errors="replace")
    assert process.returncode == 130, text
    assert "Traceback" not in text
    assert text.strip().splitlines() == ["interrupted"]
