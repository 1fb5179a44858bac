"""What a function receives: the call's body and requester, and the engine's services.

``ctx.records`` reads and writes records as the caller (its rules and API key scopes apply, as
over HTTP); ``ctx.system`` does the same as the system (a superuser, rules bypassed). Both run
the record hooks, append events and clean up files exactly as the records API does.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from baas.errors import NotFound
from baas.records import service
from baas.records.draft import Draft
from baas.records.files import RecordFiles
from baas.records.query import ListParams, Reader, list_records, view_record
from baas.rules.context import RequestInfo
from baas.rules.scopes import check_scope
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

    async def list(
        self,
        collection: str,
        *,
        filter: str = "",
        sort: str = "",
        page: int = 1,
        per_page: int = 30,
        expand: str = "",
        skip_total: bool = False,
    ) -> dict[str, Any]:
        """A page ``{page, perPage, totalItems, totalPages, items}``, as ``GET …/records``."""
        coll = self._coll(collection, "list")
        params = ListParams(
            page=max(1, page),
            perPage=max(1, min(per_page, 1000)),
            sort=sort,
            filter=filter,
            expand=expand,
            skipTotal=skip_total,
        )
        return await list_records(self._reader(), coll, params)

    async def view(self, collection: str, record_id: str, *, expand: str = "") -> dict[str, Any]:
        """One record (404 ``NotFound`` if missing or hidden by the view rule)."""
        coll = self._coll(collection, "view")
        return await view_record(self._reader(), coll, record_id, expand)

    async def create(self, collection: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create a record from a JSON body; the stored record as the requester sees it."""
        coll = self._coll(collection, "create")
        return await self._write(Draft(coll, self.req, "create", dict(body)))

    async def update(self, collection: str, record_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Update a record from a JSON body; the stored record as the requester sees it."""
        coll = self._coll(collection, "update")
        return await self._write(Draft(coll, self.req, "update", dict(body), record_id))

    async def delete(self, collection: str, record_id: str) -> None:
        """Delete a record (cascades and file removal as the records API)."""
        coll = self._coll(collection, "delete")
        await self._write(Draft(coll, self.req, "delete", record_id=record_id))

    async def _write(self, draft: Draft) -> dict[str, Any]:
        """The records API's write (`baas.records.service`); the record as the requester sees it
        ({} for a delete)."""
        eng = self.engine
        async with RecordFiles(eng) as files:
            draft.files = files
            await service.commit(eng, draft)
        await service.after(eng, (draft,))
        return {} if draft.action == "delete" else await service.respond(self._reader(), draft)


class Context:
    """One call: ``body`` (the JSON object sent), ``request`` (``.auth``, ``.is_superuser``,
    ``.headers``, ``.query``), ``auth`` (the caller's record, None for guests), ``records``
    (as the caller), ``system`` (as the system), ``db`` (the database), ``engine``, ``log``, and
    ``run`` when a scheduled job called it, ``webhook`` when an inbound webhook did."""

    def __init__(
        self,
        engine: Engine,
        name: str,
        request: RequestInfo,
        body: dict[str, Any],
        run: dict[str, Any] | None = None,
        webhook: dict[str, Any] | None = None,
    ) -> None:
        self.engine = engine
        self.run = run  # a job's run (id, job, scheduled, attempt, trigger); None over HTTP
        self.webhook = webhook  # an inbound delivery (name, scheme, id, timestamp); None otherwise
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
