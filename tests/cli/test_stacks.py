"""``divio-storage stacks``: per-website stack configs rendered from the registry.

A rendered stack planned with the per-website program declares the same resources (types, names, inputs, parents,
dependencies, protection, provider settings) as that website in the platform plan; rendering is deterministic;
files it did not generate are never overwritten (without --force) or removed; stale ones go only with --prune;
credentials set on a stack survive a new render and a secret is never written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from divio_storage_infra.cli.main import main
from divio_storage_infra.cli.plan import resolve_program, resolve_stack
from divio_storage_infra.core.stackfiles import MARKER
from divio_storage_infra.preview.plan import build_plan

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = ROOT / "stacks" / "platform"
REGISTRY = PLATFORM / "websites.yaml"
COMPONENT = "divio:storage:WebsiteMediaStorage"
PROVIDER_PREFIX = "pulumi:providers:"
# Set on the static stacks as `pulumi config set` would (the same key id the platform example holds).
KEY_IDS = {"exoscale-main": "EXOplatformmain0123456789", "minio-main": "minio-platform-deployer"}
CIPHERTEXT = "v1:cGxhY2Vob2xkZXI=:bm90LWEtcmVhbC1zZWNyZXQtb2YtdGhlLXdlYnNpdGUtc3RhY2s="

# One website per cloud, plus hyphen-heavy slugs and environments (the `--` stack names).
ROUND_TRIP = [
    "shop-live",  # aws: IAM user, private store, CORS, media domain
    "shop--eu-live",  # aws, hyphen in the environment (shop-eu-live is another website)
    "a-b-c-d-e-f-g--h-i-j-k",
    "the-very-long-website-name-of-a-customer-with-many-words-in-it--stage-eu-west",
    "shop-ch-live",  # exoscale, static key
    "archive-live",  # s3-compatible (MinIO), static key
    "docs-site--pre-live",  # azure, SAS
    "portal-live",  # azure, account key, CORS
]


def stacks(out: Path, *extra: str, registry: Path = REGISTRY) -> int:
    return main(["stacks", "--registry", str(registry), "--out", str(out), *extra])


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def by_name(plan: dict[str, Any], component: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The website ``component``'s resources (the component and its descendants, providers apart) by type and name,
    with parents, dependencies and providers by type and name (or inputs), so two stacks' plans compare."""
    resources = {r["urn"]: r for r in plan["resources"]}
    key = {urn: (r["type"], r["name"]) for urn, r in resources.items()}
    [root] = [u for u, r in resources.items() if r["type"] == COMPONENT and r["name"] == component]

    def inside(urn: str | None) -> bool:
        while urn is not None:
            if urn == root:
                return True
            urn = resources[urn]["parent"]
        return False

    def provider(urn: str | None) -> dict[str, Any] | None:
        if urn is None:
            return None
        inputs = dict(resources[urn]["inputs"])
        # The platform reads the key id from its secret config, the website stack from plain config.
        assert inputs.pop("secretKey") == "[secret]"
        inputs.pop("accessKey")
        return inputs

    found = {}
    for urn, r in resources.items():
        if inside(urn) and not r["type"].startswith(PROVIDER_PREFIX):
            outputs = dict(r["outputs"])
            if outputs.get("access_key_id") in ("[secret]", *KEY_IDS.values()):
                # A static key id: secret on the platform (its whole s3Credentials config is), plain on the website.
                outputs["access_key_id"] = "(static key id)"
            found[key[urn]] = {
                "inputs": r["inputs"],
                "outputs": outputs,
                "protect": r["protect"],
                "custom": r["custom"],
                "parent": key.get(r["parent"]) if r["parent"] else None,
                "dependencies": sorted(key[d] for d in r["dependencies"]),
                "provider": provider(r["provider"]),
            }
    return found


@pytest.fixture(scope="module")
def platform_plan() -> dict[str, Any]:
    return build_plan(resolve_program(PLATFORM))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The registry rendered, the static keys then set on their stacks (and kept by a second render)."""
    out = tmp_path_factory.mktemp("stacks")
    assert stacks(out) == 0
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8")
        for name, key_id in KEY_IDS.items():
            if f"credentialsKey: {name} " in text:
                # What `pulumi config set accessKeyId ...` and `... --secret secretAccessKey` add to the file.
                text += f"  divio-storage:accessKeyId: {key_id}\n  divio-storage:secretAccessKey:\n"
                text += f"    secure: {CIPHERTEXT}\n"
                path.write_text(text, encoding="utf-8")
    assert stacks(out) == 0  # a new render keeps what was set
    return out


@pytest.mark.parametrize("stack", ROUND_TRIP)
def test_a_rendered_stack_plans_like_its_website_in_the_platform_plan(
    stack: str, rendered: Path, platform_plan: dict[str, Any]
) -> None:
    # The per-website program at the repository root, with the rendered file as its stack config.
    path = rendered / f"Pulumi.{stack}.yaml"
    website = build_plan(resolve_stack(str(path), ROOT))
    assert website["stack"] == stack
    ours, theirs = by_name(website, stack), by_name(platform_plan, stack)
    assert len(ours) >= 3
    assert ours == theirs
    if "static" in path.read_text(encoding="utf-8"):
        assert any(r["provider"] for r in ours.values())  # the S3-compatible provider was compared too


def test_stack_names_are_the_component_names_of_the_platform(tmp_path: Path, platform_plan: dict[str, Any]) -> None:
    assert stacks(tmp_path) == 0
    components = {r["name"] for r in platform_plan["resources"] if r["type"] == COMPONENT}
    names = {p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in tmp_path.iterdir()}
    assert names == components
    assert len(names) == 27
    # shop-eu/live and shop/eu-live would both be shop-eu-live as <website>-<environment>.
    assert {"shop-eu-live", "shop--eu-live"} <= names


def test_output_is_deterministic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert stacks(tmp_path / "a") == 0
    assert stacks(tmp_path / "b") == 0
    first = files(tmp_path / "a")
    assert first == files(tmp_path / "b")
    capsys.readouterr()
    assert stacks(tmp_path / "a") == 0
    assert files(tmp_path / "a") == first
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 27 and all(line.startswith("unchanged ") for line in lines)
    text = first["Pulumi.news-portal-live.yaml"].decode()
    assert text.startswith(f"{MARKER} from ")
    assert "websites.yaml: website news-portal, environment live." in text.splitlines()[0]
    config = text[text.index("config:") :]
    assert config == (
        "config:\n"
        "  aws:region: eu-west-1\n"
        "  divio-storage:cloud: aws\n"
        "  divio-storage:credentials: iam-user\n"
        "  divio-storage:environment: live\n"
        "  divio-storage:privateStorage: true\n"
        "  divio-storage:region: eu-west-1\n"
        "  divio-storage:tags:\n"
        "    cost-center: '4711'\n"  # merged with the defaults' tags, kept a string
        "    team: web-platform\n"
        "  divio-storage:website: news-portal\n"
    )
    # `region: null` on an Azure entry dropped the default region.
    assert "divio-storage:region" not in first["Pulumi.portal-live.yaml"].decode()


def test_static_credentials_are_never_written_and_the_commands_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stacks(tmp_path) == 0
    err = capsys.readouterr().err
    text = (tmp_path / "Pulumi.shop-ch-live.yaml").read_text(encoding="utf-8")
    commands = [
        "pulumi config set --stack shop-ch-live accessKeyId <s3Credentials.exoscale-main.accessKeyId>",
        "pulumi config set --stack shop-ch-live --secret secretAccessKey",
    ]
    for command in commands:
        assert f"#   {command}\n" in text
        assert f"  {command}\n" in err
    assert "accessKeyId:" not in text and "secretAccessKey:" not in text
    assert "shop-live" not in err  # iam-user: nothing to set
    # Once set (as `pulumi config set` writes it), a new render keeps it and stops asking.
    path = tmp_path / "Pulumi.shop-ch-live.yaml"
    path.write_text(
        "encryptionsalt: v1:c2FsdA==:v1:placeholder\n"
        + text
        + f"  divio-storage:accessKeyId: EXOkey\n  divio-storage:secretAccessKey:\n    secure: {CIPHERTEXT}\n",
        encoding="utf-8",
    )
    assert stacks(tmp_path) == 0
    out, err = capsys.readouterr()
    kept = path.read_text(encoding="utf-8")
    assert f"updated {path}" in out.splitlines()
    assert "shop-ch-live" not in err
    assert f"secure: {CIPHERTEXT}\n" in kept and "divio-storage:accessKeyId: EXOkey\n" in kept
    assert "encryptionsalt: v1:c2FsdA==:v1:placeholder\n" in kept
    assert "(kept from the previous render)" in kept
    # A plaintext secret is never carried into a generated file.
    path.write_text(kept.replace(f"\n    secure: {CIPHERTEXT}", " plain-text-secret-value"), encoding="utf-8")
    assert stacks(tmp_path) == 0
    out, err = capsys.readouterr()
    assert "plain-text-secret-value" not in path.read_text(encoding="utf-8") + out + err
    assert "was not encrypted and was not kept" in err
    assert "pulumi config set --stack shop-ch-live --secret secretAccessKey" in err


def test_refuses_to_overwrite_a_file_it_did_not_generate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "Pulumi.blog-live.yaml"
    mine.write_text("config:\n  divio-storage:website: blog\n", encoding="utf-8")
    assert stacks(tmp_path) == 2
    err = capsys.readouterr().err
    assert "Pulumi.blog-live.yaml exists and was not generated" in err and "--force" in err
    assert [p.name for p in tmp_path.iterdir()] == [mine.name]  # nothing else written either
    assert mine.read_text(encoding="utf-8") == "config:\n  divio-storage:website: blog\n"
    assert stacks(tmp_path, "--force") == 0
    assert mine.read_text(encoding="utf-8").startswith(MARKER)
    assert len(list(tmp_path.iterdir())) == 27


def test_stale_files_are_removed_only_with_prune(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert stacks(out) == 0
    # A hand-written stack config next to the generated ones (like the examples in stacks/) is never touched.
    (out / "Pulumi.example-live.yaml").write_text("config: {}\n", encoding="utf-8")
    smaller = tmp_path / "websites.yaml"
    smaller.write_text(
        "defaults: {cloud: aws, region: eu-central-1}\n"
        "websites:\n  - {website: shop, environment: live}\n  - {website: blog, environment: live}\n",
        encoding="utf-8",
    )
    capsys.readouterr()
    assert stacks(out, registry=smaller) == 0
    stdout, err = capsys.readouterr()
    assert len(list(out.iterdir())) == 28
    assert f"stale {out / 'Pulumi.verein-live.yaml'}" in stdout.splitlines()
    assert "25 generated stack configs of websites no longer in the registry left in place (--prune" in err
    assert stacks(out, "--prune", registry=smaller) == 0
    stdout = capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "Pulumi.blog-live.yaml",
        "Pulumi.example-live.yaml",
        "Pulumi.shop-live.yaml",
    ]
    assert f"removed {out / 'Pulumi.verein-live.yaml'}" in stdout.splitlines()
    assert (out / "Pulumi.example-live.yaml").read_text(encoding="utf-8") == "config: {}\n"


def test_a_bad_registry_exits_2_listing_every_problem_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = tmp_path / "websites.yaml"
    registry.write_text(
        "defaults: {cloud: aws, region: eu-central-1}\n"
        "websites:\n"
        "  - {website: shop, environment: live}\n"
        "  - {website: shop, environment: live}\n"
        "  - {website: Bad_Slug, environment: live}\n"
        "  - {website: ch, environment: live, cloud: exoscale, region: ch-gva-2, credentials: static}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert stacks(out, registry=registry) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: invalid website registry websites.yaml: 3 problems\n")
    for where in ("websites[1] (shop/live)", "websites[2] (Bad_Slug/live): website", "websites[3] (ch/live)"):
        assert where in captured.err
    assert "Traceback" not in captured.err
    assert not out.exists()
    # Unreadable YAML is the same kind of error.
    registry.write_text("websites: [\n", encoding="utf-8")
    assert stacks(out, registry=registry) == 2
    assert "invalid YAML" in capsys.readouterr().err
    assert not out.exists()


def test_out_must_be_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "file"
    target.write_text("x", encoding="utf-8")
    assert stacks(target) == 2
    assert "not a directory" in capsys.readouterr().err


def test_plan_json_of_a_rendered_stack_is_stable(rendered: Path) -> None:
    # The rendered file is a normal stack config: planned twice, the same document.
    path = str(rendered / "Pulumi.portal-live.yaml")
    first = build_plan(resolve_stack(path, ROOT))
    second = build_plan(resolve_stack(path, ROOT))
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_the_readme_excerpt_is_a_real_generated_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the header names the registry relative to where the command runs
    assert stacks(tmp_path, registry=Path("stacks/platform/websites.yaml")) == 0
    readme = (ROOT / "docs" / "platform.md").read_text(encoding="utf-8")
    start = readme.index("A generated file (`stacks/Pulumi.shop-ch-live.yaml`):\n\n```yaml\n")
    excerpt = readme[readme.index("```yaml\n", start) + len("```yaml\n") : readme.index("```\n", start + 60)]
    assert excerpt == (tmp_path / "Pulumi.shop-ch-live.yaml").read_text(encoding="utf-8")


def test_a_generated_file_that_no_longer_reads_as_yaml_needs_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stacks(tmp_path) == 0
    path = tmp_path / "Pulumi.shop-ch-live.yaml"
    broken = path.read_text(encoding="utf-8") + "  divio-storage:accessKeyId: [\n"
    path.write_text(broken, encoding="utf-8")
    capsys.readouterr()
    assert stacks(tmp_path) == 2
    err = capsys.readouterr().err
    assert "Pulumi.shop-ch-live.yaml" in err and "--force" in err and "Traceback" not in err
    assert path.read_text(encoding="utf-8") == broken
    assert stacks(tmp_path, "--force") == 0
    assert "accessKeyId: [" not in path.read_text(encoding="utf-8")
