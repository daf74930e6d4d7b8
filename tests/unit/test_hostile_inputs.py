"""Hostile input, generated: configs, stack configs and DSNs as an attacker or a careless user would write them.

Properties, for every generated case:

- the public API (``StorageSpec.from_dict``, ``program.load_spec``, ``parse_dsn``, ``storages_settings``, the
  DSN formatters) and ``divio-storage dsn`` raise nothing but the project's error types (exit 2 for the CLI);
- every error names a config key the user wrote (or the DSN part), in printable, bounded lines;
- no planted secret appears in any output, in any encoding (raw, percent-encoded, JSON-escaped, base64,
  lowercased), not even a 12-character piece of it;
- a spec that validates renders the DSNs the components will export (nothing fails later).

Secrets are planted where secrets go (credential keys and their misspellings, the user part of any URL-shaped
value, ``sig=`` parameters, the DSN's password however malformed) and as whole values of every key. The number of
generated cases is counted and printed at the end of the session (``-s`` shows it).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import io
import json
import os
import re
import string
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from divio_storage_infra import DsnError, ParsedDsn, SpecError, StorageSpec, parse_dsn, storages_settings
from divio_storage_infra.core.clouds import capabilities
from divio_storage_infra.core.dsn import azure_dsn, s3_dsn
from divio_storage_infra.core.errors import PROBLEMS_SHOWN
from divio_storage_infra.core.spec import CONFIG_KEYS
from divio_storage_infra.core.validation.identity import CREDENTIAL_KEYS, shown_key

CASES: Counter[str] = Counter()
"""Generated cases run, per property (printed at the end of the session)."""

SETTINGS = settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
WINDOW = 12
"""A leak is any piece of a secret this long (in any encoding)."""


@pytest.fixture(scope="module", autouse=True)
def _report_cases() -> Iterator[None]:
    yield
    total = sum(CASES.values())
    detail = ", ".join(f"{name} {count}" for name, count in sorted(CASES.items()))
    print(f"\nhostile inputs: {total} generated cases ({detail})")


# --- secrets and how they could leak -------------------------------------------------------------------------------


def _mixed(text: str) -> bool:
    """Upper and lower case and digits, and not degenerate (a run of 'AAAA' would match unrelated output)."""
    return (
        any(c.isupper() for c in text)
        and any(c.islower() for c in text)
        and any(c.isdigit() for c in text)
        and len(set(text)) >= 16
        and not re.search(r"(.)\1\1", text)
    )


AWS_SECRETS = st.text(string.ascii_letters + string.digits + "+/", min_size=40, max_size=40).filter(_mixed)
HEX_SECRETS = st.text("0123456789abcdef", min_size=40, max_size=40).filter(
    lambda s: any(c.isdigit() for c in s) and any(c.isalpha() for c in s) and not re.search(r"(.)\1\1", s)
)
AZURE_KEYS = st.binary(min_size=64, max_size=64).map(lambda b: base64.b64encode(b).decode()).filter(_mixed)
SECRETS = st.one_of(AWS_SECRETS, HEX_SECRETS, AZURE_KEYS)
"""Secrets as providers issue them: AWS-style, hex, Azure account keys."""
DIGIT_SECRETS = st.text("0123456789", min_size=10, max_size=14).filter(
    lambda s: len(set(s)) >= 6 and not re.search(r"(.)\1\1", s)
)
"""All-digit secrets: with the host forgotten, ``KEY:4815162342`` reads as host:port."""
KEY_IDS = st.text(string.ascii_uppercase + string.digits, min_size=16, max_size=16).map(lambda s: f"AKIA{s}")


def forms(secret: str) -> set[str]:
    """Every encoding in which a secret could show up in output."""
    raw = secret.encode()
    return {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        quote(secret),
        json.dumps(secret)[1:-1],
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
    }


def leak(secret: str, *outputs: str) -> str | None:
    """The first piece of ``secret`` (any encoding, any case) found in ``outputs``, or None."""
    text = "\n".join(outputs).lower()
    for form in forms(secret):
        form = form.lower()
        size = min(WINDOW, len(form))
        for start in range(0, len(form) - size + 1):
            if form[start : start + size] in text:
                return form[start : start + size]
    return None


def assert_no_leak(secret: str, *outputs: str) -> None:
    piece = leak(secret, *outputs)
    assert piece is None, f"secret piece {piece!r} leaked in: {outputs}"


def assert_readable(message: str) -> None:
    """One clear error: printable lines, bounded, encodable (a surrogate would crash the print)."""
    message.encode("utf-8")
    lines = message.split("\n")
    assert len(lines) <= PROBLEMS_SHOWN + 2
    for line in lines:
        assert line.isprintable(), line
        assert len(line) <= 900, line


# --- hostile values ----------------------------------------------------------------------------------------------

UNICODE_DIGITS = ["²", "١٢", "٣", "\U0001d7d7", "⑨", "¹²³"]  # the fourth: mathematical bold nine
CONTROL = ["\x00", "\n", "\r", "\t", "\x1b", "\x7f", "\u202e", "\ud800", "\udfff", "\u2028"]


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.just(10**5000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.binary(max_size=20),
    st.text(max_size=30),
    st.text(st.characters(codec="utf-8"), max_size=30),
    st.text(st.sampled_from(CONTROL + list("ab.-:/@")), min_size=1, max_size=12),
    st.integers(61, 6000).map(lambda n: "x" * n),
    st.integers(1, 60).map(lambda n: "a" * n + ".example.net"),
    st.sampled_from(UNICODE_DIGITS).map(lambda d: f"objects.example.net:{d}"),
    st.sampled_from(UNICODE_DIGITS),
    st.sampled_from(
        [
            "2026-W01-1",
            "20260101",
            "9999-12-31",
            "0001-01-01",
            "2026-02-30",
            "\uff12\uff10\uff12\uff16-01-01",  # fullwidth digits
            "2026-01-01T00:00:00",
            "s3.example.org",
            "s3-eu-west-1.example.org",
            "objects.example.net:0",
            "objects.example.net:65536",
            "https://objects.example.net",
            "objects.example.net/path",
            "true\n",
            "eu-central-1\n",
            "media.example.com\n",
            "1" * 5000,
            "-0",
            " 7 ",
            "*",
        ]
    ),
    st.just(dt.date(9999, 12, 31)),
    st.just(dt.date(2026, 1, 1)),
    st.just(dt.datetime(2026, 1, 1, 12, 0)),
    st.lists(st.text(max_size=10) | st.integers(), max_size=5),
    st.dictionaries(st.text(max_size=8), st.text(max_size=8) | st.integers(), max_size=4),
    st.frozensets(st.integers(), max_size=3),
    st.integers(1, 3000).map(_nested),
)
SECRET_KEY_NAMES = [
    "secretAccessKey",
    "accessKeyId",
    "secretAccesKey",
    "secretAcessKey",
    "secretaccesskey",
    "SecretAccessKey",
    "secret_access_key",
    "secretAccessKey ",
    "secretKey",
    "secret",
    "password",
    "accountKey",
    "sasToken",
    "token",
    "credential",
    "awsSecretAccessKey",
    "secretAccessKey=",
    "secretAccessKey:",
]


@st.composite
def misspelled(draw: st.DrawFn, word: str) -> str:
    """``word`` with one character dropped, doubled, swapped or changed."""
    i = draw(st.integers(0, len(word) - 2))
    how = draw(st.sampled_from(["drop", "double", "swap", "change", "case"]))
    if how == "drop":
        return word[:i] + word[i + 1 :]
    if how == "double":
        return word[: i + 1] + word[i:]
    if how == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if how == "case":
        return word[:i] + word[i].swapcase() + word[i + 1 :]
    return word[:i] + draw(st.sampled_from(string.ascii_letters)) + word[i + 1 :]


SECRETISH_KEYS = st.one_of(
    st.sampled_from(SECRET_KEY_NAMES),
    st.sampled_from(["secretAccessKey", "accessKeyId", "accountKey", "sasToken"]).flatmap(misspelled),
)
ANY_KEYS = st.one_of(
    st.sampled_from(CONFIG_KEYS),
    st.sampled_from(CONFIG_KEYS).flatmap(misspelled),
    SECRETISH_KEYS,
    st.text(max_size=20),
)

BASES: dict[str, dict[str, Any]] = {
    "aws": {"website": "shop", "environment": "live", "region": "eu-central-1"},
    "exoscale": {"website": "shop", "environment": "live", "cloud": "exoscale", "region": "ch-gva-2"},
    "s3-compatible": {
        "website": "shop",
        "environment": "live",
        "cloud": "s3-compatible",
        "region": "rma",
        "endpoint": "objects.example.net",
    },
    "azure": {"website": "shop", "environment": "live", "cloud": "azure", "location": "switzerlandnorth"},
}


def _plant(where: str, secret: str, key_id: str) -> tuple[str, Any]:
    """(config key, value) carrying ``secret`` the way ``where`` says."""
    return {
        "endpoint-userinfo": ("endpoint", f"{key_id}:{secret}@objects.example.net"),
        "endpoint-url": ("endpoint", f"https://{key_id}:{secret}@objects.example.net"),
        "media-userinfo": ("mediaDomain", f"u:{secret}@media.example.com"),
        "origin-userinfo": ("corsOrigins", [f"https://u:{secret}@www.example.com"]),
        "origin-sig": ("corsOrigins", f"https://www.example.com/?sig={quote(secret, safe='')}"),
        "bucket-userinfo": ("bucketName", f"{key_id}:{secret}@media"),
        "tag-key": ("tags", {f"x:{secret}@y": "v"}),
        "sas-start": ("sasStart", f"sig={secret}"),
    }[where]


NAMES_SHOWN = ("website", "environment")
"""Keys whose valid values name the stack in every error's context."""

PLANTS = [
    "endpoint-userinfo",
    "endpoint-url",
    "media-userinfo",
    "origin-userinfo",
    "origin-sig",
    "bucket-userinfo",
    "tag-key",
    "sas-start",
]


@st.composite
def hostile_configs(draw: st.DrawFn) -> tuple[dict[Any, Any], str, set[Any]]:
    """(raw config, planted secret, the keys mutated) from a valid base for a random cloud."""
    raw: dict[Any, Any] = dict(BASES[draw(st.sampled_from(sorted(BASES)))])
    secret = draw(SECRETS)
    key_id = draw(KEY_IDS)
    mutated: set[Any] = set()
    for _ in range(draw(st.integers(0, 4))):
        key = draw(ANY_KEYS)
        raw[key] = draw(JUNK)
        mutated.add(key)
    how = draw(st.sampled_from(["secret-key", "whole-value", "planted", "non-string-key"]))
    if how == "secret-key":
        key = draw(SECRETISH_KEYS)
        raw[key] = draw(st.sampled_from([secret, [secret], {"value": secret}, f"{secret}\n"]))
    elif how == "whole-value":
        # A website or environment name that is valid is shown in every message's context by design (it names the
        # stack): a secret-shaped but valid name there is a name, not a leak.
        key = draw(st.sampled_from([k for k in CONFIG_KEYS if k not in NAMES_SHOWN]))
        raw[key] = draw(st.sampled_from([secret, [secret], f"{key_id}:{secret}"]))
    elif how == "planted":
        key, raw[key] = _plant(draw(st.sampled_from(PLANTS)), secret, key_id)
    else:
        key = draw(st.sampled_from([1, None, True, 2.5, (1, 2), dt.date(2026, 1, 1)]))
        raw[key] = secret
    mutated.add(key)
    return raw, secret, mutated


def allowed_fields(raw: dict[Any, Any]) -> set[str]:
    """The fields an error may name: config keys, and the keys the user wrote (as errors show them)."""
    fields = set(CONFIG_KEYS) | set(CREDENTIAL_KEYS) | {shown_key(k) for k in raw if isinstance(k, str)}
    fields |= {f"<{type(k).__name__} key>" for k in raw if not isinstance(k, str)}
    return fields


def check_spec_error(error: SpecError, raw: dict[Any, Any], secret: str) -> None:
    message = str(error)
    assert_readable(message)
    assert_no_leak(secret, message, repr(error.args))
    fields = allowed_fields(raw)
    for problem in error.problems:
        name = problem.field
        assert name in fields or name.startswith("tags."), f"{name!r} is not a config key: {message}"
    assert error.problems


def renders_dsns(spec: StorageSpec) -> None:
    """What the components will do with a valid spec must not fail: render its DSNs with placeholders."""
    from divio_storage_infra.core import naming

    assert spec.sas_expiry is None or spec.sas_expiry.endswith("T00:00:00Z")
    caps = capabilities(spec.cloud)
    if spec.is_s3:
        host = caps.endpoint_host(str(spec.region), spec.endpoint)
        for role, public in (("media", True), ("private", False)):
            s3_dsn(
                bucket=naming.bucket_name(spec, role),
                endpoint_host=host,
                access_key_id="AKIAEXAMPLE" if spec.credentials != "none" else None,
                secret_access_key="placeholder" if spec.credentials != "none" else None,
                custom_domain=spec.media_domain if public else None,
                signed_urls=not public,
                acl=caps.object_acl(public=public),
                region=spec.region if caps.region_in_dsn else None,
                path_style=caps.path_style,
            )
    else:
        azure_dsn(
            account=naming.storage_account_name(spec),
            container="public-media",
            account_key=base64.b64encode(b"k" * 64).decode() if spec.credentials == "account-key" else None,
            custom_domain=spec.media_domain,
        )


@SETTINGS
@given(hostile_configs())
def test_hostile_configs_give_one_clear_error_without_the_secret(case: tuple[dict[Any, Any], str, set[Any]]) -> None:
    CASES["config"] += 1
    raw, secret, mutated = case
    try:
        spec = StorageSpec.from_dict(raw)
    except SpecError as error:
        check_spec_error(error, raw, secret)
        if not any(p.field == "cloud" for p in error.problems):
            # A key set to a value of no config type at all is always reported, by its own name.
            for key in mutated:
                if key in CONFIG_KEYS and key != "tags" and isinstance(raw[key], bytes | dict | frozenset):
                    assert any(p.field == key for p in error.problems), (key, str(error))
        return
    renders_dsns(spec)
    assert_no_leak(secret, repr(spec)) if secret not in json.dumps(raw, default=str) else None


# --- the Pulumi program's load_spec, with stack-config-shaped values ------------------------------------------------


@st.composite
def stack_configs(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """Config values as Pulumi hands them to the program: strings, structured values as JSON text."""
    from divio_storage_infra import program

    raw, secret, _ = draw(hostile_configs())
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(key, str):
            continue
        if isinstance(value, list | dict):
            try:
                text = json.dumps(value, default=str)
            except RecursionError:  # as deep as Pulumi would hand it over
                text = "[" * 5000 + "]" * 5000
        elif isinstance(value, bool):
            text = str(value).lower()
        else:
            text = str(value) if not isinstance(value, int) or value.bit_length() < 1000 else "1"
        values[key] = program._decode(text)
    if draw(st.booleans()):
        values["credentials"] = "static"
        values["cloud"] = "s3-compatible"
        values.setdefault("endpoint", "objects.example.net")
        values.setdefault("region", "rma")
        values["accessKeyId"] = draw(st.one_of(KEY_IDS, st.sampled_from(["", " ", "AKIA\n", "AKIA\ud800"]), JUNK))
        values["secretAccessKey"] = draw(
            st.sampled_from([secret, f"{secret}\n", f" {secret}", [secret], f"{secret}\x00", "", secret * 10])
        )
    return values, secret


@settings(SETTINGS, max_examples=600)
@given(stack_configs())
def test_load_spec_never_echoes_a_credential(case: tuple[dict[str, Any], str]) -> None:
    from divio_storage_infra import program

    CASES["stack config"] += 1
    values, secret = case
    try:
        program.load_spec(values)
    except SpecError as error:
        check_spec_error(error, values, secret)
        return


# --- hostile DSNs ------------------------------------------------------------------------------------------------


@st.composite
def valid_dsns(draw: st.DrawFn) -> tuple[str, str]:
    """(a valid DSN, its secret): S3 on AWS, Exoscale, a generic host, emulator; Azure key or SAS."""
    kind = draw(st.sampled_from(["aws", "exoscale", "generic", "emulator", "az-key", "az-sas"]))
    if kind.startswith("az"):
        if kind == "az-key":
            secret = draw(AZURE_KEYS)
            return azure_dsn(account="shoplive1a2b", container="public-media", account_key=secret), secret
        sig = draw(AWS_SECRETS)
        token = f"sv=2022-11-02&sr=c&sp=rl&se=2026-12-31&sig={quote(sig, safe='')}"
        return azure_dsn(account="shoplive1a2b", container="private-media", sas_token=token), sig
    secret = draw(SECRETS | DIGIT_SECRETS)
    host = {
        "aws": "s3.eu-central-1.amazonaws.com",
        "exoscale": "sos-ch-gva-2.exo.io",
        "generic": "objects.example.net",
        "emulator": "objects.local.test",
    }[kind]
    return (
        s3_dsn(
            bucket="shop-live-media",
            endpoint_host=host,
            access_key_id=draw(KEY_IDS),
            secret_access_key=secret,
            custom_domain="media.example.com" if kind == "aws" else None,
            endpoint_url="http://127.0.0.1:9000" if kind == "emulator" else None,
            region="rma" if kind in ("generic", "emulator") else None,
        ),
        secret,
    )


def _at(draw: st.DrawFn, text: str) -> int:
    return draw(st.integers(0, len(text)))


@st.composite
def mutated(draw: st.DrawFn, dsn: str, secret: str) -> str:
    """One structured mutation of ``dsn`` that a careless user or an attacker would make."""
    how = draw(
        st.sampled_from(
            [
                "separator",
                "raw-secret",
                "forgot-host",
                "forgot-key",
                "secret-in-url",
                "secret-as-param",
                "unicode",
                "control",
                "long-label",
                "bad-port",
                "truncate",
                "duplicate",
                "insert",
                "scheme-case",
                "none",
            ]
        )
    )
    scheme, _, rest = dsn.partition("://")
    enc = quote(secret, safe="")
    if how == "separator":
        separators = [":/", ":", ":///", "//", "", " ://", "\uff1a//", ":\\\\", "://://"]
        return scheme + draw(st.sampled_from(separators)) + rest
    if how == "raw-secret":
        return dsn.replace(enc, secret) if enc in dsn else dsn.replace(secret, secret + "/x")
    if how == "forgot-host":
        user = rest.partition(":")[0]
        return f"{scheme}://{user}:{secret}" + draw(st.sampled_from(["", "/", "/?acl=private", ":443/"]))
    if how == "forgot-key":
        return f"{scheme}://{enc}@{rest.rpartition('@')[2]}"
    if how == "secret-in-url":
        value = draw(
            st.sampled_from(
                [
                    f"url=https://u:{secret}@cdn.example.com/",
                    f"url={quote(f'https://u:{secret}@cdn.example.com/', safe='')}",
                    f"url={quote(f'https://cdn.example.com/?sig={secret}', safe='')}",
                    f"domain={quote(f'u:{secret}@media.example.com', safe='')}",
                    f"domain={enc}",
                    f"endpoint_url={quote(f'http://u:{secret}@127.0.0.1:9000', safe='')}",
                    f"endpoint_url={quote(f'http://127.0.0.1:9000/?X-Amz-Signature={secret}', safe='')}",
                ]
            )
        )
        return dsn + ("&" if "?" in dsn else "/?") + value
    if how == "secret-as-param":
        name = draw(st.sampled_from(["acl", "qs_auth", "auth", "addressing_style", "foo", "secret_key", "sig"]))
        return dsn + ("&" if "?" in dsn else "/?") + f"{name}={enc}"
    if how == "unicode":
        at = _at(draw, dsn)
        return dsn[:at] + draw(st.text(st.characters(codec="utf-8"), min_size=1, max_size=3)) + dsn[at:]
    if how == "control":
        at = _at(draw, dsn)
        return dsn[:at] + draw(st.sampled_from(CONTROL)) + dsn[at:]
    if how == "long-label":
        label = "b" * draw(st.integers(64, 300))
        return dsn.replace("shop-live-media", label).replace("shoplive1a2b@", f"{label}@")
    if how == "bad-port":
        port = draw(st.sampled_from(["0", "65536", "99999999", "-1", "+1", "", *UNICODE_DIGITS]))
        head, at_sign, tail = dsn.rpartition("@")
        host, slash, after = tail.partition("/")
        return f"{head}{at_sign}{host}:{port}{slash}{after}"
    if how == "truncate":
        return dsn[: _at(draw, dsn)]
    if how == "duplicate":
        return dsn + ("&" if "?" in dsn else "/?") + "acl=private&acl=private"
    if how == "insert":
        at = _at(draw, dsn)
        return dsn[:at] + draw(st.text(st.sampled_from("/?#@:%&= .+"), min_size=1, max_size=3)) + dsn[at:]
    if how == "scheme-case":
        return scheme.upper() + "://" + rest
    return dsn


@st.composite
def hostile_dsns(draw: st.DrawFn) -> tuple[str, str]:
    dsn, secret = draw(valid_dsns())
    for _ in range(draw(st.integers(1, 3))):
        dsn = draw(mutated(dsn, secret))
    return dsn, secret


def check_parsed(parsed: ParsedDsn, secret: str) -> None:
    assert_no_leak(secret, parsed.masked(), repr(parsed), *parsed.warnings)


@SETTINGS
@given(hostile_dsns())
def test_hostile_dsns_give_one_clear_error_without_the_secret(case: tuple[str, str]) -> None:
    CASES["dsn"] += 1
    dsn, secret = case
    try:
        parsed = parse_dsn(dsn)
    except DsnError as error:
        message = str(error)
        assert message.startswith("invalid storage DSN: "), message
        assert "\n" not in message
        assert_readable(message)
        assert_no_leak(secret, message)
        assert error.problems and all(p.field for p in error.problems)
    else:
        check_parsed(parsed, secret)
    try:
        storages_settings(dsn, dsn)
    except DsnError as error:
        assert_no_leak(secret, str(error))


@contextlib.contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            del os.environ[name]
        else:
            os.environ[name] = old


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    from divio_storage_infra.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@settings(SETTINGS, max_examples=400)
@given(hostile_dsns(), st.sampled_from(["text", "json"]))
def test_the_dsn_command_never_prints_a_secret(case: tuple[str, str], output: str) -> None:
    CASES["cli dsn"] += 1
    dsn, secret = case
    if "\x00" in dsn or any("\ud800" <= ch <= "\udfff" for ch in dsn):
        # An environment variable cannot hold NUL or a lone surrogate; parse_dsn is tested with them above.
        dsn = dsn.replace("\x00", "\x01")
        dsn = "".join("\x02" if "\ud800" <= ch <= "\udfff" else ch for ch in dsn)
    with _env("HOSTILE_DSN", dsn):
        code, out, err = run_cli(["dsn", "--dsn-env", "HOSTILE_DSN", "--format", output])
    assert code in (0, 2)
    out.encode("utf-8")
    err.encode("utf-8")
    assert_no_leak(secret, out, err)
    if code == 2:
        expected = "error: no DSN: " if not dsn.strip() else "error: invalid storage DSN: "
        assert err.startswith(expected) and not out
        assert_readable(err.rstrip("\n"))


# --- the formatters, with anything ---------------------------------------------------------------------------------

FORMATTER_ARGS = st.one_of(JUNK, SECRETS, st.sampled_from(["media", "s3.eu-central-1.amazonaws.com", "acct1"]))


@settings(SETTINGS, max_examples=400)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "bucket": FORMATTER_ARGS,
            "endpoint_host": FORMATTER_ARGS,
            "access_key_id": FORMATTER_ARGS,
            "secret_access_key": SECRETS | JUNK,
            "custom_domain": FORMATTER_ARGS,
            "signed_urls": FORMATTER_ARGS,
            "acl": FORMATTER_ARGS,
            "region": FORMATTER_ARGS,
            "endpoint_url": FORMATTER_ARGS,
            "path_style": FORMATTER_ARGS,
        },
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "account": FORMATTER_ARGS,
            "container": FORMATTER_ARGS,
            "account_key": SECRETS | JUNK,
            "sas_token": SECRETS.map(lambda s: f"sv=1&sig={s}") | JUNK,
            "custom_domain": FORMATTER_ARGS,
            "endpoint_url": FORMATTER_ARGS,
        },
    ),
)
def test_formatters_raise_only_dsn_error(s3_kwargs: dict[str, Any], az_kwargs: dict[str, Any]) -> None:
    CASES["formatters"] += 1
    s3_kwargs = {"bucket": "media", "endpoint_host": "s3.eu-central-1.amazonaws.com", **s3_kwargs}
    az_kwargs = {"account": "acct1", "container": "media", **az_kwargs}
    secrets = [v for k, v in {**s3_kwargs, **az_kwargs}.items() if k in ("secret_access_key", "account_key")]
    secrets = [s for s in secrets if isinstance(s, str) and _mixed(s)]
    for formatter, kwargs in ((s3_dsn, s3_kwargs), (azure_dsn, az_kwargs)):
        try:
            formatter(**kwargs)
        except DsnError as error:
            assert_readable(str(error))
            for secret in secrets:
                assert_no_leak(secret, str(error))


@settings(SETTINGS, max_examples=300)
@given(JUNK, JUNK | SECRETS)
def test_public_api_raises_only_project_errors_on_junk(first: Any, second: Any) -> None:
    CASES["public api"] += 1
    for call in (
        lambda: StorageSpec.from_dict(first),
        lambda: StorageSpec.from_dict({"website": "shop", "environment": "live", "region": first}, context=second),
        lambda: parse_dsn(first),
        lambda: storages_settings(first, second),
    ):
        try:
            call()
        except SpecError as error:
            assert isinstance(error, ValueError)
            assert_readable(str(error))


# --- the examples from the issue, by hand ---------------------------------------------------------------------------

KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize(
    "dsn",
    [
        f"s3:/{KEY}:{SECRET}@media.objects.example.net/?endpoint_url=http://127.0.0.1:9000",
        f"s3:{KEY}:{SECRET}@media.objects.example.net/",
        f"{KEY}:{SECRET}@media.objects.example.net/",
        f"s3://{KEY}:{quote(SECRET, safe='')}",
        f"s3://{KEY}:4815162342",
        f"s3://{KEY}:4815162342/",
        f"s3://media.objects.example.net/?url={quote(f'https://u:{SECRET}@cdn.example.com/', safe='')}",
        f"s3://media.objects.example.net/?domain={quote(f'u:{SECRET}@media.example.com', safe='')}",
        f"s3://media.objects.example.net/?endpoint_url={quote(f'http://u:{SECRET}@127.0.0.1:9000', safe='')}",
        f"s3://media.objects.example.net/?endpoint_url={quote(f'http://h:1/?sig={SECRET}', safe='')}",
        f"s3://{KEY}:{quote(SECRET, safe='')}@media.objects.example.net:²/",
        f"s3://{KEY}:{quote(SECRET, safe='')}@media.objects.example.net/?acl={quote(SECRET, safe='')}",
    ],
)
def test_the_issue_dsns_are_refused_without_the_secret(dsn: str) -> None:
    secret = "4815162342" if "4815162342" in dsn else SECRET
    with pytest.raises(DsnError) as error:
        parse_dsn(dsn)
    assert_no_leak(secret, str(error.value))
    code, out, err = run_cli(["dsn", "--dsn", dsn])
    assert code == 2 and err.startswith("error: invalid storage DSN")
    assert_no_leak(secret, out, err)


def test_a_mistyped_separator_shows_only_the_scheme_and_the_length() -> None:
    dsn = f"s3:/{KEY}:{SECRET}@media.objects.example.net/"
    with pytest.raises(DsnError) as error:
        parse_dsn(dsn)
    assert f"<{len(dsn)} characters starting s3:, not a well-formed URL>" in str(error.value)


def test_a_forgotten_host_masks_the_digits() -> None:
    with pytest.raises(DsnError) as error:
        parse_dsn(f"s3://{KEY}:4815162342")
    assert f"'s3://{KEY}:***'" in str(error.value)


@pytest.mark.parametrize(
    ("raw", "field", "allowed"),
    [
        ({"secretAccesKey": SECRET}, "secretAccesKey", "did you mean 'secretAccessKey'?"),
        ({"secretAccessKey": SECRET}, "secretAccessKey", "credentials are not part of the storage spec"),
        ({"accessKeyId": KEY}, "accessKeyId", "credentials are not part of the storage spec"),
        ({"sasTokn": SECRET}, "sasTokn", "unknown key"),
        ({"secretAccessKey=" + SECRET: 1}, "secretAccessKey…", "unknown key"),
    ],
)
def test_secret_keys_never_echo_their_values(raw: dict[str, Any], field: str, allowed: str) -> None:
    with pytest.raises(SpecError) as error:
        StorageSpec.from_dict({**BASES["aws"], **raw})
    message = str(error.value)
    assert f"{field}: [not shown] is not allowed; " in message and allowed in message
    assert_no_leak(SECRET, message)


@pytest.mark.parametrize(
    ("raw", "field", "allowed"),
    [
        ({"sasStart": "2026-W01-1"}, "sasStart", "calendar date YYYY-MM-DD"),
        ({"sasStart": "20260101"}, "sasStart", "calendar date YYYY-MM-DD"),
        ({"sasStart": "9999-12-31"}, "sasStart", "from 2000-01-01 to 2099-12-31"),
        ({"sasStart": "0001-01-01"}, "sasStart", "from 2000-01-01 to 2099-12-31"),
        ({"sasStart": "2026-02-30"}, "sasStart", "does not exist"),
    ],
)
def test_sas_start_is_a_calendar_date_in_range(raw: dict[str, Any], field: str, allowed: str) -> None:
    with pytest.raises(SpecError) as error:
        StorageSpec.from_dict({**BASES["azure"], "credentials": "sas", **raw})
    assert [p.field for p in error.value.problems] == [field]
    assert allowed in str(error.value)


def test_a_yaml_date_is_a_sas_start() -> None:
    spec = StorageSpec.from_dict({**BASES["azure"], "credentials": "sas", "sasStart": dt.date(2026, 1, 1)})
    assert (spec.sas_start, spec.sas_expiry) == ("2026-01-01", "2026-04-01T00:00:00Z")


@pytest.mark.parametrize(
    ("raw", "field", "allowed"),
    [
        ({"endpoint": "s3.example.org"}, "endpoint", "the app's DSN would be misread"),
        ({"endpoint": "objects.example.net:²"}, "endpoint", "ASCII digits"),
        ({"endpoint": "a" * 64 + ".example.net"}, "endpoint", "lowercase host name"),
        ({"endpoint": "objects.example.net\n"}, "endpoint", "control characters"),
        ({"region": "rma\x00"}, "region", "control characters"),
        ({"website": "shop\ud800"}, "website", "unpaired surrogates"),
        ({"bucketName": "media.s3-x.example"}, "bucketName", "django-storage-url would read"),
        ({1: "x"}, "<int key>", "config keys are strings"),
        ({"corsMaxAgeSeconds": "1" * 5000}, "corsMaxAgeSeconds", "whole number"),
        ({"corsMaxAgeSeconds": "²"}, "corsMaxAgeSeconds", "whole number"),
    ],
)
def test_what_would_fail_later_fails_in_the_spec(raw: dict[Any, Any], field: str, allowed: str) -> None:
    with pytest.raises(SpecError) as error:
        StorageSpec.from_dict({**BASES["s3-compatible"], **raw})
    assert field in [p.field for p in error.value.problems], str(error.value)
    assert allowed in str(error.value)
    assert_readable(str(error.value))


def test_long_values_are_cut_with_their_length() -> None:
    with pytest.raises(SpecError) as error:
        StorageSpec.from_dict({**BASES["aws"], "region": "x" * 5000})
    message = str(error.value)
    assert "'" + "x" * 60 + "…' (5000 characters)" in message and len(message) < 400


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"accessKeyId": ""}, "accessKeyId"),
        ({"accessKeyId": ["AKIA"]}, "accessKeyId"),
        ({"accessKeyId": "AKIA\nX"}, "accessKeyId"),
        ({"accessKeyId": "AKIA\ud800"}, "accessKeyId"),
        ({"secretAccessKey": SECRET + "\n"}, "secretAccessKey"),
        ({"secretAccessKey": " " + SECRET}, "secretAccessKey"),
        ({"secretAccessKey": SECRET * 20}, "secretAccessKey"),
    ],
)
def test_load_spec_refuses_unusable_credentials_without_echoing_them(values: dict[str, Any], field: str) -> None:
    from divio_storage_infra import program

    config = {
        **BASES["s3-compatible"],
        "credentials": "static",
        "accessKeyId": KEY,
        "secretAccessKey": SECRET,
        **values,
    }
    with pytest.raises(SpecError) as error:
        program.load_spec(config)
    assert [p.field for p in error.value.problems] == [field]
    assert f"{field}: [not shown] is not allowed" in str(error.value)
    assert_no_leak(SECRET, str(error.value))
    assert "AKIA\n" not in str(error.value)
