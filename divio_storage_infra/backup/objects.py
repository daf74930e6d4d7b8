"""What backup and restore know of an object, and what every store they copy between can do."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

PLAIN_MD5 = re.compile(r"^[0-9a-f]{32}$")
"""A checksum that is the MD5 of the whole content (S3 single-part ETags, Azure's Content-MD5 in hex)."""


@dataclass(frozen=True)
class Entry:
    """One object in a listing: key (relative to the DSN's location), size in bytes, checksum, time, version."""

    key: str
    size: int
    etag: str
    """S3: the ETag without quotes; Azure: the hex MD5 of the content, or ``""`` when the store has none."""
    modified: dt.datetime
    version: str | None = None


@dataclass(frozen=True)
class Content:
    """What travels with an object's bytes: content type, cache control and the other headers, user metadata."""

    headers: tuple[tuple[str, str], ...] = ()
    """By S3 name: ContentType, CacheControl, ContentDisposition, ContentEncoding, ContentLanguage."""
    metadata: tuple[tuple[str, str], ...] = field(default=())


class CopyFailed(Exception):
    """One object could not be copied, or its copy did not match its source; the message names the key only."""


class Side(Protocol):
    """One store that backup or restore reads from or writes to."""

    label: str
    """``<cloud>:<bucket or account/container>``: how messages name the store (never a secret)."""
    identity: str
    """The store's own name as a backup's marker names it: the bucket, or ``<account>/<container>``."""

    def marks(self) -> dict[str, str]:
        """The store's markers (S3 bucket tags, Azure container metadata); empty when it has none."""
        ...

    def listing(self, prefix: str) -> Iterator[Entry]:
        """Every object under ``prefix``, in key order, one page at a time."""
        ...

    def listing_at(self, prefix: str, when: dt.datetime) -> Iterator[Entry]:
        """Every object under ``prefix`` as it was at ``when`` (from kept versions), in key order."""
        ...

    def read(self, entry: Entry, part_size: int) -> tuple[Content, Iterator[bytes]]:
        """The object's content headers and its bytes in chunks of at most ``part_size``."""
        ...

    def copy_within(self, source: object, entry: Entry, *, acl: str | None) -> str | None:
        """Copy ``entry`` from ``source`` inside the store when this side can (same endpoint and credentials);
        the copy's ETag, or None when it cannot (the caller then streams it)."""
        ...

    def write(self, key: str, content: Content, chunks: Iterator[bytes], *, size: int, acl: str | None) -> str:
        """Store ``chunks`` under ``key``, each request checksummed; return the hex MD5 of the whole object."""
        ...


def fixed_parts(chunks: Iterator[bytes], size: int) -> Iterator[bytes]:
    """``chunks`` regrouped into parts of exactly ``size`` bytes (the last one shorter): S3 wants equal parts."""
    buffer = bytearray()
    for chunk in chunks:
        if not buffer and len(chunk) == size:
            yield chunk  # the usual case: no copy
            continue
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)
