"""What every storage backend shares: blob info, an opened blob, the errors and the key checks.

`baas.files.storage` re-exports all of it beside the `Storage` protocol; the backends
(`baas.files.local`, `baas.files.s3`) import it from here, so the protocol module can choose
between them without an import circle.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

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

    def __init__(
        self,
        info: BlobInfo,
        offset: int,
        length: int,
        chunks: AsyncIterator[bytes],
        closer: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
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
