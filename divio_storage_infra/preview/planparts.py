"""The plan document in parts: each run's share of it rendered, sorted and spilled to files, merged in order.

A platform plan of thousands of websites is tens of megabytes of JSON per thousand websites (about 33 KB per
website), and the records a run declared are several times that in Python objects. So no process keeps them: each
run (one block of a plan, see :mod:`.blockplan`) turns what it declared into the pieces of the document right away
(each resource as the JSON text it has in the document, each stack output, each component's notes; for the text
form each top-level subtree and website line), masks secrets in them, and writes each kind sorted by its key (URN
or output name) to a file of its own. The runs' files are merged in key order (:func:`merge_files`) into one file
per kind, where resources that several runs declared (a shared provider) must be the same text, as one run would
refuse two different registrations of one URN. Writing the document then streams those files: the memory of a
plan is that of one block, whatever the size of the fleet. :meth:`PlanParts.document` reads them back into the
document (the one path of every plan; ``build_plan`` returns it).

The JSON pieces are ``json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False)`` of each value on its own:
nested at depth ``d`` in the document, Python's encoder writes the same text with every line break followed by
``2 * d`` more spaces, so the streamed document is byte for byte :func:`.render.render_json` of the whole.
"""

from __future__ import annotations

import heapq
import itertools
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

JSON_KINDS = ("resources", "outputs", "notes", "stack_notes", "sas")
"""The kinds of pieces the JSON document (and :meth:`PlanParts.document`) is made of."""
TEXT_KINDS = ("urns", "websites", "trees", "output_lines", "notes", "stack_notes", "sas")
"""The kinds of pieces the text form is made of."""
MAX_OPEN = 64
"""The most files one merge step reads at once; more runs are merged in steps."""

Record = tuple[str, str]
"""One piece: its key (URN or output name) and its text."""


class ConflictError(ValueError):
    """Two runs of one plan declared different things under one key (a URN or a stack output)."""


def dump(value: Any) -> str:
    """``value`` as the JSON text of a piece (how the document's JSON writes it at depth 0)."""
    return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False)


def write_records(path: Path, records: Iterable[Record]) -> None:
    """``records`` (sorted by key) as JSON lines."""
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False))
            out.write("\n")


def read_records(path: Path) -> Iterator[Record]:
    """The records of a file :func:`write_records` wrote, in order."""
    with path.open(encoding="utf-8") as source:
        for line in source:
            key, text = json.loads(line)
            yield key, text


def merged(paths: Sequence[Path], kind: str) -> Iterator[Record]:
    """The records of sorted files in key order; a key in several files once (the same text, else ConflictError).

    Notes are a component's own: the first run's notes of a URN are kept (only shared providers repeat).
    """
    streams = [read_records(path) for path in paths]
    for key, group in itertools.groupby(heapq.merge(*streams, key=lambda record: record[0]), key=lambda r: r[0]):
        first, *others = group
        if kind != "notes" and any(text != first[1] for _, text in others):
            what = "stack output" if kind in ("outputs", "output_lines") else "URN"
            raise ConflictError(f"two runs of the plan declare the {what} {key} differently")
        yield first


def merge_files(paths: Sequence[Path], kind: str, out: Path) -> Path:
    """Merge sorted record files into ``out`` (in steps of at most :data:`MAX_OPEN` files); returns ``out``."""
    pending = list(paths)
    step = 0
    while len(pending) > MAX_OPEN:
        grouped = []
        for index in range(0, len(pending), MAX_OPEN):
            target = out.with_name(f"{out.name}.step{step}-{index}")
            write_records(target, merged(pending[index : index + MAX_OPEN], kind))
            grouped.append(target)
        for path in pending:
            path.unlink(missing_ok=True)
        pending, step = grouped, step + 1
    write_records(out, merged(pending, kind))
    for path in pending:  # merged: only ``out`` is read from now on (a large plan's files are large)
        path.unlink(missing_ok=True)
    return out


@dataclass
class Spill:
    """Where one process writes the pieces of its runs: a directory with a file per run and kind."""

    directory: Path
    kinds: tuple[str, ...]
    files: dict[str, list[Path]] = field(default_factory=dict)

    def add(self, pieces: Mapping[str, Sequence[Record]]) -> None:
        """Write the pieces of one run (each kind sorted by key)."""
        for kind in self.kinds:
            records = pieces[kind]
            path = self.directory / f"{os.getpid()}-{len(self.files.get(kind, []))}.{kind}"
            write_records(path, records)
            self.files.setdefault(kind, []).append(path)

    def merge(self, others: Sequence[Mapping[str, Path]] = (), tag: str = "") -> dict[str, Path]:
        """Every run's pieces (this process's and ``others``', e.g. a worker's) merged into one file per kind."""
        found: dict[str, Path] = {}
        for kind in self.kinds:
            inputs = [*self.files.get(kind, []), *(other[kind] for other in others)]
            found[kind] = merge_files(inputs, kind, self.directory / f"merged{tag}-{os.getpid()}.{kind}")
        return found


@dataclass
class PlanParts:
    """A whole plan as merged files of pieces (one per kind) and the few values of its own."""

    project: str
    stack: str
    format: str
    config_notes: list[str]
    files: dict[str, Path]
    keep: tempfile.TemporaryDirectory[str] | None = None
    """The directory of ``files``, removed by :meth:`close`."""

    def records(self, kind: str) -> Iterator[Record]:
        """The merged pieces of one kind, in key order."""
        return read_records(self.files[kind])

    def notes(self) -> list[str]:
        """The document's notes: the config's, each component's in URN order, the stack's; each note once."""
        found: dict[str, None] = dict.fromkeys(self.config_notes)
        for kind in ("notes", "stack_notes"):
            for _urn, text in self.records(kind):
                found.update(dict.fromkeys(json.loads(text)))
        return list(found)

    def sas_terms(self) -> Iterator[dict[str, Any]]:
        """``{"type", "name", "outputs": {"sas_terms": ...}}`` of each resource with SAS terms, in URN order."""
        for _urn, text in self.records("sas"):
            yield json.loads(text)

    def document(self) -> dict[str, Any]:
        """The plan document (see docs/plan-format.md), read back from the pieces."""
        return {
            "format": self.format,
            "project": self.project,
            "stack": self.stack,
            "resources": [json.loads(text) for _urn, text in self.records("resources")],
            "outputs": {name: json.loads(text) for name, text in self.records("outputs")},
            "notes": self.notes(),
        }

    def write_json(self, out: IO[str]) -> None:
        """The document's JSON (what :func:`.render.render_json` of :meth:`document` gives), streamed."""
        out.write("{\n")
        out.write(f'  "format": {json.dumps(self.format, ensure_ascii=False)},\n')
        notes = ((None, json.dumps(note, ensure_ascii=False)) for note in self.notes())
        _write_items(out, '  "notes": [', "]", notes)
        out.write(",\n")
        outputs = ((json.dumps(k, ensure_ascii=False) + ": ", t) for k, t in self.records("outputs"))
        _write_items(out, '  "outputs": {', "}", outputs)
        out.write(f',\n  "project": {json.dumps(self.project, ensure_ascii=False)},\n')
        _write_items(out, '  "resources": [', "]", ((None, text) for _urn, text in self.records("resources")))
        out.write(f',\n  "stack": {json.dumps(self.stack, ensure_ascii=False)}\n}}\n')

    def write_text(self, out: IO[str], indent: str) -> None:
        """The text form (what :func:`.render.render_text` of :meth:`document` gives), streamed; ``indent`` is one
        level of it."""
        count = sum(1 for _ in self.records("urns"))
        out.write(f"Plan of stack {self.stack} (project {self.project}), {self.format}\n")
        out.write(f"{count} resource{'' if count == 1 else 's'}\n\n")
        first = True
        for _urn, line in self.records("websites"):
            out.write("Websites:\n" if first else "")
            out.write(line + "\n")
            first = False
        out.write("" if first else "\n")
        for _urn, text in self.records("trees"):
            out.write(text + "\n")
        out.write("\nOutputs:\n")
        empty = True
        for _name, text in self.records("output_lines"):
            out.write(text + "\n")
            empty = False
        out.write(f"{indent}(none)\n" if empty else "")
        notes = self.notes()
        if notes:
            out.write("\nNotes:\n")
            out.writelines(f"{indent}- {note}\n" for note in notes)

    def close(self) -> None:
        """Remove the files."""
        if self.keep is not None:
            self.keep.cleanup()


def _write_items(out: IO[str], opening: str, closing: str, items: Iterable[tuple[str | None, str]]) -> None:
    """``opening``, each item at depth 2 (``prefix`` then its text, re-indented), ``closing``; ``[]`` when empty."""
    out.write(opening)
    first = True
    for prefix, text in items:
        out.write("\n    " if first else ",\n    ")
        out.write((prefix or "") + text.replace("\n", "\n    "))
        first = False
    out.write(closing if first else "\n  " + closing)
