"""What the commands print for tools: documents written to stdout as UTF-8 bytes."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from typing import IO


def write_document(text: str) -> None:
    """Write ``text`` to stdout as UTF-8 whatever the locale's encoding: plans, diffs and import files are contracts
    that people diff byte for byte."""
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.buffer.flush()


def stream_document(write: Callable[[IO[str]], None]) -> None:
    """Let ``write`` write a document to stdout piece by piece, as UTF-8 with ``\\n`` line ends whatever the locale
    (a large plan is never held whole)."""
    sys.stdout.flush()
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")
    try:
        write(out)
        out.flush()
    finally:
        out.detach()
