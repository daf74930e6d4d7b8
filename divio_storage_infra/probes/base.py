"""What every store is probed for, in which order, and how results are reported without leaking a secret.

A store adapter (S3 or Azure) knows how to write, read, delete and sign with the DSN's credentials and how to
explain its cloud's errors; :func:`probe_store` runs the same sequence on either and always tries to delete
the probe object it wrote, whatever failed in between.

Bounds: every request (the SDKs' too) ends within ``ProbeOptions.timeout`` seconds, wall-clock, and reads at
most ``ProbeOptions.max_body`` bytes; the run's :class:`~divio_storage_infra.connection.Cutoff` ends the whole
run, after which the remaining probes fail with "deadline" and only the clean-up still gets one request. Every
request trusts the CA bundle and uses the proxy of ``ProbeOptions.settings`` and is retried when the store
throttles (see :mod:`divio_storage_infra.connection`). Every detail is one line, length-capped, without control
characters, with secrets and anything shaped like a signature masked.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Literal, Protocol, TypeVar
from urllib.parse import urlsplit

import requests

from divio_storage_infra.connection import (
    DEFAULT_MAX_BODY,
    ConnectionSettings,
    Cutoff,
    Retrying,
    describe,
    http_session,
    send_anonymous,
)
from divio_storage_infra.core.masking import SecretMask

T = TypeVar("T")

Status = Literal["pass", "fail", "skip"]
Role = Literal["public", "private"]

PROBE_PREFIX = "divio-storage-check/"
# Reserved top-level domain (RFC 2606): no store can have allowed it on purpose.
DEFAULT_REFUSED_ORIGIN = "https://divio-storage-check.invalid"
SIGNED_URL_SECONDS = 300
REDACTED = "***"
# Shorter strings are too likely to occur by chance in an unrelated message to be worth scrubbing.
_MIN_SECRET = 6
MAX_DETAIL = 400
"""Characters of a probe's detail at most; longer ones (a server's message) are cut with an ellipsis."""
# Credentials a server may echo back from the request (SigV4 / SigV2 / SharedKey / SAS / bearer), whatever the
# DSN's own secret is: the signature alone lets an attacker replay the request while it is valid.
_SIGNATURE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"(?i)\b(authorization|proxy-authorization|x-amz-security-token|x-ms-copy-source-authorization|cookie)"
            r"([\"']?\s*[:=]\s*[\"']?)(?!\*\*\*)[^\s\"'<>][^\r\n\"'<>]*"
        ),
        r"\1\2***",
    ),
    (re.compile(r"AWS4-HMAC-SHA256[^\r\n\"'<>]*"), "AWS4-HMAC-SHA256 ***"),
    (
        re.compile(r"(?i)\b(X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|sig)=[^&\s\"'<>,]+"),
        r"\1=***",
    ),
    (re.compile(r"\bSharedKey(Lite)?\s+[^\s:\"'<>]+:[A-Za-z0-9+/=%]+"), r"SharedKey\1 ***"),
    (re.compile(r"\bAWS\s+[A-Za-z0-9]{12,}:[A-Za-z0-9+/=%]{12,}"), "AWS ***"),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"), "Bearer ***"),
)


@dataclass(frozen=True)
class ProbeResult:
    """One probe: what was tried, whether it passed, and why, in words an operator can act on."""

    store: Role
    name: str
    status: Status
    detail: str

    def as_dict(self) -> dict[str, str]:
        """The JSON form (a stable contract: keys ``store``, ``probe``, ``status``, ``detail``)."""
        return {"store": self.store, "probe": self.name, "status": self.status, "detail": self.detail}


@dataclass
class StoreReport:
    """All probes of one store, with the masked DSN and where the probes connected."""

    role: Role
    dsn: str
    cloud: str
    endpoint: str
    probes: list[ProbeResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every probe passed."""
        return all(p.status == "pass" for p in self.probes)

    def as_dict(self) -> dict[str, object]:
        """The JSON form of the store and its probes."""
        return {
            "store": self.role,
            "dsn": self.dsn,
            "cloud": self.cloud,
            "endpoint": self.endpoint,
            "ok": self.ok,
            "probes": [p.as_dict() for p in self.probes],
        }


class Redactor(SecretMask):
    """Replaces every form of the known secrets (raw, percent-encoded, base64, a SAS's ``sig``) in text with
    ``***``, and masks anything shaped like a request signature or an Authorization header value."""

    def __init__(self, values: Iterable[str | None] = ()) -> None:
        super().__init__(values, marker=REDACTED, min_length=_MIN_SECRET)

    def add(self, value: str | None) -> None:
        """Mask ``value`` in every form :class:`SecretMask` knows, and its base64 forms as well."""
        super().add(value)
        if value and len(value) >= self.min_length:
            encoded = value.encode("utf-8", "surrogatepass")
            for form in (base64.b64encode(encoded), base64.urlsafe_b64encode(encoded)):
                super().add(form.decode("ascii"))
                super().add(form.decode("ascii").rstrip("="))

    def __call__(self, text: str) -> str:
        """``text`` without the known secrets and without anything that looks like a signature."""
        text = super().__call__(text)
        for pattern, replacement in _SIGNATURE_PATTERNS:
            text = pattern.sub(replacement, text)
        return text


def one_line(text: str, limit: int = MAX_DETAIL) -> str:
    """``text`` fit to print: control and format characters removed, whitespace runs made one space, at most
    ``limit`` characters (cut with an ellipsis)."""
    kept = "".join(
        " " if char.isspace() else char
        for char in text
        if not unicodedata.category(char).startswith("C") or char.isspace()
    )
    flat = " ".join(kept.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "\u2026"


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during the probes, after the clean-up: ``message`` says what was removed or what is left."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unreachable(Exception):
    """The endpoint did not answer (refused, timed out, name not resolved); the message says which, no secret."""


class StoreClient(Protocol):
    """What :func:`probe_store` needs from a cloud: credentialed object operations, URLs and error wording."""

    role: Role
    endpoint: str
    """Where the probes connect (scheme, host, port), for the report."""
    key_prefix: str
    """The DSN's key prefix (S3 location), '' or ending in '/'."""

    def check_credentials(self) -> str | None:
        """Why the DSN cannot be used to write at all (no credential), or None."""

    def write(self, key: str, body: bytes) -> None:
        """Upload ``body`` as ``key`` the way the app would (its ACL, its credential)."""

    def read(self, key: str) -> bytes:
        """Download ``key`` with the DSN's credential."""

    def delete(self, key: str) -> None:
        """Delete ``key`` with the DSN's credential."""

    def object_url(self, key: str) -> str:
        """The unsigned URL of ``key`` at the store's own endpoint."""

    def custom_domain_url(self, key: str) -> str | None:
        """The URL of ``key`` on the DSN's custom media domain, or None without one."""

    def signed_url(self, key: str) -> str:
        """A URL of ``key`` that grants reading for :data:`SIGNED_URL_SECONDS` seconds."""

    def explain(self, error: Exception) -> str:
        """One line about a failed SDK call; raises :class:`Unreachable` for connection problems."""

    def public_refused_hint(self) -> str:
        """What to fix when anonymous reads of the public store are refused."""

    def private_open_hint(self) -> str:
        """What to fix when anonymous reads of the private store succeed."""

    def redact(self, text: str) -> str:
        """``text`` without any form of the DSN's secret."""


@dataclass(frozen=True)
class ProbeOptions:
    """How to probe: origins that must be allowed / refused, bounds, whether to fetch the custom domain.

    ``timeout`` (s) bounds each whole request, wall-clock (connect, TLS, answer and body, retries included);
    ``max_body`` (bytes) caps every answer (None: no cap, for transfers); ``settings`` says how to reach the store
    (CA bundle, proxy, per-socket timeouts, attempts); ``cutoff`` ends requests at their time and holds the run's
    deadline.
    """

    origins: tuple[str, ...] = ()
    refused_origin: str = DEFAULT_REFUSED_ORIGIN
    timeout: float = 20.0
    fetch_custom_domain: bool = False
    max_body: int | None = DEFAULT_MAX_BODY
    settings: ConnectionSettings = field(default_factory=ConnectionSettings)
    cutoff: Cutoff = field(default_factory=Cutoff)
    retrying: Retrying = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "retrying", Retrying(self.settings, self.cutoff))

    def session(self) -> requests.Session:
        """A session for anonymous requests with these settings and body cap."""
        return http_session(self.settings, max_body=self.max_body)


def probe_options(
    *,
    timeout: float,
    settings: ConnectionSettings | None = None,
    deadline: float | None = None,
    origins: tuple[str, ...] = (),
    refused_origin: str = DEFAULT_REFUSED_ORIGIN,
    fetch_custom_domain: bool = False,
) -> ProbeOptions:
    """Options for ``check``: each request ends within ``timeout`` s and the run within ``deadline`` s (from
    now); each socket waits a little longer than ``timeout``, so the wall-clock bound is what reports a slow
    server, in its own words."""
    base = settings or ConnectionSettings()
    socket_level = ConnectionSettings(
        ca_bundle=base.ca_bundle,
        ca_source=base.ca_source,
        connect_timeout=timeout,
        read_timeout=timeout + 1.0,
        attempts=base.attempts,
        max_retry_wait=base.max_retry_wait,
        environ=base.environ,
    )
    return ProbeOptions(
        origins=origins,
        refused_origin=refused_origin,
        timeout=timeout,
        fetch_custom_domain=fetch_custom_domain,
        settings=socket_level,
        cutoff=Cutoff(deadline),
    )


def new_key(prefix: str) -> str:
    """A probe object key no one else uses: the DSN's prefix, a fixed folder, a UTC timestamp and random hex."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{prefix}{PROBE_PREFIX}{stamp}-{secrets.token_hex(6)}.txt"


def shown(url: str) -> str:
    """A URL safe to print: without its query string (signed URLs carry bearer signatures there)."""
    parts = urlsplit(url)
    return parts._replace(query="", fragment="").geturl() + (" (signed query string hidden)" if parts.query else "")


def _status(response: requests.Response) -> str:
    # The standard phrase: emulators put whole error messages (or shout) in the reason phrase.
    try:
        phrase = HTTPStatus(response.status_code).phrase
    except ValueError:
        phrase = ""
    return f"{response.status_code} {phrase}".strip()


def anonymous_get(url: str, options: ProbeOptions) -> requests.Response:
    """GET ``url`` without any credential, as a visitor's browser would (bounded by ``options``)."""
    with options.session() as session:
        return send_anonymous(session, "GET", url, settings=options.settings, retrying=options.retrying)


def preflight(url: str, origin: str, options: ProbeOptions) -> requests.Response:
    """The CORS preflight a browser sends before a cross-origin GET from ``origin`` (bounded)."""
    headers = {"Origin": origin, "Access-Control-Request-Method": "GET"}
    with options.session() as session:
        return send_anonymous(
            session, "OPTIONS", url, settings=options.settings, retrying=options.retrying, headers=headers
        )


def _allowed_origin(response: requests.Response, origin: str) -> str | None:
    """The Access-Control-Allow-Origin that lets ``origin`` in, or None when the preflight refused it."""
    if not 200 <= response.status_code < 300:
        return None
    allowed = response.headers.get("Access-Control-Allow-Origin")
    if allowed in (origin, "*"):
        return allowed
    return None


def location(store: StoreClient) -> str:
    """Where the store keeps objects, for messages about what is left: bucket or container, and endpoint."""
    bucket = getattr(store, "bucket", None)
    if bucket is not None:
        return f"bucket {bucket} at {store.endpoint}"
    container = getattr(store, "container", None)
    if container is not None:
        return f"container {container} at {store.endpoint}"
    return store.endpoint


class ProbeFailed(Exception):
    """An operation of a probe failed; the message says why in words (already explained, not yet redacted)."""


class _Run:
    """Collects results of one store; every detail goes through the store's redaction and is made one line."""

    def __init__(self, store: StoreClient, options: ProbeOptions) -> None:
        self.store = store
        self.options = options
        self.results: list[ProbeResult] = []
        self.unreachable: str | None = None

    def add(self, name: str, status: Status, detail: str) -> None:
        self.results.append(ProbeResult(self.store.role, name, status, one_line(self.store.redact(detail))))

    def skip(self, name: str, why: str) -> None:
        self.add(name, "skip", f"not run: {why}")

    def out_of_time(self, name: str) -> bool:
        """True (after recording the failure) when the run's deadline has passed before probe ``name``."""
        cutoff = self.options.cutoff
        if not cutoff.passed:
            return False
        self.add(name, "fail", f"not run: the run's deadline ({cutoff.seconds:g} s) passed before this probe")
        return True

    def gone(self, name: str) -> bool:
        """True (after recording why) when probe ``name`` cannot run: endpoint unusable or deadline passed."""
        if self.unreachable:
            self.skip(name, f"{self.store.endpoint} cannot be reached (see the first failure)")
            return True
        return self.out_of_time(name)

    def call(self, operation: Callable[[], T], url: str | None = None) -> T:
        """``operation()`` within one request's time (:attr:`ProbeOptions.timeout`); :class:`ProbeFailed` with
        the failure in words when it fails (``url``: where it went, default the store's endpoint)."""
        with self.options.cutoff.window(self.options.timeout) as window:
            try:
                result = operation()
                if window.expired:
                    # Cut at the deadline, the answer may have been taken for complete while it was cut short.
                    raise TimeoutError("cut at the end of the request's time")
                return result
            except Exception as error:  # noqa: BLE001 - every failure becomes a reason in the table
                failure = describe(
                    error,
                    url=url or self.store.endpoint,
                    settings=self.options.settings,
                    window=window,
                    target=None if url else self.store.endpoint,
                )
                if failure is None:
                    raise ProbeFailed(self._explained(error)) from None
                if failure.unreachable:
                    self.unreachable = failure.words
                raise ProbeFailed(failure.words) from None

    def _explained(self, error: Exception) -> str:
        try:
            return self.store.explain(error)
        except Unreachable as gone:
            self.unreachable = str(gone)
            return str(gone)


def probe_store(store: StoreClient, options: ProbeOptions) -> list[ProbeResult]:
    """Run the probes of one store and return their results, deleting the probe object even when probes fail.

    Public store: write, read, public-read (anonymous), one cors-allowed per origin, cors-refused, delete.
    Private store: write, read, anonymous-refused, signed-read, delete. Ctrl-C stops the probes, removes the
    probe object and raises :class:`Interrupted` saying what was removed or what is left.
    """
    # The run's deadline counts from the first probe: setting up SDK clients (imports, service models) is not the
    # store's time, and takes seconds on a busy machine.
    options.cutoff.start()
    run = _Run(store, options)
    key = new_key(store.key_prefix)
    body = f"divio-storage check probe {key}\n".encode()
    state = {"written": False, "attempted": False}
    try:
        _probe(run, store, options, key, body, state)
        _cleanup(run, store, key, **state)
    except KeyboardInterrupt:
        raise Interrupted(_interrupted_cleanup(run, store, key, **state)) from None
    return run.results


def _probe(run: _Run, store: StoreClient, options: ProbeOptions, key: str, body: bytes, state: dict[str, bool]) -> None:
    why_not = store.check_credentials()
    if why_not is not None:
        run.add("write", "fail", why_not)
    elif not run.out_of_time("write"):
        state["attempted"] = True
        try:
            run.call(lambda: store.write(key, body))
        except ProbeFailed as failed:
            run.add("write", "fail", f"cannot write {key}: {failed}")
        else:
            state["written"] = True
            run.add("write", "pass", f"wrote {key} ({len(body)} bytes) with the DSN's credential")
    _after_write(run, store, options, key, body, state["written"])


def _interrupted_cleanup(run: _Run, store: StoreClient, key: str, *, written: bool, attempted: bool) -> str:
    """Remove the probe object after Ctrl-C (one bounded attempt) and say what happened, in one line."""
    where = location(store)
    if not written and not attempted:
        return "interrupted: nothing was written"
    run.options.cutoff.extend(run.options.timeout)
    try:
        run.call(lambda: store.delete(key))
    except KeyboardInterrupt:
        return f"interrupted twice: the probe object may be left: {where}, key {key}; remove it by hand"
    except ProbeFailed as failed:
        why = one_line(store.redact(str(failed)), 200)
        return f"interrupted: the probe object may be left ({why}): {where}, key {key}; remove it by hand"
    return f"interrupted: removed the probe object {key} from {where}"


def _after_write(run: _Run, store: StoreClient, options: ProbeOptions, key: str, body: bytes, written: bool) -> None:
    object_probes = ["read", "public-read"] if store.role == "public" else ["read", "anonymous-refused", "signed-read"]
    if not written:
        why = (
            f"{store.endpoint} cannot be reached (see the first failure)"
            if run.unreachable
            else ("the probe object could not be written")
        )
        for name in object_probes:
            run.skip(name, why)
    else:
        _read(run, store, key, body)
        if store.role == "public":
            _public_read(run, store, options, key, body)
        else:
            _anonymous_refused(run, store, options, key)
            _signed_read(run, store, options, key, body)
    if store.role == "public":
        _cors(run, store, options, key)


def _read(run: _Run, store: StoreClient, key: str, body: bytes) -> None:
    if run.gone("read"):
        return
    try:
        got = run.call(lambda: store.read(key))
    except ProbeFailed as failed:
        run.add("read", "fail", f"cannot read {key} back: {failed}")
        return
    if got != body:
        run.add("read", "fail", f"read {len(got)} bytes back, not the {len(body)} bytes written")
    else:
        run.add("read", "pass", f"read {key} back with the DSN's credential")


def _fetch(run: _Run, name: str, url: str, options: ProbeOptions) -> requests.Response | None:
    """An anonymous GET, or None after recording why it could not be made."""
    if run.gone(name):
        return None
    try:
        return run.call(lambda: anonymous_get(url, options), url=url)
    except ProbeFailed as failed:
        run.add(name, "fail", f"GET {shown(url)}: {failed}")
        return None


def _public_read(run: _Run, store: StoreClient, options: ProbeOptions, key: str, body: bytes) -> None:
    url = store.object_url(key)
    domain_url = store.custom_domain_url(key)
    # The endpoint URL tests the store's own public-access setting; a custom domain also depends on DNS and a
    # CDN that may not exist yet (or not from where check runs), so it is named and, on request, fetched too.
    note = ""
    if domain_url is not None and not options.fetch_custom_domain:
        note = f"; media URLs use the custom domain {domain_url}, not fetched (--fetch-custom-domain fetches it)"
    response = _fetch(run, "public-read", url, options)
    if response is not None:
        if response.status_code == 200 and response.content == body:
            run.add("public-read", "pass", f"anonymous GET {url} -> 200, same bytes{note}")
        elif response.status_code == 200:
            run.add("public-read", "fail", f"anonymous GET {url} -> 200 but other bytes than written{note}")
        elif _refusal(response):
            run.add(
                "public-read",
                "fail",
                f"anonymous GET {url} -> {_status(response)}: visitors cannot load media; "
                f"{store.public_refused_hint()}{note}",
            )
        else:
            run.add(
                "public-read",
                "fail",
                f"anonymous GET {url} -> {_status(response)}: expected 200 with the probe object's bytes{note}",
            )
    if domain_url is not None and options.fetch_custom_domain:
        response = _fetch(run, "public-read custom-domain", domain_url, options)
        if response is not None:
            ok = response.status_code == 200 and response.content == body
            run.add(
                "public-read custom-domain",
                "pass" if ok else "fail",
                f"anonymous GET {domain_url} -> {_status(response)}"
                + ("" if ok else ": the custom domain does not serve this store's objects (DNS / CDN origin?)"),
            )


def _refusal(response: requests.Response) -> bool:
    """A refusal is a 403/404-class answer (4xx); a 5xx is the endpoint failing, not refusing."""
    return 400 <= response.status_code < 500


def _anonymous_refused(run: _Run, store: StoreClient, options: ProbeOptions, key: str) -> None:
    url = store.object_url(key)
    response = _fetch(run, "anonymous-refused", url, options)
    if response is None:
        return
    if _refusal(response):
        run.add("anonymous-refused", "pass", f"anonymous GET {url} -> {_status(response)}")
    elif 200 <= response.status_code < 300:
        run.add(
            "anonymous-refused",
            "fail",
            f"anonymous GET {url} -> {_status(response)}: anyone can read private files; {store.private_open_hint()}",
        )
    else:
        run.add(
            "anonymous-refused",
            "fail",
            f"anonymous GET {url} -> {_status(response)}: expected a refusal (403), got something else",
        )


def _signed_read(run: _Run, store: StoreClient, options: ProbeOptions, key: str, body: bytes) -> None:
    if run.gone("signed-read"):
        return
    try:
        url = run.call(lambda: store.signed_url(key))
    except ProbeFailed as failed:
        run.add("signed-read", "fail", f"cannot sign a URL for {key}: {failed}")
        return
    response = _fetch(run, "signed-read", url, options)
    if response is None:
        return
    if response.status_code == 200 and response.content == body:
        run.add("signed-read", "pass", f"GET {shown(url)} -> 200, same bytes")
    else:
        run.add(
            "signed-read",
            "fail",
            f"GET {shown(url)} -> {_status(response)}: links the app signs for private files will not work",
        )


def _cors(run: _Run, store: StoreClient, options: ProbeOptions, key: str) -> None:
    # Preflights go to a key that is never written: browsers preflight before the object matters, and the
    # answer must come from the CORS rules alone, not from the object's own access settings.
    url = store.object_url(f"{key}.preflight")
    wildcard = "*" in options.origins
    checks: list[tuple[str, str, bool]] = [
        (f"cors-allowed {origin}", options.refused_origin if origin == "*" else origin, True)
        for origin in options.origins
    ]
    if not wildcard:
        checks.append((f"cors-refused {options.refused_origin}", options.refused_origin, False))
    for name, origin, must_allow in checks:
        if run.gone(name):
            continue
        try:
            response = run.call(lambda origin=origin: preflight(url, origin, options), url=url)  # type: ignore[misc]
        except ProbeFailed as failed:
            run.add(name, "fail", f"preflight OPTIONS {shown(url)}: {failed}")
            continue
        _judge_preflight(run, name, origin, must_allow, response)


def _judge_preflight(run: _Run, name: str, origin: str, must_allow: bool, response: requests.Response) -> None:
    allowed = _allowed_origin(response, origin)
    said = f"preflight for GET from {origin} -> {_answer(response)}"
    if must_allow and allowed is not None:
        run.add(name, "pass", f"{said}, Access-Control-Allow-Origin: {allowed}")
    elif must_allow:
        advice = f"browsers on {origin} cannot load media with CORS; add it to corsOrigins"
        run.add(name, "fail", f"{said}, not allowed: {advice}")
    elif allowed is None and _cors_refusal(response):
        run.add(name, "pass", f"{said}, refused as it should be")
    elif allowed is None:
        run.add(
            name,
            "fail",
            f"{said}: expected a refusal (403, or a 2xx answer without Access-Control-Allow-Origin), got something "
            "else, so the CORS rules were not checked",
        )
    else:
        run.add(
            name,
            "fail",
            f"{said}, allowed (Access-Control-Allow-Origin: {allowed}): any website may read the media "
            "through visitors' browsers; list only the website's own origins in corsOrigins",
        )


def _cors_refusal(response: requests.Response) -> bool:
    """A refusal as S3 and Azure give it: 403, or a 2xx answer without a matching Access-Control-Allow-Origin
    (the caller has checked the header); a 400, a 404 or a 5xx is something else."""
    return response.status_code == 403 or 200 <= response.status_code < 300


_CODE_RE = re.compile(r"<Code>([A-Za-z0-9_.-]{1,64})</Code>")


def _answer(response: requests.Response) -> str:
    """The status with the store's error code, if it named one (S3's XML ``Code``, Azure's ``x-ms-error-code``)."""
    code = response.headers.get("x-ms-error-code")
    if not code:
        match = _CODE_RE.search(response.content[:4096].decode("utf-8", "replace"))
        code = match.group(1) if match else None
    return _status(response) + (f" ({code[:64]})" if code else "")


def _cleanup(run: _Run, store: StoreClient, key: str, *, written: bool, attempted: bool) -> None:
    # The clean-up gets one request even after the run's deadline: a probe object left behind is worse than a
    # run that ends one timeout later.
    if written or attempted:
        run.options.cutoff.extend(run.options.timeout)
    if not written:
        # A write that failed half-way (a timeout after the upload arrived) may still have left the object.
        if attempted and not run.unreachable:
            with suppress(ProbeFailed):
                run.call(lambda: store.delete(key))
        run.skip("delete", "nothing was written")
        return
    try:
        run.call(lambda: store.delete(key))
    except ProbeFailed as failed:
        run.add("delete", "fail", f"cannot delete {key} from {location(store)}, remove it by hand: {failed}")
        return
    run.add("delete", "pass", f"deleted {key}")
