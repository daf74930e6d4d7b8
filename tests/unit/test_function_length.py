"""No function or method in the package is 80 lines or longer: long ones are split into named steps."""

from __future__ import annotations

import ast
from pathlib import Path

import divio_storage_infra

PACKAGE = Path(divio_storage_infra.__file__).resolve().parent
LIMIT = 80
"""Lines from ``def`` to the function's last line, decorators left out; 80 or more fails."""


def long_functions(root: Path, limit: int = LIMIT) -> list[str]:
    """``path:line name (N lines)`` for every function under ``root`` of ``limit`` lines or more."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length >= limit:
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_no_function_in_the_package_has_80_lines_or_more() -> None:
    assert long_functions(PACKAGE) == []


def test_the_check_finds_a_long_function_and_a_nested_one(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(78))
    (package / "mod.py").write_text(
        f"def short():\n{body}\n\n\nclass C:\n    def method(self):\n        def inner():\n"
        + "\n".join(f"            y{i} = {i}" for i in range(79))
        + "\n",
        encoding="utf-8",
    )
    assert long_functions(package) == [
        "pkg/mod.py:83 method (81 lines)",
        "pkg/mod.py:84 inner (80 lines)",
    ]  # short() has 79
