"""File storage: the blob store chosen in settings, thumbnails, names, sniffing and the orphan sweep.

    storage = await eng.files.storage()               # local disk or S3, per the ``s3`` settings
    name = await uploads.store_upload(storage, coll.id, rec_id, field, filename, chunks)

(`baas.files.uploads` has the write path's helpers; `baas.files.sweep` the orphan sweep.)

The engine's `FileService` (``eng.files``) caches the storage and rebuilds it when the ``s3``
settings change (checked at most every `SETTINGS_TTL` seconds, and at once after a change through
the settings store in this process).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from baas.files.storage import (
    Blob,
    BlobInfo,
    BlobNotFound,
    BlobTooLarge,
    InvalidKey,
    Storage,
    StorageError,
    file_key,
    record_prefix,
    storage_from_settings,
    thumb_key,
)
from baas.files.thumbs import Thumbnailer

if TYPE_CHECKING:  # the engine builds a FileService; this module only reads it
    from baas.core import Engine
    from baas.settings_store import SettingsStore

SETTINGS_TTL = 2.0

__all__ = [
    "Blob",
    "BlobInfo",
    "BlobNotFound",
    "BlobTooLarge",
    "FileService",
    "InvalidKey",
    "Storage",
    "StorageError",
    "file_key",
    "record_prefix",
    "storage_for",
    "storage_from_settings",
    "thumb_key",
]


class FileService:
    """The engine's file storage (``Engine.files``): the blob store the ``s3`` settings choose,
    built on first use and rebuilt when they change, and the thumbnailer."""

    def __init__(self, store: SettingsStore, data_dir: str) -> None:
        self._store = store
        self._data_dir = data_dir
        self._storage: Storage | None = None
        self._config = ""
        self._checked = 0.0
        self.thumbnailer = Thumbnailer()

    async def storage(self) -> Storage:
        """The current storage backend (settings re-read at most every `SETTINGS_TTL` seconds)."""
        now = time.monotonic()
        if self._storage is not None and now - self._checked < SETTINGS_TTL:
            return self._storage
        settings = await self._store.load()
        s3 = settings.get("s3") or {}
        config = json.dumps(s3, sort_keys=True) if s3.get("enabled") else ""
        if self._storage is None or config != self._config:
            # The old backend is not closed: downloads may still be streaming from it.
            self._storage = storage_from_settings(settings, self._data_dir)
            self._config = config
        self._checked = now
        return self._storage

    def invalidate(self, _settings: object = None) -> None:
        """Re-read the storage settings on the next `storage` (a settings store listener)."""
        self._checked = 0.0


async def storage_for(eng: Engine) -> Storage:
    """The engine's current storage backend (``await eng.files.storage()``)."""
    return await eng.files.storage()
