"""`divio-storage plan --policy-pack DIR`: the pack's violations next to the resources, without credentials."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from divio_storage_infra.cli.main import main

ROOT = Path(__file__).resolve().parents[2]

LEGACY_PROGRAM = textwrap.dedent(
    """\
    import json
    import pulumi
    import pulumi_aws as aws

    protected = pulumi.ResourceOptions(protect=True)
    bucket = aws.s3.Bucket("legacy", bucket="legacy-uploads", acl="public-read", opts=protected)
    aws.s3.BucketPolicy(
        "legacy-policy",
        bucket=bucket.bucket,
        policy=json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket",
                                          "Resource": "arn:aws:s3:::legacy-uploads"}]}),
    )
    """
)


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``divio-storage plan ARGS`` in a subprocess, exactly as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "divio_storage_infra", "plan", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def plan(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """The same command in this process (faster; the plan restores the working directory and sys.path)."""
    out, err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8"), io.StringIO()
    with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["plan", *args])
        out.flush()
    stdout = out.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]
    return subprocess.CompletedProcess(["plan", *args], code, stdout, err.getvalue())


def legacy_project(directory: Path) -> Path:
    """A hand-written stack that ignores the platform's rules: one bucket, public ACL, public listing."""
    (directory / "stacks").mkdir(parents=True)
    (directory / "Pulumi.yaml").write_text("name: legacy\nruntime:\n  name: python\nstackConfigDir: stacks\n")
    (directory / "__main__.py").write_text(LEGACY_PROGRAM)
    (directory / "stacks" / "Pulumi.dev.yaml").write_text("config:\n  aws:region: eu-central-1\n")
    return directory


def test_example_passes_and_says_so() -> None:
    result = run("--stack", "example-live", "--policy-pack", "policy")
    assert result.returncode == 0, result.stderr
    document = json.loads(plan("--stack", "example-live", "--format", "json").stdout)
    lines = result.stdout.splitlines()
    assert lines[0] == f"Plan of stack example-live (project divio-storage), {document['format']}"
    assert f"{len(document['resources'])} resources" in lines[:4]
    assert "Policy violations: none" in lines[:6]
    assert not [line for line in lines if line.lstrip().startswith("! ")]


def test_json_gets_a_violations_section_only_with_the_option() -> None:
    plain = json.loads(plan("--stack", "example-live", "--format", "json").stdout)
    checked = json.loads(plan("--stack", "example-live", "--format", "json", "--policy-pack", "policy").stdout)
    assert "violations" not in plain
    assert checked.pop("violations") == []
    assert checked == plain


def test_hand_written_stack_shows_violations_under_its_resources_and_exits_1(tmp_path: Path) -> None:
    project = legacy_project(tmp_path / "legacy")
    result = plan("--stack", "dev", "--policy-pack", str(ROOT / "policy"), cwd=project)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[2] == "Policy violations: 7 (6 mandatory)"
    head = lines.index('+ aws:s3/bucket:Bucket "legacy"  [protect]')
    marks = []
    for line in lines[head + 1 :]:
        if not line.startswith("    ! "):
            break
        marks.append(line.split(":", 1)[0].strip())
    assert marks == [
        "! mandatory s3-acls-disabled",
        "! mandatory s3-block-public-access",
        "! mandatory s3-encryption-at-rest",
        "! mandatory s3-no-public-acls",
        "! mandatory s3-tls-only",
        "! advisory storage-versioning",
    ]
    policy_line = lines.index('+ aws:s3/bucketPolicy:BucketPolicy "legacy-policy"')
    assert lines[policy_line + 1].startswith("    ! mandatory s3-public-read-only: aws:s3/bucketPolicy:BucketPolicy")
    assert "allows s3:ListBucket" in lines[policy_line + 1]

    document = json.loads(
        plan("--stack", "dev", "--format", "json", "--policy-pack", str(ROOT / "policy"), cwd=project).stdout
    )
    assert [(v["policy"], v["enforcement"], v["urn"].rsplit("::", 1)[1]) for v in document["violations"]] == [
        ("s3-acls-disabled", "mandatory", "legacy"),
        ("s3-block-public-access", "mandatory", "legacy"),
        ("s3-encryption-at-rest", "mandatory", "legacy"),
        ("s3-no-public-acls", "mandatory", "legacy"),
        ("s3-tls-only", "mandatory", "legacy"),
        ("storage-versioning", "advisory", "legacy"),
        ("s3-public-read-only", "mandatory", "legacy-policy"),
    ]


def test_advisory_only_exits_0(tmp_path: Path) -> None:
    project = legacy_project(tmp_path / "legacy")
    config = tmp_path / "levels.json"
    config.write_text(json.dumps({"all": "advisory", "s3-no-public-acls": "disabled"}))
    result = plan(
        "--stack", "dev", "--policy-pack", str(ROOT / "policy"), "--policy-pack-config", str(config), cwd=project
    )
    assert result.returncode == 0, result.stderr
    assert "Policy violations: 6 (0 mandatory)" in result.stdout
    assert "s3-no-public-acls" not in result.stdout


def test_bad_pack_or_config_exits_2_with_one_line(tmp_path: Path) -> None:
    result = plan("--stack", "example-live", "--policy-pack", str(tmp_path))
    assert result.returncode == 2
    assert (
        result.stderr == f"error: {tmp_path}: no __main__.py (a Python policy pack is a directory with __main__.py)\n"
    )
    config = tmp_path / "c.json"
    config.write_text('{"s3-tls-only": "loud"}')
    result = plan("--stack", "example-live", "--policy-pack", "policy", "--policy-pack-config", str(config))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "is not one of advisory, mandatory" in result.stderr


def test_the_library_stacks_pass_with_zero_violations_advisory_included() -> None:
    """The three example stacks and the platform example: not one violation, not even an advisory one (the
    platform's Exoscale buckets have versioning off by design, and the pack knows it)."""
    for args in (
        ("--stack", "example-live"),
        ("--stack", "example-azure-live"),
        ("--stack", "example-exoscale-live"),
        ("--program", "stacks/platform"),
    ):
        result = plan(*args, "--policy-pack", "policy", "--format", "json")
        assert result.returncode == 0, (args, result.stderr)
        assert json.loads(result.stdout)["violations"] == [], args


def test_unknown_policy_name_or_setting_in_the_config_is_named_with_did_you_mean(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    cases = {
        '{"stroage-protected": "mandatory"}': '"stroage-protected" is not a policy of the pack divio-storage '
        "(did you mean 'storage-protected'?)",
        '{"storage-cors-uploads-opt-in": {"allowUplods": ["x"]}}': 'storage-cors-uploads-opt-in: "allowUplods" is '
        "not a setting of this policy (did you mean 'allowUploads'?); its settings: allowUploads, enforcementLevel",
        '{"all": {"enforcementLevel": "advisory", "publicBuckets": []}}': 'all: "publicBuckets" is not a setting',
    }
    for text, expected in cases.items():
        config.write_text(text)
        result = plan("--stack", "example-live", "--policy-pack", "policy", "--policy-pack-config", str(config))
        assert (result.returncode, result.stdout) == (2, ""), text
        assert result.stderr.startswith(f"error: {config}: ") and expected in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    # Known names and settings are accepted, as before.
    config.write_text('{"all": "advisory", "storage-cors-uploads-opt-in": {"allowUploads": ["example-live-*"]}}')
    accepted = plan("--stack", "example-live", "--policy-pack", "policy", "--policy-pack-config", str(config))
    assert accepted.returncode == 0, accepted.stderr
