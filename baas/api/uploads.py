"""The body of a record create or update: JSON as always, or multipart with its files streamed to storage.

The PocketBase SDKs send a write with files as ``multipart/form-data``: file parts under the
field's name (or ``field+`` / ``+field`` to add to the files a record has), plain values as form
fields and ``@jsonPayload`` parts. Each file part is checked (a file field of this collection,
not too many for ``maxSelect``) and streamed into storage as it arrives, by
`RecordFiles.store` (name, sniffed type and size checked on the way); the body then carries the
stored names, and the write references them. Whatever fails — a refused file, a body past its
limit, a client that goes away, the write itself — the `RecordFiles` context removes the uploads.

Body limit of a multipart record write: the global ``max_body_size`` plus ``maxSize`` ×
``maxSelect`` of each file field (`baas.records.files.body_limit`, as PocketBase sizes it); the
plain values among it still count against the global limit alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request

from baas.api.deps import engine, read_body
from baas.db.tables import q
from baas.errors import BadRequest, FieldError, Forbidden, NotFound, ValidationFailed
from baas.files.storage import InvalidKey, check_key
from baas.ids import new_id
from baas.records.files import RecordFiles, body_limit
from baas.records.write import split_key
from baas.rules.context import RequestInfo
from baas.schema.fields import FileField
from baas.schema.model import Collection


def _usable_id(coll: Collection, value: Any) -> bool:
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


def check_upload(coll: Collection, key: str, counts: dict[str, int], superuser: bool, message: str) -> FileField:
    """The file field a file part sent under ``key`` is for; refuses (400 with PocketBase's error
    shape) what the write would refuse, before anything is stored. ``counts``: files per field so
    far in this request (``maxSelect`` is checked as they arrive)."""
    if coll.type == "view":
        raise BadRequest("View collections are read-only.")
    name, op = split_key(key)
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
        raise ValidationFailed({name: FieldError("validation_too_many_files",
                                                 f"The maximum allowed files is {field.maxSelect}.",
                                                 {"maxSelect": field.maxSelect})}, message)
    return field


def new_record_id(coll: Collection, given: Any) -> str:
    """The id a create's uploads are stored under: the one the body names, else a new one."""
    return given if _usable_id(coll, given) else new_id()


async def read_record_body(request: Request, coll: Collection, req: RequestInfo, files: RecordFiles,
                           record_id: str | None = None) -> dict[str, Any]:
    """The body of a create (``record_id`` None) or an update of ``record_id``. On a create with
    uploads, ``files.record_id`` is the id they are stored under (the write must use it)."""
    eng = engine(request)
    if not request.headers.get("content-type", "")[:10].lower() == "multipart/":
        return await read_body(request, limit=eng.settings.max_body_size)
    creating = record_id is None
    message = "Failed to create record." if creating else "Failed to update record."
    # Refuse before a byte is stored what the write would refuse anyway.
    if coll.type == "view":
        raise BadRequest("View collections are read-only.")
    if (coll.createRule if creating else coll.updateRule) is None and not req.is_superuser:
        raise Forbidden("Only superusers can perform this action.")
    if not creating and await eng.db.fetchval(f'SELECT 1 FROM {q(coll.name)} WHERE "id" = ?', [record_id]) is None:
        raise NotFound()
    counts: dict[str, int] = {}

    async def on_file(key: str, filename: str, chunks: AsyncIterator[bytes], data: dict[str, Any]) -> str:
        field = check_upload(coll, key, counts, req.is_superuser, message)
        if files.record_id is None:
            files.record_id = record_id or new_record_id(coll, data.get("id"))
        return await files.store(coll, files.record_id, field, filename, chunks, message)

    body = await read_body(request, limit=body_limit(coll, eng.settings.max_body_size), on_file=on_file)
    given = body.get("id")
    if creating and files.record_id and given != files.record_id and _usable_id(coll, given):
        # The id came after the files (e.g. ``create({file, id})``): their folder follows it.
        await files.move(coll, files.record_id, given)
        files.record_id = given
    return body
