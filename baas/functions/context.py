"""What a function receives: the call's body and requester, and the engine's services.

``ctx.records`` reads and writes records as the caller (its rules and API key scopes apply, as
over HTTP); ``ctx.system`` does the same as the system (a superuser, rules bypassed). Both run
the record hooks, append events and clean up files exactly as the records API does. Their
``.files`` (``ctx.files`` is the caller's) read and write record files (`baas.functions.files`);
``ctx.mail`` sends email through the engine's mailer (`baas.functions.mail`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from baas.errors import NotFound
from baas.files.uploads import check_target, new_record_id
from baas.functions.files import FilesService, Uploads, stage
from baas.functions.mail import MailService
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
        self.files = FilesService(engine, req, self)

    def collection(self, name: str, action: str) -> Collection:
        """The collection ``name`` if the requester's API key scopes allow ``action`` on it."""
        coll = self.engine.registry.get(name)
        if coll is None:
            raise NotFound("Missing collection context.")
        check_scope(self.req, coll.name, action)
        return coll

    def _reader(self) -> Reader:
        return Reader(self.engine.db, self.engine.registry, self.req, self.engine.secret)

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
        coll = self.collection(collection, "list")
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
        coll = self.collection(collection, "view")
        return await view_record(self._reader(), coll, record_id, expand)

    async def create(self, collection: str, body: dict[str, Any], *, files: Uploads | None = None) -> dict[str, Any]:
        """Create a record from a JSON body; the stored record as the requester sees it.
        ``files``: uploads as a multipart create sends them, ``{"field": ("name.pdf", data)}``
        (or a list of such pairs; ``field+`` adds to a multi-file field)."""
        coll = self.collection(collection, "create")
        body = dict(body)
        async with RecordFiles(self.engine) as store:
            new_id = None
            if files:
                await check_target(self.engine.db, coll, None, self.req.is_superuser)
                new_id = new_record_id(coll, body.get("id"))
                body.update(await stage(store, coll, new_id, files, self.req.is_superuser, "Failed to create record."))
            return await self.write(Draft(coll, self.req, "create", body, new_id=new_id, files=store), store)

    async def update(
        self, collection: str, record_id: str, body: dict[str, Any], *, files: Uploads | None = None
    ) -> dict[str, Any]:
        """Update a record from a JSON body (and ``files``, as `create`); the stored record as the
        requester sees it. Files the update drops are removed once it commits."""
        coll = self.collection(collection, "update")
        body = dict(body)
        async with RecordFiles(self.engine) as store:
            if files:
                await check_target(self.engine.db, coll, record_id, self.req.is_superuser)
                body.update(
                    await stage(store, coll, record_id, files, self.req.is_superuser, "Failed to update record.")
                )
            return await self.write(Draft(coll, self.req, "update", body, record_id, files=store), store)

    async def delete(self, collection: str, record_id: str) -> None:
        """Delete a record (cascades and file removal as the records API)."""
        coll = self.collection(collection, "delete")
        async with RecordFiles(self.engine) as files:
            await self.write(Draft(coll, self.req, "delete", record_id=record_id, files=files), files)

    async def write(self, draft: Draft, files: RecordFiles) -> dict[str, Any]:
        """The records API's write (`baas.records.service`) of ``draft`` inside the ``files``
        context the caller opened (its uploads are the draft's; removals follow the commit); the
        record as the requester sees it ({} for a delete). After-success hooks run once committed."""
        eng = self.engine
        draft.files = files
        await service.commit(eng, draft)
        await files.committed()
        await service.after(eng, (draft,))
        return {} if draft.action == "delete" else await service.respond(self._reader(), draft)


class Context:
    """One call: ``body`` (the JSON object sent), ``request`` (``.auth``, ``.is_superuser``,
    ``.headers``, ``.query``), ``auth`` (the caller's record, None for guests), ``records``
    (as the caller), ``system`` (as the system), ``files`` (record files as the caller; the
    system's are ``system.files``), ``mail`` (send email), ``db`` (the database), ``engine``,
    ``log``, ``push`` (``await ctx.push.notify(user, payload)``: docs/push.md), and ``run`` when a
    scheduled job called it, ``webhook`` when an inbound webhook did."""

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
        self.files = self.records.files
        self.mail = MailService(engine, name)
        self.log = logging.getLogger(f"baas.functions.{name}")

    @property
    def auth(self) -> dict[str, Any] | None:
        return self.request.auth

    @property
    def push(self) -> Any:
        """The engine's push service (`baas.push.Push`): ``notify``, ``provider``."""
        return self.engine.push

    @property
    def db(self) -> Any:
        return self.engine.db

    @property
    def settings(self) -> Any:
        return self.engine.settings
