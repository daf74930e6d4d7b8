"""The pack as pulumi-policy sees it: the PolicyPack its __main__ builds, and its policies called with CrossGuard's
own argument objects built from real plan documents (what `plan --policy-pack` does)."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi_policy
import pytest
from divio_storage_policy import POLICIES
from support.policy_pack import MUTATIONS, PACK_DIR, STACKS, Mutation, example

from divio_storage_infra.preview import policypack


@pytest.fixture(scope="module")
def pack() -> policypack.LoadedPack:
    return policypack.load_pack(PACK_DIR)


def test_main_builds_the_pack_with_every_policy_and_its_level(pack: policypack.LoadedPack) -> None:
    assert pack.name == "divio-storage"
    assert pack.enforcement_level == "mandatory"
    got = [
        (
            p.name,
            p.enforcement_level.value,
            type(p).__name__,
            sorted(p.config_schema.properties if p.config_schema else {}),
        )
        for p in pack.policies
    ]
    want = [
        (
            r.name,
            r.enforcement,
            "ResourceValidationPolicy" if r.kind == "resource" else "StackValidationPolicy",
            sorted(r.config),
        )
        for r in POLICIES
    ]
    assert got == want
    assert {level for _, level, _, _ in got} == {"advisory", "mandatory"}
    # Loading records the pack instead of serving it: the real class is back afterwards.
    assert pulumi_policy.PolicyPack.__module__ == "pulumi_policy.policy"


def test_requirements_pin_what_constraints_pin() -> None:
    constraints = dict(
        line.lower().split("==")
        for line in (PACK_DIR.parent / "constraints.txt").read_text().splitlines()
        if "==" in line
    )
    for line in (PACK_DIR / "requirements.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.lower().split("==")
            assert constraints[name.replace("_", "-")] == version, name


@pytest.mark.parametrize("stack", STACKS)
def test_example_stacks_pass_through_crossguard(pack: policypack.LoadedPack, stack: str) -> None:
    assert policypack.run_pack(example(stack), pack) == []


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.id for m in MUTATIONS])
def test_mutation_fires_its_policy_through_crossguard(pack: policypack.LoadedPack, mutation: Mutation) -> None:
    found = policypack.run_pack(mutation.apply(), pack)
    assert {v["policy"] for v in found} == {mutation.policy}, found
    rule = next(r for r in POLICIES if r.name == mutation.policy)
    assert {v["enforcement"] for v in found} == {rule.enforcement}
    assert any(f'"{mutation.resource}"' in v["message"] for v in found)
    assert all(v["urn"] and v["urn"].startswith("urn:pulumi:") for v in found)


def test_config_sets_levels_and_settings(pack: policypack.LoadedPack, tmp_path: Path) -> None:
    mutation = next(m for m in MUTATIONS if m.id == "no-encryption")
    document = mutation.apply()
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"s3-encryption-at-rest": "advisory"}))
    assert [v["enforcement"] for v in policypack.run_pack(document, pack, policypack.read_config(path))] == ["advisory"]
    path.write_text(json.dumps({"all": {"enforcementLevel": "disabled"}}))
    assert policypack.run_pack(document, pack, policypack.read_config(path)) == []
    # Per-policy settings reach the policy's config.
    tagless = example("example-live")
    for resource in tagless["resources"]:
        if resource["name"] == "example-live-media" and resource["type"] == "aws:s3/bucket:Bucket":
            resource["inputs"]["tags"].pop("media-store")
    named = {"publicBuckets": ["example-live-media-*"]}
    settings = {"s3-block-public-access": named, "s3-public-read-only": named}
    assert {v["policy"] for v in policypack.run_pack(tagless, pack)} == {
        "s3-block-public-access",
        "s3-public-read-only",
    }
    assert policypack.run_pack(tagless, pack, settings) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ("[]", "expected a JSON object"),
        ('{"s3-tls-only": "strict"}', 'enforcement level "strict" is not one of advisory, mandatory'),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(content)
    with pytest.raises(policypack.PolicyPackError, match=message):
        policypack.read_config(path)


def test_a_pack_that_is_not_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(policypack.PolicyPackError, match=r"no __main__\.py"):
        policypack.load_pack(tmp_path)
    (tmp_path / "__main__.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(policypack.PolicyPackError, match="failed to load: RuntimeError: boom"):
        policypack.load_pack(tmp_path)


def test_any_python_pack_runs_and_unknown_reads_are_reported_like_the_engine(tmp_path: Path) -> None:
    # A third-party pack written against pulumi-policy alone: it reads a value that is unknown in a preview.
    (tmp_path / "__main__.py").write_text(
        "from pulumi_policy import PolicyPack, ResourceValidationPolicy, EnforcementLevel\n"
        "def check(args, report):\n"
        "    if args.resource_type == 'aws:s3/bucket:Bucket':\n"
        "        args.props['arn']\n"
        "    if args.resource_type == 'aws:iam/accessKey:AccessKey':\n"
        "        report('user is ' + args.props['user'])\n"
        "PolicyPack('third-party', [ResourceValidationPolicy('look', 'Looks.', check)],\n"
        "           enforcement_level=EnforcementLevel.ADVISORY)\n"
    )
    document = example("example-live")
    for resource in document["resources"]:
        if resource["type"] == "aws:s3/bucket:Bucket":
            resource["inputs"]["arn"] = "(known after apply)"
    found = policypack.run_pack(document, policypack.load_pack(tmp_path))
    # Both buckets' reads are skipped with a note; the access key after them is still checked.
    assert [(v["policy"], v["enforcement"]) for v in found] == [("look", "advisory")] * 3
    assert [v["message"] for v in found[:2]] == [
        "can't run policy 'look' during preview: string value at .arn can't be known during preview"
    ] * 2
    assert found[2]["message"] == "user is example-live-media" and found[2]["urn"].endswith("::example-live-access-key")


def test_versioning_off_is_by_design_on_exoscale_not_on_aws(pack: policypack.LoadedPack) -> None:
    """Exoscale has no lifecycle rules to expire old versions, so the library leaves versioning off there by
    default: a bucket without it is no violation. The same bucket on AWS is."""
    exoscale = example("example-exoscale-live")
    exoscale["resources"] = [r for r in exoscale["resources"] if "Versioning" not in r["type"]]
    assert policypack.run_pack(exoscale, pack) == []
    aws = example("example-live")
    aws["resources"] = [r for r in aws["resources"] if "Versioning" not in r["type"]]
    found = policypack.run_pack(aws, pack)
    assert {(v["policy"], v["enforcement"]) for v in found} == {("storage-versioning", "advisory")}
    assert len(found) == 2
