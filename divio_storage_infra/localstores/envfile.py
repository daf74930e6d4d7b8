"""The env file ``dev`` writes for the app: one ``NAME='value'`` per line, readable by its owner only.

Single quotes keep a shell (``set -a; . .env.storage``), Docker's ``--env-file``-style readers and python-dotenv
from splitting DSNs at ``&`` or ``?``; values never contain a quote (DSNs percent-encode everything else).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

ORDER = ("DEFAULT_STORAGE_DSN", "PRIVATE_STORAGE_DSN", "MEDIA_URL")
"""The app's variables first, in this order; the CA variables after them, sorted."""


def render(values: Mapping[str, str]) -> str:
    """The env file's text for ``values`` (deterministic order)."""
    names = [name for name in ORDER if name in values] + sorted(set(values) - set(ORDER))
    lines = ["# Written by `divio-storage dev`; valid while it runs. Holds local secrets: keep it out of git."]
    for name in names:
        value = values[name]
        if "'" in value or "\n" in value:
            raise ValueError(f"{name}: a value with a quote or a line break cannot be written to an env file")
        lines.append(f"{name}='{value}'")
    return "\n".join(lines) + "\n"


def write(path: Path, values: Mapping[str, str]) -> None:
    """Write ``values`` to ``path`` atomically (a reader never sees half a file), mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text("")
    os.chmod(partial, 0o600)
    partial.write_text(render(values), encoding="utf-8")
    os.replace(partial, path)


def read(path: Path) -> dict[str, str]:
    """The variables of an env file written by :func:`write` (for tools and tests that load it)."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        values[name.strip()] = value.strip().removeprefix("'").removesuffix("'")
    return values
