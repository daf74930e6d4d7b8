"""One copy job (which store into which, with which ACL) and the verified copy of one object in it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from divio_storage_infra.backup.connection import Connection
from divio_storage_infra.backup.objects import PLAIN_MD5, CopyFailed, Entry, Side


@dataclass(frozen=True)
class Job:
    """One copy: from ``source`` to ``target``, under ``prefix``, as of ``when`` (None: the newest), with ``acl``."""

    role: str
    source: Side
    target: Side
    acl: str | None
    prefix: str = ""
    when: dt.datetime | None = None


def copy_one(job: Job, entry: Entry, connection: Connection) -> int:
    """Copy one object and verify it; return its size. Raises CopyFailed when the copy does not match."""
    copied = job.target.copy_within(job.source, entry, acl=job.acl)
    if copied is not None:
        # Inside the store: the bytes never left it; a single-part source's MD5 must still be the copy's.
        if PLAIN_MD5.match(entry.etag) and PLAIN_MD5.match(copied) and copied != entry.etag:
            raise CopyFailed(f"{entry.key}: MD5 of the copy differs from the source's")
        return entry.size
    content, chunks = job.source.read(entry, connection.part_size)
    seen = 0

    def counted() -> Iterator[bytes]:
        nonlocal seen
        for chunk in chunks:
            seen += len(chunk)
            yield chunk

    digest = job.target.write(entry.key, content, counted(), size=entry.size, acl=job.acl)
    if seen != entry.size:
        raise CopyFailed(f"{entry.key}: read {seen} bytes, the listing said {entry.size} (changed while copied?)")
    if PLAIN_MD5.match(entry.etag) and digest != entry.etag:
        raise CopyFailed(f"{entry.key}: MD5 of the copy differs from the source's")
    return entry.size
