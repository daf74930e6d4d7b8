"""The import-linter contracts hold on the package, and break on a deliberate violation of each kind.

Each case copies the package and pyproject.toml into a temporary directory, injects one violation into the copy,
and runs the real ``lint-imports`` on it (no cache), so a contract that stopped biting fails here. The copy comes
first on PYTHONPATH; the violation tests can only pass if the copy, not the installed package, was analysed.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = "divio_storage_infra"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _contract_names() -> dict[str, str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["id"]: c["name"] for c in config["tool"]["importlinter"]["contracts"]}


CONTRACTS = _contract_names()


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy2(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / PACKAGE, root / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _inject(root: Path, module: str, line: str) -> None:
    path = root / PACKAGE / module
    text = path.read_text(encoding="utf-8")
    # After the module's future import, so the file stays valid Python with its docstring first.
    marker = "from __future__ import annotations\n"
    assert marker in text, f"{module} has no future import to inject after"
    path.write_text(text.replace(marker, f"{marker}\n{line}\n", 1), encoding="utf-8")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    # A wide terminal: rich would otherwise wrap long contract names and the assertions below would miss them.
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "1000"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_contracts_are_the_ones_this_test_breaks() -> None:
    assert set(CONTRACTS) == {
        "layers",
        "pure-core",
        "pure-review",
        "clouds-apart",
        "no-cycles",
        "app-side",
        "app-apart",
    }


def test_an_unmodified_copy_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    for name in CONTRACTS.values():
        assert f"{name} KEPT" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        pytest.param("core/naming.py", "import pulumi  # noqa", "pure-core", id="core-imports-pulumi"),
        pytest.param("core/regions.py", "import boto3  # noqa", "pure-core", id="core-imports-a-cloud-sdk"),
        pytest.param(
            "core/naming.py",
            "from divio_storage_infra.components import website  # noqa",
            "layers",
            id="core-imports-components",
        ),
        pytest.param(
            "components/s3.py",
            "from divio_storage_infra.cli import main  # noqa",
            "layers",
            id="components-import-cli",
        ),
        pytest.param(
            "core/rules.py",
            "from divio_storage_infra.core import spec  # noqa",
            "no-cycles",
            id="cycle-in-core",
        ),
        pytest.param(
            "core/naming.py",
            "def _lazy() -> None:\n    import django  # noqa",
            "pure-core",
            id="core-imports-django-lazily",
        ),
        pytest.param(
            "core/spec.py",
            "def _lazy() -> None:\n    from storages.backends import s3  # noqa",
            "pure-core",
            id="core-imports-django-storages-lazily",
        ),
        pytest.param(
            "core/naming.py",
            "def _lazy() -> None:\n    from divio_storage_infra.app import settings  # noqa",
            "app-apart",
            id="core-imports-the-app-side-lazily",
        ),
        pytest.param(
            "components/s3.py",
            "from divio_storage_infra.app import settings  # noqa",
            "app-apart",
            id="components-import-the-app-side",
        ),
        pytest.param("app/settings.py", "import pulumi  # noqa", "app-side", id="app-side-imports-pulumi"),
        pytest.param(
            "app/backends.py",
            "from divio_storage_infra.components import website  # noqa",
            "app-side",
            id="app-side-imports-the-components",
        ),
        pytest.param(
            "components/s3.py",
            "def _lazy() -> None:\n    from divio_storage_infra.components import azure  # noqa",
            "clouds-apart",
            id="s3-component-imports-azure-lazily",
        ),
        pytest.param("review/model.py", "import pulumi  # noqa", "pure-review", id="review-imports-pulumi"),
        pytest.param(
            "components/s3.py",
            "from divio_storage_infra.components import azure  # noqa",
            "clouds-apart",
            id="s3-component-imports-azure",
        ),
    ],
)
def test_a_deliberate_violation_breaks_its_contract(tmp_path: Path, module: str, line: str, contract: str) -> None:
    root = _copy(tmp_path)
    _inject(root, module, line)
    result = _lint(root)
    assert result.returncode != 0, result.stdout
    assert f"{CONTRACTS[contract]} BROKEN" in result.stdout, result.stdout + result.stderr


def _hidden_imports(source: str) -> list[int]:
    """The lines where ``source`` imports without an import statement (importlib, ``__import__``, import_string)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        elif isinstance(node, ast.Call):
            func = node.func
            names = [func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""]
        if any(name.split(".")[0] in ("importlib", "__import__", "import_module", "import_string") for name in names):
            found.append(node.lineno)
    return found


def test_the_contracts_see_every_import_the_package_makes() -> None:
    # An import through importlib (or __import__) is invisible to grimp, so no contract could catch it.
    hidden = {
        str(path.relative_to(REPO)): lines
        for path in sorted((REPO / PACKAGE).rglob("*.py"))
        if (lines := _hidden_imports(path.read_text(encoding="utf-8")))
    }
    assert hidden == {}
    # The search finds each way (and a comment or docstring that names importlib is no import).
    sneaky = '"""importlib"""\nimport importlib\nfrom importlib import util\nm = __import__("x")\nimport_module("y")\n'
    assert _hidden_imports(sneaky) == [2, 3, 4, 5]
    graph = grimp.build_graph(PACKAGE, include_external_packages=True, cache_dir=None)
    facade = f"{PACKAGE}.components.website"
    # The facade's per-cloud components (Azure imported inside the constructor) are imports the graph has.
    assert graph.direct_import_exists(importer=facade, imported=f"{PACKAGE}.components.azure")
    assert graph.direct_import_exists(importer=facade, imported=f"{PACKAGE}.components.s3")
    # The public API imports the app side as an ordinary import; the app side's backends import Django.
    assert graph.direct_import_exists(importer=PACKAGE, imported=f"{PACKAGE}.app")
    assert graph.direct_import_exists(importer=f"{PACKAGE}.app.backends", imported="django")
