"""The blob store behind file fields: one async protocol, local disk or any S3-compatible store.

Keys follow PocketBase's layout so a data directory (or bucket) moves between the two unchanged:

    <collectionId>/<recordId>/<filename>
    <collectionId>/<recordId>/thumbs_<filename>/<WxH>_<filename>

Every operation streams: ``put`` consumes an async iterator of byte chunks and ``open`` yields one,
so no backend ever holds a whole file in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from baas.files.blob import (
    CHUNK_SIZE,
    MAX_KEY_LENGTH,
    Blob,
    BlobInfo,
    BlobNotFound,
    BlobTooLarge,
    InvalidKey,
    StorageError,
    check_key,
    check_prefix,
)
from baas.files.local import LocalStorage

__all__ = [
    "CHUNK_SIZE",
    "MAX_KEY_LENGTH",
    "Blob",
    "BlobInfo",
    "BlobNotFound",
    "BlobTooLarge",
    "InvalidKey",
    "Storage",
    "StorageError",
    "check_key",
    "check_prefix",
    "file_key",
    "iter_bytes",
    "record_prefix",
    "storage_from_settings",
    "thumb_key",
]


@runtime_checkable
class Storage(Protocol):
    """The operations file fields, thumbnails and the orphan sweep need from a blob store."""

    async def put(
        self, key: str, chunks: AsyncIterable[bytes], *, content_type: str = "", max_size: int | None = None
    ) -> int:
        """Store the chunks under ``key`` (replacing any blob there) and return the size.

        Without ``content_type`` the type is sniffed from the content. (The local backend always
        sniffs when asked, so pass the sniffed type: the API never trusts the client's.)

        Atomic: readers see the old blob or the new one, never a part. Raises `BlobTooLarge`
        (storing nothing) past ``max_size`` bytes; any error from the iterator aborts the put."""
        ...

    async def open(self, key: str, offset: int = 0, length: int | None = None) -> Blob:
        """Read ``length`` bytes (default: to the end) from ``offset``. Raises `BlobNotFound`."""
        ...

    async def stat(self, key: str) -> BlobInfo:
        """Size, etag, modified time (and content type if kept). Raises `BlobNotFound`."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Remove the blob; a missing key is not an error."""
        ...

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every blob whose key starts with ``prefix`` (non-empty); returns how many."""
        ...

    def list(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        """Every blob under ``prefix`` (content_type left empty)."""
        ...

    async def close(self) -> None: ...


def file_key(collection_id: str, record_id: str, filename: str) -> str:
    """Where a record's file lives."""
    return check_key(f"{collection_id}/{record_id}/{filename}")


def thumb_key(collection_id: str, record_id: str, filename: str, size: str) -> str:
    """Where a thumbnail of a record's file lives (PocketBase's layout)."""
    return check_key(f"{collection_id}/{record_id}/thumbs_{filename}/{size}_{filename}")


def record_prefix(collection_id: str, record_id: str) -> str:
    """The prefix of all of a record's files and thumbnails (for ``delete_prefix``)."""
    check_key(f"{collection_id}/{record_id}")
    return f"{collection_id}/{record_id}/"


def storage_from_settings(settings: dict[str, Any], data_dir: str | Path) -> Storage:
    """The backend the settings choose: S3 when ``s3.enabled``, else ``<data_dir>/storage``."""
    s3 = settings.get("s3") or {}
    if s3.get("enabled"):
        # import here: minio takes a noticeable part of a second to import; only S3 storage needs it.
        from baas.files.s3 import S3Storage

        return S3Storage.from_settings(s3)
    return LocalStorage(Path(data_dir) / "storage")


async def iter_bytes(data: bytes, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
    """An async chunk iterator over bytes already in memory (thumbnails, tests)."""
    for i in range(0, len(data), chunk_size):
        yield data[i : i + chunk_size]
