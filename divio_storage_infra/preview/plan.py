"""The plan document: run a stack's real program offline under Pulumi's mock runtime and record what it declares.

No Pulumi CLI, no credentials: the program runs in preview mode with mocks that echo inputs as state, so anything
a cloud would compute reads as ``(known after apply)``, invokes answer "unknown", and secrets read as ``[secret]``.
The document is a stable contract, documented in docs/plan-format.md; :mod:`.render` prints it.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from divio_storage_infra.core.errors import Problem, SpecError
from divio_storage_infra.core.masking import SecretMask
from divio_storage_infra.preview import render
from divio_storage_infra.preview.planparts import JSON_KINDS, PlanParts, Record, Spill, dump
from divio_storage_infra.preview.render import SECRET_TEXT, UNKNOWN_TEXT
from divio_storage_infra.preview.stackconfig import StackConfig

if TYPE_CHECKING:
    from divio_storage_infra.preview.mockrun import Declared, DeclaredResource

FORMAT = "divio-storage-plan/v2"
"""The ``format`` field of the JSON document; bumped only on an incompatible change (see docs/plan-format.md)."""
MIN_SCRUB_LENGTH = 4
"""Secret config values at least this long are also masked wherever a program leaked them unmarked."""

_STACK_TYPE = "pulumi:pulumi:Stack"
_NOTES_OUTPUT = "plan_notes"
__all__ = ["SECRET_TEXT", "UNKNOWN_TEXT"]  # re-exported: where callers have always found the display strings


class PlanError(Exception):
    """The program rejected its config in a way that is not a SpecError (e.g. a config value of the wrong type)."""


def build_plan(
    stack_config: StackConfig,
    *,
    program: Callable[[], None] | None = None,
    jobs: int = 1,
    only: frozenset[str] | None = None,
) -> dict[str, Any]:
    """Run the stack's program under the mock runtime and return the plan document (what ``--format json`` prints).

    ``program`` replaces the project's own program (``divio-storage adopt --registry`` runs the platform program
    on another registry file); it runs in the project directory with the stack's config all the same. A large
    platform registry is planned in blocks, with ``jobs`` > 1 in up to that many processes (see :mod:`.blockplan`);
    ``only`` plans just the entries of those keys (stack output names). The document is the same as from one run.
    Raises the program's own SpecError (secrets masked in its message), PlanError for other config errors, and
    ProgramFailed (with a masked traceback) for anything else.
    """
    parts = plan_parts(stack_config, program=program, jobs=jobs, only=only)
    try:
        return parts.document()
    finally:
        parts.close()


def plan_parts(
    stack_config: StackConfig,
    *,
    program: Callable[[], None] | None = None,
    jobs: int = 1,
    kinds: tuple[str, ...] = JSON_KINDS,
    only: frozenset[str] | None = None,
) -> PlanParts:
    """The plan as merged files of its pieces of ``kinds`` (see :mod:`.planparts`), as :func:`build_plan` plans it;
    the caller writes or reads it and then calls ``close()``."""
    import tempfile

    from divio_storage_infra.preview import blockplan

    scrub = Scrubber.for_config(stack_config.config, stack_config.secret_keys)
    directory = tempfile.TemporaryDirectory(prefix="divio-storage-plan-")
    spill = Spill(Path(directory.name), kinds)
    try:
        if program is not None:
            spill.add(pieces(declare(stack_config, program), scrub, kinds))
            files = spill.merge()
        else:
            files = blockplan.plan_in_blocks(run_pieces(kinds), stack_config, jobs, spill, only)
    except Exception as error:  # noqa: BLE001 - sorted into user errors and bugs below, secrets masked either way
        directory.cleanup()
        raise _translate(error, scrub) from None
    return PlanParts(
        project=scrub.text(stack_config.project.name),
        stack=scrub.text(stack_config.stack),
        format=FORMAT,
        config_notes=scrub.value(list(stack_config.notes)),
        files=files,
        keep=directory,
    )


def document_of(stack_config: StackConfig, declared: Declared) -> dict[str, Any]:
    """The plan document of one run's record (what :func:`build_plan` gives for a program that declared it)."""
    import tempfile

    scrub = Scrubber.for_config(stack_config.config, stack_config.secret_keys)
    with tempfile.TemporaryDirectory(prefix="divio-storage-plan-") as directory:
        spill = Spill(Path(directory), JSON_KINDS)
        spill.add(pieces(declared, scrub, JSON_KINDS))
        parts = PlanParts(
            project=scrub.text(stack_config.project.name),
            stack=scrub.text(stack_config.stack),
            format=FORMAT,
            config_notes=scrub.value(list(stack_config.notes)),
            files=spill.merge(),
        )
        return parts.document()


def run_pieces(kinds: tuple[str, ...]) -> Callable[[StackConfig], dict[str, list[Record]]]:
    """One mock run of the stack's program, as the pieces of ``kinds`` it adds to the document."""

    def run(stack_config: StackConfig) -> dict[str, list[Record]]:
        scrub = Scrubber.for_config(stack_config.config, stack_config.secret_keys)
        return pieces(declare(stack_config), scrub, kinds)

    return run


def pieces(declared: Declared, scrub: Scrubber, kinds: tuple[str, ...]) -> dict[str, list[Record]]:
    """The document's pieces of ``kinds`` from one run, secrets masked, each kind sorted by its key."""
    found: dict[str, list[Record]] = {kind: [] for kind in kinds}
    entries = {r.urn: scrub.value(_resource(r, declared)) for r in declared.resources}
    ordered = sorted(entries)
    outputs: dict[str, Any] = scrub.value({str(k): _render(v) for k, v in declared.outputs.items()})
    for kind in kinds:
        if kind == "resources":
            found[kind] = [(urn, dump(entries[urn])) for urn in ordered]
        elif kind == "urns":
            found[kind] = [(urn, "") for urn in ordered]
        elif kind == "outputs":
            found[kind] = [(name, dump(outputs[name])) for name in sorted(outputs)]
        elif kind == "output_lines":
            found[kind] = [(name, "\n".join(render.value_lines(name, outputs[name], 1))) for name in sorted(outputs)]
        elif kind == "notes":
            found[kind] = [
                (urn, json.dumps(notes))
                for urn in sorted(declared.component_outputs)
                if (notes := _notes(declared.component_outputs[urn], scrub))
            ]
        elif kind == "stack_notes":
            found[kind] = [(_NOTES_OUTPUT, json.dumps(notes))] if (notes := _notes(declared.outputs, scrub)) else []
        elif kind == "sas":
            found[kind] = [(urn, json.dumps(sas)) for urn in ordered if (sas := _sas(entries[urn])) is not None]
        elif kind == "websites":
            found[kind] = render.website_lines([entries[urn] for urn in ordered])
        elif kind == "trees":
            found[kind] = render.trees([entries[urn] for urn in ordered])
    return found


def _notes(values: Mapping[str, Any], scrub: Scrubber) -> list[str]:
    listed = values.get(_NOTES_OUTPUT)
    if not isinstance(listed, list):
        return []
    notes: list[str] = scrub.value([str(_render(note)) for note in listed])
    return notes


def _sas(entry: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the SAS warnings of ``plan`` read of a resource: its type, name and ``sas_terms`` output."""
    outputs = entry["outputs"]
    terms = outputs.get("sas_terms") if isinstance(outputs, dict) else None
    if terms is None:
        return None
    return {"type": entry["type"], "name": entry["name"], "outputs": {"sas_terms": terms}}


def declare(stack_config: StackConfig, program: Callable[[], None] | None = None) -> Declared:
    """Run the stack's program (or ``program``) in this process under the mock runtime, as a preview; everything it
    declared."""
    from divio_storage_infra.preview import mockrun

    project = stack_config.project
    with _isolated(project.directory):
        return mockrun.run(
            program or _program(stack_config.project.program),
            mocks=plan_mocks(),
            project=project.name,
            stack=stack_config.stack,
            config=dict(stack_config.config),
            secret_keys=list(stack_config.secret_keys),
            preview=True,
            unknown_invokes=True,
        )


class Scrubber:
    """Masks secret config values (and their percent- and JSON-escaped forms) wherever they appear in text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._mask = SecretMask(secrets, marker=SECRET_TEXT, min_length=MIN_SCRUB_LENGTH)

    @classmethod
    def for_config(cls, config: Mapping[str, str], secret_keys: Iterable[str]) -> Scrubber:
        """A scrubber for the values of ``secret_keys``, including every string inside structured (JSON) values."""
        secrets: list[str] = []
        for key in secret_keys:
            value = config.get(key)
            if value is None:
                continue
            secrets.append(value)
            with contextlib.suppress(ValueError):
                secrets.extend(_strings(json.loads(value)))
        return cls(secrets)

    def text(self, text: str) -> str:
        """``text`` with every secret replaced by ``[secret]``."""
        return self._mask(text)

    def value(self, value: Any) -> Any:
        """``value`` with every string in it (keys too) scrubbed."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value


class ProgramFailed(Exception):
    """The program failed with something other than bad config; ``report`` is its traceback, secrets masked."""

    def __init__(self, report: str) -> None:
        super().__init__(report)
        self.report = report


def plan_mocks() -> Any:
    """Mocks for a preview: state is the inputs, ids are unknown (nothing exists yet), invokes answer "unknown".

    Built on call so that importing this module (the CLI does, to build its parser) does not import Pulumi.
    """
    from pulumi.runtime import mocks as pulumi_mocks

    class PlanMocks(pulumi_mocks.Mocks):
        def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
            return None, dict(args.inputs)

        def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
            # Not reached: the plan's monitor answers every invoke as unknown before the mocks see it.
            return {}, []

    return PlanMocks()


def _program(path: Path) -> Callable[[], None]:
    def program() -> None:
        import runpy

        runpy.run_path(str(path), run_name="__main__")

    return program


@contextlib.contextmanager
def _isolated(project_dir: Path) -> Iterator[None]:
    """Run like the Pulumi CLI: in the project dir, importable from there, config only from the stack file."""
    saved_env = {k: v for k, v in os.environ.items() if k.startswith("PULUMI_CONFIG")}
    saved_cwd = Path.cwd()
    saved_path = list(sys.path)
    for key in saved_env:
        # The SDK falls back to PULUMI_CONFIG* for keys the stack lacks; a plan shows the stack file alone.
        del os.environ[key]
    sys.path.insert(0, str(project_dir))
    os.chdir(project_dir)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        os.environ.update(saved_env)


def _translate(error: Exception, scrub: Scrubber) -> Exception:
    """The error to raise for a failed run: the program's SpecError, a PlanError, or a masked traceback."""
    import pulumi

    from divio_storage_infra.preview.mockrun import DuplicateUrnError

    for cause in _chain(error):
        if isinstance(cause, SpecError):
            return _scrub_spec_error(cause, scrub)
    for cause in _chain(error):
        if isinstance(cause, DuplicateUrnError):
            return PlanError(scrub.text(str(cause)))
    for cause in _chain(error):
        if isinstance(cause, pulumi.ConfigTypeError | pulumi.ConfigMissingError):
            return PlanError(scrub.text(str(cause)))
    report = "".join(traceback.format_exception(error))
    return ProgramFailed(scrub.text(f"error: the program failed:\n{report}"))


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error``, its causes and contexts, and the members of exception groups, each once."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def _scrub_spec_error(error: SpecError, scrub: Scrubber) -> SpecError:
    """``error`` itself when its message holds no secret, else a copy with secrets masked."""
    if scrub.text(str(error)) == str(error):
        return error
    # dataclasses.replace keeps a Problem subclass (a registry entry's position, website and environment).
    problems: list[Problem] = [
        dataclasses.replace(
            p,
            field=scrub.text(p.field),
            value=scrub.value(p.value) if isinstance(p.value, str | list | dict) else p.value,
            allowed=scrub.text(p.allowed),
        )
        for p in error.problems
    ]
    scrubbed = copy.copy(error)
    type(error).__init__(scrubbed, problems, context=scrub.text(error.context))
    return scrubbed


def _resource(resource: DeclaredResource, declared: Declared) -> dict[str, Any]:
    aliases = {json.dumps(_render(a), sort_keys=True): _render(a) for a in resource.aliases}
    entry = {
        "urn": resource.urn,
        "type": resource.type,
        "name": resource.name,
        "parent": _parent(resource.parent),
        "custom": resource.custom,
        "protect": resource.protect,
        "retainOnDelete": resource.retain_on_delete,
        "deleteBeforeReplace": resource.delete_before_replace,
        "dependencies": sorted(resource.dependencies),
        "propertyDependencies": {k: sorted(v) for k, v in resource.property_dependencies.items()},
        # A provider reference is "<urn>::<id>"; the id is unknown in a preview, the URN says which provider.
        "provider": resource.provider.rsplit("::", 1)[0] if resource.provider else None,
        "aliases": [aliases[k] for k in sorted(aliases)],
        "ignoreChanges": sorted(resource.ignore_changes),
        "additionalSecretOutputs": sorted(resource.additional_secret_outputs),
        "inputs": _render(resource.inputs),
        "outputs": _render(declared.component_outputs.get(resource.urn, {})),
    }
    if resource.import_id is not None:
        # Only on imported resources, so plans without adoption keep their bytes (docs/plan-format.md).
        entry["importId"] = resource.import_id
    return entry


def _parent(urn: str | None) -> str | None:
    # Top-level resources hang off the stack itself, which the plan does not list: null says "the stack".
    if urn is None or urn.split("::")[2:3] == [_STACK_TYPE]:
        return None
    return urn


def _render(value: Any) -> Any:
    """A decoded property value as plain JSON data, markers replaced by their display strings."""
    from divio_storage_infra.preview import mockrun

    if isinstance(value, mockrun.Secret):
        return SECRET_TEXT
    if value is mockrun.UNKNOWN:
        return UNKNOWN_TEXT
    if isinstance(value, mockrun.ResourceRef):
        return value.urn
    if isinstance(value, dict):
        return {str(k): _render(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_render(v) for v in value]
    return value


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
