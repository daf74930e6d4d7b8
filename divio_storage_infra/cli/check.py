"""``divio-storage check``: probe a deployed store from its DSN and say, probe by probe, what works.

With the DSN's own credential it writes a probe object, reads it back and deletes it (always, even when other
probes fail). The public store must serve the object to an anonymous GET and answer CORS preflights: allowed for
each ``--origin``, refused for an origin nobody configured. The private store must refuse the anonymous GET and
serve the object through a signed URL. A DSN with a SAS is first checked for its expiry (``sas-expiry``: fails
once expired, warns on stderr when it expires within ``--warn-days``, default 30). Works for S3 (AWS,
S3-compatible) and Azure Blob, and honours the DSN's
``endpoint_url`` extension for emulators.

DSNs come from ``--dsn`` / ``--private-dsn`` or, keeping secrets off the command line and out of shell history,
from the environment: ``DEFAULT_STORAGE_DSN`` and ``PRIVATE_STORAGE_DSN`` (other names with ``--dsn-env`` /
``--private-dsn-env``). Exit status: 0 every probe passed, 1 a probe failed, 2 bad input (malformed DSN or
options), 130 interrupted (Ctrl-C; the probe object is removed first, or the message says where it is left).
Nothing printed contains a secret.

Bounds: ``--timeout T`` limits each request as a whole (connecting, the answer and its body, however slowly the
server sends it) to T seconds, and each body to 1 MiB. The whole run has a deadline of
``(probes + stores) x T + 3`` seconds (:func:`run_deadline`): probes not done by then fail with "deadline"; only
the removal of the probe object still gets its one request.

Connections (see :mod:`divio_storage_infra.connection`): the CA bundle from ``--ca-bundle``, else
``AWS_CA_BUNDLE``, ``REQUESTS_CA_BUNDLE`` or ``SSL_CERT_FILE``, for every request; proxies from ``HTTPS_PROXY`` /
``HTTP_PROXY`` / ``NO_PROXY``; no ``.netrc``; throttled requests (500/502/503/504, SlowDown, ServerBusy) and
dropped keep-alive connections are tried again, waiting what ``Retry-After`` asks, within the bounds above. An
internal error is exit status 3 with a one-line message (never a traceback); ``--format json`` always prints a
document.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from divio_storage_infra.cli.errors import UsageError
from divio_storage_infra.cli.options import TEXT, add_ca_bundle, add_format_option, read_dsn
from divio_storage_infra.core.dsn import DsnError, ParsedDsn, parse_dsn
from divio_storage_infra.core.rules import check_origin
from divio_storage_infra.core.sas import WARN_DAYS, assess, token_expiry

if TYPE_CHECKING:
    from divio_storage_infra.connection import ConnectionSettings
    from divio_storage_infra.probes.base import ProbeOptions, ProbeResult, Role, StoreReport

DEADLINE_SLACK = 3.0
"""Seconds the run's deadline allows beyond one timeout per probe (setting up SDK clients, printing)."""

DEFAULT_ENV = "DEFAULT_STORAGE_DSN"
PRIVATE_ENV = "PRIVATE_STORAGE_DSN"
REFUSED_ORIGIN = "https://divio-storage-check.invalid"  # same as probes.base.DEFAULT_REFUSED_ORIGIN
_MARK = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}


def _origin(value: str) -> str:
    """An argparse type: a CORS origin as the spec accepts it (``*`` included)."""
    why = check_origin(value, allow_wildcard=True)
    if why is not None:
        raise argparse.ArgumentTypeError(f"{value!r}: {why}")
    return value


def _refused_origin(value: str) -> str:
    """An argparse type: a concrete origin (not ``*``) that the store must refuse."""
    why = check_origin(value, allow_wildcard=False)
    if why is not None:
        raise argparse.ArgumentTypeError(f"{value!r}: {why}")
    return value


def _seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not 0 < number <= 120:
        raise argparse.ArgumentTypeError(f"{value!r}: expected more than 0 and at most 120 seconds")
    return number


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``check`` sub-command's arguments."""
    parser.epilog = (
        f"DSNs are read from ${DEFAULT_ENV} and ${PRIVATE_ENV} when not given as options; prefer that, so "
        "secrets stay out of shell history and process lists. Proxies come from $HTTPS_PROXY / $HTTP_PROXY / "
        "$NO_PROXY. Exit status: 0 all probes passed, 1 a probe failed, 2 bad input, 3 internal error, "
        "130 interrupted."
    )
    parser.add_argument("--dsn", metavar="DSN", help=f"the public store's DSN (default: ${DEFAULT_ENV})")
    parser.add_argument(
        "--dsn-env", metavar="NAME", help=f"read the public store's DSN from environment variable NAME ({DEFAULT_ENV})"
    )
    parser.add_argument("--private-dsn", metavar="DSN", help=f"the private store's DSN (default: ${PRIVATE_ENV})")
    parser.add_argument(
        "--private-dsn-env",
        metavar="NAME",
        help=f"read the private store's DSN from environment variable NAME ({PRIVATE_ENV}; optional)",
    )
    parser.add_argument(
        "--origin",
        dest="origins",
        action="append",
        default=[],
        type=_origin,
        metavar="ORIGIN",
        help="a browser origin the public store must allow (CORS); repeat for each configured origin",
    )
    parser.add_argument(
        "--refused-origin",
        default=REFUSED_ORIGIN,
        type=_refused_origin,
        metavar="ORIGIN",
        help=f"an origin the public store must refuse (default: {REFUSED_ORIGIN})",
    )
    parser.add_argument(
        "--fetch-custom-domain",
        action="store_true",
        help="also fetch the probe object through the DSN's custom media domain (needs its DNS and CDN)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=5.0,
        metavar="SECONDS",
        help="seconds each request may take in all: connect, answer and body (default: 5); the whole run ends "
        "within (probes + stores) x SECONDS + 3",
    )
    parser.add_argument(
        "--warn-days",
        type=warn_days_type,
        default=WARN_DAYS,
        metavar="DAYS",
        help=f"warn when a DSN's SAS expires within DAYS days (default: {WARN_DAYS}); an expired SAS fails",
    )
    add_ca_bundle(parser)
    add_format_option(parser, (TEXT, "json"), "text for people, json for tools", aliases={"table": TEXT})


def internal_error(error: BaseException, redact: Callable[[str], str]) -> str:
    """The one line printed for an unexpected failure (exit status 3): its kind and message, secrets masked."""
    text = " ".join(f"{type(error).__name__}: {error}".split())
    text = "".join(char for char in redact(text) if char.isprintable())
    return f"error: internal error (a bug; please report it): {text[:300]}"


def warn_days_type(value: str) -> int:
    """An argparse type: a whole number of days from 0 to 3650."""
    if not value.strip().isascii() or not value.strip().isdigit() or not 0 <= int(value) <= 3650:
        raise argparse.ArgumentTypeError(f"{value[:20]!r}: expected a whole number of days from 0 to 3650")
    return int(value)


def sas_expiry_probe(parsed: ParsedDsn, role: Role, warn_days: int, now: dt.datetime) -> ProbeResult | None:
    """The ``sas-expiry`` probe of a DSN with a SAS (None without one): fails once expired; says when it expires."""
    from divio_storage_infra.probes.base import ProbeResult

    if parsed.sas_token is None:
        return None
    expires = token_expiry(parsed.sas_token)
    if expires is None:
        return ProbeResult(role, "sas-expiry", "fail", "the SAS names no expiry (se) that can be read")
    state = assess(expires, now=now, warn_days=warn_days)
    if state.expired:
        return ProbeResult(role, "sas-expiry", "fail", f"{state.sentence()}; the app's requests are refused")
    if state.warn:
        return ProbeResult(role, "sas-expiry", "pass", f"warning: {state.sentence()} (under {warn_days}); rotate it")
    return ProbeResult(role, "sas-expiry", "pass", state.sentence())


def _parse(dsn: str, where: str) -> ParsedDsn:
    try:
        return parse_dsn(dsn)
    except DsnError as error:
        raise DsnError(error.problems, context=where) from None


def run(args: argparse.Namespace) -> int:
    """Probe the stores, print the report; 0 when every probe passed, 1 otherwise (DsnError for bad input)."""
    public = read_dsn(args, "--dsn", default_env=DEFAULT_ENV)
    private = read_dsn(args, "--private-dsn", default_env=PRIVATE_ENV)
    public_dsn = None if public is None else public.text
    private_dsn = None if private is None else private.text
    if public_dsn is None and private_dsn is None:
        raise UsageError(
            f"no DSN: environment variables {DEFAULT_ENV} and {PRIVATE_ENV} are not set (or empty); set one or "
            "both, name others with --dsn-env / --private-dsn-env, or pass --dsn / --private-dsn"
        )
    stores: list[tuple[Role, ParsedDsn]] = []
    if public_dsn is not None:
        stores.append(("public", _parse(public_dsn, "--dsn" if args.dsn is not None else "the public store's DSN")))
    if private_dsn is not None:
        where = "--private-dsn" if args.private_dsn is not None else "the private store's DSN"
        stores.append(("private", _parse(private_dsn, where)))
    if (args.dsn is not None or args.private_dsn is not None) and any(p.has_credentials for _, p in stores):
        print(
            f"note: a secret on the command line is visible in shell history and process lists; "
            f"prefer ${DEFAULT_ENV} / ${PRIVATE_ENV}",
            file=sys.stderr,
        )

    from divio_storage_infra.connection import settings_from_environment

    settings = settings_from_environment(ca_bundle=args.ca_bundle)
    redact = _redactor(stores)
    reports: list[StoreReport] = []
    try:
        code = _probe_all(args, stores, settings, reports)
    except Exception as error:  # noqa: BLE001 - a bug must still end in one line and, for json, a document
        line = internal_error(error, redact)
        print(line, file=sys.stderr)
        if args.format == "json":
            print(render_json(reports, error=line.removeprefix("error: ")))
        return 3
    if code == 130:
        if args.format == "json":
            print(render_json(reports, error="interrupted"))
        return 130
    print(render_json(reports) if args.format == "json" else render_table(reports))
    return code


def _redactor(stores: list[tuple[Role, ParsedDsn]]) -> Callable[[str], str]:
    from divio_storage_infra.probes.base import Redactor

    return Redactor([value for _, p in stores for value in (p.secret, p.sas_token, p.account_key)])


def _probe_all(
    args: argparse.Namespace,
    stores: list[tuple[Role, ParsedDsn]],
    settings: ConnectionSettings,
    reports: list[StoreReport],
) -> int:
    """Probe each store into ``reports``; 0 all passed, 1 a probe failed, 130 interrupted (message printed)."""
    # The SDKs are imported here, not at the top: `divio-storage --help` and `dsn` must not pay for them.
    from divio_storage_infra.probes.base import Interrupted, probe_options

    origins = tuple(args.origins)
    seconds = run_deadline([role for role, _ in stores], origins, args.timeout, args.fetch_custom_domain)
    options = probe_options(
        timeout=args.timeout,
        settings=settings,
        deadline=seconds,
        origins=origins,
        refused_origin=args.refused_origin,
        fetch_custom_domain=args.fetch_custom_domain,
    )
    now = dt.datetime.now(dt.UTC)
    try:
        for role, parsed in stores:
            report = check_store(parsed, role, options)
            expiry = sas_expiry_probe(parsed, role, args.warn_days, now)
            if expiry is not None:
                report.probes.insert(0, expiry)
                if expiry.detail.startswith("warning: "):
                    print(f"warning: {role} store: {expiry.detail.removeprefix('warning: ')}", file=sys.stderr)
            reports.append(report)
    except Interrupted as stop:
        print(stop.message, file=sys.stderr)
        return 130
    return 0 if all(r.ok for r in reports) else 1


def run_deadline(roles: list[Role], origins: tuple[str, ...], timeout: float, fetch_custom_domain: bool) -> float:
    """Seconds the whole run may take: one ``timeout`` per probe and per store (the clean-up), plus slack."""
    probes = 0
    for role in roles:
        if role == "public":
            cors = len(origins) + (0 if "*" in origins else 1)
            probes += 4 + cors + (1 if fetch_custom_domain else 0)  # write, read, public-read, delete
        else:
            probes += 5
    return (probes + len(roles)) * timeout + DEADLINE_SLACK


def check_store(parsed: ParsedDsn, role: Role, options: ProbeOptions) -> StoreReport:
    """Run every probe of one store (``public`` or ``private``) and return its report."""
    from divio_storage_infra.probes.base import ProbeResult, Redactor, StoreClient, StoreReport, one_line, probe_store

    store: StoreClient
    try:
        if parsed.scheme == "az":
            from divio_storage_infra.probes.azure import AzureStore

            store = AzureStore(parsed, role, options)
        else:
            from divio_storage_infra.probes.s3 import S3Store

            store = S3Store(parsed, role, options)
    except Exception as error:  # noqa: BLE001 - an SDK that refuses the DSN's values is a failed probe, not a crash
        redact = Redactor([parsed.secret, parsed.sas_token, parsed.account_key])
        why = one_line(redact(f"cannot set up a client: {type(error).__name__}: {error}"))
        failed = ProbeResult(role, "connect", "fail", why)
        return StoreReport(role, parsed.masked(), parsed.cloud, parsed.effective_endpoint_url, [failed])
    results = probe_store(store, options)
    return StoreReport(role, store.redact(parsed.masked()), parsed.cloud, store.endpoint, results)


def render_json(reports: list[StoreReport], *, error: str | None = None) -> str:
    """The report as JSON: ``{"ok": bool, "stores": [...], "summary": {...}}``, keys sorted (a stable contract);
    with ``error`` (an internal error, or ``interrupted``) ``ok`` is false and ``error`` says why."""
    probes = [p for r in reports for p in r.probes]
    summary = {status: sum(1 for p in probes if p.status == status) for status in ("pass", "fail", "skip")}
    document: dict[str, object] = {
        "ok": error is None and all(r.ok for r in reports),
        "stores": [r.as_dict() for r in reports],
        "summary": summary,
    }
    if error is not None:
        document["error"] = error
    return json.dumps(document, indent=2, sort_keys=True)


def render_table(reports: list[StoreReport]) -> str:
    """The report as a table: store, probe, PASS/FAIL/SKIP and the reason, then a one-line verdict."""
    lines: list[str] = []
    for report in reports:
        lines.append(f"{report.role} store ({report.cloud}) at {report.endpoint}: {report.dsn}")
    rows = [("STORE", "PROBE", "RESULT", "DETAIL")]
    rows += [(p.store, p.name, _MARK[p.status], p.detail) for r in reports for p in r.probes]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines.append("")
    for row in rows:
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
    probes = [p for r in reports for p in r.probes]
    failed = sum(1 for p in probes if p.status == "fail")
    skipped = sum(1 for p in probes if p.status == "skip")
    passed = len(probes) - failed - skipped
    lines.append("")
    verdict = "OK" if failed == 0 and skipped == 0 else "FAILED"
    lines.append(f"{verdict}: {passed} passed, {failed} failed, {skipped} not run")
    return "\n".join(lines)
