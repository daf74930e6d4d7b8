"""One S3 bucket (AWS, Exoscale, any S3-compatible endpoint) as a backup or restore side, on boto3."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import threading
from collections.abc import Iterator
from typing import Any

from divio_storage_infra.backup.connection import POOL_SPARE, Connection, s3_side_client
from divio_storage_infra.backup.objects import Content, CopyFailed, Entry, fixed_parts
from divio_storage_infra.backup.servercopy import ServerCopy, ServerCopyError, usable
from divio_storage_infra.core.dsn import ParsedDsn

MAX_SERVER_COPY = 5 * 1024**3
"""Bytes: CopyObject copies objects up to 5 GiB; larger ones are streamed."""
_HEADERS = ("ContentType", "CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage")


class S3Side:
    """A bucket of an ``s3://`` DSN; keys are relative to the DSN's location (its path)."""

    def __init__(self, parsed: ParsedDsn, connection: Connection, stop: threading.Event) -> None:
        self.identity = str(parsed.bucket)
        self.label = f"s3:{self.identity}"
        self._root = parsed.location.strip("/") + "/" if parsed.location.strip("/") else ""
        self._client = s3_side_client(parsed, connection)
        # Who this side talks to and as whom: two sides that agree can copy inside the store (CopyObject).
        self._reach = (parsed.effective_endpoint_url, parsed.access_key_id, parsed.secret, parsed.region)
        self._stop = stop
        self._part_size = connection.part_size
        self._server_copy: ServerCopy | None = None
        if usable(self._client, parsed.auth, parsed.access_key_id, parsed.secret):
            self._server_copy = ServerCopy(
                endpoint_url=self._client.meta.endpoint_url,
                region=self._client.meta.region_name,
                access_key_id=str(parsed.access_key_id),
                secret_access_key=str(parsed.secret),
                settings=connection.settings,
                pool=connection.workers + POOL_SPARE,
            )

    def marks(self) -> dict[str, str]:
        """The bucket's tags (empty without any)."""
        from botocore.exceptions import ClientError

        try:
            answer = self._client.get_bucket_tagging(Bucket=self.identity)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchTagSet", "NoSuchTagSetError"):
                return {}
            raise
        return {str(tag["Key"]): str(tag["Value"]) for tag in answer.get("TagSet", [])}

    def listing(self, prefix: str) -> Iterator[Entry]:
        """ListObjectsV2, page by page (S3 lists in key order)."""
        pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.identity, Prefix=self._root + prefix)
        for page in pages:
            for item in page.get("Contents", []):
                yield Entry(
                    key=str(item["Key"])[len(self._root) :],
                    size=int(item["Size"]),
                    etag=str(item.get("ETag", "")).strip('"'),
                    modified=item["LastModified"],
                )

    def listing_at(self, prefix: str, when: dt.datetime) -> Iterator[Entry]:
        """ListObjectVersions: per key, the newest version not after ``when``; keys deleted then are left out."""
        pages = self._client.get_paginator("list_object_versions").paginate(
            Bucket=self.identity, Prefix=self._root + prefix
        )
        current: str | None = None
        chosen = False
        for page in pages:
            # A page lists one key's versions newest first; delete markers come in their own list.
            items = [(v, False) for v in page.get("Versions", [])] + [(m, True) for m in page.get("DeleteMarkers", [])]
            items.sort(key=lambda pair: (pair[0]["Key"], -pair[0]["LastModified"].timestamp()))
            for item, deleted in items:
                key = str(item["Key"])
                if key != current:
                    current, chosen = key, False
                if chosen or item["LastModified"] > when:
                    continue
                chosen = True
                if not deleted:
                    yield Entry(
                        key=key[len(self._root) :],
                        size=int(item["Size"]),
                        etag=str(item.get("ETag", "")).strip('"'),
                        modified=item["LastModified"],
                        version=str(item["VersionId"]),
                    )

    def read(self, entry: Entry, part_size: int) -> tuple[Content, Iterator[bytes]]:
        """GetObject (of the entry's version, if any), streamed."""
        extra = {"VersionId": entry.version} if entry.version else {}
        answer = self._client.get_object(Bucket=self.identity, Key=self._root + entry.key, **extra)
        headers = tuple((name, str(answer[name])) for name in _HEADERS if answer.get(name))
        metadata = tuple(sorted((str(k), str(v)) for k, v in (answer.get("Metadata") or {}).items()))
        return Content(headers=headers, metadata=metadata), answer["Body"].iter_chunks(part_size)

    def copy_within(self, source: object, entry: Entry, *, acl: str | None) -> str | None:
        """CopyObject from ``source`` when both sides reach the same endpoint with the same key (the bytes never
        leave the store; content headers and metadata are copied); the new ETag, or None when it cannot."""
        if not isinstance(source, S3Side) or source._reach != self._reach or entry.size > MAX_SERVER_COPY:
            return None
        if self._server_copy is not None:
            try:
                return self._server_copy.copy(
                    source_bucket=source.identity,
                    source_key=source._root + entry.key,
                    version=entry.version,
                    bucket=self.identity,
                    key=self._root + entry.key,
                    acl=acl,
                )
            except ServerCopyError as error:
                raise CopyFailed(str(error)) from None
        copy_source = {"Bucket": source.identity, "Key": source._root + entry.key}
        if entry.version:
            copy_source["VersionId"] = entry.version
        extra = {"ACL": acl} if acl is not None else {}
        answer = self._client.copy_object(
            Bucket=self.identity, Key=self._root + entry.key, CopySource=copy_source, MetadataDirective="COPY", **extra
        )
        return str(answer["CopyObjectResult"]["ETag"]).strip('"')

    def write(self, key: str, content: Content, chunks: Iterator[bytes], *, size: int, acl: str | None) -> str:
        """PutObject with Content-MD5, or a multipart upload with Content-MD5 per part (aborted on any failure)."""
        extra: dict[str, Any] = dict(content.headers)
        extra["Metadata"] = dict(content.metadata)
        if acl is not None:
            extra["ACL"] = acl
        whole = hashlib.md5(usedforsecurity=False)
        chunks = fixed_parts(chunks, self._part_size)
        first = _next_part(chunks, whole)
        second = _next_part(chunks, whole) if first is not None else None
        if second is None:
            body = first or b""
            self._client.put_object(
                Bucket=self.identity, Key=self._root + key, Body=body, ContentMD5=_b64md5(body), **extra
            )
            return whole.hexdigest()
        return self._multipart(key, extra, [first or b"", second], chunks, whole)

    def _multipart(
        self, key: str, extra: dict[str, Any], head: list[bytes], chunks: Iterator[bytes], whole: Any
    ) -> str:
        full = self._root + key
        upload = self._client.create_multipart_upload(Bucket=self.identity, Key=full, **extra)["UploadId"]
        parts: list[dict[str, Any]] = []
        try:
            pending: list[bytes] | Iterator[bytes] = head
            while True:
                for body in pending:
                    if self._stop.is_set():
                        raise CopyFailed(f"{key}: stopped before its last part")
                    answer = self._client.upload_part(
                        Bucket=self.identity,
                        Key=full,
                        UploadId=upload,
                        PartNumber=len(parts) + 1,
                        Body=body,
                        ContentMD5=_b64md5(body),
                    )
                    parts.append({"PartNumber": len(parts) + 1, "ETag": answer["ETag"]})
                if pending is not head:
                    break
                pending = _parts(chunks, whole)
            self._client.complete_multipart_upload(
                Bucket=self.identity, Key=full, UploadId=upload, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            # No partial object is ever visible: an unfinished upload is aborted (and expires by lifecycle anyway).
            self._client.abort_multipart_upload(Bucket=self.identity, Key=full, UploadId=upload)
            raise
        return str(whole.hexdigest())


def _b64md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()


def _next_part(chunks: Iterator[bytes], whole: Any) -> bytes | None:
    body = next(chunks, None)
    if body is not None:
        whole.update(body)
    return body


def _parts(chunks: Iterator[bytes], whole: Any) -> Iterator[bytes]:
    for body in chunks:
        whole.update(body)
        yield body
