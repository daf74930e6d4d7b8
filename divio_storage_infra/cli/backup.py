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
    parser.epilog = (
        "DSNs are read from $DEFAULT_STORAGE_DSN, $PRIVATE_STORAGE_DSN, $BACKUP_STORAGE_DSN and "
        "$PRIVATE_BACKUP_STORAGE_DSN when not given as options. Exit status: 0 done, 1 a copy failed, 2 bad input, "
        "3 a store could not be reached (an untrusted certificate, say) or an internal error, 130 interrupted."
    )
    configure_common(parser)


def run(args: argparse.Namespace) -> int:
    """Back up every store given; the exit status."""
    return transfer("backup", args)
