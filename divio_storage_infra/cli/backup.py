"""``divio-storage backup``: copy each store into its own backup, what the provider does not replicate itself.

Incremental and idempotent: only objects the backup lacks (or holds with other content) are copied, each verified
by checksum, never with a public ACL. Each backup must carry the markers of the store it belongs to (declared by
``backup: true``); DSNs given in the wrong places are refused before anything is copied. See docs/backup.md.
"""

from __future__ import annotations

import argparse

from divio_storage_infra.cli.transfer import configure_common, transfer


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``backup`` sub-command's arguments."""
    configure_common(parser)


def run(args: argparse.Namespace) -> int:
    """Back up every store given; the exit status."""
    return transfer("backup", args)
