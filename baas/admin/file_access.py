"""Who may fetch a record's file, and where it is stored: the service behind ``/api/files``.

As in PocketBase: the record must exist and hold the file name in one of its file fields; files
of non-protected fields are public; a protected field's file needs a file token whose record
passes the collection's view rule, and anything refused is "not found", never telling whether
the file exists. A thumbnail the field allows is made on first request and served instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from baas.auth.file_tokens import file_token_record
from baas.errors import ApiError, NotFound
from baas.files import Storage, thumbs
from baas.files.names import is_stored_name
from baas.files.storage import BlobInfo, BlobNotFound, InvalidKey, file_key, thumb_key
from baas.records.query import Reader, fetch_one, load_row
from baas.records.serialize import select_list
from baas.rules.context import RequestInfo
from baas.schema.fields.file import FileField
from baas.schema.model import Collection

if TYPE_CHECKING:
    from baas.core import Engine


@dataclass(frozen=True)
class StoredFile:
    """A file to serve: where it is (``storage``, ``key``), what it is (``info``), and the name
    to give it (a thumbnail's name starts with its size)."""

    storage: Storage
    key: str
    info: BlobInfo
    name: str


async def find_file(
    eng: Engine,
    collection_name: str,
    record_id: str,
    filename: str,
    *,
    thumb: str = "",
    token: str = "",
    query: dict[str, Any] | None = None,
    headers: dict[str, Any] | None = None,
) -> StoredFile:
    """The stored file ``filename`` of a record, or its ``thumb`` when the field allows that size
    and the file is an image; `NotFound` for anything missing or refused.

    ``token`` is the file token for a protected field; ``query`` and ``headers`` are the
    request's, for a view rule that reads them."""
    coll = eng.registry.get(collection_name)
    if coll is None or coll.type == "view" or not record_id or not is_stored_name(filename):
        raise NotFound()
    row = await load_row(eng.db, coll, record_id)
    if row is None:
        raise NotFound()
    field = _field_holding(coll, row, filename)
    if field is None:
        raise NotFound()
    if field.protected and not await _may_view(eng, coll, record_id, token, query or {}, headers or {}):
        raise NotFound()

    storage = await eng.files.storage()
    try:
        key = file_key(coll.id, record_id, filename)
        info = await storage.stat(key)
    except (BlobNotFound, InvalidKey):
        raise NotFound() from None
    spec = thumbs.allowed_spec(thumb, field.thumbs) if thumb else None
    if spec is not None and thumbs.is_thumbable(info.content_type):
        tkey = thumb_key(coll.id, record_id, filename, str(spec))
        if await eng.files.thumbnailer.ensure(storage, key, tkey, spec):
            try:
                return StoredFile(storage, tkey, await storage.stat(tkey), f"{spec}_{filename}")
            except BlobNotFound:  # removed in between (record deleted): serve the original
                pass
    return StoredFile(storage, key, info, filename)


def _field_holding(coll: Collection, row: tuple[Any, ...], filename: str) -> FileField | None:
    """The file field whose stored value holds ``filename`` (PocketBase's FindFileFieldByFile)."""
    for f, raw in zip(select_list(coll)[1], row):
        if not isinstance(f, FileField):
            continue
        value = f.from_db(raw)
        if filename == value or (isinstance(value, list) and filename in value):
            return f
    return None


async def _may_view(
    eng: Engine, coll: Collection, record_id: str, token: str, query: dict[str, Any], headers: dict[str, Any]
) -> bool:
    """Whether the file token's record (or a guest, without one) passes the view rule."""
    auth = await file_token_record(eng, token)
    if auth is not None:
        auth = {k: v for k, v in auth.items() if k != "password"}
    req = RequestInfo(auth=auth, query=query, headers=headers, method="GET", context="protectedFile")
    if coll.viewRule is None and not req.is_superuser:
        return False
    try:
        return await fetch_one(Reader(eng.db, eng.registry, req), coll, record_id, coll.viewRule) is not None
    except ApiError:  # a rule that cannot apply to this requester: no access
        return False
