"""A function's access to record files: ``ctx.files`` (as the caller) and ``ctx.system.files``.

    record = await ctx.files.attach("docs", doc_id, "attachments", "report.pdf", pdf_bytes)
    data = await ctx.files.read("docs", doc_id, record["attachments"][-1])
    link = await ctx.files.url("docs", doc_id, record["attachments"][-1])   # ?token=… if protected
    record = await ctx.files.remove("docs", doc_id, "attachments", name)

Writes are record updates through the records API's write path (`baas.records.service`): the
update rule, API key scopes, the field's ``maxSelect``/``maxSize``/``mimeTypes``, record hooks,
the event and the clean-up of replaced files all apply as for a multipart update. Reads follow
``GET /api/files``: the record must hold the name; a protected field's file needs the view rule
to let the requester see the record. The system (``ctx.system.files``) bypasses the rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from baas.auth.file_tokens import issue_file_token
from baas.errors import ApiError, BadRequest, NotFound
from baas.files.names import is_stored_name
from baas.files.storage import BlobNotFound, InvalidKey, file_key, iter_bytes
from baas.files.uploads import check_part
from baas.records.draft import split_key
from baas.records.files import RecordFiles
from baas.records.query import Reader, fetch_one, load_row
from baas.records.serialize import select_list
from baas.rules.context import RequestInfo
from baas.rules.scopes import APIKEYS
from baas.schema.fields.file import FileField
from baas.schema.model import Collection

if TYPE_CHECKING:
    from baas.core import Engine
    from baas.functions.context import RecordsService

Upload = tuple[str, bytes | bytearray | memoryview]  # (file name, content)
Uploads = Mapping[str, Upload | list[Upload]]  # body key (``field``, ``field+``, ``+field``) -> file(s)


async def stage(
    files: RecordFiles,
    coll: Collection,
    record_id: str,
    uploads: Uploads,
    superuser: bool,
    message: str,
) -> dict[str, Any]:
    """Store ``uploads`` for the record ``record_id`` (before its write, as a multipart body's
    file parts are) and return the body keys naming them. Each file is checked as a file part is:
    a file field of the collection, ``maxSelect``, then name, type and size while stored."""
    body: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for key, given in uploads.items():
        items = given if isinstance(given, list) else [given]
        name, op = split_key(key)
        stored: list[str] = []
        for item in items:
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
                raise TypeError(f"files[{key!r}]: give (file name, bytes) or a list of them")
            filename, data = item
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise TypeError(f"files[{key!r}]: the content of {filename!r} must be bytes")
            field = check_part(coll, key, name, op, counts, superuser, message)
            stored.append(await files.store(coll, record_id, field, filename, iter_bytes(bytes(data)), message))
        if stored:
            body[key] = stored if len(stored) > 1 or op is not None or field.is_multi() else stored[0]
    return body


class FilesService:
    """Record files for one requester (the caller, or the system), through the engine's storage."""

    def __init__(self, engine: Engine, req: RequestInfo, records: RecordsService) -> None:
        self.engine = engine
        self.req = req
        self._records = records

    # -- writes ----------------------------------------------------------------------------------
    async def attach(
        self,
        collection: str,
        record_id: str,
        field: str,
        filename: str,
        data: bytes | bytearray | memoryview,
        *,
        replace: bool = False,
    ) -> dict[str, Any]:
        """Store ``data`` as a new file of the record's file ``field`` and return the updated
        record (as the requester sees it). A multi-file field gets it added to its files (all of
        them replaced with ``replace=True``); a single-file field has its file replaced. The old
        files a write drops are removed once it commits; a refused write stores nothing.

        Refusals are the records API's: 404 (no record, or the update rule hides it), 403 (a
        superusers-only update, an API key without the ``update`` scope), 400 keyed by the field
        (not a file field, bad file name, type not in ``mimeTypes``, over ``maxSize``, too many
        files)."""
        coll = self._records.collection(collection, "update")
        f = coll.field(field)
        key = f"{field}+" if isinstance(f, FileField) and f.is_multi() and not replace else field
        return await self._records.update(collection, record_id, {}, files={key: (filename, data)})

    async def remove(self, collection: str, record_id: str, field: str, *names: str) -> dict[str, Any]:
        """Remove the named files from the record's file ``field`` (all of them when no name is
        given); the updated record. The blobs go once the update commits."""
        coll = self._records.collection(collection, "update")
        if not isinstance(coll.field(field), FileField):
            raise BadRequest(
                "Failed to update record.",
                {field: {"code": "validation_invalid_value", "message": f"{field} is not a file field."}},
            )
        body: dict[str, Any] = {f"{field}-": list(names)} if names else {field: None}
        return await self._records.update(coll.name, record_id, body)

    # -- reads -----------------------------------------------------------------------------------
    async def read(self, collection: str, record_id: str, filename: str) -> bytes:
        """The bytes of the record's file ``filename``. `NotFound` when the record does not hold
        it, or the field is protected and the view rule hides the record from the requester."""
        coll, _ = await self._locate(collection, record_id, filename)
        storage = await self.engine.files.storage()
        try:
            blob = await storage.open(file_key(coll.id, record_id, filename))
        except (BlobNotFound, InvalidKey):
            raise NotFound() from None
        try:
            return b"".join([chunk async for chunk in blob])
        finally:
            await blob.aclose()

    async def url(
        self,
        collection: str,
        record_id: str,
        filename: str,
        *,
        thumb: str = "",
        download: bool = False,
        token_for: dict[str, Any] | None = None,
    ) -> str:
        """The absolute ``/api/files/…`` URL of the record's file (the ``appURL`` setting as base).

        A protected field's URL carries a short-lived file token (the collection's
        ``fileToken.duration``, 180 s by default) of ``token_for`` (an auth record: at least its
        ``id`` and ``collectionId``), by default the caller's record. Without a record to issue
        it for (a guest, an API key, the system without ``token_for``) the URL has no token and
        works only if the view rule lets guests see the record."""
        coll, field = await self._locate(collection, record_id, filename)
        settings = await self.engine.settings_store.load()
        base = str((settings.get("meta") or {}).get("appURL") or "").rstrip("/")
        query: dict[str, str] = {}
        if thumb:
            query["thumb"] = thumb
        if download:
            query["download"] = "1"
        holder = token_for if token_for is not None else self.req.auth
        if field.protected and holder and holder.get("id") and holder.get("collectionName") != APIKEYS:
            query["token"] = await issue_file_token(self.engine, holder)
        path = f"/api/files/{quote(coll.id)}/{quote(record_id)}/{quote(filename)}"
        return base + path + (f"?{urlencode(query)}" if query else "")

    async def token(self) -> str:
        """A file token for the caller (as ``POST /api/files/token``): 401 for a guest, an API key
        or the system, which have no auth record."""
        return await issue_file_token(self.engine, self.req.auth)

    async def _locate(self, collection: str, record_id: str, filename: str) -> tuple[Collection, FileField]:
        """The collection and the file field holding ``filename`` in the record, if the requester
        may read it (the rules of ``GET /api/files``); `NotFound` otherwise."""
        coll = self._records.collection(collection, "view")
        if coll.type == "view" or not record_id or not is_stored_name(filename):
            raise NotFound()
        row = await load_row(self.engine.db, coll, record_id)
        if row is None:
            raise NotFound()
        field = _holding(coll, row, filename)
        if field is None:
            raise NotFound()
        if field.protected and not self.req.is_superuser:
            if coll.viewRule is None:
                raise NotFound()
            try:
                seen = await fetch_one(
                    Reader(self.engine.db, self.engine.registry, self.req), coll, record_id, coll.viewRule
                )
            except ApiError:  # a rule that cannot apply to this requester: no access
                seen = None
            if seen is None:
                raise NotFound()
        return coll, field


def _holding(coll: Collection, row: tuple[Any, ...], filename: str) -> FileField | None:
    """The file field whose stored value holds ``filename``."""
    for f, raw in zip(select_list(coll)[1], row):
        if isinstance(f, FileField) and filename in f.names(f.from_db(raw)):
            return f
    return None
