"""The files generated from the tables are current, and the JSON Schemas accept the examples and refuse mistakes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from divio_storage_infra.core import generate, schema
from divio_storage_infra.core.configkeys import KEYS

ROOT = Path(__file__).resolve().parents[2]
CHECK_JSONSCHEMA = str(Path(sys.executable).with_name("check-jsonschema"))
STACK_SCHEMA = ROOT / "schema" / "stack-config.schema.json"
REGISTRY_SCHEMA = ROOT / "schema" / "registry.schema.json"


def test_no_generated_file_is_stale() -> None:
    assert generate.stale(ROOT) == [], "run: python -m divio_storage_infra.core.generate"


def test_a_stale_or_missing_generated_file_is_named_and_fails_the_check(tmp_path: Path) -> None:
    assert generate.main(["--root", str(tmp_path)]) == 0
    assert generate.main(["--root", str(tmp_path), "--check"]) == 0
    page = tmp_path / "docs" / "reference" / "config-keys.md"
    page.write_text(page.read_text(encoding="utf-8").replace("`corsOrigins`", "`corsOrigin`"), encoding="utf-8")
    (tmp_path / "schema" / "registry.schema.json").unlink()
    assert generate.stale(tmp_path) == ["schema/registry.schema.json", "docs/reference/config-keys.md"]
    assert generate.main(["--root", str(tmp_path), "--check"]) == 1
    assert generate.write(tmp_path) == ["schema/registry.schema.json", "docs/reference/config-keys.md"]
    assert generate.stale(tmp_path) == []


def test_the_generated_files_are_the_tables() -> None:
    page = (ROOT / "docs" / "reference" / "config-keys.md").read_text(encoding="utf-8")
    for row in KEYS:
        assert f"| `{row.name}` |" in page
    stack = json.loads(STACK_SCHEMA.read_text(encoding="utf-8"))
    assert stack == schema.stack_config_schema()
    assert set(stack["properties"]["config"]["properties"]) == {
        f"divio-storage:{row.name}" for row in KEYS if row.scope != "registry"
    }
    # Exoscale's section lists what durability refuses there, with the same reason.
    exoscale = page.split("### exoscale", 1)[1].split("###", 1)[0]
    assert "- `accessLogBucket`: exoscale has no server access logging; remove accessLogBucket" in exoscale
    assert "`abortIncompleteMultipartUploadDays`: exoscale has no lifecycle rules" in exoscale


def _check(schema_file: Path, *documents: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHECK_JSONSCHEMA, "--schemafile", str(schema_file), *map(str, documents)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_example_stack_configs_and_registry_are_valid_under_the_schemas() -> None:
    stacks = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))
    assert len(stacks) == 3
    for schema_file, documents in ((STACK_SCHEMA, stacks), (REGISTRY_SCHEMA, [ROOT / "stacks/platform/websites.yaml"])):
        result = _check(schema_file, *documents)
        assert result.returncode == 0, result.stdout + result.stderr


BAD_STACK = """\
config:
  aws:region: eu-central-1
  divio_storage:website: shop
  divio-storage:environment: live
  divio-storage:regoin: eu-central-1
  divio-storage:corsMaxAgeSeconds: 999999
  divio-storage:cloud: gcp
  divio-storage:secretAccessKey: {secure: v1:abc}
"""


def test_the_stack_schema_refuses_mistakes_an_editor_should_show(tmp_path: Path) -> None:
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text(BAD_STACK, encoding="utf-8")
    result = _check(STACK_SCHEMA, bad)
    assert result.returncode == 1
    out = result.stdout
    assert "'divio-storage:website' is a required property" in out
    assert "$.config['divio_storage:website']" in out  # the misspelt namespace
    assert "$.config['divio-storage:regoin']" in out  # an unknown key
    assert "999999 is greater than the maximum of 86400" in out
    assert "'gcp' is not one of" in out
    assert "secretAccessKey" not in out  # a secure value is what a secret key should hold


@pytest.mark.parametrize(
    ("registry", "message"),
    [
        ("websites: []\n", "should be non-empty"),
        ("defaults: {website: shop}\nwebsites: [{website: a, environment: b}]\n", "'website' was unexpected"),
        ("websites: [{website: a, environment: b, protect: maybe}]\n", "protect"),
        ("websites: [{website: a}]\n", "'environment' is a required property"),
        ("websites: [{website: a, environment: b, accessKeyId: AKIA}]\n", "'accessKeyId' was unexpected"),
    ],
)
def test_the_registry_schema_refuses_mistakes(tmp_path: Path, registry: str, message: str) -> None:
    bad = tmp_path / "websites.yaml"
    bad.write_text(registry, encoding="utf-8")
    result = _check(REGISTRY_SCHEMA, bad)
    assert result.returncode == 1 and message in result.stdout, result.stdout


def test_the_generator_runs_as_a_module(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "schema", tmp_path / "schema")
    result = subprocess.run(
        [sys.executable, "-m", "divio_storage_infra.core.generate", "--check", "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "docs/reference/config-keys.md is stale: run python -m divio_storage_infra.core.generate" in result.stderr


def test_the_examples_name_their_schema_for_editors() -> None:
    examples = [(path, STACK_SCHEMA) for path in sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))]
    examples.append((ROOT / "stacks/platform/websites.yaml", REGISTRY_SCHEMA))
    for path, schema_file in examples:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        prefix = "# yaml-language-server: $schema="
        assert first.startswith(prefix), path
        assert (path.parent / first.removeprefix(prefix)).resolve() == schema_file
