"""File storage: the blob store chosen in settings, thumbnails, names, sniffing and the orphan sweep.

    storage = await storage_for(eng)                  # local disk or S3, per the ``s3`` settings
    name = await uploads.store_upload(storage, coll.id, rec_id, field, filename, chunks)

(`baas.files.uploads` has the write path's helpers; `baas.files.sweep` the orphan sweep.)

The storage is cached on the engine and rebuilt when the ``s3`` settings change (checked at most
every `SETTINGS_TTL` seconds, and at once after ``PATCH /api/settings`` in this process).
"""

from __future__ import annotations

import json
import time
from typing import Any

from baas.files.storage import (Blob, BlobInfo, BlobNotFound, BlobTooLarge, InvalidKey, Storage, StorageError,
                                file_key, record_prefix, storage_from_settings, thumb_key)
from baas.files.thumbs import Thumbnailer

SETTINGS_TTL = 2.0

__all__ = ["Blob", "BlobInfo", "BlobNotFound", "BlobTooLarge", "InvalidKey", "Storage", "StorageError", "file_key",
           "invalidate", "record_prefix", "storage_for", "storage_from_settings", "thumb_key", "thumbnailer_for"]


class _State:
    def __init__(self) -> None:
        self.storage: Storage | None = None
        self.config = ""
        self.checked = 0.0
        self.thumbnailer: Thumbnailer | None = None


def _state(eng: Any) -> _State:
    state = eng.__dict__.get("_files")
    if state is None:
        state = eng.__dict__["_files"] = _State()
    return state


async def storage_for(eng: Any) -> Storage:
    """The engine's current storage backend."""
    state = _state(eng)
    now = time.monotonic()
    if state.storage is not None and now - state.checked < SETTINGS_TTL:
        return state.storage
    from baas.api.settings import load_settings  # settings live with their API (no import cycle at load)

    settings = await load_settings(eng)
    s3 = settings.get("s3") or {}
    config = json.dumps(s3, sort_keys=True) if s3.get("enabled") else ""
    if state.storage is None or config != state.config:
        # The old backend is not closed: downloads may still be streaming from it.
        state.storage = storage_from_settings(settings, eng.settings.data_dir)
        state.config = config
    state.checked = now
    return state.storage


def invalidate(eng: Any) -> None:
    """Re-read the storage settings on the next `storage_for` (after a settings change)."""
    _state(eng).checked = 0.0


def thumbnailer_for(eng: Any) -> Thumbnailer:
    state = _state(eng)
    if state.thumbnailer is None:
        state.thumbnailer = Thumbnailer()
    return state.thumbnailer
