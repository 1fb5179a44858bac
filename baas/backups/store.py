"""Where finished backups are kept: ``<data dir>/backups/`` or, with the ``backups.s3`` settings
enabled (PocketBase's shape), a bucket of any S3-compatible store.

A backup is always written to the local folder first (as ``.<name>.partial``, never listed) and
handed to the store only once complete, so neither store ever holds half a backup.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

import certifi
import urllib3
from minio.error import S3Error

from baas.backups.names import NAME, BackupError, BackupInfo, BackupNameError
from baas.files.blob import Blob, BlobNotFound, StorageError
from baas.files.local import LocalStorage
from baas.files.s3 import S3Storage

CHUNK = 1 << 20
T = TypeVar("T")
# A store that does not answer fails the request in seconds rather than minio's minutes of retries.
S3_TIMEOUT = urllib3.Timeout(connect=5, read=60)


def backups_dir(data_dir: str) -> Path:
    return Path(data_dir) / "backups"


def _stamp(ts: float) -> str:
    """``2026-12-01 08:30:00.000Z``, as PocketBase lists backups."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


class BackupStore(Protocol):
    """The operations ``/api/backups``, the CLI and scheduled backups need."""

    where: str  # for messages: a folder or ``s3://bucket``

    async def list(self) -> list[BackupInfo]:
        """The finished backups, newest first."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def keep(self, key: str, path: Path) -> None:
        """Take the finished file at ``path`` (moved or uploaded, then gone) as backup ``key``."""
        ...

    async def open(self, key: str) -> Blob:
        """Read a backup (`BlobNotFound` if there is none of that name)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove a backup (`BlobNotFound` if there is none of that name)."""
        ...


class LocalBackups:
    """Backups as files of ``<data dir>/backups/``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.where = str(folder)

    def path(self, key: str) -> Path:
        return self.folder / key

    async def list(self) -> list[BackupInfo]:
        def scan() -> list[BackupInfo]:
            found = []
            for path in self.folder.glob("*.zip") if self.folder.is_dir() else []:
                if NAME.match(path.name):
                    st = path.stat()
                    found.append(BackupInfo(path.name, st.st_size, _stamp(st.st_mtime)))
            return found

        return _newest_first(await asyncio.to_thread(scan))

    async def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    async def keep(self, key: str, path: Path) -> None:
        # os.link refuses an existing name where os.replace would overwrite one taken meanwhile.
        try:
            os.link(path, self.path(key))
        except FileExistsError:
            raise BackupNameError(f"a backup named {key} already exists") from None
        path.unlink()

    async def open(self, key: str) -> Blob:
        return await LocalStorage(self.folder).open(key)

    async def delete(self, key: str) -> None:
        try:
            self.path(key).unlink()
        except FileNotFoundError:
            raise BlobNotFound(key) from None


async def _s3(where: str, call: Awaitable[T]) -> T:
    """``call``'s result; whatever the store or the network answers instead becomes a `BackupError`
    (a 400 of the API, ``error:`` of the CLI) naming the store, never a 500. `BlobNotFound` passes."""
    try:
        return await call
    except BlobNotFound:
        raise
    except (StorageError, S3Error, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
        raise BackupError(f"{where}: {type(exc).__name__}: {exc}") from None


class S3Backups:
    """Backups as objects at the root of an S3 bucket (as PocketBase keeps them). On S3 "a name is
    never overwritten" is checked before the upload, not atomically: two nodes writing the same
    name at the same moment could replace one another (scheduled names differ to the millisecond)."""

    def __init__(self, storage: S3Storage) -> None:
        self.storage = storage
        self.where = f"s3://{storage.bucket}"

    async def list(self) -> list[BackupInfo]:
        async def collect() -> list[BackupInfo]:
            found = []
            async for info in self.storage.list():
                if "/" not in info.key and NAME.match(info.key):
                    found.append(BackupInfo(info.key, info.size, _stamp(info.modified)))
            return found

        return _newest_first(await _s3(self.where, collect()))

    async def exists(self, key: str) -> bool:
        return await _s3(self.where, self.storage.exists(key))

    async def keep(self, key: str, path: Path) -> None:
        if await self.exists(key):
            raise BackupNameError(f"a backup named {key} already exists in {self.where}")

        async def chunks() -> AsyncIterator[bytes]:
            with open(path, "rb") as fh:
                while chunk := await asyncio.to_thread(fh.read, CHUNK):
                    yield chunk

        await _s3(self.where, self.storage.put(key, chunks(), content_type="application/zip"))
        path.unlink()

    async def open(self, key: str) -> Blob:
        return await _s3(self.where, self.storage.open(key))

    async def delete(self, key: str) -> None:
        if not await self.exists(key):
            raise BlobNotFound(key)
        await _s3(self.where, self.storage.delete(key))


@functools.lru_cache(maxsize=4)
def _s3_storage(config: str) -> S3Storage:
    """One client (and connection pool) per S3 configuration, with bounded timeouts."""
    pool = urllib3.PoolManager(
        timeout=S3_TIMEOUT,
        retries=urllib3.Retry(total=2, backoff_factor=0.2),
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
    )
    return S3Storage.from_settings(json.loads(config), http_client=pool)


def store_from_settings(settings: dict[str, Any], data_dir: str) -> BackupStore:
    """The store the ``backups.s3`` section of the stored settings names (else the local folder)."""
    s3 = (settings.get("backups") or {}).get("s3") or {}
    if s3.get("enabled"):
        try:
            return S3Backups(_s3_storage(json.dumps(s3, sort_keys=True)))
        except (StorageError, ValueError) as exc:  # an endpoint or bucket the client refuses
            raise BackupError(f"the backups S3 settings: {exc}") from None
    return LocalBackups(backups_dir(data_dir))


def _newest_first(found: list[BackupInfo]) -> list[BackupInfo]:
    return sorted(found, key=lambda b: (b.modified, b.key), reverse=True)
