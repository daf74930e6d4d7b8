"""Config YAML is read in bounded time and memory, and every encoding or type problem is one clear error with
the file, line and column (never a traceback, never the offending line's text)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from divio_storage_infra import yamlfile
from divio_storage_infra.preview.stackconfig import StackConfigError, load_project, load_stack
from divio_storage_infra.yamlfile import Limits, YamlFileError

SECRET = "s3cr3t-value-never-echoed"
BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
)


def write(tmp_path: Path, content: str | bytes, name: str = "Pulumi.dev.yaml") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def refused(tmp_path: Path, content: str | bytes, limits: Limits = yamlfile.DEFAULT_LIMITS) -> YamlFileError:
    path = write(tmp_path, content)
    with pytest.raises(YamlFileError) as raised:
        yamlfile.load(path, limits)
    error = raised.value
    assert str(error).startswith(f"{path}: ")
    assert SECRET not in str(error)
    return error


@pytest.mark.parametrize(
    ("content", "line", "column", "problem"),
    [
        (f"config:\n  a: !!timestamp 2026-01-01\n  b: {SECRET}\n", 2, 6, "the tag '!!timestamp' is not allowed"),
        (f"config:\n  a:\n    - {SECRET}\n    - !!set {{x: null}}\n", 4, 7, "the tag '!!set' is not allowed"),
        ("config:\n  a: {k: !!binary aGVsbG8=}\n", 2, 10, "the tag '!!binary' is not allowed"),
        ("!!python/object:os.system {}\n", 1, 1, "the tag '!!python/object:os.system' is not allowed"),
        ("config:\n  a: [1, !!python/name:os.system '']\n", 2, 10, "the tag '!!python/name:os.system' is not allowed"),
        ("config:\n  a: !Ref other\n", 2, 6, "the tag '!Ref' is not allowed"),
        ("config:\n  1: one\n", 2, 3, "keys must be strings, not a number; quote the key"),
        ("config:\n  a: {true: x}\n", 2, 7, "keys must be strings, not a boolean"),
        ("config:\n  a: {null: x}\n", 2, 7, "keys must be strings, not null"),
        ("config:\n  a:\n    ? [k]\n    : v\n", 3, 7, "keys must be strings, not a list"),
        ("config:\n  a: 1\n  a: 2\n", 3, 3, "the key 'a' is given twice in this mapping"),
        ("config:\n  a: " + "9" * 5000 + "\n", 2, 6, "a number longer than 100 characters"),
        ("config:\n  a: &x [1, *x]\n", 2, 6, "an alias refers to a node that contains it (a cycle)"),
        (f"config:\n  a: [{SECRET}\n", 3, 1, "expected ',' or ']'"),
    ],
)
def test_type_and_syntax_problems_name_file_line_and_column(
    tmp_path: Path, content: str, line: int, column: int, problem: str
) -> None:
    error = refused(tmp_path, content)
    assert (error.line, error.column) == (line, column), str(error)
    assert problem in error.problem, str(error)


@pytest.mark.parametrize(
    ("content", "line", "column", "problem"),
    [
        (b"config:\n  a: caf\xe9\n", 2, 9, "byte 0xe9 is not UTF-8; save the file as UTF-8"),
        ("config:\n  a: x\n".encode("utf-16"), 0, 0, "the file is UTF-16-encoded (it starts with a byte order mark)"),
        ("config:\n".encode("utf-32"), 0, 0, "the file is UTF-32-encoded"),
        ("config:\n".encode("utf-16-le"), 1, 2, "control character U+0000 is not allowed in YAML (a UTF-16 file"),
        (b"config:\n  a: x\x00y\n", 2, 7, "control character U+0000 is not allowed in YAML"),
        (b"config:\n  a: \x1b[31mred\n", 2, 6, "control character U+001B"),
        ("config:\n  a: \x85\x9f\n".encode(), 2, 7, "control character U+009F"),
    ],
)
def test_encoding_problems_name_file_line_and_column(
    tmp_path: Path, content: bytes, line: int, column: int, problem: str
) -> None:
    error = refused(tmp_path, content)
    assert (error.line, error.column) == (line, column), str(error)
    assert problem in error.problem, str(error)


def test_a_utf8_byte_order_mark_is_fine(tmp_path: Path) -> None:
    assert yamlfile.load(write(tmp_path, "\ufeffconfig:\n  a: x\n")) == {"config": {"a": "x"}}


def test_alias_bomb_is_refused_quickly_without_expanding(tmp_path: Path) -> None:
    tracemalloc.start()
    started = time.monotonic()
    try:
        error = refused(tmp_path, BOMB)
        took = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.problem == (
        "the document expands to more than 4000000 nodes through its aliases (an alias bomb?); if the file is "
        "right, raise the limit with the environment variable DIVIO_STORAGE_YAML_MAX_NODES"
    )
    assert took < 1.0, took
    assert peak < 5 * 1024 * 1024, peak


def test_aliases_and_merge_keys_within_the_limits_work(tmp_path: Path) -> None:
    text = "base: &base {region: eu-central-1, tags: &t {team: web}}\nsite:\n  <<: *base\n  website: shop\n  t: *t\n"
    assert yamlfile.load(write(tmp_path, text)) == {
        "base": {"region": "eu-central-1", "tags": {"team": "web"}},
        "site": {"region": "eu-central-1", "tags": {"team": "web"}, "website": "shop", "t": {"team": "web"}},
    }


@pytest.mark.parametrize("style", ["flow", "block", "map"])
def test_5000_levels_of_nesting_is_a_clear_error(tmp_path: Path, style: str) -> None:
    if style == "flow":
        text = "config:\n  a: " + "[" * 5000 + "]" * 5000 + "\n"
    elif style == "block":
        text = "config:\n  a:\n    " + "- " * 5000 + "x\n"
    else:
        text = "config:\n  a: " + "{k: " * 5000 + "x" + "}" * 5000 + "\n"
    started = time.monotonic()
    error = refused(tmp_path, text)
    assert "nested deeper than 100 levels" in error.problem
    assert error.line >= 2
    assert time.monotonic() - started < 2


def test_depth_through_aliases_is_counted(tmp_path: Path) -> None:
    deep = "[" * 60 + "]" * 60
    text = f"a: &a {deep}\nb: &b {'[' * 50}*a{']' * 50}\n"
    error = refused(tmp_path, text)
    assert "nested deeper than 100 levels (through an alias)" in error.problem


def test_size_limit_is_checked_before_parsing(tmp_path: Path) -> None:
    error = refused(tmp_path, "a: " + "x" * 2000 + "\n", Limits(max_bytes=1000))
    assert error.problem == (
        "the file is larger than 1000 bytes; config files are far smaller; if the file is right, raise the limit "
        "with the environment variable DIVIO_STORAGE_YAML_MAX_BYTES"
    )
    # The default: 64 MiB, which the environment variable changes for every file read.
    big = write(tmp_path, "a: " + "x" * (1024 * 1024) + "\n", "big.yaml")
    assert yamlfile.load(big) == {"a": "x" * (1024 * 1024)}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DIVIO_STORAGE_YAML_MAX_BYTES", str(1024 * 1024))
        with pytest.raises(YamlFileError, match="larger than 1048576 bytes"):
            yamlfile.load(big)
        patch.setenv("DIVIO_STORAGE_YAML_MAX_BYTES", "lots")
        with pytest.raises(YamlFileError, match="DIVIO_STORAGE_YAML_MAX_BYTES: expected a positive whole number"):
            yamlfile.load(big)


def test_node_count_limit_while_composing(tmp_path: Path) -> None:
    error = refused(tmp_path, "a: [" + ", ".join(["1"] * 200) + "]\n", Limits(max_nodes=100))
    assert "more than 100 YAML nodes" in error.problem


def test_a_large_allowed_file_reads_in_bounded_time(tmp_path: Path) -> None:
    """Close to 1 MiB of ordinary registry entries still reads in a few seconds."""
    entry = "  - {website: site-%05d, environment: live, corsOrigins: [https://www.example.com]}\n"
    text = "websites:\n" + "".join(entry % i for i in range(11_000))
    assert len(text) < 1024 * 1024
    path = write(tmp_path, text)
    started = time.monotonic()
    document = yamlfile.load(path)
    assert len(document["websites"]) == 11_000
    assert time.monotonic() - started < 15


def test_scalars_read_as_the_pulumi_cli_reads_them(tmp_path: Path) -> None:
    text = "a: [yes, on, off, true, 2026-01-01, =, 1.5, null, ~, 0x1f]\n"
    assert yamlfile.load(write(tmp_path, text)) == {
        "a": ["yes", "on", "off", True, "2026-01-01", "=", 1.5, None, None, 31]
    }


def test_stack_config_errors_carry_file_line_and_column(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / "stacks").mkdir(parents=True)
    (project / "__main__.py").write_text("")
    (project / "Pulumi.yaml").write_text("name: proj\nruntime: python\nstackConfigDir: stacks\n")
    stack = project / "stacks" / "Pulumi.dev.yaml"
    stack.write_text(f"config:\n  proj:token: {SECRET}\n  proj:when: !!timestamp 2026-01-01\n")
    with pytest.raises(StackConfigError) as raised:
        load_stack(load_project(project), "dev")
    assert str(raised.value).startswith(f"{stack}: line 3, column 14: the tag '!!timestamp' is not allowed")
    assert SECRET not in str(raised.value)
    stack.write_bytes(b"config:\n  proj:token: \xff\n")
    with pytest.raises(StackConfigError, match=r"Pulumi.dev.yaml: line 2, column 15: byte 0xff is not UTF-8"):
        load_stack(load_project(project), "dev")
    (project / "Pulumi.yaml").write_text("name: proj\nruntime: python\n<<: {stackConfigDir: stacks}\n")
    stack.write_text("config:\n  <<: {proj:a: one}\n  proj:b: two\n")
    assert dict(load_stack(load_project(project), "dev").config) == {"proj:a": "one", "proj:b": "two"}


def test_yaml_errors_are_not_yaml_library_errors(tmp_path: Path) -> None:
    """Callers catch one error type: YamlFileError is a ValueError, never a yaml.YAMLError or RecursionError."""
    error = refused(tmp_path, "a: [\n")
    assert isinstance(error, ValueError) and not isinstance(error, yaml.YAMLError)


def test_the_limits_hold_without_libyaml_too(tmp_path: Path) -> None:
    """Where PyYAML was built without libyaml, its Python parser feeds the same bounded composer."""
    (tmp_path / "bomb.yaml").write_text(BOMB)
    (tmp_path / "deep.yaml").write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    (tmp_path / "merge.yaml").write_text("b: &b {x: 1}\nc: {<<: *b, y: no}\n")
    code = textwrap.dedent(
        f"""
        import yaml
        yaml.__with_libyaml__ = False
        from pathlib import Path
        from divio_storage_infra import yamlfile
        assert yamlfile._Events is yamlfile._PythonEvents
        for name in ("bomb", "deep"):
            try:
                yamlfile.load(Path({str(tmp_path)!r}) / f"{{name}}.yaml")
            except yamlfile.YamlFileError as error:
                print(error.problem)
        print(yamlfile.load(Path({str(tmp_path)!r}) / "merge.yaml"))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.splitlines() == [
        "the document expands to more than 4000000 nodes through its aliases (an alias bomb?); if the file is "
        "right, raise the limit with the environment variable DIVIO_STORAGE_YAML_MAX_NODES",
        "nested deeper than 100 levels; if the file is right, raise the limit with the environment variable "
        "DIVIO_STORAGE_YAML_MAX_DEPTH",
        "{'b': {'x': 1}, 'c': {'x': 1, 'y': 'no'}}",
    ]


_KEYS = st.sampled_from(["a", "b", "c", "<<x", "yes", "1x", "k k"])
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.sampled_from(["x", "yes", "0x1f", "2026-01-01", "="])
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    base=st.dictionaries(_KEYS, _VALUES, max_size=4),
    other=st.dictionaries(_KEYS, _VALUES, max_size=4),
    own=st.dictionaries(_KEYS, _VALUES, max_size=4),
    merge=st.sampled_from(["one", "list", "two keys", "none"]),
)
def test_parse_reads_what_the_checked_graph_reads(
    base: dict[str, Any], other: dict[str, Any], own: dict[str, Any], merge: str
) -> None:
    """The event reader (registries) and the checked node graph (stack configs) read every document alike: anchors,
    aliases and merge keys (in a mapping, a list of them, or twice), explicit keys overriding merged ones."""
    dump = lambda value: yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()  # noqa: E731
    merged = {
        "one": "  <<: *base\n",
        "list": "  <<: [*base, *other]\n",
        "two keys": "  <<: *base\n  <<: *other\n",
        "none": "",
    }[merge]
    own_lines = "".join(f"  {json.dumps(k)}: {dump(v)}\n" for k, v in own.items())
    text = f"base: &base {dump(base)}\nother: &other {dump(other)}\nsite:\n{merged}{own_lines}  again: *base\n"
    path = Path("generated.yaml")
    try:
        expected = yamlfile.to_python(yamlfile.compose(path, text))
    except (YamlFileError, ValueError) as error:
        with pytest.raises(YamlFileError):
            yamlfile.parse(path, text)
        assert error is not None
        return
    assert yamlfile.parse(path, text) == expected


def test_a_registry_of_20000_websites_reads_in_bounded_memory_and_validates(tmp_path: Path) -> None:
    """20,000 websites with tags, a media domain and two origins each: within the default limits, and read without
    a node graph (its values, not ten times their size)."""
    from divio_storage_infra.core.registry import validate_registry

    entry = (
        "  - {website: site-%05d, environment: live, mediaDomain: media.site-%05d.example.com,\n"
        "     tags: {customer: c%05d, tier: gold},\n"
        "     corsOrigins: [https://site-%05d.example.com, https://www.site-%05d.example.com]}\n"
    )
    text = "defaults: {region: eu-central-1, tags: {team: web}}\nwebsites:\n" + "".join(
        entry % (i, i, i, i, i) for i in range(20_000)
    )
    path = write(tmp_path, text, "websites.yaml")
    tracemalloc.start()
    try:
        document = yamlfile.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(text) > 1024 * 1024 * 4  # far beyond the old 1 MiB limit
    assert peak < 90 * 1024 * 1024, peak  # the text, the values and the parser's buffers
    registry = validate_registry(document, source=path.name)
    assert len(registry.entries) == 20_000
    assert registry.entries[-1].spec.media_domain == "media.site-19999.example.com"
