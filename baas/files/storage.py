"""The blob store behind file fields: one async protocol, local disk or any S3-compatible store.

Keys follow PocketBase's layout so a data directory (or bucket) moves between the two unchanged:

    <collectionId>/<recordId>/<filename>
    <collectionId>/<recordId>/thumbs_<filename>/<WxH>_<filename>

Every operation streams: ``put`` consumes an async iterator of byte chunks and ``open`` yields one,
so no backend ever holds a whole file in memory.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

CHUNK_SIZE = 64 * 1024
MAX_KEY_LENGTH = 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class StorageError(Exception):
    """A storage backend failed (or was misconfigured)."""


class BlobNotFound(StorageError, KeyError):
    """No blob is stored under the key."""

    def __str__(self) -> str:  # KeyError would repr() the key
        return f"no blob at {self.args[0]!r}" if self.args else "blob not found"


class InvalidKey(StorageError, ValueError):
    """The key is empty, absolute, has ``..``/hidden segments, backslashes or control characters."""


class BlobTooLarge(StorageError):
    """``put`` was given more than ``max_size`` bytes; nothing was stored."""

    def __init__(self, max_size: int) -> None:
        super().__init__(f"the blob is larger than {max_size} bytes")
        self.max_size = max_size


@dataclass(frozen=True)
class BlobInfo:
    """What a backend knows of a stored blob. ``etag`` is opaque and unquoted; ``modified`` is a
    Unix timestamp; ``content_type`` is the type given to ``put`` or, without one, sniffed from the
    content (empty in listings)."""

    key: str
    size: int
    etag: str
    modified: float
    content_type: str = ""


class Blob:
    """An opened blob: its info, the byte window being read and an async iterator of chunks.

    Iterate it once; call ``aclose()`` when stopping early (a client that went away) so the file
    or HTTP connection behind it is released at once rather than at garbage collection."""

    def __init__(self, info: BlobInfo, offset: int, length: int, chunks: AsyncIterator[bytes],
                 closer: Callable[[], Awaitable[None]] | None = None) -> None:
        self.info = info
        self.offset = offset
        self.length = length
        self._chunks = chunks
        self._closer = closer

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks

    async def aclose(self) -> None:
        close = getattr(self._chunks, "aclose", None)
        if close is not None:
            await close()
        if self._closer is not None:  # also when iteration never started (a generator's finally would not run)
            closer, self._closer = self._closer, None
            await closer()

    async def read_all(self) -> bytes:
        """The whole window in memory: only for small blobs (thumbnails, tests)."""
        try:
            return b"".join([chunk async for chunk in self._chunks])
        finally:
            await self.aclose()


@runtime_checkable
class Storage(Protocol):
    """The operations file fields, thumbnails and the orphan sweep need from a blob store."""

    async def put(self, key: str, chunks: AsyncIterable[bytes], *, content_type: str = "",
                  max_size: int | None = None) -> int:
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

    async def exists(self, key: str) -> bool:
        ...

    async def delete(self, key: str) -> None:
        """Remove the blob; a missing key is not an error."""
        ...

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every blob whose key starts with ``prefix`` (non-empty); returns how many."""
        ...

    def list(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        """Every blob under ``prefix`` (content_type left empty)."""
        ...

    async def close(self) -> None:
        ...


def check_key(key: str) -> str:
    """``key`` if it is a safe relative key, else `InvalidKey`.

    Refused: empty, absolute, trailing or doubled slashes, backslashes, control characters
    (NUL included), and segments that are ``.``, ``..`` or start with a dot (the local backend
    keeps its temporary files in ``.tmp``)."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(f"invalid storage key {key!r}")
    if key.startswith("/") or "\\" in key or _CONTROL.search(key) or re.match(r"^[A-Za-z]:", key):
        raise InvalidKey(f"invalid storage key {key!r}")
    for segment in key.split("/"):
        if not segment or segment.startswith("."):
            raise InvalidKey(f"invalid storage key {key!r}")
    return key


def check_prefix(prefix: str, *, allow_empty: bool = True) -> str:
    """A listing prefix: empty (everything), or a key-like string that may end with ``/``."""
    if prefix == "":
        if not allow_empty:
            raise InvalidKey("the prefix must not be empty")
        return prefix
    check_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix


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
        from baas.files.s3 import S3Storage

        return S3Storage.from_settings(s3)
    from baas.files.local import LocalStorage

    return LocalStorage(Path(data_dir) / "storage")


async def iter_bytes(data: bytes, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
    """An async chunk iterator over bytes already in memory (thumbnails, tests)."""
    for i in range(0, len(data), chunk_size):
        yield data[i:i + chunk_size]
