"""One Azure Blob container (Azure, Azurite) as a backup or restore side, on azure-storage-blob."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import threading
from collections.abc import Iterator
from typing import Any

from divio_storage_infra.backup.connection import Connection, azure_side_client
from divio_storage_infra.backup.objects import Content, CopyFailed, Entry
from divio_storage_infra.core.dsn import ParsedDsn

# Content settings the SDK names, and the S3 header names Content carries them under.
_SETTINGS = (
    ("content_type", "ContentType"),
    ("cache_control", "CacheControl"),
    ("content_disposition", "ContentDisposition"),
    ("content_encoding", "ContentEncoding"),
    ("content_language", "ContentLanguage"),
)


class AzureSide:
    """A container of an ``az://`` DSN, with the DSN's account key or SAS."""

    def __init__(self, parsed: ParsedDsn, connection: Connection, stop: threading.Event) -> None:
        self.identity = f"{parsed.account}/{parsed.container}"
        self.label = f"az:{self.identity}"
        self._client: Any = azure_side_client(parsed, connection)
        self._stop = stop

    def marks(self) -> dict[str, str]:
        """The container's metadata, under the S3 tag names of :mod:`divio_storage_infra.core.backup`."""
        metadata = dict(self._client.get_container_properties().metadata or {})
        return {key.replace("_", "-"): str(value) for key, value in metadata.items()}

    def listing(self, prefix: str) -> Iterator[Entry]:
        """List Blobs, page by page (Azure lists in key order)."""
        for blob in self._client.list_blobs(name_starts_with=prefix or None):
            yield _entry(blob)

    def listing_at(self, prefix: str, when: dt.datetime) -> Iterator[Entry]:
        """Blob versions: per blob, the newest version not after ``when``."""
        current: str | None = None
        best: Any = None
        for blob in self._client.list_blobs(name_starts_with=prefix or None, include=["versions"]):
            if blob.name != current:
                if best is not None:
                    yield _entry(best)
                current, best = blob.name, None
            if blob.last_modified <= when and (best is None or blob.last_modified > best.last_modified):
                best = blob
        if best is not None:
            yield _entry(best)

    def read(self, entry: Entry, part_size: int) -> tuple[Content, Iterator[bytes]]:
        """Download the blob (of the entry's version, if any), streamed in chunks."""
        stream = self._client.download_blob(entry.key, version_id=entry.version, max_concurrency=1)
        props = stream.properties
        settings = props.content_settings
        headers = tuple((name, str(getattr(settings, attr))) for attr, name in _SETTINGS if getattr(settings, attr))
        metadata = tuple(sorted((str(k), str(v)) for k, v in (props.metadata or {}).items()))
        return Content(headers=headers, metadata=metadata), stream.chunks()

    def copy_within(self, source: object, entry: Entry, *, acl: str | None) -> str | None:
        """None: copies between containers are streamed (a server-side copy would need a SAS on the source)."""
        return None

    def write(self, key: str, content: Content, chunks: Iterator[bytes], *, size: int, acl: str | None) -> str:
        """Stage each chunk as a block (MD5-checked by the service), commit them with the whole object's MD5."""
        from azure.storage.blob import BlobBlock, ContentSettings

        blob = self._client.get_blob_client(key)
        whole = hashlib.md5(usedforsecurity=False)
        blocks: list[Any] = []
        for index, body in enumerate(chunks):
            if self._stop.is_set():
                raise CopyFailed(f"{key}: stopped before its last block")
            whole.update(body)
            block_id = base64.b64encode(f"{index:08d}".encode()).decode()
            blob.stage_block(block_id, body, validate_content=True)
            blocks.append(BlobBlock(block_id=block_id))
        names = dict(content.headers)
        settings = ContentSettings(
            **{attr: names[name] for attr, name in _SETTINGS if name in names}, content_md5=bytearray(whole.digest())
        )
        # Uncommitted blocks are never visible: an interrupted copy leaves no partial blob.
        blob.commit_block_list(blocks, content_settings=settings, metadata=dict(content.metadata))
        return whole.hexdigest()


def _entry(blob: Any) -> Entry:
    md5 = blob.content_settings.content_md5 if blob.content_settings else None
    return Entry(
        key=str(blob.name),
        size=int(blob.size),
        etag=bytes(md5).hex() if md5 else "",
        modified=blob.last_modified,
        version=getattr(blob, "version_id", None) if getattr(blob, "is_current_version", True) is False else None,
    )
