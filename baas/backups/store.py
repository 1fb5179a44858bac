"""Where finished backups are kept: ``<data dir>/backups/`` or, with the ``backups.s3`` settings
enabled (PocketBase's shape), a bucket of any S3-compatible store.

A backup is always written to the local folder first (as ``.<name>.partial``, never listed) and
handed to the store only once complete, so neither store ever holds half a backup.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from baas.backups.names import NAME, BackupError, BackupInfo
from baas.files.blob import Blob, BlobNotFound, StorageError
from baas.files.s3 import S3Storage

CHUNK = 1 << 20


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
            raise BackupError(f"a backup named {key} already exists") from None
        path.unlink()

    async def open(self, key: str) -> Blob:
        from baas.files.local import LocalStorage

        return await LocalStorage(self.folder).open(key)

    async def delete(self, key: str) -> None:
        try:
            self.path(key).unlink()
        except FileNotFoundError:
            raise BlobNotFound(key) from None


class S3Backups:
    """Backups as objects at the root of an S3 bucket (as PocketBase keeps them)."""

    def __init__(self, s3: dict[str, Any]) -> None:
        self.storage = S3Storage.from_settings(s3)
        self.where = f"s3://{self.storage.bucket}"

    async def list(self) -> list[BackupInfo]:
        found = []
        try:
            async for info in self.storage.list():
                if "/" not in info.key and NAME.match(info.key):
                    found.append(BackupInfo(info.key, info.size, _stamp(info.modified)))
        except StorageError as exc:
            raise BackupError(f"{self.where}: {exc}") from None
        return _newest_first(found)

    async def exists(self, key: str) -> bool:
        return await self.storage.exists(key)

    async def keep(self, key: str, path: Path) -> None:
        if await self.storage.exists(key):
            raise BackupError(f"a backup named {key} already exists in {self.where}")

        async def chunks() -> AsyncIterator[bytes]:
            with open(path, "rb") as fh:
                while chunk := await asyncio.to_thread(fh.read, CHUNK):
                    yield chunk

        try:
            await self.storage.put(key, chunks(), content_type="application/zip")
        except StorageError as exc:
            raise BackupError(f"could not upload {key} to {self.where}: {exc}") from None
        path.unlink()

    async def open(self, key: str) -> Blob:
        return await self.storage.open(key)

    async def delete(self, key: str) -> None:
        if not await self.storage.exists(key):
            raise BlobNotFound(key)
        await self.storage.delete(key)


def store_from_settings(settings: dict[str, Any], data_dir: str) -> BackupStore:
    """The store the ``backups.s3`` section of the stored settings names (else the local folder)."""
    s3 = (settings.get("backups") or {}).get("s3") or {}
    if s3.get("enabled"):
        return S3Backups(s3)
    return LocalBackups(backups_dir(data_dir))


def _newest_first(found: list[BackupInfo]) -> list[BackupInfo]:
    return sorted(found, key=lambda b: (b.modified, b.key), reverse=True)
