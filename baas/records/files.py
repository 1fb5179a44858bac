"""The blob side of record writes: uploads are stored before the transaction, old files removed after it.

    async with RecordFiles(eng) as files:
        name = await files.store(coll, record_id, field, upload_name, chunks)   # while the body streams in
        await eng.db.write(lambda conn: update_record(conn, ..., files=files))
    # no error: files the write dropped (replaced, removed, deleted records) are removed now
    # an error (validation, rule, constraint, 413, disconnect, …): the uploads are removed

Uploads get new unique names, so storing them before the transaction cannot hurt a reader; the
write then references them. The write functions (`baas.records.write`) report, inside the
transaction, what each record now holds (`written`) and which records went (`deleted`); the
removals run only once the transaction has committed, best effort: a crash in between leaves
orphans that ``baas files sweep`` removes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable
from typing import TYPE_CHECKING, Any

from baas.errors import FieldError, ValidationFailed
from baas.files import record_prefix
from baas.files.storage import Storage, file_key
from baas.files.uploads import remove_files, store_upload
from baas.records.layout import layout
from baas.schema.fields import FileField
from baas.schema.model import Collection

if TYPE_CHECKING:  # the engine creates this service; here only its type is named
    from baas.core import Engine

log = logging.getLogger("baas.files")

Key = tuple[str, str]  # (collection id, record id)


def file_fields(coll: Collection) -> tuple[FileField, ...]:
    """The collection's file fields (from its `Layout`: the write path asks on every write)."""
    return layout(coll).file_fields


def body_limit(coll: Collection, base: int) -> int:
    """The body limit of a multipart write to ``coll``: the global limit plus, per file field, its
    ``maxSize`` × ``maxSelect`` (PocketBase sizes its record body limit the same way)."""
    if coll.type == "view":
        return base
    return base + sum(f.max_body_share() for f in file_fields(coll))


class RecordFiles:
    """Uploads of one request and the removals its write owes (see the module docstring)."""

    __slots__ = ("eng", "record_id", "uploads", "_kept", "_dropped", "_deleted", "_storage")

    def __init__(self, eng: Engine) -> None:
        self.eng = eng
        self.record_id: str | None = None  # where a create's uploads went (its id when the body names none)
        self.uploads: dict[Key, list[str]] = {}
        self._kept: dict[Key, set[str]] = {}
        self._dropped: dict[Key, set[str]] = {}
        self._deleted: set[Key] = set()
        self._storage: Storage | None = None

    async def storage(self) -> Storage:
        if self._storage is None:
            self._storage = await self.eng.files.storage()
        return self._storage

    async def __aenter__(self) -> RecordFiles:
        return self

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is None:
            await self.committed()
        elif isinstance(exc, asyncio.CancelledError):
            # The write may still commit after its caller was cancelled: leave the uploads to the sweep.
            log.info(
                "record write cancelled: %d upload(s) left for the orphan sweep", sum(map(len, self.uploads.values()))
            )
        else:
            await self.discard()

    # -- before the transaction ----------------------------------------------------------------
    async def store(
        self,
        coll: Collection,
        record_id: str,
        field: FileField,
        filename: str,
        chunks: AsyncIterable[bytes],
        message: str = "Failed to save record.",
    ) -> str:
        """Stream one upload into storage; its new name. A refused file raises `ValidationFailed`
        keyed by the field, as PocketBase answers."""
        storage = await self.storage()
        try:
            name = await store_upload(storage, coll.id, record_id, field, filename, chunks)
        except FieldError as exc:
            raise ValidationFailed({field.name: exc}, message) from None
        self.uploads.setdefault((coll.id, record_id), []).append(name)
        return name

    async def move(self, coll: Collection, old_id: str, new_id: str) -> None:
        """Move the uploads stored for ``old_id`` to ``new_id`` (a create whose body named its id
        only after its files). Streams storage to storage."""
        names = self.uploads.pop((coll.id, old_id), [])
        if not names:
            return
        storage = await self.storage()
        moved = self.uploads.setdefault((coll.id, new_id), [])
        for name in names:
            blob = await storage.open(file_key(coll.id, old_id, name))
            await storage.put(file_key(coll.id, new_id, name), blob, content_type=blob.info.content_type)
            moved.append(name)
            await storage.delete(file_key(coll.id, old_id, name))

    def uploaded(self, coll_id: str, record_id: str) -> list[str]:
        """Names uploaded for the record in this request (the only new names a write may add)."""
        return self.uploads.get((coll_id, record_id), [])

    # -- inside the transaction (no I/O) -----------------------------------------------------
    def written(self, coll: Collection, record_id: str, old: dict[str, Any] | None, values: dict[str, Any]) -> None:
        """The record now holds ``values`` (it held ``old`` before this write; None on create)."""
        key = (coll.id, record_id)
        kept: set[str] = set()
        for f in file_fields(coll):
            now = f.names(values.get(f.name))
            kept.update(now)
            if old:
                gone = set(f.names(old.get(f.name))).difference(now)
                if gone:
                    self._dropped.setdefault(key, set()).update(gone)
        self._kept[key] = kept
        self._deleted.discard(key)

    def deleted(self, coll: Collection, record_id: str) -> None:
        """The record is deleted (directly or by a cascade): all its files go after the commit."""
        self._deleted.add((coll.id, record_id))

    # -- after the transaction ----------------------------------------------------------------
    async def discard(self) -> None:
        """The write failed: remove this request's uploads (nothing references them)."""
        if not self.uploads:
            return
        uploads, self.uploads = self.uploads, {}
        storage = await self.storage()
        for (coll_id, record_id), names in uploads.items():
            await self._best_effort(remove_files(storage, coll_id, record_id, names))

    async def committed(self) -> None:
        """The write committed: remove replaced and removed files, deleted records' folders, and
        uploads the record did not keep (a second file sent to a single-file field)."""
        if not (self._deleted or self._dropped or self.uploads):
            return
        storage = await self.storage()
        for coll_id, record_id in self._deleted:
            await self._best_effort(storage.delete_prefix(record_prefix(coll_id, record_id)))
        gone: dict[Key, set[str]] = {k: set(v) for k, v in self._dropped.items()}
        for key, names in self.uploads.items():
            gone.setdefault(key, set()).update(names)
        for key, dropped in gone.items():
            if key in self._deleted:
                continue
            left = dropped - self._kept.get(key, set())
            if left:
                await self._best_effort(remove_files(storage, key[0], key[1], sorted(left)))
        self.uploads, self._dropped, self._deleted = {}, {}, set()

    @staticmethod
    async def _best_effort(op: Any) -> None:
        try:
            await op
        except Exception as exc:  # never fail a committed write over a removal: the sweep finishes it
            log.warning("could not remove record files: %s", exc)
