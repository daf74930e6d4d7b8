"""The copy engine without a server: what counts as unchanged, exact parts, bounded memory, failures counted."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator

import pytest

from divio_storage_infra.backup.connection import Connection
from divio_storage_infra.backup.job import Job
from divio_storage_infra.backup.objects import Content, CopyFailed, Entry, fixed_parts
from divio_storage_infra.backup.sync import run, unchanged

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
MD5_A, MD5_B = "0" * 32, "1" * 32


def entry(key: str, size: int = 3, etag: str = MD5_A, modified: dt.datetime = T0) -> Entry:
    return Entry(key=key, size=size, etag=etag, modified=modified)


def test_unchanged_needs_the_same_size_and_checksum() -> None:
    assert unchanged(entry("k"), entry("k"))
    assert not unchanged(entry("k"), None)
    assert not unchanged(entry("k"), entry("k", size=4))
    assert not unchanged(entry("k"), entry("k", etag=MD5_B, modified=T0 + dt.timedelta(days=1)))
    # A multipart ETag cannot be compared with a plain MD5: a copy newer than the source is taken as it.
    assert unchanged(entry("k", etag="abc-3"), entry("k", etag=MD5_B, modified=T0 + dt.timedelta(seconds=1)))
    assert not unchanged(entry("k", etag="abc-3"), entry("k", etag=MD5_B, modified=T0 - dt.timedelta(seconds=1)))


def test_fixed_parts_are_exact_whatever_the_chunks() -> None:
    chunks = [b"ab", b"cdefg", b"", b"h", b"ijklmnop"]
    assert list(fixed_parts(iter(chunks), 4)) == [b"abcd", b"efgh", b"ijkl", b"mnop"]
    assert list(fixed_parts(iter([b"abcd", b"ef"]), 4)) == [b"abcd", b"ef"]
    assert list(fixed_parts(iter([]), 4)) == []


class FakeSide:
    """An in-memory store that counts concurrent reads."""

    def __init__(self, label: str, objects: dict[str, bytes], delay: float = 0.0, fail: str = "") -> None:
        self.label = self.identity = label
        self.objects = objects
        self.delay, self.fail = delay, fail
        self.active = self.most = 0
        self.lock = threading.Lock()

    def marks(self) -> dict[str, str]:
        return {}

    def listing(self, prefix: str) -> Iterator[Entry]:
        for key in sorted(self.objects):
            if key.startswith(prefix):
                yield entry(key, len(self.objects[key]), etag="")

    def listing_at(self, prefix: str, when: dt.datetime) -> Iterator[Entry]:
        return self.listing(prefix)

    def copy_within(self, source: object, item: Entry, *, acl: str | None) -> str | None:
        return None

    def read(self, item: Entry, part_size: int) -> tuple[Content, Iterator[bytes]]:
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
        time.sleep(self.delay)
        with self.lock:
            self.active -= 1
        if item.key == self.fail:
            raise CopyFailed(f"{item.key}: broken")
        return Content(), iter([self.objects[item.key]])

    def write(self, key: str, content: Content, chunks: Iterator[bytes], *, size: int, acl: str | None) -> str:
        self.objects[key] = b"".join(chunks)
        return ""


def test_in_flight_copies_are_bounded_and_everything_is_copied_once() -> None:
    source = FakeSide("src", {f"k{i:04d}": b"x" * i for i in range(300)}, delay=0.002)
    target = FakeSide("dst", {})
    counts = run(Job("public", source, target, None), Connection(workers=4), threading.Event())
    assert (counts.listed, counts.copied, counts.failed) == (300, 300, 0)
    assert target.objects == source.objects
    assert source.most <= 4
    again = run(Job("public", source, target, None), Connection(workers=4), threading.Event())
    assert (again.copied, again.unchanged) == (0, 300)


def test_a_failed_object_is_counted_and_named_and_the_rest_copied() -> None:
    source = FakeSide("src", {"a": b"1", "b": b"2", "c": b"3"}, fail="b")
    target = FakeSide("dst", {})
    counts = run(Job("private", source, target, None), Connection(workers=2), threading.Event())
    assert (counts.copied, counts.failed, counts.failures) == (2, 1, ["b: broken"])
    assert sorted(target.objects) == ["a", "c"]


def test_dry_run_lists_and_writes_nothing() -> None:
    source = FakeSide("src", {"a": b"1", "b": b"22"})
    target = FakeSide("dst", {"a": b"1"})
    seen: list[str] = []
    counts = run(
        Job("public", source, target, None),
        Connection(workers=2),
        threading.Event(),
        dry_run=True,
        listed=lambda role, item: seen.append(item.key),
    )
    assert (counts.would_copy, counts.unchanged, seen, target.objects) == (1, 1, ["b"], {"a": b"1"})


@pytest.mark.parametrize("workers", [1, 8])
def test_an_interrupt_drops_queued_copies_and_reraises(workers: int) -> None:
    source = FakeSide("src", {f"k{i:04d}": b"x" for i in range(200)}, delay=0.001)
    target = FakeSide("dst", {})

    def interrupt(counts: object) -> None:
        if getattr(counts, "copied", 0) >= 20:
            raise KeyboardInterrupt

    stop = threading.Event()
    with pytest.raises(KeyboardInterrupt):
        run(Job("public", source, target, None), Connection(workers=workers), stop, report=interrupt)
    assert stop.is_set()
    assert 20 <= len(target.objects) < 200
