"""Blobs in any S3-compatible store (AWS S3, MinIO, Cloudflare R2, ...) through the ``minio`` client.

The client is synchronous, so every call runs in a worker thread. Uploads stream: minio's
``put_object`` with an unknown length reads one part at a time from a file-like pipe whose
``read`` pulls the next chunks from the caller's async iterator on the event loop, so memory
holds about one part (`PART_SIZE`) per upload, whatever the file's size. A failed or cancelled
upload aborts the multipart upload (minio does that when ``read`` raises), leaving no object.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
from collections.abc import AsyncIterable, AsyncIterator
from itertools import islice
from typing import Any, BinaryIO, cast
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import S3Error

from baas.files.blob import (
    CHUNK_SIZE,
    Blob,
    BlobInfo,
    BlobNotFound,
    BlobTooLarge,
    StorageError,
    check_key,
    check_prefix,
)
from baas.files.sniff import read_ahead, sniff

PART_SIZE = 8 * 1024 * 1024  # S3's minimum is 5 MiB; 10,000 parts of 8 MiB allow 80 GB objects
_MISSING = {"NoSuchKey", "NoSuchObject", "ResourceNotFound", "NotFound"}


class _Cancelled(StorageError):
    pass


class _Pipe:
    """A blocking, file-like ``read(n)`` for minio's thread over an async chunk iterator on the loop."""

    def __init__(self, chunks: AsyncIterable[bytes], loop: asyncio.AbstractEventLoop, max_size: int | None) -> None:
        self._it = chunks.__aiter__()
        self._loop = loop
        self._max = max_size
        self._rest = b""
        self._eof = False
        self.size = 0
        self.cancelled = False

    async def _next(self) -> bytes | None:
        try:
            return await self._it.__anext__()
        except StopAsyncIteration:
            return None

    def _pull(self) -> bytes | None:
        fut = asyncio.run_coroutine_threadsafe(self._next(), self._loop)
        while True:
            if self.cancelled:
                fut.cancel()
                raise _Cancelled("upload cancelled")
            try:
                return fut.result(timeout=0.5)
            except concurrent.futures.TimeoutError:
                continue

    def read(self, n: int = -1) -> bytes:
        out = bytearray(self._rest)
        self._rest = b""
        while (n < 0 or len(out) < n) and not self._eof:
            chunk = self._pull()
            if chunk is None:
                self._eof = True
                break
            self.size += len(chunk)
            if self._max is not None and self.size > self._max:
                raise BlobTooLarge(self._max)
            out += chunk
        if n >= 0 and len(out) > n:
            self._rest = bytes(out[n:])
            del out[n:]
        return bytes(out)


def _missing(exc: S3Error) -> bool:
    return exc.code in _MISSING or getattr(exc.response, "status", None) == 404


class S3Storage:
    """The `Storage` protocol on one bucket of an S3-compatible store."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint: str,
        access_key: str,
        secret: str,
        region: str = "",
        force_path_style: bool = False,
        http_client: urllib3.PoolManager | None = None,
    ) -> None:
        """``http_client``: minio's connection pool, e.g. with short timeouts for a connection test."""
        if not bucket or not endpoint:
            raise StorageError("S3 storage needs a bucket and an endpoint")
        url = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        if url.scheme not in ("http", "https") or not url.netloc or url.path not in ("", "/"):
            raise StorageError(f"invalid S3 endpoint {endpoint!r}: expected e.g. https://s3.example.com")
        self.bucket = bucket
        self.endpoint = f"{url.scheme}://{url.netloc}"
        self.client = Minio(
            url.netloc,
            access_key=access_key or None,
            secret_key=secret or None,
            secure=url.scheme == "https",
            region=region or None,
            http_client=http_client,
        )
        if force_path_style:
            self.client.disable_virtual_style_endpoint()  # type: ignore[no-untyped-call]  # minio leaves it unannotated

    @classmethod
    def from_settings(cls, s3: dict[str, Any], http_client: urllib3.PoolManager | None = None) -> S3Storage:
        """From PocketBase's ``s3`` settings section."""
        return cls(
            http_client=http_client,
            bucket=s3.get("bucket", ""),
            endpoint=s3.get("endpoint", ""),
            access_key=s3.get("accessKey", ""),
            secret=s3.get("secret", ""),
            region=s3.get("region", ""),
            force_path_style=bool(s3.get("forcePathStyle")),
        )

    def __repr__(self) -> str:
        return f"S3Storage(endpoint={self.endpoint!r}, bucket={self.bucket!r})"

    # -- writing --------------------------------------------------------------------------------
    async def put(
        self, key: str, chunks: AsyncIterable[bytes], *, content_type: str = "", max_size: int | None = None
    ) -> int:
        check_key(key)
        if not content_type:  # keep the sniffed type, as the local backend reports it
            content_type, chunks = await _sniffed(chunks)
        pipe = _Pipe(chunks, asyncio.get_running_loop(), max_size)
        try:
            # minio types ``data`` as BinaryIO but only ever calls ``read(n)``, which is all _Pipe has.
            await asyncio.to_thread(
                self.client.put_object,
                self.bucket,
                key,
                cast(BinaryIO, pipe),
                -1,
                content_type=content_type,
                part_size=PART_SIZE,
                num_parallel_uploads=1,
            )
        except asyncio.CancelledError:
            pipe.cancelled = True  # minio's thread stops at its next read and aborts the upload
            raise
        except S3Error as exc:
            raise StorageError(f"S3 upload of {key!r} failed: {exc.code}") from exc
        return pipe.size

    async def delete(self, key: str) -> None:
        check_key(key)
        try:
            await asyncio.to_thread(self.client.remove_object, self.bucket, key)
        except S3Error as exc:
            if not _missing(exc):
                raise StorageError(f"S3 delete of {key!r} failed: {exc.code}") from exc

    async def delete_prefix(self, prefix: str) -> int:
        check_prefix(prefix, allow_empty=False)
        count = 0
        batch: list[str] = []
        async for info in self.list(prefix):
            batch.append(info.key)
            if len(batch) == 1000:
                count += await self._delete_many(batch)
                batch = []
        if batch:
            count += await self._delete_many(batch)
        return count

    async def _delete_many(self, keys: list[str]) -> int:
        def run() -> list[Any]:
            return list(self.client.remove_objects(self.bucket, [DeleteObject(k) for k in keys]))

        errors = await asyncio.to_thread(run)
        if errors:
            raise StorageError(f"S3 delete failed for {len(errors)} objects: {errors[0].code}")
        return len(keys)

    # -- reading --------------------------------------------------------------------------------
    async def stat(self, key: str) -> BlobInfo:
        check_key(key)
        try:
            obj = await asyncio.to_thread(self.client.stat_object, self.bucket, key)
        except S3Error as exc:
            if _missing(exc):
                raise BlobNotFound(key) from None
            raise StorageError(f"S3 stat of {key!r} failed: {exc.code}") from exc
        modified = obj.last_modified.timestamp() if obj.last_modified else 0.0
        return BlobInfo(
            key=key,
            size=obj.size or 0,
            etag=(obj.etag or "").strip('"'),
            modified=modified,
            content_type=obj.content_type or "",
        )

    async def exists(self, key: str) -> bool:
        try:
            await self.stat(key)
        except BlobNotFound:
            return False
        return True

    async def open(self, key: str, offset: int = 0, length: int | None = None) -> Blob:
        check_key(key)
        if offset < 0 or (length is not None and length < 0):
            raise StorageError("offset and length must not be negative")
        if length == 0:
            info = await self.stat(key)
            return Blob(info, offset, 0, _empty())
        try:
            resp = await asyncio.to_thread(self.client.get_object, self.bucket, key, offset, length or 0)
        except S3Error as exc:
            if _missing(exc):
                raise BlobNotFound(key) from None
            if exc.code == "InvalidRange":  # offset at or past the end: nothing to read
                info = await self.stat(key)
                return Blob(info, offset, 0, _empty())
            raise StorageError(f"S3 read of {key!r} failed: {exc.code}") from exc
        info = _info_from_headers(key, resp.headers)
        want = int(resp.headers.get("content-length") or 0)

        async def close() -> None:
            def run() -> None:
                resp.close()
                resp.release_conn()

            await asyncio.to_thread(run)

        return Blob(info, offset, want, _read_response(resp, want), close)

    async def list(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        check_prefix(prefix)
        objects = self.client.list_objects(self.bucket, prefix=prefix or None, recursive=True)
        while True:
            try:
                batch = await asyncio.to_thread(lambda: list(islice(objects, 500)))
            except S3Error as exc:
                raise StorageError(f"S3 list of {prefix!r} failed: {exc.code}") from exc
            if not batch:
                return
            for obj in batch:
                if obj.is_dir:
                    continue
                yield BlobInfo(
                    key=obj.object_name,
                    size=obj.size or 0,
                    etag=(obj.etag or "").strip('"'),
                    modified=obj.last_modified.timestamp() if obj.last_modified else 0.0,
                )

    async def close(self) -> None:
        await asyncio.to_thread(self.client._http.clear)  # the pool's sockets; no public close in minio


def _info_from_headers(key: str, headers: Any) -> BlobInfo:
    total = headers.get("content-range", "").rpartition("/")[2]
    size = int(total) if total.isdigit() else int(headers.get("content-length") or 0)
    modified = 0.0
    if headers.get("last-modified"):
        try:
            modified = email.utils.parsedate_to_datetime(headers["last-modified"]).timestamp()
        except (TypeError, ValueError):
            pass
    return BlobInfo(
        key=key,
        size=size,
        etag=headers.get("etag", "").strip('"'),
        modified=modified,
        content_type=headers.get("content-type", ""),
    )


async def _sniffed(chunks: AsyncIterable[bytes]) -> tuple[str, AsyncIterator[bytes]]:
    """The sniffed type of a stream and the same stream, its first bytes read ahead."""
    head, done, stream = await read_ahead(chunks)
    return sniff(head, complete=done), stream


async def _empty() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator


async def _read_response(resp: Any, length: int) -> AsyncIterator[bytes]:
    left = length
    while left > 0:
        chunk = await asyncio.to_thread(resp.read, min(CHUNK_SIZE, left))
        if not chunk:
            return
        left -= len(chunk)
        yield chunk
