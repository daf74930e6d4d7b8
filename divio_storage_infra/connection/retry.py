"""When to try a request again and how long to wait first: one rule, plugged into botocore and azure-core.

A store that throttles (HTTP 500, 502, 503, 504; S3's ``SlowDown``, Azure's ``ServerBusy``) or drops a keep-alive
connection it had kept open gets the request again, up to ``attempts`` tries. The wait is what the store's
``Retry-After`` asks (botocore's own retry modes do not read it), else an exponential backoff with jitter; a wait
longer than ``max_retry_wait`` or past the current time window (see :mod:`.cutoff`) means giving up at once, with
the last answer. Nothing else is retried: a refused connection or a timeout is reported in seconds.
"""

from __future__ import annotations

import email.utils
import functools
import random
import time
from collections.abc import Callable
from typing import Any

from divio_storage_infra.connection.cutoff import Cutoff
from divio_storage_infra.connection.failures import is_dropped
from divio_storage_infra.connection.settings import BACKOFF_BASE, ConnectionSettings

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
"""HTTP statuses tried again (429: too many requests)."""
THROTTLE_CODES = frozenset({"SlowDown", "ServerBusy", "Throttling", "ThrottlingException", "RequestLimitExceeded"})
"""Error codes tried again whatever their status (S3's and Azure's words for "too many requests")."""
_MAX_BACKOFF = 5.0
DROPPED_EXTRA = 10
"""Tries beyond ``attempts`` for a connection found closed: each one takes another pooled connection (which may
be stale too, after a server closed each one after its answer), so they are retried at once and counted apart."""


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (a number of seconds or an HTTP date); None when absent or
    unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff(attempt: int) -> float:
    """Seconds to wait after the ``attempt``-th try failed without ``Retry-After``: full jitter over 0.2 s doubling
    per attempt, at most 5 s."""
    # Jitter spreads the retries of parallel requests; it guards no secret.
    factor = random.uniform(0.5, 1.0)  # noqa: S311
    return factor * min(_MAX_BACKOFF, BACKOFF_BASE * 2.0 ** max(0, attempt - 1))


class Retrying:
    """The retry rule of one run: ``settings`` (attempts, longest wait) and the run's ``cutoff`` (time left)."""

    def __init__(self, settings: ConnectionSettings, cutoff: Cutoff | None = None) -> None:
        self.settings = settings
        self.cutoff = cutoff
        self.retried = 0
        """How many retries this run made (for reports and tests)."""

    def wait(self, attempt: int, retry_after: float | None, *, dropped: bool = False) -> float | None:
        """Seconds to wait before try ``attempt + 1`` after try ``attempt`` failed, or None to give up;
        ``dropped``: it failed on a keep-alive connection the server had closed (tried again at once)."""
        if attempt >= self.settings.attempts + (DROPPED_EXTRA if dropped else 0):
            return None
        wait = 0.0 if dropped else retry_after if retry_after is not None else backoff(attempt)
        if wait > self.settings.max_retry_wait:
            return None
        if self.cutoff is not None and not self.cutoff.allows(wait):
            return None
        self.retried += 1
        return wait

    def retriable_answer(self, status: int, code: str | None) -> bool:
        """True for an answer that asks to try again (a throttling or passing server error)."""
        return status in RETRY_STATUS or (code or "") in THROTTLE_CODES

    # --- botocore --------------------------------------------------------------------------------------------

    def botocore_handler(self) -> Callable[..., float | None]:
        """A ``needs-retry`` event handler for a botocore client: the seconds to sleep, or None for no retry.

        Register it with ``client.meta.events.register("needs-retry.s3", handler)`` on a client whose own retry
        mode makes one attempt; botocore sleeps the returned seconds and sends the request again.
        """

        def needs_retry(
            response: Any = None, attempts: int = 1, caught_exception: BaseException | None = None, **_: Any
        ) -> float | None:
            if caught_exception is not None:
                return self.wait(attempts, None, dropped=True) if is_dropped(caught_exception) else None
            if response is None:
                return None
            http, parsed = response
            code = parsed.get("Error", {}).get("Code") if isinstance(parsed, dict) else None
            if not self.retriable_answer(http.status_code, code):
                return None
            return self.wait(attempts, retry_after_seconds(http.headers.get("Retry-After")))

        return needs_retry

    # --- azure-core ------------------------------------------------------------------------------------------

    def azure_policy(self) -> Any:
        """An azure-core ``RetryPolicy`` that follows this rule (pass it as ``retry_policy=`` to a storage
        client)."""
        return _azure_retry_class()(self)


@functools.cache
def _azure_retry_class() -> Any:
    # Defined on first use: importing azure-storage-blob costs time that commands without an Azure store need not
    # pay. Built on the storage SDK's own policy (it rewinds request bodies and knows the storage options).
    from azure.core.exceptions import ServiceRequestError
    from azure.storage.blob import ExponentialRetry

    class AzureRetry(ExponentialRetry):
        """azure-storage-blob's retry policy, deciding with the rule and waiting what ``Retry-After`` asks."""

        def __init__(self, rule: Retrying) -> None:
            tries = max(0, rule.settings.attempts - 1)
            # No connect retries: a refused or silent endpoint is reported at once. Closed keep-alive connections
            # ("read" errors here) get the rule's extra tries.
            super().__init__(
                retry_total=tries + DROPPED_EXTRA,
                retry_connect=0,
                retry_read=tries + DROPPED_EXTRA,
                retry_status=tries,
            )
            self.rule = rule

        def increment(self, settings: dict[str, Any], request: Any, response: Any = None, error: Any = None) -> bool:
            """Count the failed try as the SDK does; then decide with the rule (and plan the wait)."""
            if error is not None and not is_dropped(error):
                return False
            if isinstance(error, ServiceRequestError):
                # Over TLS, requests reports a closed keep-alive connection as an SSLError, which azure-core files
                # under "could not connect" (no connect retries here); it did connect, so it counts as a read.
                settings["connect"] += 1
                settings["read"] -= 1
            if response is not None and not self.rule.retriable_answer(
                response.status_code, response.headers.get("x-ms-error-code")
            ):
                return False
            if not super().increment(settings, request=request, response=response, error=error):
                return False
            retry_after = None if response is None else _azure_retry_after(response.headers)
            wait = self.rule.wait(len(settings["history"]), retry_after, dropped=error is not None)
            if wait is None:
                return False
            settings["planned_wait"] = wait
            return True

        def sleep(self, settings: dict[str, Any], transport: Any) -> None:
            """Wait what :meth:`increment` planned."""
            transport.sleep(settings.pop("planned_wait", 0.0))

    return AzureRetry


def _azure_retry_after(headers: Any) -> float | None:
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        value = retry_after_seconds(headers.get(name))
        if value is not None:
            return value / 1000
    return retry_after_seconds(headers.get("Retry-After"))
