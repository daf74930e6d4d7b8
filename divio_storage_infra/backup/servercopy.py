"""CopyObject inside one store, sent without the SDK client's per-request machinery.

Backup and restore between two buckets of one store copy each object with one CopyObject, and for small objects
almost all of a copy's cost is the client's CPU time per request (about 1.1 ms: endpoint rules, user agent, event
hooks, response parsing), next to rclone's 0.6 ms. :class:`ServerCopy` sends the same request on the SDK's own
pieces instead: the path-style URL of the client's endpoint, botocore's SigV4 signer, botocore's transport
(``URLLib3Session``, with the shared settings' CA bundle, proxy and timeouts) and the shared :class:`Retrying`
rule (``Retry-After``, throttling, dropped keep-alive connections), about 0.7 ms per copy. It is used only where
the client itself would send exactly that request (path-style addressing, SigV4, a key pair from the DSN), which
``tests/backup/test_servercopy.py`` compares header for header with the client's own request.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import quote

from divio_storage_infra.connection import ConnectionSettings, Retrying, retry_after_seconds
from divio_storage_infra.connection.failures import is_dropped

_SAFE = "/~"
"""Characters left as they are in a key's path (botocore's own choice for S3 keys)."""
# The answer is a few hundred bytes of a fixed shape (CopyObjectResult or Error); its two values are read without
# an XML parser (and so without the entity expansion an XML parser would do on a hostile answer).
_ETAG = re.compile(rb"<ETag>(?:&quot;|&#34;|\")?([^<&\"]*)(?:&quot;|&#34;|\")?</ETag>")
_CODE = re.compile(rb"<Code>([A-Za-z0-9.]{1,64})</Code>")


class ServerCopyError(Exception):
    """The store refused the copy; the message names the key and the store's error code (never a request)."""


class ServerCopy:
    """CopyObject requests to one path-style SigV4 endpoint, as one key pair."""

    def __init__(
        self,
        *,
        endpoint_url: str,
        region: str,
        access_key_id: str,
        secret_access_key: str,
        settings: ConnectionSettings,
        pool: int,
    ) -> None:
        from botocore.credentials import Credentials
        from botocore.httpsession import URLLib3Session

        self._endpoint = endpoint_url.rstrip("/")
        self._region = region
        self._credentials = Credentials(access_key_id, secret_access_key)
        self._retrying = Retrying(settings)
        self._http = URLLib3Session(
            verify=settings.verify,
            proxies=settings.proxies_for(self._endpoint),
            timeout=(settings.connect_timeout, settings.read_timeout),
            max_pool_connections=pool,
        )

    def copy(
        self, *, source_bucket: str, source_key: str, version: str | None, bucket: str, key: str, acl: str | None
    ) -> str:
        """Copy ``source_bucket/source_key`` (of ``version``) to ``bucket/key`` with its content headers and
        metadata (and ``acl``); the copy's ETag. Raises ServerCopyError for a refusal, the transport's error for
        a connection that failed after the retries."""
        source = f"{source_bucket}/{quote(source_key, safe=_SAFE)}"
        if version is not None:
            source += f"?versionId={version}"  # as botocore sends it: the version id as the store gave it
        headers = {"x-amz-copy-source": source, "x-amz-metadata-directive": "COPY"}
        if acl is not None:
            headers["x-amz-acl"] = acl
        url = f"{self._endpoint}/{bucket}/{quote(key, safe=_SAFE)}"
        attempt = 1
        while True:
            wait, answer = self._attempt(url, headers, attempt)
            if wait is None:
                return self._etag(answer, key)
            time.sleep(wait)
            attempt += 1

    def _attempt(self, url: str, headers: dict[str, str], attempt: int) -> tuple[float | None, tuple[int, bytes]]:
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method="PUT", url=url, headers=headers)
        S3SigV4Auth(self._credentials, "s3", self._region).add_auth(request)
        try:
            response = self._http.send(request.prepare())
        except Exception as error:
            wait = self._retrying.wait(attempt, None, dropped=True) if is_dropped(error) else None
            if wait is None:
                raise
            return wait, (0, b"")
        body = response.content
        # A copy can fail after its 200 has been sent: the error is then the answer's body (as botocore reads it).
        code = _error_code(body)
        status = response.status_code if code is None or response.status_code != 200 else 500
        if self._retrying.retriable_answer(status, code):
            wait = self._retrying.wait(attempt, retry_after_seconds(response.headers.get("Retry-After")))
            if wait is not None:
                return wait, (status, body)
        return None, (status, body)

    @staticmethod
    def _etag(answer: tuple[int, bytes], key: str) -> str:
        status, body = answer
        code = _error_code(body)
        if status != 200 or code is not None:
            raise ServerCopyError(f"{key}: the store refused the copy ({code or f'HTTP {status}'})")
        found = _ETAG.search(body)
        if found is None:
            raise ServerCopyError(f"{key}: the store's answer to the copy holds no ETag")
        return found.group(1).decode("ascii", errors="replace")


def _error_code(body: bytes) -> str | None:
    """The ``Code`` of an S3 ``Error`` document, None for any other body."""
    if b"<Error>" not in body[:512]:
        return None
    found = _CODE.search(body)
    return found.group(1).decode("ascii") if found else "Error"


def usable(client: Any, parsed_auth: str | None, access_key_id: str | None, secret: str | None) -> bool:
    """True when ``client`` would send exactly the request :class:`ServerCopy` sends: path-style addressing,
    SigV4 and a key pair of the DSN's own (not the environment's chain, which may rotate session tokens)."""
    style = (client.meta.config.s3 or {}).get("addressing_style")
    return style == "path" and parsed_auth in (None, "s3v4") and bool(access_key_id) and bool(secret)
