"""``divio-storage bench``: how much slower a deployed store is than the local disk, and what that means for the app.

The same workload runs in a temporary directory on this machine and on the store named by the DSN (``--dsn``,
``--dsn-env NAME`` or ``DEFAULT_STORAGE_DSN``; the ``endpoint_url`` extension is honoured): small-object writes,
reads and deletes per second, time to first byte (p50, p95) and large-object upload and download throughput.
Measuring stops at ``--budget`` seconds; every object written is removed afterwards, also after an error or
Ctrl-C, and what could not be removed is listed. Exit status: 0 measured and cleaned up, 1 an operation failed or
something was left behind, 2 bad input, 3 internal error (one line, and a document with ``--format json``), 130
interrupted. Nothing printed contains a secret.

``--private-dsn`` / ``--private-dsn-env`` measure the private store instead. ``--timeout`` bounds each wait (for
a connection and its TLS handshake; for the next bytes of an answer, at least 30 s), never a transfer that keeps
moving; ``--budget`` ends the run, transfers in flight included. CA bundle, proxies and retries as for
``check`` (:mod:`divio_storage_infra.connection`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import TYPE_CHECKING, Any

from divio_storage_infra.cli.check import (
    DEFAULT_ENV,
    PRIVATE_ENV,
    _parse,
    _seconds,
    internal_error,
)
from divio_storage_infra.cli.errors import UsageError
from divio_storage_infra.cli.options import TEXT, add_ca_bundle, add_format_option, read_dsn, whole_number
from divio_storage_infra.core.dsn import DsnError

if TYPE_CHECKING:
    from divio_storage_infra.probes.bench import BenchReport

_SIZE_RE = re.compile(r"^([0-9]+)\s*([KMG]i?B?|B)?$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
MAX_SMALL_SIZE = 1024**2
MAX_LARGE_SIZE = 512 * 1024**2
JSON_VERSION = 1


def _size(limit: int) -> Any:
    """An argparse type: a byte size like ``4096``, ``4K``, ``16MiB`` (binary units), from 1 byte to ``limit``."""

    def parse(value: str) -> int:
        match = _SIZE_RE.match(value.strip())
        if match is None:
            raise argparse.ArgumentTypeError(f"{value[:40]!r}: expected a size in bytes, e.g. 4096, 4K or 16MiB")
        unit = (match.group(2) or "").upper()[:1]
        number = int(match.group(1)) * _UNITS[unit]
        if not 1 <= number <= limit:
            raise argparse.ArgumentTypeError(f"{value[:40]!r}: expected 1 byte to {_human(limit)}")
        return number

    return parse


def _budget(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value[:40]!r} is not a number of seconds") from None
    if not 1 <= number <= 3600:
        raise argparse.ArgumentTypeError(f"{value[:40]!r}: expected 1 to 3600 seconds")
    return number


def _human(size: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} B"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``bench`` sub-command's arguments."""
    parser.epilog = (
        f"The DSN is read from ${DEFAULT_ENV} when --dsn is not given; prefer that, so the secret stays out of "
        "shell history. Exit status: 0 measured and cleaned up, 1 an operation failed or objects were left "
        "behind, 2 bad input, 130 interrupted (after cleanup)."
    )
    parser.add_argument("--dsn", metavar="DSN", help=f"the store's DSN (default: ${DEFAULT_ENV})")
    parser.add_argument(
        "--dsn-env", metavar="NAME", help=f"read the DSN from environment variable NAME ({DEFAULT_ENV})"
    )
    parser.add_argument("--private-dsn", metavar="DSN", help="measure the private store of this DSN instead")
    parser.add_argument(
        "--private-dsn-env",
        metavar="NAME",
        help=f"measure the private store whose DSN is in environment variable NAME (e.g. {PRIVATE_ENV}) instead",
    )
    parser.add_argument(
        "--small-size", type=_size(MAX_SMALL_SIZE), default=4096, metavar="SIZE", help="small object size (4K)"
    )
    parser.add_argument(
        "--small-count", type=whole_number(1, 100_000), default=100, metavar="N", help="small objects (default: 100)"
    )
    parser.add_argument(
        "--large-size", type=_size(MAX_LARGE_SIZE), default=16 * 1024**2, metavar="SIZE", help="large size (16M)"
    )
    parser.add_argument(
        "--large-count", type=whole_number(1, 100), default=2, metavar="N", help="large objects (default: 2)"
    )
    parser.add_argument(
        "--concurrency", type=whole_number(1, 64), default=8, metavar="N", help="parallel requests (default: 8)"
    )
    parser.add_argument(
        "--budget",
        type=_budget,
        default=60.0,
        metavar="SECONDS",
        help="time for measuring, local disk and store together (default: 60); cleanup comes after it",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=5.0,
        metavar="SECONDS",
        help="longest wait for a connection and its TLS handshake (default: 5), and for the next bytes of an answer "
        "(at least 30); a transfer that keeps moving is never cut by it, only by --budget",
    )
    add_ca_bundle(parser)
    parser.add_argument(
        "--local-dir", metavar="DIR", help="where the local temporary directory is made (default: the system's)"
    )
    add_format_option(parser, (TEXT, "json"), "text for people, json for tools", aliases={"table": TEXT})


def _chosen_dsn(args: argparse.Namespace) -> tuple[str, str]:
    """The DSN to measure and where it came from: the public store's, or the private store's when asked."""
    private = args.private_dsn is not None or args.private_dsn_env is not None
    if private and (args.dsn is not None or args.dsn_env is not None):
        raise UsageError("give the public store's DSN (--dsn / --dsn-env) or the private one's, not both")
    if private:
        given = read_dsn(args, "--private-dsn", default_env=PRIVATE_ENV, required=True)
        return given.text, "--private-dsn" if args.private_dsn is not None else "the private store's DSN"
    found = read_dsn(args, "--dsn", default_env=DEFAULT_ENV)
    if found is None:
        raise DsnError.one("--dsn", None, f"give --dsn or --dsn-env, or set {DEFAULT_ENV} in the environment")
    return found.text, "--dsn" if args.dsn is not None else "the store's DSN"


def run(args: argparse.Namespace) -> int:
    """Measure, print the report; 0 when complete and clean, 1 otherwise, 3 internal error, 130 on Ctrl-C
    (DsnError / UsageError for bad input)."""
    dsn, where = _chosen_dsn(args)
    parsed = _parse(dsn, where)
    if (args.dsn is not None or args.private_dsn is not None) and parsed.has_credentials:
        print(
            f"note: a secret on the command line is visible in shell history and process lists; prefer ${DEFAULT_ENV}",
            file=sys.stderr,
        )

    from divio_storage_infra.connection import settings_from_environment
    from divio_storage_infra.probes.base import Redactor
    from divio_storage_infra.probes.bench import BenchOptions, Interrupted, measure

    options = BenchOptions(
        small_size=args.small_size,
        small_count=args.small_count,
        large_size=args.large_size,
        large_count=args.large_count,
        concurrency=args.concurrency,
        budget=args.budget,
        timeout=args.timeout,
        settings=settings_from_environment(ca_bundle=args.ca_bundle),
    )
    redact = Redactor([parsed.secret, parsed.sas_token, parsed.account_key])
    store = {"dsn": redact(parsed.masked()), "cloud": parsed.cloud, "endpoint": parsed.effective_endpoint_url}
    try:
        report = measure(parsed, options, local_parent=args.local_dir)
    except Interrupted as interrupt:
        print(redact(render(interrupt.report, store, args.format)))
        print(redact(interrupted_note(interrupt.report)), file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - a bug must still end in one line and, for json, a document
        line = internal_error(error, redact)
        print(line, file=sys.stderr)
        if args.format == "json":
            print(json.dumps({"version": JSON_VERSION, "ok": False, "store": store, "error": line[7:]}, sort_keys=True))
        return 3
    print(redact(render(report, store, args.format)))
    return 0 if report.ok else 1


def render(report: BenchReport, store: dict[str, str], fmt: str) -> str:
    """The report in the chosen format."""
    return render_json(report, store) if fmt == "json" else render_table(report, store)


def interrupted_note(report: BenchReport) -> str:
    """What Ctrl-C left: nothing, or the objects to remove by hand."""
    if not report.left:
        return f"interrupted: removed everything written ({report.written} objects and the local directory)"
    return "interrupted: could not remove, delete by hand:\n" + "\n".join(f"  {key}" for key in report.left)


def as_document(report: BenchReport, store: dict[str, str]) -> dict[str, Any]:
    """The JSON contract (``version`` 1): store, workload, figures, advice, cleanup, errors; keys sorted."""
    options = report.options
    return {
        "version": JSON_VERSION,
        "ok": report.ok,
        "store": store,
        "local_dir": report.local_dir,
        "workload": {
            "small_size_bytes": options.small_size,
            "small_count": options.small_count,
            "large_size_bytes": options.large_size,
            "large_count": options.large_count,
            "concurrency": options.concurrency,
            "budget_seconds": options.budget,
        },
        "elapsed_seconds": round(report.elapsed, 3),
        "budget_reached": report.budget_reached,
        "interrupted": report.interrupted,
        "figures": [figure.as_dict() for figure in report.figures],
        "advice": [{"id": key, "text": text} for key, text in report.advice],
        "cleanup": {"written": report.written, "complete": not report.left, "left": list(report.left)},
        "errors": list(report.errors),
    }


def render_json(report: BenchReport, store: dict[str, str]) -> str:
    """The report as indented JSON with sorted keys."""
    return json.dumps(as_document(report, store), indent=2, sort_keys=True)


def _cell(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.1f}" if value >= 10 else f"{value:.2f}"


def render_table(report: BenchReport, store: dict[str, str]) -> str:
    """The report as a table (figure, store, local disk, how much slower the store is), then advice and cleanup."""
    options = report.options
    lines = [
        f"store ({store['cloud']}) at {store['endpoint']}: {store['dsn']}",
        f"local disk: {report.local_dir}",
        f"workload: {options.small_count} x {_human(options.small_size)}, {options.large_count} x "
        f"{_human(options.large_size)}, {options.concurrency} in parallel; budget {options.budget:g} s, "
        f"took {report.elapsed:.1f} s"
        + (" (budget reached: fewer operations than asked)" if report.budget_reached else ""),
        "",
    ]
    rows = [("FIGURE", "STORE", "LOCAL DISK", "STORE IS")]
    for figure in report.figures:
        ratio = figure.slower_by
        verdict = "-" if ratio is None else (f"{ratio:,.0f}x slower" if ratio >= 1.5 else "about the same")
        if ratio is not None and ratio < 1 / 1.5:
            verdict = f"{1 / ratio:,.1f}x faster"
        rows.append((f"{figure.label} ({figure.unit})", _cell(figure.store), _cell(figure.local), verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(widths[i + 1]) for i, cell in enumerate(row[1:3])]
        lines.append("  ".join([*cells, row[3]]).rstrip())
    if report.errors:
        lines += ["", "errors:"] + [f"  - {error}" for error in report.errors]
    lines += ["", "advice:"] + [f"  - {text}" for _, text in report.advice]
    lines.append("")
    if report.left:
        lines.append("cleanup INCOMPLETE, delete by hand:")
        lines += [f"  {key}" for key in report.left]
    else:
        lines.append(f"cleanup: removed all {report.written} objects written to the store and the local directory")
    return "\n".join(lines)
