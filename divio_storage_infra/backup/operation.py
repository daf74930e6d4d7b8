"""``backup`` and ``restore`` as operations: from four DSNs to checked routes to copies, counted per store.

A store given without its backup DSN (or a backup without its store) is bad input, never skipped silently; so
is mixing clouds within a route. Every route is checked (:func:`.identity.check_route`) before anything is copied.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from divio_storage_infra.backup.connection import Connection
from divio_storage_infra.backup.identity import Route, WrongPlace, check_route
from divio_storage_infra.backup.job import Job
from divio_storage_infra.backup.objects import Entry
from divio_storage_infra.backup.sides import side
from divio_storage_infra.backup.sync import Counts, run
from divio_storage_infra.core.backup import StoreRole
from divio_storage_infra.core.dsn import ParsedDsn

Direction = Literal["backup", "restore"]


@dataclass(frozen=True)
class StoreDsns:
    """The DSNs of one role: the live store's and its backup's, with the names they were given under."""

    role: StoreRole
    live: ParsedDsn | None
    backup: ParsedDsn | None
    live_name: str
    backup_name: str


def routes(given: list[StoreDsns], connection: Connection, stop: threading.Event) -> list[Route]:
    """Checked routes for every role with DSNs; raises WrongPlace for a missing half or a wrong store."""
    out: list[Route] = []
    for dsns in given:
        if dsns.live is None and dsns.backup is None:
            continue
        if dsns.live is None or dsns.backup is None:
            present, missing = (
                (dsns.live_name, dsns.backup_name) if dsns.live is not None else (dsns.backup_name, dsns.live_name)
            )
            raise WrongPlace(f"{present} is set but {missing} is not: the {dsns.role} store needs both")
        if dsns.live.scheme != dsns.backup.scheme:
            raise WrongPlace(f"{dsns.live_name} and {dsns.backup_name} are on different clouds")
        route = Route(
            role=dsns.role,
            live=side(dsns.live, connection, stop),
            live_dsn=dsns.live,
            backup=side(dsns.backup, connection, stop),
        )
        check_route(route, dsns.live_name)
        out.append(route)
    if not out:
        raise WrongPlace("no store given: set the DSNs of at least one store and its backup")
    labels = [r.live.identity for r in out] + [r.backup.identity for r in out]
    if len(set(labels)) != len(labels):
        raise WrongPlace("the same store is given twice (a store cannot be its own backup or another's)")
    return out


def job(route: Route, direction: Direction, prefix: str, when: dt.datetime | None) -> Job:
    """The copy of ``route`` in ``direction``: into the backup never with an ACL, into the store with its own."""
    if direction == "backup":
        # The backup is never public: objects go in without an ACL (private, or the bucket owner's).
        return Job(route.role, route.live, route.backup, None, prefix, when)
    return Job(route.role, route.backup, route.live, route.restore_acl, prefix, when)


def execute(
    direction: Direction,
    planned: list[Route],
    connection: Connection,
    stop: threading.Event,
    *,
    prefix: str = "",
    when: dt.datetime | None = None,
    dry_run: bool = False,
    report: Callable[[Counts], None] = lambda counts: None,
    listed: Callable[[str, Entry], None] = lambda role, entry: None,
) -> list[Counts]:
    """Run every route's copy in turn (public first); the counts of each."""
    return [
        run(job(route, direction, prefix, when), connection, stop, dry_run=dry_run, report=report, listed=listed)
        for route in planned
    ]
