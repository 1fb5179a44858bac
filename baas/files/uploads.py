"""What the record write path calls: store one upload for a file field, remove stored files.

    name = await store_upload(storage, coll.id, record_id, field, upload.filename, chunks)
    ...commit the record naming ``name``; on failure: await remove_files(storage, coll.id, record_id, [name])
    ...after a commit that dropped files:  await remove_files(storage, coll.id, record_id, dropped)
    ...after a record delete:              await storage.delete_prefix(record_prefix(coll.id, record_id))

Checks happen while streaming, before anything is kept: the name (no paths), the type sniffed
from the first bytes against the field's ``mimeTypes``, and the size against ``maxSize``
(PocketBase's default of 5 MiB when 0). A refused upload raises `FieldError` with PocketBase's
codes and leaves no blob.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Any

from baas.errors import FieldError
from baas.files.names import InvalidFileName, stored_name
from baas.files.sniff import extension_for, mime_allowed, read_ahead, sniff
from baas.files.storage import BlobTooLarge, Storage, file_key

DEFAULT_MAX_SIZE = 5 * 1024 * 1024  # PocketBase's maxSize when a field sets none


async def store_upload(storage: Storage, collection_id: str, record_id: str, field: Any, original_name: str,
                       chunks: AsyncIterable[bytes]) -> str:
    """Store an upload for ``field`` (a FileField) and return its new stored name."""
    try:
        stored_name(original_name)  # refuse a bad name before reading any byte
    except InvalidFileName as exc:
        raise FieldError("validation_invalid_file_name", str(exc)) from None
    head, complete, stream = await read_ahead(chunks)
    mime = sniff(head, complete=complete)
    if not mime_allowed(mime, field.mimeTypes):
        allowed = ", ".join(field.mimeTypes or [])
        raise FieldError("validation_invalid_mime_type",
                         f'"{original_name}" mime type must be one of: {allowed}.', {"mimeTypes": allowed})
    max_size = field.maxSize or DEFAULT_MAX_SIZE
    name = stored_name(original_name, extension_for(mime))
    try:
        await storage.put(file_key(collection_id, record_id, name), stream, content_type=mime, max_size=max_size)
    except BlobTooLarge:
        raise FieldError("validation_file_size_limit",
                         f'Failed to upload "{original_name}" - the maximum allowed file size is {max_size} bytes.',
                         {"maxSize": max_size}) from None
    return name


async def remove_files(storage: Storage, collection_id: str, record_id: str, names: list[str]) -> None:
    """Delete stored files and their thumbnails (missing ones are fine)."""
    for name in names:
        await storage.delete(file_key(collection_id, record_id, name))
        await storage.delete_prefix(f"{collection_id}/{record_id}/thumbs_{name}/")
