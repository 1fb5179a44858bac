"""What a function receives: the call's body and requester, and the engine's services.

``ctx.records`` reads and writes records as the caller (its rules and API key scopes apply, as
over HTTP); ``ctx.system`` does the same as the system (a superuser, rules bypassed). Both run
the record hooks, append events and clean up files exactly as the records API does.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from baas.auth.apikeys import check_scope
from baas.errors import NotFound
from baas.records.files import RecordFiles
from baas.records.hooked import after_write, api_record, api_record_from_values
from baas.records.query import ListParams, Reader, list_records, view_record
from baas.records.serialize import row_to_record, select_list
from baas.records.write import check_old_password, create_record, delete_record, prehash, update_record
from baas.rules.context import RequestInfo
from baas.schema.model import Collection

if TYPE_CHECKING:
    from baas.core import Engine

SYSTEM = RequestInfo(auth={"id": "", "collectionName": "_superusers", "collectionId": ""}, context="function")


class RecordsService:
    """Record CRUD for one requester, with the records API's rules, hooks and events."""

    def __init__(self, engine: Engine, req: RequestInfo) -> None:
        self.engine = engine
        self.req = req

    def _coll(self, name: str, action: str) -> Collection:
        coll = self.engine.registry.get(name)
        if coll is None:
            raise NotFound("Missing collection context.")
        check_scope(self.req, coll.name, action)
        return coll

    def _reader(self) -> Reader:
        return Reader(self.engine.db, self.engine.registry, self.req)

    async def list(self, collection: str, *, filter: str = "", sort: str = "", page: int = 1, per_page: int = 30,
                   expand: str = "", skip_total: bool = False) -> dict[str, Any]:
        """A page ``{page, perPage, totalItems, totalPages, items}``, as ``GET …/records``."""
        coll = self._coll(collection, "list")
        params = ListParams(page=max(1, page), perPage=max(1, min(per_page, 1000)), sort=sort, filter=filter,
                            expand=expand, skipTotal=skip_total)
        return await list_records(self._reader(), coll, params)

    async def view(self, collection: str, record_id: str, *, expand: str = "") -> dict[str, Any]:
        """One record (404 ``NotFound`` if missing or hidden by the view rule)."""
        coll = self._coll(collection, "view")
        return await view_record(self._reader(), coll, record_id, expand)

    async def create(self, collection: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create a record from a JSON body; the stored record as the requester sees it."""
        coll = self._coll(collection, "create")
        eng, r, body = self.engine, self._reader(), dict(body)
        stored: list = []
        async with RecordFiles(eng) as files:
            hashed = await prehash(coll, body)
            await eng.db.write(lambda conn: create_record(conn, r, coll, body, hashed=hashed, row_out=stored,
                                                          files=files, hooks=eng.hooks))
        if eng.hooks.on_record_after_create_success.bound:
            await after_write(eng.hooks.on_record_after_create_success, eng.db, coll, self.req, "create",
                              api_record(coll, stored[0]))
        return row_to_record(coll, select_list(coll)[1], stored[0], self.req)

    async def update(self, collection: str, record_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Update a record from a JSON body; the stored record as the requester sees it."""
        coll = self._coll(collection, "update")
        eng, r, body = self.engine, self._reader(), dict(body)
        stored: list = []
        async with RecordFiles(eng) as files:
            hashed = await prehash(coll, body)
            old_hash = await check_old_password(eng.db, coll, record_id, body)
            await eng.db.write(lambda conn: update_record(conn, r, coll, record_id, body, hashed=hashed,
                                                          old_hash=old_hash, row_out=stored, files=files,
                                                          hooks=eng.hooks))
        if eng.hooks.on_record_after_update_success.bound:
            await after_write(eng.hooks.on_record_after_update_success, eng.db, coll, self.req, "update",
                              api_record(coll, stored[0]))
        return row_to_record(coll, select_list(coll)[1], stored[0], self.req)

    async def delete(self, collection: str, record_id: str) -> None:
        """Delete a record (cascades and file removal as the records API)."""
        coll = self._coll(collection, "delete")
        eng, r = self.engine, self._reader()
        after = eng.hooks.on_record_after_delete_success
        deleted: list | None = [] if after.bound else None
        async with RecordFiles(eng) as files:
            await eng.db.write(lambda conn: delete_record(conn, r, coll, record_id, files, hooks=eng.hooks,
                                                          deleted_out=deleted))
        if deleted:
            await after_write(after, eng.db, coll, self.req, "delete",
                              api_record_from_values(coll, deleted[0], eng.db.dialect))


class Context:
    """One call: ``body`` (the JSON object sent), ``request`` (``.auth``, ``.is_superuser``,
    ``.headers``, ``.query``), ``auth`` (the caller's record, None for guests), ``records``
    (as the caller), ``system`` (as the system), ``db`` (the database), ``engine``, ``log``, and
    ``run`` when a scheduled job called it."""

    def __init__(self, engine: Engine, name: str, request: RequestInfo, body: dict[str, Any],
                 run: dict[str, Any] | None = None) -> None:
        self.engine = engine
        self.run = run  # a job's run (id, job, scheduled, attempt, trigger); None over HTTP
        self.name = name
        self.request = request
        self.body = body
        self.records = RecordsService(engine, request)
        self.system = RecordsService(engine, SYSTEM)
        self.log = logging.getLogger(f"baas.functions.{name}")

    @property
    def auth(self) -> dict[str, Any] | None:
        return self.request.auth

    @property
    def db(self) -> Any:
        return self.engine.db

    @property
    def settings(self) -> Any:
        return self.engine.settings
