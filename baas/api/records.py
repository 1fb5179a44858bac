"""``/api/collections/{collection}/records``: list, view, create, update, delete."""

from __future__ import annotations

from typing import Any

from litestar import delete, get, patch, post

from baas.api.deps import ApiRequest, collection, engine, query_dict, reader, request_info, to_json
from baas.api.uploads import read_record_body
from baas.errors import BadRequest
from baas.hooks import RecordListEvent, RecordViewEvent
from baas.records import service
from baas.records.draft import Draft
from baas.records.files import RecordFiles
from baas.records.query import ListParams, list_records, view_record
from baas.rules.context import RequestInfo
from baas.rules.scopes import check_scope

BASE = "/api/collections/{collection_name:str}/records"
JSON = "application/json"
# Handlers return encoded JSON bytes: Litestar sends them as they are, and the fast path in
# baas/api/fast.py, which calls these same functions, needs no response object at all.


@get(BASE, media_type=JSON)
async def records_list(request: ApiRequest, collection_name: str) -> bytes:
    """Rule check, filter, sort and page, expand and fields — all in `list_records`."""
    eng = engine(request)
    coll = collection(eng, collection_name)
    req = await request_info(request)
    check_scope(req, coll.name, "list")
    hook = eng.hooks.on_record_list_request
    if hook.bound and (chain := hook.chain_for(coll)):  # around the read; may change params and page
        event = RecordListEvent(coll, req, ListParams.from_query(req.query))

        async def read(e: RecordListEvent) -> None:
            e.result = await list_records(reader(request, req), coll, e.params)

        await hook.trigger(event, read, chain)
        return to_json(_hook_result(event.result, "list"))
    return to_json(await list_records(reader(request, req), coll, ListParams.from_query(req.query)))


@get(BASE + "/{record_id:str}", media_type=JSON)
async def records_view(request: ApiRequest, collection_name: str, record_id: str) -> bytes:
    eng = engine(request)
    coll = collection(eng, collection_name)
    req = await request_info(request)
    check_scope(req, coll.name, "view")
    q = req.query
    hook = eng.hooks.on_record_view_request
    if hook.bound and (chain := hook.chain_for(coll)):
        event = RecordViewEvent(coll, req, record_id)

        async def read(e: RecordViewEvent) -> None:
            e.result = await view_record(
                reader(request, req), coll, e.record_id, q.get("expand", ""), q.get("fields", "")
            )

        await hook.trigger(event, read, chain)
        return to_json(_hook_result(event.result, "view"))
    return to_json(await view_record(reader(request, req), coll, record_id, q.get("expand", ""), q.get("fields", "")))


def _hook_result(result: dict[str, Any] | None, what: str) -> dict[str, Any]:
    """What a read hook chain answers: a handler that stops the chain must set ``e.result``."""
    if result is None:
        raise BadRequest(f"Failed to {what} the record{'s' if what == 'list' else ''}.")
    return result


# Record writes lift Litestar's body limit: `read_record_body` applies theirs, which grows with
# the collection's file fields (uploads stream to storage, see baas/api/uploads.py). The write
# itself is `baas.records.service`'s: prepare outside the write lock, save, after-hooks, answer.
@post(BASE, media_type=JSON, status_code=200, request_max_body_size=None)
async def records_create(request: ApiRequest, collection_name: str) -> bytes:
    eng = engine(request)
    coll = collection(eng, collection_name)
    req = await request_info(request)
    check_scope(req, coll.name, "create")
    async with RecordFiles(eng) as files:  # uploads go if anything fails; replaced files after the commit
        body = req.body = await read_record_body(request, coll, req, files)
        draft = Draft(coll, req, "create", body, new_id=files.record_id, files=files)
        await service.commit(eng, draft)
    await service.after(eng, (draft,))
    return await _answer(request, req, draft)


@patch(BASE + "/{record_id:str}", media_type=JSON, request_max_body_size=None)
async def records_update(request: ApiRequest, collection_name: str, record_id: str) -> bytes:
    eng = engine(request)
    coll = collection(eng, collection_name)
    req = await request_info(request)
    check_scope(req, coll.name, "update")
    async with RecordFiles(eng) as files:
        body = req.body = await read_record_body(request, coll, req, files, record_id)
        draft = Draft(coll, req, "update", body, record_id, files=files)
        await service.commit(eng, draft)
    await service.after(eng, (draft,))
    return await _answer(request, req, draft)


async def _answer(request: ApiRequest, req: RequestInfo, draft: Draft) -> bytes:
    query = query_dict(request)
    return to_json(await service.respond(reader(request, req), draft, query.get("expand", ""), query.get("fields", "")))


@delete(BASE + "/{record_id:str}", status_code=204)
async def records_delete(request: ApiRequest, collection_name: str, record_id: str) -> None:
    eng = engine(request)
    coll = collection(eng, collection_name)
    req = await request_info(request)
    check_scope(req, coll.name, "delete")
    async with RecordFiles(eng) as files:  # the deleted records' files go after the commit
        draft = Draft(coll, req, "delete", record_id=record_id, files=files)
        await service.commit(eng, draft)
    await service.after(eng, (draft,))


ROUTES = [records_list, records_view, records_create, records_update, records_delete]
