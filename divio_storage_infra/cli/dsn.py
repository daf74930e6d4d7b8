"""``divio-storage dsn``: explain a storage DSN and print the Django settings it yields, secrets masked.

The DSN comes from ``--dsn``, from ``--dsn-env NAME`` or from ``DEFAULT_STORAGE_DSN``; the environment keeps the
secret out of shell history and process lists. With the private store's DSN (``--private-dsn-env NAME`` or
``--private-dsn``) the settings include the private storage (signed URLs) and django-filer's private half.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pprint
import sys
from typing import Any
from urllib.parse import quote

from divio_storage_infra.app.settings import settings_for
from divio_storage_infra.cli.errors import UsageError
from divio_storage_infra.cli.options import (
    DEFAULT_ENV,
    TEXT,
    DeprecatedOption,
    add_dsn_options,
    add_format_option,
    deprecated,
    read_dsn,
)
from divio_storage_infra.core.clouds import capabilities
from divio_storage_infra.core.dsn import MASK, DsnError, ParsedDsn, parse_dsn

_MIN_SCRUB = 8


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``dsn`` sub-command's arguments."""
    add_dsn_options(parser, private=True)
    # The spellings before the options were the same on every command: they work for one more release.
    parser.add_argument("legacy_dsn", nargs="?", metavar="DSN", help=argparse.SUPPRESS)
    parser.add_argument("--env", dest="dsn_env", action=DeprecatedOption, new="--dsn-env", metavar="NAME")
    parser.add_argument(
        "--private-env", dest="private_dsn_env", action=DeprecatedOption, new="--private-dsn-env", metavar="NAME"
    )
    add_format_option(parser, (TEXT, "json"), "text for people, json for tools")


def run(args: argparse.Namespace) -> int:
    """Print what the DSN means and its Django settings; DsnError (exit 2 in the CLI) for a malformed DSN, or a
    private store whose URLs the app could not sign."""
    if args.legacy_dsn is not None:
        deprecated("the DSN as a positional argument", "--dsn DSN or --dsn-env NAME")
        if args.dsn is not None:
            raise UsageError("give the DSN once: with --dsn (the positional DSN is deprecated)")
        args.dsn = args.legacy_dsn
    dsn = read_dsn(args, "--dsn", default_env=DEFAULT_ENV, required=True)
    parsed = parse_dsn(dsn.text)
    private = _read_private(args)
    on_command_line = (args.dsn is not None and parsed.has_credentials) or (
        args.private_dsn is not None and private is not None and private.has_credentials
    )
    if on_command_line:
        print(
            "note: a secret on the command line is visible in shell history and process lists; "
            f"prefer --dsn-env NAME or ${DEFAULT_ENV}",
            file=sys.stderr,
        )
    report = explain(parsed, private)
    if args.format == "json":
        print(json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False))
    else:
        print(render_text(report))
    return 0


def _read_private(args: argparse.Namespace) -> ParsedDsn | None:
    """The private store's DSN from ``--private-dsn`` or ``--private-dsn-env NAME``, parsed; None without either."""
    given = read_dsn(args, "--private-dsn", default_env=None, what="private DSN")
    if given is None:
        return None
    try:
        return parse_dsn(given.text)
    except DsnError as error:
        raise DsnError(error.problems, context="the private store's DSN") from None


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
    """What an app that reads the private DSN some other way than :func:`app_settings` would get wrong."""
    if private.scheme == "s3" and not private.signed_urls:
        return [
            "the private DSN has no qs_auth=true: app_settings signs its URLs anyway, but django-storage-url "
            "(aldryn-django) would hand out unsigned URLs, which a private bucket refuses"
        ]
    if private.scheme == "az" and private.credential_kind is None:
        return [
            "no credential in the private DSN: its URLs are signed only with a user delegation key, when the app "
            "adds token_credential to the storage's OPTIONS"
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
            "signed_urls": True,  # settings_for signs them, or refuses the DSN
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
        lines.append("signed URLs  yes (every link to a private file carries a signature)")
        if private["warnings"]:
            lines += ["warnings:"] + [f"  - {warning}" for warning in private["warnings"]]
    lines += ["", f"Django settings (django-storages, easy-thumbnails, django-filer; secrets shown as {MASK}):"]
    for name, value in report["django"].items():
        lines.append(f"{name} = {pprint.pformat(value, width=100, sort_dicts=True)}")
    if private is None:
        lines.append(
            "# without --private-dsn-env, FILER_STORAGES has no private half (filer keeps private files locally)"
        )
    return "\n".join(lines)
