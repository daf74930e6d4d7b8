"""Tags by which a stack marks what each store is for; the CrossGuard pack in ``policy/`` reads them.

The pack allows a public bucket policy (or public blobs) only on a store tagged ``media-store=public``, and CORS
upload methods or a wildcard origin only on a store that opts in; the components set these tags from the spec.
"""

from __future__ import annotations

from divio_storage_infra.core.spec import StorageSpec

STORE_TAG = "media-store"
"""A bucket's or Azure storage account's role: ``public`` (serves the public media store) or ``private``."""
PUBLIC = "public"
PRIVATE = "private"
CORS_UPLOADS_TAG = "cors-uploads"
"""``allowed`` when the spec allows direct browser uploads (CORS PUT/POST)."""
CORS_ANY_ORIGIN_TAG = "cors-any-origin"
"""``allowed`` when the spec allows the wildcard CORS origin."""
ALLOWED = "allowed"


def store_tags(spec: StorageSpec, *, public: bool) -> dict[str, str]:
    """The spec's tags plus the markers of a store (the markers win over a user tag of the same name)."""
    tags = {**spec.tag_map, STORE_TAG: PUBLIC if public else PRIVATE}
    if spec.allow_uploads:
        tags[CORS_UPLOADS_TAG] = ALLOWED
    if spec.allow_wildcard_origin:
        tags[CORS_ANY_ORIGIN_TAG] = ALLOWED
    return tags
