"""A cap on response bodies, for requests whose answers are known to be small (``check``'s probes).

The SDKs read a whole answer into memory before looking at it, so an endpoint that sends a body without end would
grow the process until it dies. Where a cap is asked for, the body is read in chunks and abandoned past it; the
response then carries the bytes read in a :class:`BufferedBody` that requests, botocore and azure-core all accept.
Transfers of real data (``bench``, ``backup``) use no cap.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError, ProtocolError, ReadTimeoutError

DEFAULT_MAX_BODY = 1024 * 1024
"""Bytes of a probe's answer read at most (1 MiB); probe objects are a few dozen bytes, error documents a few KiB."""
_CHUNK = 64 * 1024


class BodyTooLarge(requests.RequestException):
    """The answer's body was longer than the cap; reading stopped there."""


class BufferedBody(io.BytesIO):
    """A body read whole (within the cap) that looks enough like urllib3's response for requests, botocore and
    azure-core."""

    enforce_content_length = False

    def stream(self, amt: int | None = _CHUNK, decode_content: bool | None = None) -> Iterator[bytes]:
        """The body in chunks of ``amt`` bytes (urllib3's ``HTTPResponse.stream``)."""
        while chunk := self.read(amt or _CHUNK):
            yield chunk

    def read(self, amt: int | None = None, decode_content: bool | None = None) -> bytes:
        """Up to ``amt`` bytes (all that is left without it)."""
        return super().read(amt if amt is not None else -1)

    def release_conn(self) -> None:
        """Nothing to release: the connection went back to its pool once the body was read."""


def read_capped(raw: Any, max_body: int) -> bytes:
    """Read all of urllib3 response ``raw`` (undecoded), raising :class:`BodyTooLarge` past ``max_body`` bytes."""
    parts: list[bytes] = []
    size = 0
    while chunk := raw.read(_CHUNK, decode_content=False):
        size += len(chunk)
        if size > max_body:
            raw.close()
            raise BodyTooLarge(f"the answer's body is longer than {max_body} bytes; stopped reading")
        parts.append(chunk)
    return b"".join(parts)


class BlockSendingAdapter(HTTPAdapter):
    """requests' adapter that sends a large ``bytes`` body in blocks (the SDKs hand over whole bytes).

    One ``sendall`` of a whole body is bounded in total by the socket's timeout (over TLS too), so a slow link
    that keeps moving would time out; sent from a file, the body goes out block by block and each block's send
    is bounded on its own: the timeout bounds waiting, never a transfer that progresses.
    """

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        """Send ``request``, its body from a file when it is large bytes (Content-Length stays as set)."""
        if isinstance(request.body, bytes) and len(request.body) > _CHUNK:
            request.body = io.BytesIO(request.body)  # type: ignore[assignment]
        return super().send(request, *args, **kwargs)


class CappedAdapter(BlockSendingAdapter):
    """requests' adapter that reads every answer whole within ``max_body`` bytes (``stream=True`` is honoured in
    form: the body is already in memory, in a :class:`BufferedBody`)."""

    def __init__(self, max_body: int = DEFAULT_MAX_BODY, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_body = max_body

    def send(self, request: requests.PreparedRequest, stream: bool = False, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Send ``request`` and read its answer within the cap."""
        response = super().send(request, stream=True, **kwargs)
        try:
            body = read_capped(response.raw, self.max_body)
        except ReadTimeoutError as error:
            response.close()
            raise requests.ReadTimeout(error, request=request) from error
        except (HTTPError, OSError) as error:
            response.close()
            # As requests reports a body that broke off, so the SDKs map it to their own error (and may retry).
            broke = ProtocolError("the answer's body broke off", error)
            raise requests.ConnectionError(broke, request=request) from error
        except BodyTooLarge:
            response.close()
            raise
        # Read to the end: the connection goes back to the pool for the next request (keep-alive).
        response.raw.release_conn()
        response._content = body
        response._content_consumed = True  # type: ignore[attr-defined]
        response.raw = BufferedBody(body)
        return response
