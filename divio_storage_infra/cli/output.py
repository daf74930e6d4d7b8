"""What the commands print for tools: documents written to stdout as UTF-8 bytes."""

from __future__ import annotations

import sys


def write_document(text: str) -> None:
    """Write ``text`` to stdout as UTF-8 whatever the locale's encoding: plans, diffs and import files are contracts
    that people diff byte for byte."""
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.buffer.flush()
