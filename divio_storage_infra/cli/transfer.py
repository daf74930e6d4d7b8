"""What ``backup`` and ``restore`` share: the four DSNs, the options, progress on stderr, the report and exit status.

DSNs come from options or, keeping secrets off the command line, from the environment: ``DEFAULT_STORAGE_DSN``,
``PRIVATE_STORAGE_DSN``, ``BACKUP_STORAGE_DSN``, ``PRIVATE_BACKUP_STORAGE_DSN`` (other names with ``--*-env``).
Exit status: 0 every object copied or unchanged, 1 a copy failed, 2 bad input (a DSN missing, malformed or naming
the wrong store), 3 a store could not be reached (an untrusted certificate, say) or an internal error (one
line), 130 interrupted.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from divio_storage_infra.cli.errors import UsageError
from divio_storage_infra.cli.options import add_ca_bundle, read_dsn, whole_number
from divio_storage_infra.core.dsn import DsnError, ParsedDsn, parse_dsn
from divio_storage_infra.core.masking import SecretMask

if TYPE_CHECKING:
    from divio_storage_infra.backup.objects import Entry
    from divio_storage_infra.backup.operation import Direction
    from divio_storage_infra.backup.sync import Counts
    from divio_storage_infra.connection import ConnectionSettings

# (option stem, default environment variable, role, live or backup)
DSN_SOURCES: tuple[tuple[str, str, str, str], ...] = (
    ("dsn", "DEFAULT_STORAGE_DSN", "public", "live"),
    ("private-dsn", "PRIVATE_STORAGE_DSN", "private", "live"),
    ("backup-dsn", "BACKUP_STORAGE_DSN", "public", "backup"),
    ("private-backup-dsn", "PRIVATE_BACKUP_STORAGE_DSN", "private", "backup"),
)
PROGRESS_SECONDS = 1.0
"""At most one progress line per store per this many seconds on stderr (and one at the end)."""


def _prefix(value: str) -> str:
    if len(value) > 1024 or any(ord(c) < 32 for c in value):
        raise argparse.ArgumentTypeError(f"{value[:40]!r}: expected a key prefix of at most 1024 printable characters")
    return value


def _what(role: str, kind: str) -> str:
    return f"the {role} store's {'backup ' if kind == 'backup' else ''}DSN"


def configure_common(parser: argparse.ArgumentParser) -> None:
    """Add the options ``backup`` and ``restore`` share, and their common epilog (DSN variables, exit status)."""
    variables = [f"${env}" for _stem, env, _role, _kind in DSN_SOURCES]
    parser.epilog = (
        f"DSNs are read from {', '.join(variables[:-1])} and {variables[-1]} when not given as options. "
        "Exit status: 0 done, 1 a copy failed, 2 bad input, 3 a store could not be reached (an untrusted "
        "certificate, say) or an internal error, 130 interrupted."
    )
    for stem, env, role, kind in DSN_SOURCES:
        what = _what(role, kind)
        parser.add_argument(f"--{stem}", metavar="DSN", help=f"{what} (default: ${env})")
        parser.add_argument(f"--{stem}-env", metavar="NAME", help=f"read {what} from environment variable NAME ({env})")
    parser.add_argument("--prefix", default="", type=_prefix, help="only objects whose key starts with PREFIX")
    parser.add_argument("--dry-run", action="store_true", help="list what would be copied; copy nothing")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="the report on stdout")
    add_ca_bundle(parser)
    parser.add_argument(
        "--workers",
        type=whole_number(1, 64, "parallel copies"),
        default=16,
        help="objects copied in parallel (default: 16)",
    )


def _read_dsn(args: argparse.Namespace, stem: str, env: str, what: str) -> tuple[ParsedDsn | None, str]:
    given = read_dsn(args, f"--{stem}", default_env=env, what=what)
    if given is None:
        return None, f"${env}"
    try:
        return parse_dsn(given.text), given.source
    except DsnError as error:
        raise UsageError(f"{given.source}: {error}") from None


def dsns(args: argparse.Namespace) -> list[Any]:
    """The DSNs by role, as the operation wants them."""
    from divio_storage_infra.backup.operation import StoreDsns

    read = {
        (role, kind): _read_dsn(args, stem, env, f"DSN of the {role} store" + ("'s backup" if kind == "backup" else ""))
        for stem, env, role, kind in DSN_SOURCES
    }
    return [
        StoreDsns(
            role="public" if role == "public" else "private",
            live=read[(role, "live")][0],
            backup=read[(role, "backup")][0],
            live_name=read[(role, "live")][1],
            backup_name=read[(role, "backup")][1],
        )
        for role in ("public", "private")
    ]


def failure_words(error: BaseException, settings: ConnectionSettings, redact: Callable[[str], str]) -> str:
    """One line for a failure that ended the run: the shared words for a failure on the way to a store (an
    untrusted or expired certificate, a proxy, a dropped connection...), else the error's kind and message;
    ``redact`` masks secrets before the line is cut to 400 characters."""
    from divio_storage_infra.connection import describe, failed_url

    url = failed_url(error)
    failure = describe(error, url=url, settings=settings) if url is not None else None
    text = failure.words if failure is not None else f"{type(error).__name__}: {error}"
    return " ".join(redact(text).split())[:400]


def _progress(verb: str) -> Callable[[Counts], None]:
    last: dict[str, float] = {}

    def report(counts: Counts) -> None:
        now = time.monotonic()
        if now - last.get(counts.role, 0.0) >= PROGRESS_SECONDS:
            last[counts.role] = now
            print(f"{verb} {counts.role}: {_line(counts)}", file=sys.stderr, flush=True)

    return report


def _line(counts: Counts) -> str:
    return (
        f"{counts.listed} listed, {counts.copied} copied, {counts.unchanged} unchanged, {counts.failed} failed, "
        f"{counts.bytes} bytes"
    )


def transfer(direction: Direction, args: argparse.Namespace, when: Any = None) -> int:
    """Run ``direction`` with the parsed arguments; print the report; the exit status."""
    from divio_storage_infra.backup.connection import Connection, backup_settings
    from divio_storage_infra.backup.identity import WrongPlace
    from divio_storage_infra.backup.operation import execute, routes

    stop = threading.Event()
    # An unusable CA bundle is bad input (exit 2, naming the option or variable), before any DSN is read.
    connection = Connection(settings=backup_settings(args.ca_bundle), workers=args.workers)
    verb = "backed up" if direction == "backup" else "restored"

    def listed(role: str, entry: Entry) -> None:
        if args.format == "text":
            print(f"would copy {role}: {entry.key} ({entry.size} bytes)", flush=True)

    mask = SecretMask(marker="***", min_length=6)
    try:
        given = dsns(args)
        for item in given:
            for parsed in (item.live, item.backup):
                if parsed is not None:
                    for secret in (parsed.secret, parsed.account_key, parsed.sas_token):
                        mask.add(secret)
                        mask.add(base64.b64encode(secret.encode()).decode() if secret else None)
        planned = routes(given, connection, stop)
        counts = execute(
            direction,
            planned,
            connection,
            stop,
            prefix=args.prefix,
            when=when,
            dry_run=args.dry_run,
            report=_progress(verb),
            listed=listed,
        )
    except WrongPlace as error:
        raise UsageError(str(error)) from None
    except (UsageError, KeyboardInterrupt):
        raise
    except Exception as error:  # noqa: BLE001 - one line, never a traceback, secrets masked
        print(f"error: {direction} failed: {failure_words(error, connection.settings, mask)}", file=sys.stderr)
        return 3
    for item in counts:
        print(f"{verb} {item.role}: {_line(item)}", file=sys.stderr)
    if args.format == "json":
        document = {"command": direction, "dry_run": args.dry_run, "stores": [c.as_dict() for c in counts]}
        print(json.dumps(document, indent=2, sort_keys=True))
    elif not args.dry_run:
        for item in counts:
            print(f"{item.role}: {_line(item)}")
            for failure in item.failures:
                print(f"  failed: {failure}")
    return 1 if any(c.failed for c in counts) else 0
