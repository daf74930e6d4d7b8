"""Browser access to the public store: corsOrigins, allowWildcardOrigin, allowUploads, corsMaxAgeSeconds."""

from __future__ import annotations

from typing import NamedTuple

from divio_storage_infra.core.clouds import CloudCapabilities
from divio_storage_infra.core.rules import check_origin
from divio_storage_infra.core.validation.problems import Collector


class Cors(NamedTuple):
    """The CORS keys as read."""

    origins: tuple[str, ...]
    allow_uploads: bool
    allow_wildcard: bool
    max_age: int


def cors(c: Collector, caps: CloudCapabilities) -> Cors:
    """Read and check the CORS keys; origins are exact ``scheme://host[:port]``, ``*`` only when asked for."""
    allow_wildcard = c.boolean("allowWildcardOrigin")
    origins = c.keep("corsOrigins", c.string_list("corsOrigins"))
    for origin in origins:
        if why := check_origin(origin, allow_wildcard=allow_wildcard):
            c.bad("corsOrigins", origin, why)
    duplicates = sorted({o for o in origins if origins.count(o) > 1})
    if duplicates:
        c.bad("corsOrigins", duplicates, "each origin at most once")
    if caps.max_cors_rules is not None and len(origins) > caps.max_cors_rules:
        c.bad("corsOrigins", list(origins), f"{caps.max_cors_rules_why}; this lists {len(origins)}")
    if allow_wildcard and "*" in origins and len(origins) > 1:
        c.bad("corsOrigins", list(origins), "'*' already allows every origin; list it alone")
    allow_uploads = c.boolean("allowUploads")
    if allow_uploads and not origins:
        c.bad("allowUploads", True, "browser uploads need at least one entry in corsOrigins")
    max_age = c.integer("corsMaxAgeSeconds")
    return Cors(origins, allow_uploads, allow_wildcard, max_age)
