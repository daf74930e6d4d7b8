"""Options several commands share, spelled the same everywhere: where a DSN comes from, ``--format``, the old
spellings that keep working for one release (with a deprecation warning on stderr), and "did you mean"."""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, overload

from divio_storage_infra.cli.errors import UsageError
from divio_storage_infra.core.errors import excerpt

DEFAULT_ENV = "DEFAULT_STORAGE_DSN"
"""The variable a DSN is read from when no option names one (what the app itself reads)."""
PRIVATE_ENV = "PRIVATE_STORAGE_DSN"
"""The variable the private store's DSN is read from by commands that probe both stores."""
TEXT = "text"
"""The ``--format`` value of human-readable output, on every command that has one."""
_NAME_MAX = 60
_OPTION_RE = re.compile(r"--?[A-Za-z0-9][A-Za-z0-9_-]{0,40}")


def deprecated(old: str, new: str) -> None:
    """Say on stderr that ``old`` still works for this release and ``new`` replaces it."""
    print(f"warning: {old} is deprecated and will be removed in the next release; use {new}", file=sys.stderr)


class DeprecatedOption(argparse.Action):
    """An old option spelling that still works for one release: stores into the new option's destination and warns.

    Hidden from ``--help`` (and so from the generated reference); the new spelling is the documented one.
    """

    def __init__(self, option_strings: Sequence[str], dest: str, *, new: str, **kwargs: Any) -> None:
        """``new`` is the option that replaces this one (named in the warning)."""
        self.new = new
        super().__init__(option_strings, dest, help=argparse.SUPPRESS, **kwargs)

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: str | None = None
    ) -> None:
        """Warn, then store the value where the new spelling would."""
        deprecated(option or "/".join(self.option_strings), self.new)
        if getattr(namespace, self.dest, None) is not None:
            raise UsageError(f"give {self.new} once (here also as {option})")
        setattr(namespace, self.dest, values)


def add_dsn_options(parser: argparse.ArgumentParser, *, store: str = "the store", private: bool = False) -> None:
    """``--dsn``/``--dsn-env`` and, with ``private``, ``--private-dsn``/``--private-dsn-env``: the same options on
    every command that reads a DSN (read them with :func:`read_dsn`)."""
    parser.add_argument("--dsn", metavar="DSN", help=f"{store}'s DSN; prefer --dsn-env (default: ${DEFAULT_ENV})")
    parser.add_argument(
        "--dsn-env",
        metavar="NAME",
        help=f"read {store}'s DSN from environment variable NAME (default: {DEFAULT_ENV}); keeps the secret out of "
        "shell history and process lists",
    )
    if private:
        parser.add_argument(
            "--private-dsn", metavar="DSN", help="the private store's DSN; prefer --private-dsn-env (optional)"
        )
        parser.add_argument(
            "--private-dsn-env",
            metavar="NAME",
            help=f"read the private store's DSN from environment variable NAME (e.g. {PRIVATE_ENV}; optional)",
        )


@dataclass(frozen=True)
class GivenDsn:
    """A DSN as given: its ``text``, and its ``source`` for messages (``--dsn``, or ``$NAME`` of its variable)."""

    text: str
    source: str


@overload
def read_dsn(
    args: argparse.Namespace, option: str, *, default_env: str | None, what: str = ..., required: Literal[True]
) -> GivenDsn: ...


@overload
def read_dsn(
    args: argparse.Namespace, option: str, *, default_env: str | None, what: str = ..., required: bool = ...
) -> GivenDsn | None: ...


def read_dsn(
    args: argparse.Namespace,
    option: str,
    *,
    default_env: str | None,
    what: str = "DSN",
    required: bool = False,
) -> GivenDsn | None:
    """The one DSN reader of every command: ``--<option>``'s value, else the variable ``--<option>-env`` names,
    else ``default_env`` (``option`` as ``"--dsn"``; ``args`` has its value and its ``_env`` partner).

    None when nothing is set and the DSN is not ``required``; a UsageError (``no <what>: ...``, saying what to do,
    naming the option or the variable, never the value) when both are given, a named variable is empty or a
    required DSN is missing.
    """
    attr = option.lstrip("-").replace("-", "_")
    given: str | None = getattr(args, attr, None)
    env_name: str | None = getattr(args, f"{attr}_env", None)
    env_option = f"{option}-env"
    if given is not None and env_name is not None:
        raise UsageError(f"give {option} or {env_option}, not both")
    if given is not None:
        return GivenDsn(given, option)
    name = env_name or default_env
    value = os.environ.get(name, "") if name else ""
    if name and value.strip():
        return GivenDsn(value, f"${shown_name(name)}")
    if env_name is not None:
        raise UsageError(
            f"no {what}: environment variable {shown_name(env_name)} (named by {env_option}) is not set (or empty); "
            f"set it, or name another variable with {env_option} NAME"
        )
    if required:
        where = f"environment variable {shown_name(name)} is not set (or empty)" if name else f"{option} is missing"
        raise UsageError(f"no {what}: {where}; set it, name another variable with {env_option} NAME, or give {option}")
    return None


def shown_name(name: str) -> str:
    """A variable name as given, fit to print (bounded, no control characters)."""
    cleaned = "".join(char for char in name if char.isprintable())
    return cleaned if len(cleaned) <= _NAME_MAX else cleaned[: _NAME_MAX - 3] + "..."


def add_ca_bundle(parser: argparse.ArgumentParser) -> None:
    """Add ``--ca-bundle``, the same on every command that talks to a store (read by
    :func:`divio_storage_infra.connection.settings_from_environment`)."""
    parser.add_argument(
        "--ca-bundle",
        metavar="FILE",
        help="PEM file of the CAs to trust for every request (default: $AWS_CA_BUNDLE, $REQUESTS_CA_BUNDLE or "
        "$SSL_CERT_FILE, the first set; else the SDKs' own CAs)",
    )


def add_format_option(
    parser: argparse.ArgumentParser,
    choices: Sequence[str],
    help_text: str,
    *,
    aliases: Mapping[str, str] | None = None,
) -> None:
    """``--format`` with ``choices`` (the first is the default); ``aliases`` maps deprecated values to current ones
    (accepted with a warning, not listed in the help)."""
    old = dict(aliases or {})

    def value(text: str) -> str:
        if text in old:
            deprecated(f"--format {text}", f"--format {old[text]}")
            return old[text]
        return text

    convert: Callable[[str], str] = value
    parser.add_argument(
        "--format",
        choices=tuple(choices),
        default=choices[0],
        type=convert,
        help=f"{help_text} (default: {choices[0]})",
    )


def unrecognized(extras: Sequence[str], parser: argparse.ArgumentParser) -> str:
    """The error for arguments ``parser`` does not know, with the closest option it does know for each; each shown as
    a bounded excerpt with anything like a credential masked (a DSN given where no option takes it)."""
    known = sorted({option for action in parser._actions for option in action.option_strings if _shown(action)})
    parts = []
    for extra in extras:
        name = extra.partition("=")[0]
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6) if name.startswith("-") else []
        shown = extra if _OPTION_RE.fullmatch(extra) else excerpt(extra)
        parts.append(f"{shown} (did you mean {close[0]}?)" if close else shown)
    return "unrecognized arguments: " + " ".join(parts)


def _shown(action: argparse.Action) -> bool:
    return action.help is not argparse.SUPPRESS


def whole_number(low: int, high: int, unit: str = "") -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``; ``unit`` (e.g. "parallel copies") ends the error."""
    allowed = f"expected {low} to {high}" + (f" {unit}" if unit else "")

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value[:40]!r} is not a whole number") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"{value[:40]!r}: {allowed}")
        return number

    return parse
