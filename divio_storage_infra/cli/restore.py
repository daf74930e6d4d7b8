"""``divio-storage restore``: put each backup back into the store it came from, with that store's visibility.

Public to public, private to private, with content type, cache control and metadata; on Exoscale objects of the
public store get ``public-read`` and those of the private store none. ``--point-in-time`` restores each key as it
was then, where the backup keeps versions. An interrupted restore resumes where it stopped. See docs/backup.md.
"""

from __future__ import annotations

import argparse
import datetime as dt

from divio_storage_infra.cli.transfer import configure_common, transfer


def _moment(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value[:40]!r}: expected an ISO 8601 time with its offset, e.g. 2026-01-31T12:00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value[:40]!r}: give the offset too (Z for UTC)")
    return moment


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``restore`` sub-command's arguments."""
    configure_common(parser)
    parser.add_argument(
        "--point-in-time",
        type=_moment,
        metavar="TIME",
        help="restore each object as it was at TIME (ISO 8601 with offset), from the versions the backup keeps",
    )


def run(args: argparse.Namespace) -> int:
    """Restore every store given; the exit status."""
    return transfer("restore", args, when=args.point_in_time)
