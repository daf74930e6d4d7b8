"""Which (project, stack) pairs a ``--rev`` review plans: every Python Pulumi project of the repository and every
stack config of each, at both revisions, narrowed by ``--stack`` and ``--project-dir``.

A project is a directory whose ``Pulumi.yaml`` (or ``Pulumi.yml``) names the Python runtime; its stacks are the
``Pulumi.<stack>.yaml`` files in its ``stackConfigDir`` (a project without any is planned as stack
:data:`~divio_storage_infra.cli.plan.NO_CONFIG_STACK`, as ``plan --program`` does). A stack present at one
revision only is reviewed too (added or removed). Reviewing every stack is also what makes a change that cannot be
attributed to particular stacks (library code, ``constraints.txt``, a ``Pulumi.yaml``, a program) show wherever it
matters.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from divio_storage_infra.cli.plan import NO_CONFIG_STACK
from divio_storage_infra.cli.revisions import ReviewInputError
from divio_storage_infra.preview.stackconfig import PROJECT_FILES, StackConfigError, load_project, stack_name
from divio_storage_infra.yamlfile import YamlFileError, load

_STACK_FILE = re.compile(r"Pulumi\.(.+)\.ya?ml")
_LISTED = 20
"""How many existing names an "unknown stack/project" error lists before "and N more"."""


@dataclass(frozen=True, order=True)
class StackTarget:
    """One stack of one project: the project directory (POSIX, relative to the repository top, ``.`` for the top),
    the stack name and the project's name (from its ``Pulumi.yaml``). Ordered by directory, then stack."""

    directory: str
    stack: str
    project: str

    @property
    def key(self) -> tuple[str, str]:
        """What identifies the stack across revisions: (directory, stack); a renamed project is the same stack."""
        return (self.directory, self.stack)


@dataclass(frozen=True)
class Narrowing:
    """What ``--stack`` and ``--project-dir`` keep (empty: everything). Directories are relative to the top."""

    stacks: tuple[str, ...] = ()
    directories: tuple[str, ...] = ()


def project_files(files: Iterable[str]) -> list[str]:
    """The paths among ``files`` (POSIX, relative) that are Pulumi project files, sorted."""
    return sorted(f for f in files if PurePosixPath(f).name in PROJECT_FILES)


def stacks_at(checkout: Path, files: Iterable[str], revision: str) -> list[StackTarget]:
    """Every stack of every Python project in ``checkout`` (whose tracked files are ``files``), sorted.

    A ``Pulumi.yaml`` of another runtime is not a project of this review; a broken one is an error naming it.
    """
    targets: list[StackTarget] = []
    for path in project_files(files):
        if not _is_python(checkout / path, revision):
            continue
        directory = PurePosixPath(path).parent.as_posix()
        try:
            project = load_project(checkout / directory)
        except StackConfigError as error:
            raise ReviewInputError(f"--rev: at {revision}: {_relative(str(error), checkout)}") from None
        names = project.stacks() or [NO_CONFIG_STACK]
        targets += [StackTarget(directory, name, project.name) for name in names]
    return sorted(targets)


def _is_python(path: Path, revision: str) -> bool:
    try:
        raw = load(path)
    except (YamlFileError, OSError) as error:
        raise ReviewInputError(f"--rev: at {revision}: {path.name}: {error}") from None
    runtime = raw.get("runtime") if isinstance(raw, dict) else None
    name = runtime.get("name") if isinstance(runtime, dict) else runtime
    return name == "python"


def _relative(message: str, checkout: Path) -> str:
    """An error message with the temporary checkout's path left out (it means nothing to the user)."""
    return message.replace(f"{checkout}/", "").replace(str(checkout), ".")


def narrowing(stacks: Sequence[str], project_dirs: Sequence[Path], *, cwd: Path, top: Path) -> Narrowing:
    """``--stack`` names (a name, ``org/project/name`` or a stack file path) and ``--project-dir`` directories
    (relative to ``cwd``) as a Narrowing; ReviewInputError for a malformed one or a directory outside the repo."""
    names = []
    for stack in stacks:
        found = _STACK_FILE.fullmatch(PurePosixPath(stack).name)
        try:
            names.append(found.group(1) if found else stack_name(stack))
        except StackConfigError as error:
            raise ReviewInputError(f"--stack: {error}") from None
    directories = []
    for given in project_dirs:
        absolute = (cwd / given).resolve()
        try:
            directories.append(absolute.relative_to(top).as_posix() or ".")
        except ValueError:
            raise ReviewInputError(f"--project-dir {str(given)[:120]!r}: not inside the repository at {top}") from None
    return Narrowing(tuple(dict.fromkeys(names)), tuple(dict.fromkeys(directories)))


def select(base: Sequence[StackTarget], head: Sequence[StackTarget], narrowed: Narrowing) -> list[StackTarget]:
    """The stacks to review: present at either revision (HEAD's entry when at both), kept by ``narrowed``.

    A directory or stack named in ``narrowed`` that exists at neither revision is a ReviewInputError listing
    what exists, with the closest match.
    """
    every = {t.key: t for t in base} | {t.key: t for t in head}
    directories = sorted({t.directory for t in every.values()})
    for directory in narrowed.directories:
        if directory not in directories:
            raise ReviewInputError(
                f"--project-dir {directory[:120]!r}: no Python Pulumi project there at either revision; "
                + _choices("projects", directories, directory)
            )
    kept = [t for t in every.values() if not narrowed.directories or t.directory in narrowed.directories]
    names = sorted({t.stack for t in kept})
    for name in narrowed.stacks:
        if name not in names:
            where = f" in {', '.join(narrowed.directories)}" if narrowed.directories else ""
            raise ReviewInputError(
                f"--stack {name[:120]!r}: no such stack{where} at either revision; " + _choices("stacks", names, name)
            )
    return sorted(t for t in kept if not narrowed.stacks or t.stack in narrowed.stacks)


def _choices(noun: str, existing: Sequence[str], given: str) -> str:
    if not existing:
        return f"the repository has no {noun}"
    shown = ", ".join(existing[:_LISTED]) + (f" and {len(existing) - _LISTED} more" if len(existing) > _LISTED else "")
    close = difflib.get_close_matches(given, existing, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{noun}: {shown}{hint}"
