"""Which backup belongs to which store: DSNs handed over in the wrong places are refused before anything is copied.

Each backup store carries markers (:func:`divio_storage_infra.core.backup.backup_marks`) naming the live store it
backs up and that store's role. A route (live store, its backup, their role) is accepted only when the backup's
markers name exactly that live store and role, and the live DSN is shaped for that role.
"""

from __future__ import annotations

from dataclasses import dataclass

from divio_storage_infra.backup.objects import Side
from divio_storage_infra.core.backup import OF_TAG, ROLE_TAG, StoreRole
from divio_storage_infra.core.dsn import ParsedDsn

PUBLIC_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})


class WrongPlace(Exception):
    """A DSN names the wrong store for where it was given (exit status 2); the message says which and why."""


@dataclass(frozen=True)
class Route:
    """One store and its backup: role, the live side and DSN, the backup side."""

    role: StoreRole
    live: Side
    live_dsn: ParsedDsn
    backup: Side

    @property
    def restore_acl(self) -> str | None:
        """The ACL an object restored into the live store is written with: the one the app itself sends there.

        The public store's (``public-read`` on Exoscale, ``bucket-owner-full-control`` on AWS); a private store's
        own, never a public one (:func:`check_route` refuses that DSN).
        """
        if self.live_dsn.scheme != "s3":
            return None
        return self.live_dsn.effective_acl if self.role == "public" else self.live_dsn.acl


def check_dsn_role(role: StoreRole, parsed: ParsedDsn, what: str) -> None:
    """Refuse a live DSN shaped for the other role: a signed-URL DSN as the public store, a public ACL as private."""
    if parsed.scheme != "s3":
        return
    if role == "public" and parsed.signed_urls:
        raise WrongPlace(f"{what}: names a private store (qs_auth=true) where the public store's DSN belongs")
    if role == "private" and (not parsed.signed_urls or parsed.effective_acl in PUBLIC_ACLS):
        raise WrongPlace(
            f"{what}: is not a private store's DSN (it needs qs_auth=true and no public ACL, "
            f"got acl={parsed.effective_acl})"
        )


def check_route(route: Route, what: str) -> None:
    """Refuse a backup whose markers do not name ``route.live`` in ``route.role``; reads the backup's markers."""
    check_dsn_role(route.role, route.live_dsn, what)
    marks = route.backup.marks()
    of, role = marks.get(OF_TAG), marks.get(ROLE_TAG)
    if of is None or role is None:
        raise WrongPlace(
            f"{route.backup.label} carries no backup markers ({OF_TAG}, {ROLE_TAG}): it was not declared as a "
            "backup (backup: true), so it is not used"
        )
    if role != route.role:
        raise WrongPlace(
            f"{route.backup.label} is the backup of a {role} store, given as the {route.role} store's backup "
            "(are the two backup DSNs swapped?)"
        )
    if of != route.live.identity:
        raise WrongPlace(f"{route.backup.label} is the backup of {of}, not of {route.live.label}")
