"""Blobs as files under ``<data_dir>/storage`` (the default backend).

Writes go to a temporary file in ``<root>/.tmp``, are fsynced and renamed into place, so a reader
or a crash never sees half a file; leftovers of a crash in ``.tmp`` are removed by the orphan
sweep. All file I/O runs in worker threads so the event loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import builtins
import os
import secrets
import shutil
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from itertools import islice
from pathlib import Path
from typing import BinaryIO

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
from baas.files.sniff import SNIFF_BYTES, sniff

TMP_DIR = ".tmp"
_FLUSH_AT = 1024 * 1024  # batch small chunks into ~1 MiB writes: fewer thread hops, bounded memory


class LocalStorage:
    """The `Storage` protocol on the local file system."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    # -- writing --------------------------------------------------------------------------------
    async def put(
        self, key: str, chunks: AsyncIterable[bytes], *, content_type: str = "", max_size: int | None = None
    ) -> int:
        target = self._path(key)
        tmp_dir = self.root / TMP_DIR
        tmp = tmp_dir / f"{secrets.token_hex(8)}.part"

        def create() -> BinaryIO:
            tmp_dir.mkdir(parents=True, exist_ok=True)
            return open(tmp, "xb")

        fh = await asyncio.to_thread(create)
        size = 0
        done = False
        try:
            buf = bytearray()
            async for chunk in chunks:
                size += len(chunk)
                if max_size is not None and size > max_size:
                    raise BlobTooLarge(max_size)
                buf += chunk
                if len(buf) >= _FLUSH_AT:
                    data, buf = bytes(buf), bytearray()
                    await asyncio.to_thread(fh.write, data)
            await asyncio.to_thread(_finish, fh, bytes(buf), tmp, target)
            done = True
        finally:
            if not done:
                await asyncio.to_thread(_discard, fh, tmp)
        return size

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._delete_sync, self._path(key))

    def _delete_sync(self, path: Path) -> None:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except IsADirectoryError:
            return  # a "directory" key is not a blob
        self._prune(path.parent)

    def _prune(self, directory: Path) -> None:
        """Remove now-empty parent directories up to the root, as PocketBase does."""
        while directory != self.root and self.root in directory.parents:
            try:
                directory.rmdir()
            except OSError:  # not empty (or already gone): stop
                return
            directory = directory.parent

    async def delete_prefix(self, prefix: str) -> int:
        check_prefix(prefix, allow_empty=False)
        if prefix.endswith("/"):  # a whole directory: one rmtree in a thread
            return await asyncio.to_thread(self._delete_dir, self._path(prefix[:-1]))
        count = 0
        async for info in self.list(prefix):
            await self.delete(info.key)
            count += 1
        return count

    def _delete_dir(self, path: Path) -> int:
        if not path.is_dir():
            return 0
        count = sum(len(files) for _, _, files in os.walk(path))
        shutil.rmtree(path, ignore_errors=True)
        self._prune(path.parent)
        return count

    # -- reading --------------------------------------------------------------------------------
    def _stat_sync(self, key: str) -> BlobInfo:
        path = self._path(key)
        try:
            st = path.stat()
            if not path.is_file():
                raise BlobNotFound(key)
            with open(path, "rb") as fh:
                head = fh.read(SNIFF_BYTES)
        except (FileNotFoundError, NotADirectoryError):
            raise BlobNotFound(key) from None
        return BlobInfo(key=key, size=st.st_size, etag=_etag(st), modified=st.st_mtime, content_type=sniff(head))

    async def stat(self, key: str) -> BlobInfo:
        return await asyncio.to_thread(self._stat_sync, key)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def open(self, key: str, offset: int = 0, length: int | None = None) -> Blob:
        path = self._path(key)

        def opener() -> tuple[BinaryIO, BlobInfo]:
            try:
                fh = open(path, "rb")
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                raise BlobNotFound(key) from None
            try:
                st = os.fstat(fh.fileno())
                head = fh.read(SNIFF_BYTES)
                fh.seek(offset)
            except BaseException:
                fh.close()
                raise
            return fh, BlobInfo(
                key=key, size=st.st_size, etag=_etag(st), modified=st.st_mtime, content_type=sniff(head)
            )

        if offset < 0 or (length is not None and length < 0):
            raise StorageError("offset and length must not be negative")
        fh, info = await asyncio.to_thread(opener)
        want = max(0, info.size - offset) if length is None else min(length, max(0, info.size - offset))
        return Blob(info, offset, want, _read_chunks(fh, want), lambda: asyncio.to_thread(fh.close))

    async def list(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        check_prefix(prefix)
        walker = self._walk(prefix)
        while True:
            batch = await asyncio.to_thread(lambda: list(islice(walker, 500)))
            if not batch:
                return
            for info in batch:
                yield info

    def _walk(self, prefix: str) -> Iterator[BlobInfo]:
        # Start at the deepest directory the prefix names, then filter by the full prefix.
        base_parts = prefix.split("/")[:-1] if prefix else []
        start = self.root.joinpath(*base_parts)
        if not start.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(start):
            rel = Path(dirpath).relative_to(self.root).as_posix()
            if rel == ".":
                rel = ""
                dirnames[:] = [d for d in dirnames if d != TMP_DIR]
            dirnames.sort()
            for name in sorted(filenames):
                key = f"{rel}/{name}" if rel else name
                if not key.startswith(prefix):
                    continue
                try:
                    st = os.stat(os.path.join(dirpath, name))
                except FileNotFoundError:  # deleted while we walked
                    continue
                yield BlobInfo(key=key, size=st.st_size, etag=_etag(st), modified=st.st_mtime)

    async def stale_temp_files(self, older_than: float) -> builtins.list[str]:  # `list` is a method here
        """Temporary files a crash left in ``.tmp`` (for the sweep), older than the timestamp."""
        tmp_dir = self.root / TMP_DIR

        def scan() -> list[str]:
            if not tmp_dir.is_dir():
                return []
            return [str(p) for p in tmp_dir.iterdir() if p.is_file() and p.stat().st_mtime < older_than]

        return await asyncio.to_thread(scan)

    async def remove_temp_file(self, path: str) -> None:
        p = Path(path)
        if p.parent != self.root / TMP_DIR:
            raise StorageError(f"not a temporary file of this storage: {path}")
        await asyncio.to_thread(p.unlink, missing_ok=True)

    async def close(self) -> None:
        return None


def _etag(st: os.stat_result) -> str:
    return f"{st.st_size:x}-{st.st_mtime_ns:x}"


def _finish(fh: BinaryIO, tail: bytes, tmp: Path, target: Path) -> None:
    """Write the last bytes, fsync, rename into place and fsync the directory."""
    try:
        if tail:
            fh.write(tail)
        fh.flush()
        os.fsync(fh.fileno())
    finally:
        fh.close()
    for attempt in range(5):
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(tmp, target)
            break
        except FileNotFoundError:
            # A concurrent delete pruned the (then empty) directory between mkdir and rename.
            if attempt == 4 or not tmp.exists():
                raise
    try:
        dir_fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _discard(fh: BinaryIO, tmp: Path) -> None:
    try:
        fh.close()
    finally:
        tmp.unlink(missing_ok=True)


async def _read_chunks(fh: BinaryIO, length: int) -> AsyncIterator[bytes]:
    try:
        left = length
        while left > 0:
            chunk = await asyncio.to_thread(fh.read, min(CHUNK_SIZE, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk
    finally:
        await asyncio.to_thread(fh.close)
