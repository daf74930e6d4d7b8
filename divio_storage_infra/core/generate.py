"""Write (or check) the files generated from the tables: JSON Schemas and reference pages.

``python -m divio_storage_infra.core.generate`` rewrites them in the repository (the current directory, or
``--root``); ``--check`` writes nothing and exits 1 naming each file that is stale or missing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from divio_storage_infra.core import reference, schema

GENERATED: dict[str, Callable[[], str]] = {
    "schema/stack-config.schema.json": lambda: schema.to_text(schema.stack_config_schema()),
    "schema/registry.schema.json": lambda: schema.to_text(schema.registry_schema()),
    "docs/reference/config-keys.md": reference.config_keys_page,
    "docs/reference/outputs.md": reference.outputs_page,
}
"""Every generated file, by path from the repository root, and what renders it."""


def stale(root: Path) -> list[str]:
    """The generated files under ``root`` whose content differs from what the tables render (or that are missing)."""
    out = []
    for path, render in GENERATED.items():
        target = root / path
        if not target.is_file() or target.read_text(encoding="utf-8") != render():
            out.append(path)
    return out


def write(root: Path) -> list[str]:
    """Write every generated file under ``root``; the paths written (the ones that changed)."""
    changed = stale(root)
    for path in changed:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(GENERATED[path](), encoding="utf-8")
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write the generated files, or with ``--check`` report stale ones (exit 1)."""
    parser = argparse.ArgumentParser(prog="python -m divio_storage_infra.core.generate", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository root (default: .)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a file is stale")
    args = parser.parse_args(argv)
    if args.check:
        outdated = stale(args.root)
        for path in outdated:
            print(f"{path} is stale: run python -m divio_storage_infra.core.generate", file=sys.stderr)
        return 1 if outdated else 0
    for path in write(args.root):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
