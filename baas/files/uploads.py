"""What the record write path calls: check a file part before storing it, store one upload for a
file field, remove stored files.

    check_target(db, coll, creating, superuser, record_id)   # refuse early what the write would refuse
    field = check_part(coll, key, name, op, counts, superuser, message)   # the file field a part is for

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

from baas.db import Database
from baas.db.tables import q
from baas.errors import BadRequest, FieldError, Forbidden, NotFound, ValidationFailed
from baas.files.names import InvalidFileName, stored_name
from baas.files.sniff import extension_for, mime_allowed, read_ahead, sniff
from baas.files.storage import BlobTooLarge, InvalidKey, Storage, check_key, file_key
from baas.ids import new_id
from baas.schema.fields.file import FileField
from baas.schema.model import Collection

DEFAULT_MAX_SIZE = 5 * 1024 * 1024  # PocketBase's maxSize when a field sets none


def usable_id(coll: Collection, value: Any) -> bool:
    """Whether a client-chosen id can name the folder of a new record's files (the write still
    validates it as the id field says)."""
    field = coll.field("id")
    if not isinstance(value, str) or not value or field is None:
        return False
    try:
        field.validate(field.prepare(value))
        check_key(f"{coll.id}/{value}")
    except (FieldError, InvalidKey):
        return False
    return True


def new_record_id(coll: Collection, given: Any) -> str:
    """The id a create's uploads are stored under: the one the body names, else a new one."""
    return given if usable_id(coll, given) else new_id()


async def check_target(db: Database, coll: Collection, record_id: str | None, superuser: bool) -> None:
    """Refuse, before a byte of a multipart create (``record_id`` None) or update is stored, what
    the write would refuse anyway: a view collection, a superusers-only action, a missing record."""
    if coll.type == "view":
        raise BadRequest("View collections are read-only.")
    if (coll.createRule if record_id is None else coll.updateRule) is None and not superuser:
        raise Forbidden("Only superusers can perform this action.")
    if record_id is not None and await db.fetchval(f'SELECT 1 FROM {q(coll.name)} WHERE "id" = ?', [record_id]) is None:
        raise NotFound()


def check_part(
    coll: Collection, key: str, name: str, op: str | None, counts: dict[str, int], superuser: bool, message: str
) -> FileField:
    """The file field a file part sent under body ``key`` (field ``name``, modifier ``op``: "+",
    "^", "-" or None) is for; refuses (400 with PocketBase's error shape) what the write would
    refuse, before anything is stored. ``counts``: files per field so far in this request
    (``maxSelect`` is checked as they arrive)."""
    if coll.type == "view":
        raise BadRequest("View collections are read-only.")
    field = coll.field(name)

    def refuse(code: str, text: str) -> ValidationFailed:
        return ValidationFailed({key: FieldError(code, text)}, message)

    if field is None:
        raise refuse("validation_unknown_field", "Unknown field.")
    if not isinstance(field, FileField):
        raise refuse("validation_invalid_value", f"{name} is not a file field: it takes no file uploads.")
    if op == "-":
        raise refuse("validation_invalid_value", f"Remove files by sending their names as {key}, not the files.")
    if field.hidden and not superuser:
        raise refuse("validation_forbidden", "Only superusers can change this field.")
    counts[name] = counts.get(name, 0) + 1
    if field.is_multi() and counts[name] > field.maxSelect:
        raise ValidationFailed(
            {
                name: FieldError(
                    "validation_too_many_files",
                    f"The maximum allowed files is {field.maxSelect}.",
                    {"maxSelect": field.maxSelect},
                )
            },
            message,
        )
    return field


async def store_upload(
    storage: Storage,
    collection_id: str,
    record_id: str,
    field: FileField,
    original_name: str,
    chunks: AsyncIterable[bytes],
) -> str:
    """Store an upload for ``field`` (a FileField) and return its new stored name."""
    try:
        stored_name(original_name)  # refuse a bad name before reading any byte
    except InvalidFileName as exc:
        raise FieldError("validation_invalid_file_name", str(exc)) from None
    head, complete, stream = await read_ahead(chunks)
    mime = sniff(head, complete=complete)
    if not mime_allowed(mime, field.mimeTypes):
        allowed = ", ".join(field.mimeTypes or [])
        raise FieldError(
            "validation_invalid_mime_type",
            f'"{original_name}" mime type must be one of: {allowed}.',
            {"mimeTypes": allowed},
        )
    max_size = field.maxSize or DEFAULT_MAX_SIZE
    name = stored_name(original_name, extension_for(mime))
    try:
        await storage.put(file_key(collection_id, record_id, name), stream, content_type=mime, max_size=max_size)
    except BlobTooLarge:
        raise FieldError(
            "validation_file_size_limit",
            f'Failed to upload "{original_name}" - the maximum allowed file size is {max_size} bytes.',
            {"maxSize": max_size},
        ) from None
    return name


async def remove_files(storage: Storage, collection_id: str, record_id: str, names: list[str]) -> None:
    """Delete stored files and their thumbnails (missing ones are fine)."""
    for name in names:
        await storage.delete(file_key(collection_id, record_id, name))
        await storage.delete_prefix(f"{collection_id}/{record_id}/thumbs_{name}/")
