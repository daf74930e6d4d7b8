"""Copy what differs from one side to the other, verified by checksum, in bounded memory, resumable.

Both sides are listed page by page in key order and merged, so memory does not grow with the object count; at most
``2 x workers`` copies are queued and each holds one part (:data:`~.connection.PART_SIZE`) at a time. An object is
unchanged when the target has it with the same size and checksum (or, where checksums cannot be compared, the same
size and a copy newer than the source's). Every write is checksummed per request and the whole object's MD5 is
compared with the source's; an interrupted run leaves no partial object, and running again copies only the rest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from divio_storage_infra.backup.connection import Connection
from divio_storage_infra.backup.job import Job, copy_one
from divio_storage_infra.backup.objects import PLAIN_MD5, CopyFailed, Entry

MAX_FAILURES_SHOWN = 20


@dataclass
class Counts:
    """What one store's copy did: objects listed at the source, copied, unchanged, failed; bytes copied."""

    role: str
    listed: int = 0
    copied: int = 0
    unchanged: int = 0
    failed: int = 0
    bytes: int = 0
    would_copy: int = 0
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """The counts as JSON-ready values (the first :data:`MAX_FAILURES_SHOWN` failures by key)."""
        return {
            "store": self.role,
            "listed": self.listed,
            "copied": self.copied,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "bytes": self.bytes,
            "would_copy": self.would_copy,
            "failures": list(self.failures),
        }


def unchanged(source: Entry, target: Entry | None) -> bool:
    """True when ``target`` already holds ``source``'s content."""
    if target is None or target.size != source.size:
        return False
    if source.etag and source.etag == target.etag:
        return True
    if PLAIN_MD5.match(source.etag) and PLAIN_MD5.match(target.etag):
        return False
    return target.modified >= source.modified


def differing(job: Job) -> Iterator[tuple[Entry, bool]]:
    """Each source entry, and whether the target lacks it (or holds other content), by a merge of the listings."""
    sources = job.source.listing(job.prefix) if job.when is None else job.source.listing_at(job.prefix, job.when)
    targets = job.target.listing(job.prefix)
    current = next(targets, None)
    for entry in sources:
        while current is not None and current.key < entry.key:
            current = next(targets, None)
        match = current if current is not None and current.key == entry.key else None
        yield entry, not unchanged(entry, match)


def run(
    job: Job,
    connection: Connection,
    stop: threading.Event,
    *,
    dry_run: bool = False,
    report: Callable[[Counts], None] = lambda counts: None,
    listed: Callable[[str, Entry], None] = lambda role, entry: None,
) -> Counts:
    """Copy what differs; ``report`` gets the counts after every finished copy (in this thread), ``listed`` each
    key a dry run would copy. On KeyboardInterrupt, queued copies are dropped, running ones end, and it re-raises.
    """
    counts = Counts(role=job.role)
    inflight: set[Future[int]] = set()
    keys: dict[Future[int], str] = {}

    def settle(done: set[Future[int]]) -> None:
        for future in done:
            key = keys.pop(future)
            try:
                counts.bytes += future.result()
                counts.copied += 1
            except Exception as error:  # noqa: BLE001 - any failure of one object is counted and named, not fatal
                counts.failed += 1
                if len(counts.failures) < MAX_FAILURES_SHOWN:
                    # A CopyFailed says why in words; another error by its type only (its text may quote a request).
                    why = str(error) if isinstance(error, CopyFailed) else f"{key}: {type(error).__name__}"
                    counts.failures.append(why)
            report(counts)

    pool = ThreadPoolExecutor(max_workers=connection.workers, thread_name_prefix=f"copy-{job.role}")
    try:
        for entry, needed in differing(job):
            counts.listed += 1
            if not needed:
                counts.unchanged += 1
                continue
            if dry_run:
                counts.would_copy += 1
                listed(job.role, entry)
                continue
            if len(inflight) >= 2 * connection.workers:
                done, inflight = wait(inflight, return_when=FIRST_COMPLETED)
                settle(done)
            future = pool.submit(copy_one, job, entry, connection)
            keys[future] = entry.key
            inflight.add(future)
        settle(wait(inflight).done)
    except BaseException:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return counts
