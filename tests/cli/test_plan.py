"""``divio-storage plan``: the JSON contract (snapshots), determinism, secret masking, errors, and stack config.

The CLI runs in subprocesses exactly as a user runs it. Set DIVIO_STORAGE_UPDATE_SNAPSHOTS=1 to rewrite the
snapshots in tests/snapshots/ after an intended change (then review the diff); without it they must match.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime.config import set_all_config

from divio_storage_infra.cli.plan import resolve_stack
from divio_storage_infra.core.errors import SpecError
from divio_storage_infra.preview import plan
from divio_storage_infra.preview.render import render_json, render_text
from divio_storage_infra.preview.stackconfig import (
    SECURE_PLACEHOLDER,
    StackConfigError,
    find_project_dir,
    load_project,
    load_stack,
)

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE_ENV = "DIVIO_STORAGE_UPDATE_SNAPSHOTS"

# One line per example stack: its JSON plan is pinned in tests/snapshots/<stack>.json.
SNAPSHOT_STACKS = [
    "example-live",
    "example-azure-live",
    "example-exoscale-live",
]

# The platform example (stacks/platform, many websites in one program), planned with --program.
PLATFORM = ROOT / "stacks" / "platform"
PLATFORM_SNAPSHOT = "platform-example"

# Real-looking secrets that must never reach stdout or stderr.
CIPHERTEXT = "v1:q8Ldx3ZpR0eMfK2h:Zm9vYmFyYmF6cXV4cXV1eHl6enk="
PLAIN_TOKEN = "tok_Zx81QwErTy55+plain/secret"
IN_PROCESS_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzz"

FAKE_PROJECT_YAML = """\
name: fake-site
runtime:
  name: python
stackConfigDir: stacks
config:
  apiToken:
    type: string
    secret: true
  greeting:
    type: string
    default: hello
"""

FAKE_PROGRAM = '''\
"""A small program: a protected bucket, a policy that depends on it, a user, a key, an invoke, secrets."""

import json

import pulumi
import pulumi_aws as aws

from divio_storage_infra.core.errors import SpecError

cfg = pulumi.Config()
bucket = aws.s3.Bucket(
    "media",
    bucket=cfg.require("bucketName"),
    # A plain read of a secret key: the plan must still mask the value.
    tags={"greeting": cfg.require("greeting"), "leak": cfg.get("apiToken") or ""},
    opts=pulumi.ResourceOptions(protect=True),
)
policy = aws.s3.BucketPolicy(
    "media-policy",
    bucket=bucket.bucket,
    policy=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*",
                        "Action": "s3:*", "Resource": "*"}]}),
    opts=pulumi.ResourceOptions(depends_on=[bucket]),
)
user = aws.iam.User("deployer", name="deployer", tags={"token": cfg.require_secret("apiToken")})
key = aws.iam.AccessKey("deployer-key", user=user.name)
password = cfg.require_secret("dbPassword")
identity = aws.get_caller_identity_output()

if cfg.get("mode") == "spec-error":
    raise SpecError.one("bucketName", cfg.require("bucketName"), "expected a better name")
if cfg.get("mode") == "spec-error-in-apply":
    def fail(name):
        raise SpecError.one("bucketName", name, "expected a name decided later")
    pulumi.export("failing", bucket.bucket.apply(fail))
if cfg.get("mode") == "wrong-type":
    cfg.get_int("bucketName")
if cfg.get("mode") == "missing":
    cfg.require("notThere")
if cfg.get("mode") == "crash":
    raise RuntimeError("boom with " + str(cfg.get("apiToken")))

pulumi.export("bucket_name", bucket.bucket)
pulumi.export("bucket_arn", bucket.arn)
pulumi.export("dsn", pulumi.Output.all(key.id, password, bucket.bucket).apply(lambda v: f"s3://{v[0]}:{v[1]}@{v[2]}"))
pulumi.export("account_id", identity.account_id)
pulumi.export("token_length", cfg.require_secret("apiToken").apply(len))
pulumi.export("plan_notes", ["fake: nothing the provider cannot declare"])
'''


def fake_stack_yaml(mode: str = "ok") -> str:
    """The fake project's stack config: a plain key, a secure entry, a plain value of a secret key, a list."""
    return textwrap.dedent(
        f"""\
        config:
          aws:region: eu-central-1
          fake-site:bucketName: fake-media
          fake-site:apiToken: {json.dumps(PLAIN_TOKEN)}
          fake-site:dbPassword:
            secure: {CIPHERTEXT}
          fake-site:mode: {mode}
          fake-site:origins:
            - https://example.com
        """
    )


def make_fake_project(directory: Path, mode: str = "ok") -> Path:
    """Write the fake project (Pulumi.yaml, __main__.py, stacks/Pulumi.dev.yaml) into ``directory``."""
    (directory / "stacks").mkdir(parents=True)
    (directory / "Pulumi.yaml").write_text(FAKE_PROJECT_YAML)
    (directory / "__main__.py").write_text(FAKE_PROGRAM)
    (directory / "stacks" / "Pulumi.dev.yaml").write_text(fake_stack_yaml(mode))
    return directory


@pytest.fixture
def fake_project(tmp_path: Path) -> Path:
    return make_fake_project(tmp_path / "fake")


def run_plan(
    *args: str, cwd: Path = ROOT, seed: str = "0", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """``divio-storage plan ARGS`` in a subprocess, as a user runs it."""
    env = {**os.environ, "PYTHONHASHSEED": seed, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "divio_storage_infra", "plan", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[bytes]) -> bytes:
    assert result.returncode == 0, result.stderr.decode()
    assert b"Traceback" not in result.stderr, result.stderr.decode()
    return result.stdout


@pytest.fixture(scope="module")
def example_json() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(ok(run_plan("--stack", "example-live", "--format", "json")))
    return document


# --- the contract ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", [*SNAPSHOT_STACKS, PLATFORM_SNAPSHOT])
def test_json_matches_snapshot(stack: str) -> None:
    if stack == PLATFORM_SNAPSHOT:
        actual = ok(run_plan("--program", "stacks/platform", "--format", "json"))
        stack_file = PLATFORM / "Pulumi.example.yaml"
    else:
        actual = ok(run_plan("--stack", stack, "--format", "json"))
        stack_file = ROOT / "stacks" / f"Pulumi.{stack}.yaml"
    path = SNAPSHOTS / f"{stack}.json"
    if os.environ.get(UPDATE_ENV) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual)
    assert path.is_file(), f"no snapshot {path}; run with {UPDATE_ENV}=1 to create it"
    expected = path.read_bytes()
    assert actual.decode() == expected.decode(), f"plan of {stack} changed; if intended, rerun with {UPDATE_ENV}=1"
    assert actual == expected
    # Whatever the stack file encrypts stays out, even in its encrypted form.
    for secure in secure_values(yaml.safe_load(stack_file.read_text())):
        assert secure.encode() not in actual


def secure_values(value: Any) -> Iterator[str]:
    """Every ``secure:`` ciphertext in a loaded stack file, and its parts."""
    if isinstance(value, dict):
        if list(value) == ["secure"]:
            yield value["secure"]
            yield from (part for part in value["secure"].split(":") if len(part) > 3)
        for item in value.values():
            yield from secure_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from secure_values(item)


def test_same_bytes_across_runs_hash_seeds_and_working_directories() -> None:
    first = ok(run_plan("--stack", "example-live", "--format", "json", seed="1"))
    # From a subdirectory (Pulumi.yaml is found in a parent), and with config in the environment that the SDK
    # would otherwise fall back to: the plan shows the stack file alone.
    stray = {"PULUMI_CONFIG": json.dumps({"divio-storage:protect": "false", "divio-storage:versioning": "false"})}
    second = ok(run_plan("--stack", "example-live", "--format", "json", seed="4242", cwd=ROOT / "stacks", env=stray))
    assert first == second
    text_first = ok(run_plan("--stack", "example-live", seed="7"))
    text_second = ok(run_plan("--stack", "example-live", seed="8"))
    assert text_first == text_second


def test_same_bytes_wherever_the_checkout_lives(tmp_path: Path) -> None:
    here = make_fake_project(tmp_path / "a")
    there = make_fake_project(tmp_path / "somewhere" / "much" / "deeper" / "b")
    first = ok(run_plan("--stack", "dev", "--format", "json", cwd=here, seed="3"))
    second = ok(run_plan("--stack", "dev", "--format", "json", cwd=there, seed="5"))
    assert first == second
    assert str(tmp_path).encode() not in first


def test_no_arguments_plans_example_live_in_text(example_json: dict[str, Any]) -> None:
    text = ok(run_plan()).decode()
    assert text.startswith(f"Plan of stack example-live (project divio-storage), {plan.FORMAT}\n")
    for resource in example_json["resources"]:
        assert f"+ {resource['type']} {json.dumps(resource['name'])}" in text
    for key in example_json["outputs"]:
        assert f"\n    {key}: " in text
    assert "[protect]" in text
    assert "depends on: " in text


def test_json_document_shape(example_json: dict[str, Any]) -> None:
    assert example_json["format"] == plan.FORMAT
    assert (example_json["project"], example_json["stack"]) == ("divio-storage", "example-live")
    assert set(example_json) == {"format", "project", "stack", "resources", "outputs", "notes"}
    urns = [r["urn"] for r in example_json["resources"]]
    assert urns == sorted(urns)
    keys = {
        "urn",
        "type",
        "name",
        "parent",
        "custom",
        "protect",
        "retainOnDelete",
        "deleteBeforeReplace",
        "dependencies",
        "propertyDependencies",
        "provider",
        "aliases",
        "ignoreChanges",
        "additionalSecretOutputs",
        "inputs",
        "outputs",
    }
    by_urn = {r["urn"]: r for r in example_json["resources"]}
    for resource in example_json["resources"]:
        assert set(resource) == keys
        assert resource["parent"] is None or resource["parent"] in by_urn
        assert all(dep in by_urn for dep in resource["dependencies"])
    roots = [r for r in example_json["resources"] if r["parent"] is None]
    assert [r["type"] for r in roots] == ["divio:storage:WebsiteMediaStorage"]
    buckets = [r for r in example_json["resources"] if r["type"] == "aws:s3/bucket:Bucket"]
    assert buckets and all(b["protect"] for b in buckets)
    outputs = example_json["outputs"]
    assert outputs["storage_dsn"] == "[secret]"
    assert outputs["private_storage_dsn"] == "[secret]"
    assert outputs["access_key_id"] == "(known after apply)"


# --- secrets -----------------------------------------------------------------------------------------------------


def test_secrets_never_printed(fake_project: Path) -> None:
    for args in (("--format", "json"), ()):
        result = run_plan("--stack", "dev", *args, cwd=fake_project)
        out = ok(result)
        everything = out + result.stderr
        for secret in (
            PLAIN_TOKEN,
            CIPHERTEXT,
            CIPHERTEXT.split(":")[1],
            "tok_Zx81QwErTy55",
            "tok_Zx81QwErTy55%2Bplain",
        ):
            assert secret.encode() not in everything
    document = json.loads(ok(run_plan("--stack", "dev", "--format", "json", cwd=fake_project)))
    outputs = document["outputs"]
    assert outputs["dsn"] == "[secret]"
    assert outputs["token_length"] == "[secret]"
    assert outputs["bucket_name"] == "fake-media"
    assert outputs["bucket_arn"] == "(known after apply)"
    # The invoke answers "unknown", as a preview of resources that do not exist yet does.
    assert outputs["account_id"] == "(known after apply)"
    bucket = next(r for r in document["resources"] if r["type"] == "aws:s3/bucket:Bucket")
    assert bucket["inputs"]["tags"] == {"greeting": "hello", "leak": "[secret]"}
    user = next(r for r in document["resources"] if r["type"] == "aws:iam/user:User")
    assert user["inputs"]["tags"] == {"token": "[secret]"}
    assert "fake: nothing the provider cannot declare" in document["notes"]
    assert any("fake-site:dbPassword is encrypted" in note for note in document["notes"])


def test_secret_config_passed_in_process_is_masked(fake_project: Path) -> None:
    stack = load_stack(load_project(fake_project), "dev")
    config = {**stack.config, "fake-site:dbPassword": IN_PROCESS_SECRET, "fake-site:apiToken": IN_PROCESS_SECRET}
    document = plan.build_plan(dataclasses.replace(stack, config=config))
    rendered = render_json(document) + render_text(document)
    assert IN_PROCESS_SECRET not in rendered
    assert "wJalrXUtnFEMI%2FK7MDENG%2BbPxRfiCYzz" not in rendered
    assert document["outputs"]["dsn"] == "[secret]"
    bucket = next(r for r in document["resources"] if r["type"] == "aws:s3/bucket:Bucket")
    assert bucket["inputs"]["tags"]["leak"] == "[secret]"


def test_scrubber_masks_encoded_forms_longest_first() -> None:
    scrub = plan.Scrubber.for_config(
        {"a:key": "s3cr3t/+=", "a:obj": json.dumps({"inner": "nested-secret"}), "a:short": "abc"},
        ["a:key", "a:obj", "a:short"],
    )
    assert scrub.text("x s3cr3t/+= y s3cr3t%2F%2B%3D z") == "x [secret] y [secret] z"
    assert scrub.value({"k": ["nested-secret!"]}) == {"k": ["[secret]!"]}
    # Values shorter than MIN_SCRUB_LENGTH are not hunted in free text (they would mask ordinary words).
    assert scrub.text("abc") == "abc"


# --- errors ------------------------------------------------------------------------------------------------------


def test_bad_config_exits_2_with_the_spec_message(tmp_path: Path) -> None:
    bad = tmp_path / "Pulumi.bad-live.yaml"
    bad.write_text(
        "config:\n  divio-storage:website: example\n  divio-storage:environment: live\n"
        "  divio-storage:region: eu-centrall-1\n"
    )
    result = run_plan("--stack", str(bad), "--project-dir", str(ROOT), cwd=tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert stderr.startswith("error: invalid storage spec for bad-live: region: 'eu-centrall-1' is not allowed")
    assert "did you mean 'eu-central-1'?" in stderr
    assert "Traceback" not in stderr
    assert result.stdout == b""


@pytest.mark.parametrize("mode", ["spec-error", "spec-error-in-apply"])
def test_spec_error_inside_the_program_is_not_wrapped(tmp_path: Path, mode: str) -> None:
    project = make_fake_project(tmp_path / "fake", mode=mode)
    result = run_plan("--stack", "dev", cwd=project)
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert stderr.startswith("error: invalid storage spec: bucketName: 'fake-media' is not allowed")
    assert "Traceback" not in stderr
    assert "RunError" not in stderr


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("wrong-type", "error: Configuration 'fake-site:bucketName' value 'fake-media' is not a valid"),
        ("missing", "error: Missing required configuration variable 'fake-site:notThere'"),
    ],
)
def test_pulumi_config_errors_exit_2(tmp_path: Path, mode: str, message: str) -> None:
    project = make_fake_project(tmp_path / "fake", mode=mode)
    result = run_plan("--stack", "dev", cwd=project)
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert stderr.startswith(message)
    assert "Traceback" not in stderr


def test_spec_error_is_raised_as_itself_in_process(tmp_path: Path) -> None:
    project = make_fake_project(tmp_path / "fake", mode="spec-error-in-apply")
    with pytest.raises(SpecError) as raised:
        plan.build_plan(load_stack(load_project(project), "dev"))
    assert raised.value.problems[0].field == "bucketName"


def test_program_crash_exits_1_with_masked_traceback(tmp_path: Path) -> None:
    project = make_fake_project(tmp_path / "fake", mode="crash")
    result = run_plan("--stack", "dev", cwd=project)
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert "RuntimeError: boom with [secret]" in stderr
    assert PLAIN_TOKEN not in stderr


def test_unknown_stack_names_the_path_and_the_stacks_that_exist() -> None:
    result = run_plan("--stack", "nope-live")
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert str(ROOT / "stacks" / "Pulumi.nope-live.yaml") in stderr
    assert "example-live" in stderr and "example-azure-live" in stderr
    assert "Traceback" not in stderr


def test_no_project_found(tmp_path: Path) -> None:
    result = run_plan(cwd=tmp_path)
    assert result.returncode == 2
    assert b"no Pulumi.yaml in" in result.stderr
    assert b"Traceback" not in result.stderr


# --- stack config --------------------------------------------------------------------------------------------------


@pytest.fixture
def pulumi_config() -> Iterator[None]:
    yield
    set_all_config({}, [])


def test_stack_config_reads_like_the_pulumi_cli(tmp_path: Path, pulumi_config: None) -> None:
    project_dir = make_fake_project(tmp_path / "fake")
    (project_dir / "stacks" / "Pulumi.types.yaml").write_text(
        textwrap.dedent(
            """\
            environment:
              - some-esc-env
            config:
              flag: true
              shout: yes
              count: 3600
              ratio: 1.50
              day: 2026-01-01
              quoted: "4711"
              empty:
              tags:
                team: web
                on: off
              nested:
                password:
                  secure: v1:c2VjcmV0
                list: [1, true, null]
              aws:region: eu-central-1
            """
        )
    )
    stack = load_stack(load_project(project_dir), "types")
    c = stack.config
    assert c["fake-site:flag"] == "true"
    assert c["fake-site:shout"] == "yes"
    assert c["fake-site:count"] == "3600"
    assert c["fake-site:ratio"] == "1.50"
    assert c["fake-site:day"] == "2026-01-01"
    assert c["fake-site:quoted"] == "4711"
    assert c["fake-site:empty"] == ""
    assert c["fake-site:greeting"] == "hello"  # Pulumi.yaml default
    assert c["aws:region"] == "eu-central-1"
    assert json.loads(c["fake-site:tags"]) == {"team": "web", "on": "off"}
    assert json.loads(c["fake-site:nested"]) == {"password": SECURE_PLACEHOLDER, "list": [1, True, None]}
    assert "v1:c2VjcmV0" not in json.dumps(c)
    assert stack.secret_keys == ("fake-site:apiToken", "fake-site:nested")
    assert any("ESC environments" in note for note in stack.notes)
    # What the SDK parses from these strings is what a `pulumi up` program would get.
    set_all_config(dict(c), list(stack.secret_keys))
    cfg = pulumi.Config("fake-site")
    assert cfg.get_bool("flag") is True
    assert cfg.get_int("count") == 3600
    assert cfg.get_float("ratio") == 1.5
    assert cfg.get_object("tags") == {"team": "web", "on": "off"}
    assert cfg.get("shout") == "yes"


def test_stack_given_as_a_path(tmp_path: Path, fake_project: Path) -> None:
    elsewhere = tmp_path / "Pulumi.other.yaml"
    elsewhere.write_text(fake_stack_yaml())
    stack = resolve_stack(str(elsewhere), fake_project)
    assert stack.stack == "other"
    assert stack.config["fake-site:bucketName"] == "fake-media"
    assert resolve_stack("dev", cwd=fake_project / "stacks").stack == "dev"
    from_cwd = resolve_stack(str(elsewhere), cwd=fake_project / "stacks")
    assert (from_cwd.stack, from_cwd.project.directory) == ("other", fake_project.resolve())


def test_project_lookup_and_errors(tmp_path: Path, fake_project: Path) -> None:
    assert find_project_dir(fake_project / "stacks") == fake_project.resolve()
    with pytest.raises(StackConfigError, match=r"stacks in .*: dev\)"):
        load_stack(load_project(fake_project), "prod")
    with pytest.raises(StackConfigError, match="not a stack name"):
        load_stack(load_project(fake_project), "../x")
    (fake_project / "Pulumi.yaml").write_text("name: x\nruntime: nodejs\n")
    with pytest.raises(StackConfigError, match="Python programs only"):
        load_project(fake_project)
    (fake_project / "Pulumi.yaml").write_text(FAKE_PROJECT_YAML)
    (fake_project / "stacks" / "Pulumi.broken.yaml").write_text(f"config:\n  fake-site:token: [{PLAIN_TOKEN}\n")
    with pytest.raises(StackConfigError, match=r"Pulumi.broken.yaml: invalid YAML: line 3, column 1") as raised:
        load_stack(load_project(fake_project), "broken")
    assert PLAIN_TOKEN not in str(raised.value)
    shutil.rmtree(fake_project)
    with pytest.raises(StackConfigError, match="does not exist"):
        load_project(fake_project)


def test_render_json_ignores_insertion_order() -> None:
    one = {"format": plan.FORMAT, "b": {"y": 1, "x": [2, 1]}, "a": None}
    two = {"a": None, "b": {"x": [2, 1], "y": 1}, "format": plan.FORMAT}
    assert render_json(one) == render_json(two)
    assert render_json(one).endswith("}\n")


@pytest.mark.parametrize(("stack", "loads_azure"), [("example-live", False), ("example-azure-live", True)])
def test_only_azure_plans_import_the_azure_sdk(stack: str, loads_azure: bool) -> None:
    # A fresh interpreter: this test process has imported pulumi_azure_native already.
    code = textwrap.dedent(
        f"""
        import sys
        from divio_storage_infra.cli.plan import resolve_stack
        from divio_storage_infra.preview import plan
        plan.build_plan(resolve_stack({stack!r}))
        print("pulumi_azure_native" in sys.modules)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == str(loads_azure)


# --- URNs, --program and the platform example ----------------------------------------------------------------------


def test_urns_are_the_engines(example_json: dict[str, Any]) -> None:
    by_name = {(r["type"], r["name"]): r["urn"] for r in example_json["resources"]}
    prefix = "urn:pulumi:example-live::divio-storage::"
    website = "divio:storage:WebsiteMediaStorage"
    assert by_name[(website, "example-live")] == f"{prefix}{website}::example-live"
    assert by_name[("aws:s3/bucket:Bucket", "example-live-media")] == (
        f"{prefix}{website}$divio:storage:S3MediaStorage$aws:s3/bucket:Bucket::example-live-media"
    )
    assert not any("pulumi:pulumi:Stack" in urn for urn in by_name.values())


def _descendants(document: dict[str, Any], urn: str) -> list[dict[str, Any]]:
    """The resource ``urn`` and everything below it, following ``parent``."""
    by_urn = {r["urn"]: r for r in document["resources"]}

    def under(resource: dict[str, Any]) -> bool:
        while resource is not None:
            if resource["urn"] == urn:
                return True
            resource = by_urn.get(resource["parent"])
        return False

    return [r for r in document["resources"] if under(r)]


def test_platform_example_plans_the_same_bytes_twice() -> None:
    first = ok(run_plan("--program", "stacks/platform", "--format", "json", seed="11"))
    second = ok(
        run_plan("--program", str(PLATFORM), "--stack", "example", "--format", "json", seed="12", cwd=ROOT / "docs")
    )
    assert first == second
    document = json.loads(first)
    websites = [r for r in document["resources"] if r["type"] == "divio:storage:WebsiteMediaStorage"]
    assert len(websites) >= 24
    assert all(r["protect"] for r in document["resources"] if r["type"] != "pulumi:providers:aws")
    clouds = {r["type"].split(":")[0] for r in document["resources"] if r["custom"]}
    assert {"aws", "azure-native", "pulumi"} <= clouds
    # One output per website and environment; DSNs masked where they carry credentials, shown where they carry none.
    assert len(document["outputs"]) == len(websites)
    dsns = [outputs["storage_dsn"] for outputs in document["outputs"].values() if "storage_dsn" in outputs]
    shown = [dsn for dsn in dsns if dsn != "[secret]"]
    assert shown and len(shown) < len(dsns)
    assert all(":" not in dsn.split("://", 1)[1].split("@", 1)[0] for dsn in shown)  # no user:secret part
    # The static keys never appear, nor their ciphertexts.
    assert b"EXOplatformmain0123456789" not in first
    text = ok(run_plan("--program", "stacks/platform")).decode()
    assert "\nWebsites:\n" in text
    for who, name in (("shop-eu/live", "shop-eu-live"), ("shop/eu-live", "shop--eu-live")):
        site = next(r["urn"] for r in websites if r["name"] == name)
        below = _descendants(document, site)
        assert f"    {who} ({name}): {len(below)} resources, all protected; Bucket, User\n" in text


PLAIN_PROJECT = """\
name: plain
runtime: python
"""

PLAIN_PROGRAM = """\
import pulumi
import pulumi_aws as aws

name = pulumi.Config().get("bucketName") or "no-config-bucket"
aws.s3.Bucket("media", bucket=name)
if pulumi.Config().get("twice"):
    aws.s3.Bucket("media", bucket=name)
"""


def make_plain_project(directory: Path, stacks: dict[str, str] | None = None) -> Path:
    directory.mkdir(parents=True)
    (directory / "Pulumi.yaml").write_text(PLAIN_PROJECT)
    (directory / "__main__.py").write_text(PLAIN_PROGRAM)
    for name, text in (stacks or {}).items():
        (directory / f"Pulumi.{name}.yaml").write_text(text)
    return directory


def bucket_name_in(result: subprocess.CompletedProcess[bytes]) -> tuple[str, str]:
    document = json.loads(ok(result))
    bucket = next(r for r in document["resources"] if r["type"] == "aws:s3/bucket:Bucket")
    return document["stack"], bucket["inputs"]["bucket"]


def test_program_without_stack_config_runs_with_no_config(tmp_path: Path) -> None:
    project = make_plain_project(tmp_path / "plain")
    assert bucket_name_in(run_plan("--program", str(project), "--format", "json", cwd=tmp_path)) == (
        "dev",
        "no-config-bucket",
    )
    # A named stack without a config file also runs with no config, as a new Pulumi stack does.
    result = run_plan("--program", "plain", "--stack", "prod", "--format", "json", cwd=tmp_path)
    assert bucket_name_in(result) == ("prod", "no-config-bucket")
    assert "stack prod has no config file; the program ran without stack config" in json.loads(result.stdout)["notes"]


def test_program_uses_its_only_stack_or_asks_for_one(tmp_path: Path) -> None:
    project = make_plain_project(tmp_path / "plain", {"live": "config:\n  plain:bucketName: live-bucket\n"})
    assert bucket_name_in(run_plan("--program", str(project), "--format", "json")) == ("live", "live-bucket")
    (project / "Pulumi.stage.yaml").write_text("config:\n  plain:bucketName: stage-bucket\n")
    result = run_plan("--program", str(project))
    assert result.returncode == 2
    assert b"has several stacks (live, stage); pass --stack to choose one" in result.stderr
    assert bucket_name_in(run_plan("--program", str(project), "--stack", "stage", "--format", "json")) == (
        "stage",
        "stage-bucket",
    )
    both = run_plan("--program", str(project), "--project-dir", str(project))
    assert both.returncode == 2 and b"give one" in both.stderr


def test_duplicate_urns_exit_2_naming_both(tmp_path: Path) -> None:
    project = make_plain_project(tmp_path / "plain", {"dev": "config:\n  plain:twice: yes\n"})
    result = run_plan("--program", str(project))
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert stderr.startswith(
        "error: duplicate URN urn:pulumi:dev::plain::aws:s3/bucket:Bucket::media: declared twice, "
        "as aws:s3/bucket:Bucket 'media' at the top level and as aws:s3/bucket:Bucket 'media' at the top level"
    )
    assert "Traceback" not in stderr and result.stdout == b""


def test_a_bad_registry_exits_2_listing_every_problem(tmp_path: Path) -> None:
    platform_copy = tmp_path / "platform"
    shutil.copytree(PLATFORM, platform_copy)
    registry = platform_copy / "websites.yaml"
    registry.write_text(
        registry.read_text()
        + "  - {website: shop, environment: live}\n"
        + "  - {website: extra, environment: live, cloud: exoscale, region: ch-gva-2, credentials: static,\n"
        + "     credentialsKey: exoscale-unknown}\n"
    )
    result = run_plan("--program", str(platform_copy))
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert stderr.startswith("error: invalid website registry websites.yaml: 2 problems\n")
    assert "  - websites[27] (shop/live): website/environment: 'shop/live' is not allowed;" in stderr
    assert "  - websites[28] (extra/live): credentialsKey: 'exoscale-unknown' is not allowed;" in stderr
    assert "Traceback" not in stderr and result.stdout == b""


@pytest.mark.parametrize("namespace", ["divio_storage", "divio-storge", "Divio-Storage"])
def test_keys_under_a_near_miss_namespace_are_named_as_such(tmp_path: Path, namespace: str) -> None:
    bad = tmp_path / "Pulumi.typo-live.yaml"
    bad.write_text(
        f"config:\n  aws:region: eu-central-1\n  {namespace}:website: example\n  {namespace}:environment: live\n"
        f"  {namespace}:region: eu-central-1\n"
    )
    result = run_plan("--stack", str(bad), "--project-dir", str(ROOT), cwd=tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert stderr.startswith("error: invalid storage spec for typo-live:\n"), stderr
    assert (
        f"  - {namespace}:environment: [not shown] is not allowed; the namespace {namespace!r} is read by nobody; "
        "did you mean 'divio-storage:environment'?"
    ) in stderr
    assert "did you mean 'divio-storage:website'?" in stderr
    assert stderr.count("did you mean") == 3  # website, environment, region
    assert "required" not in stderr and "aws:region" not in stderr and "Traceback" not in stderr


def test_a_missing_key_says_required(tmp_path: Path) -> None:
    bad = tmp_path / "Pulumi.half-live.yaml"
    bad.write_text("config:\n  divio-storage:environment: live\n  divio-storage:region: eu-central-1\n")
    result = run_plan("--stack", str(bad), "--project-dir", str(ROOT), cwd=tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert stderr.startswith("error: invalid storage spec for half-live: website: required; set a lowercase slug")
    assert "None" not in stderr
