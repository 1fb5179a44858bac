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

from baas.api.deps import ApiRequest, engine, read_body
from baas.files.uploads import check_part, check_target, new_record_id, usable_id
from baas.records.files import RecordFiles, body_limit
from baas.records.write import split_key
from baas.rules.context import RequestInfo
from baas.schema.fields.file import FileField
from baas.schema.model import Collection

__all__ = ["check_upload", "new_record_id", "read_record_body"]


def check_upload(coll: Collection, key: str, counts: dict[str, int], superuser: bool, message: str) -> FileField:
    """The file field a file part sent under body ``key`` is for (see `baas.files.uploads.check_part`)."""
    name, op = split_key(key)
    return check_part(coll, key, name, op, counts, superuser, message)


async def read_record_body(
    request: ApiRequest, coll: Collection, req: RequestInfo, files: RecordFiles, record_id: str | None = None
) -> dict[str, Any]:
    """The body of a create (``record_id`` None) or an update of ``record_id``. On a create with
    uploads, ``files.record_id`` is the id they are stored under (the write must use it)."""
    eng = engine(request)
    if not request.headers.get("content-type", "")[:10].lower() == "multipart/":
        return await read_body(request, limit=eng.settings.max_body_size)
    creating = record_id is None
    message = "Failed to create record." if creating else "Failed to update record."
    await check_target(eng.db, coll, record_id, req.is_superuser)
    counts: dict[str, int] = {}

    async def on_file(key: str, filename: str, chunks: AsyncIterator[bytes], data: dict[str, Any]) -> str:
        field = check_upload(coll, key, counts, req.is_superuser, message)
        if files.record_id is None:
            files.record_id = record_id or new_record_id(coll, data.get("id"))
        return await files.store(coll, files.record_id, field, filename, chunks, message)

    body = await read_body(request, limit=body_limit(coll, eng.settings.max_body_size), on_file=on_file)
    given = body.get("id")
    if creating and files.record_id and isinstance(given, str) and given != files.record_id and usable_id(coll, given):
        # The id came after the files (e.g. ``create({file, id})``): their folder follows it.
        await files.move(coll, files.record_id, given)
        files.record_id = given
    return body
