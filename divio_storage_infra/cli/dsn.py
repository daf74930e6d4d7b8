"""``divio-storage dsn``: explain a storage DSN and print the Django settings it yields, secrets masked.

The DSN comes from the command line, from ``--env NAME`` or from ``DEFAULT_STORAGE_DSN``; the environment keeps the
secret out of shell history and process lists. With the private store's DSN (``--private-env NAME`` or
``--private-dsn``) the settings include the private storage (signed URLs) and django-filer's private half.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pprint
import sys
from typing import Any
from urllib.parse import quote

from divio_storage_infra.cli.errors import UsageError
from divio_storage_infra.core.app_settings import settings_for
from divio_storage_infra.core.clouds import capabilities
from divio_storage_infra.core.dsn import MASK, DsnError, ParsedDsn, parse_dsn

DEFAULT_ENV = "DEFAULT_STORAGE_DSN"
_MIN_SCRUB = 8


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``dsn`` sub-command's arguments."""
    parser.add_argument(
        "dsn",
        nargs="?",
        metavar="DSN",
        help=f"the storage DSN; prefer --env or ${DEFAULT_ENV}, which keep the secret off the command line",
    )
    parser.add_argument(
        "--env",
        metavar="NAME",
        help=f"read the DSN from environment variable NAME (default: {DEFAULT_ENV} when no DSN is given)",
    )
    parser.add_argument(
        "--private-env",
        metavar="NAME",
        help="read the private store's DSN from environment variable NAME (e.g. PRIVATE_STORAGE_DSN)",
    )
    parser.add_argument(
        "--private-dsn",
        metavar="DSN",
        help="the private store's DSN; prefer --private-env, which keeps the secret hidden",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")


def run(args: argparse.Namespace) -> int:
    """Print what the DSN means and its Django settings; DsnError (exit 2 in the CLI) for a malformed DSN."""
    dsn = _read_dsn(args.dsn, args.env)
    parsed = parse_dsn(dsn)
    private = _read_private(args.private_dsn, args.private_env)
    on_command_line = (args.dsn is not None and parsed.has_credentials) or (
        args.private_dsn is not None and private is not None and private.has_credentials
    )
    if on_command_line:
        print(
            f"note: a secret on the command line is visible in shell history and process lists; "
            f"prefer --env NAME or ${DEFAULT_ENV}",
            file=sys.stderr,
        )
    report = explain(parsed, private)
    if args.format == "json":
        print(json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False))
    else:
        print(render_text(report))
    return 0


def _read_dsn(given: str | None, env: str | None) -> str:
    """The DSN from the argument, ``--env NAME`` or DEFAULT_STORAGE_DSN, in that order of precedence."""
    if given is not None and env is not None:
        raise UsageError("give the DSN as an argument or with --env NAME, not both")
    if given is not None:
        return given
    name = env or DEFAULT_ENV
    value = os.environ.get(name, "")
    if not value.strip():
        how = (
            "set it to a storage DSN, or pass the DSN as an argument"
            if env
            else "set it to a storage DSN, name another variable with --env NAME, or pass the DSN as an argument"
        )
        raise UsageError(f"no DSN: environment variable {_shown_name(name)} is not set (or empty); {how}")
    return value


def _read_private(given: str | None, env: str | None) -> ParsedDsn | None:
    """The private store's DSN from ``--private-dsn`` or ``--private-env NAME``, parsed; None when neither is given."""
    if given is not None and env is not None:
        raise UsageError("give the private DSN with --private-dsn or --private-env NAME, not both")
    if given is None and env is None:
        return None
    value = given if given is not None else os.environ.get(str(env), "")
    if not value.strip():
        raise UsageError(
            f"no private DSN: environment variable {_shown_name(str(env))} is not set (or empty); set it to the "
            "private store's DSN, or pass it with --private-dsn"
        )
    try:
        return parse_dsn(value)
    except DsnError as error:
        raise DsnError(error.problems, context="the private store's DSN") from None


def _shown_name(name: str) -> str:
    """A variable name as given, fit to print (bounded, no control characters)."""
    cleaned = "".join(char for char in name if char.isprintable())
    return cleaned if len(cleaned) <= 60 else cleaned[:57] + "..."


def _hide(parsed: ParsedDsn) -> ParsedDsn:
    """The same DSN with every secret field replaced by ``***``, so nothing derived from it can show a secret."""
    return dataclasses.replace(
        parsed,
        secret=MASK if parsed.secret is not None else None,
        account_key=MASK if parsed.account_key is not None else None,
        sas_token=MASK if parsed.sas_token is not None else None,
    )


def _scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    """Belt and braces: ``value`` with any remaining occurrence of a secret in its strings replaced by ``***``."""
    if isinstance(value, dict):
        return {key: _scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, secrets) for item in value]
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, MASK)
    return value


def _secrets(parsed: ParsedDsn) -> tuple[str, ...]:
    """The forms in which the DSN's secret could show up, longest first; short ones are left to :func:`_hide`.

    Replacing a very short secret everywhere would garble the report without protecting much.
    """
    raw = {s for s in (parsed.secret, parsed.account_key, parsed.sas_token) if s}
    forms = {form for s in raw for form in (s, quote(s, safe="")) if len(form) >= _MIN_SCRUB}
    return tuple(sorted(forms, key=_longest_first))


def _longest_first(form: str) -> tuple[int, str]:
    return (-len(form), form)


def _private_warnings(private: ParsedDsn) -> list[str]:
    """Where the private store's files would not be served through signed URLs."""
    if private.scheme == "s3" and not private.signed_urls:
        return ["the private DSN has no qs_auth=true: its files get unsigned URLs, which a private bucket refuses"]
    if private.scheme == "az" and private.credential_kind != "account-key":
        return [
            "django-storages signs Azure URLs only with the account key: private files get unsigned URLs, "
            "which the private container refuses"
        ]
    return []


def explain(parsed: ParsedDsn, private: ParsedDsn | None = None) -> dict[str, Any]:
    """What a parsed DSN means, as a JSON-ready dict with every secret masked (the ``--format json`` contract).

    ``django`` holds the Django settings by name (``STORAGES``, easy-thumbnails' and django-filer's); ``private``
    is null, or the private store's masked DSN, whether its URLs are signed, and its warnings.
    """
    secrets = tuple(sorted(set(_secrets(parsed)) | set(_secrets(private) if private else ()), key=_longest_first))
    parsed = _hide(parsed)
    hidden_private = _hide(private) if private is not None else None
    report: dict[str, Any] = {
        "dsn": parsed.masked(),
        "scheme": parsed.scheme,
        "cloud": parsed.cloud,
        "endpoint_host": parsed.endpoint_host,
        "endpoint_url": parsed.effective_endpoint_url,
        "custom_domain": parsed.custom_domain,
        "media_url": parsed.media_url,
        "signed_urls": parsed.signed_urls,
        "credentials": _credentials(parsed),
        "warnings": list(parsed.warnings),
        "django": settings_for(parsed, hidden_private),
        "private": None,
    }
    if hidden_private is not None:
        report["private"] = {
            "dsn": hidden_private.masked(),
            "cloud": hidden_private.cloud,
            "signed_urls": hidden_private.signed_urls or hidden_private.credential_kind == "account-key",
            "warnings": list(hidden_private.warnings) + _private_warnings(hidden_private),
        }
    if parsed.scheme == "s3":
        report.update(
            {
                "bucket": parsed.bucket,
                "region": parsed.region,
                "location": parsed.location,
                "acl": parsed.effective_acl,
                "signature_version": parsed.auth,
                "addressing_style": parsed.addressing_style,
            }
        )
    else:
        report.update({"account": parsed.account, "container": parsed.container})
    scrubbed: dict[str, Any] = _scrub(report, secrets)
    return scrubbed


def _credentials(parsed: ParsedDsn) -> dict[str, Any]:
    if parsed.scheme == "s3":
        if parsed.access_key_id is None:
            return {"kind": "none", "access_key_id": None, "secret": None}
        return {"kind": "access-key", "access_key_id": parsed.access_key_id, "secret": MASK}
    if parsed.credential_kind is None:
        return {"kind": "none", "secret": None}
    return {"kind": parsed.credential_kind, "secret": MASK}


def render_text(report: dict[str, Any]) -> str:
    """The human-readable form of :func:`explain`'s report."""
    creds = report["credentials"]
    if creds["kind"] == "none":
        credentials = "none (the app must get them elsewhere, e.g. from a role or managed identity)"
    elif creds["kind"] == "access-key":
        credentials = f"access key {creds['access_key_id']}, secret {MASK}"
    else:
        credentials = f"{creds['kind']} {MASK}"
    rows: list[tuple[str, str]] = [
        ("DSN", report["dsn"]),
        ("cloud", capabilities(report["cloud"]).title),
    ]
    if report["scheme"] == "s3":
        rows += [
            ("bucket", report["bucket"]),
            ("endpoint", report["endpoint_url"]),
            ("region", report["region"] or "(not set: the client's default)"),
            ("key prefix", report["location"] or "(none)"),
            ("credentials", credentials),
            ("ACL", report["acl"]),
        ]
    else:
        rows += [
            ("account", report["account"]),
            ("container", report["container"]),
            ("endpoint", report["endpoint_url"]),
            ("credentials", credentials),
        ]
    signed = "yes (private: links carry a signature)" if report["signed_urls"] else "no (public objects)"
    rows += [
        ("signed URLs", signed),
        ("custom domain", report["custom_domain"] or "(none)"),
        ("media URL", report["media_url"]),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [f"{label.ljust(width)}  {value}" for label, value in rows]
    if report["warnings"]:
        lines += ["", "warnings:"] + [f"  - {warning}" for warning in report["warnings"]]
    private = report.get("private")
    if private is not None:
        lines += ["", f"private DSN  {private['dsn']}"]
        lines.append("signed URLs  " + ("yes" if private["signed_urls"] else "NO (see warnings)"))
        if private["warnings"]:
            lines += ["warnings:"] + [f"  - {warning}" for warning in private["warnings"]]
    lines += ["", f"Django settings (django-storages, easy-thumbnails, django-filer; secrets shown as {MASK}):"]
    for name, value in report["django"].items():
        lines.append(f"{name} = {pprint.pformat(value, width=100, sort_dicts=True)}")
    if private is None:
        lines.append("# without --private-env, FILER_STORAGES has no private half (filer keeps private files locally)")
    return "\n".join(lines)
