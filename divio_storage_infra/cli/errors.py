"""The CLI's own bad-input error: a wrong combination of options or a missing input, said in one sentence."""

from __future__ import annotations


class UsageError(Exception):
    """Bad command-line input that is not a spec or DSN problem (exit status 2); the message says what to do."""
