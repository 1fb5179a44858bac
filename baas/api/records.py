"""``/api/collections/{collection}/records``: list, view, create, update, delete."""

from __future__ import annotations

from litestar import Request, delete, get, patch, post

from baas.api.deps import collection, engine, query_dict, reader, request_info, to_json
from baas.api.uploads import read_record_body
from baas.auth.apikeys import check_scope
from baas.errors import BadRequest
from baas.hooks import RecordListEvent, RecordViewEvent
from baas.records.files import RecordFiles
from baas.records.hooked import after_write, api_record, api_record_from_values
from baas.records.query import ListParams, Reader, list_records, view_record
from baas.records.serialize import row_to_record, select_list
from baas.records.write import check_old_password, create_record, delete_record, prehash, prepare_create, update_record
from baas.schema.model import Collection

BASE = "/api/collections/{collection_name:str}/records"
JSON = "application/json"
# Handlers return encoded JSON bytes: Litestar sends them as they are, and the fast path in
# baas/api/fast.py, which calls these same functions, needs no response object at all.


@get(BASE, media_type=JSON)
async def records_list(request: Request, collection_name: str) -> bytes:
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
async def records_view(request: Request, collection_name: str, record_id: str) -> bytes:
    eng = engine(request)
    coll = collection(eng, collection_name)
    req = await request_info(request)
    check_scope(req, coll.name, "view")
    q = req.query
    hook = eng.hooks.on_record_view_request
    if hook.bound and (chain := hook.chain_for(coll)):
        event = RecordViewEvent(coll, req, record_id)

        async def read(e: RecordViewEvent) -> None:
            e.result = await view_record(reader(request, req), coll, e.record_id, q.get("expand", ""),
                                         q.get("fields", ""))

        await hook.trigger(event, read, chain)
        return to_json(_hook_result(event.result, "view"))
    return to_json(await view_record(reader(request, req), coll, record_id, q.get("expand", ""),
                                           q.get("fields", "")))


def _hook_result(result: dict | None, what: str) -> dict:
    """What a read hook chain answers: a handler that stops the chain must set ``e.result``."""
    if result is None:
        raise BadRequest(f"Failed to {what} the record{'s' if what == 'list' else ''}.")
    return result


async def _respond_row(r: Reader, coll: Collection, row: tuple, query: dict[str, str]) -> bytes:
    """The record just written, from the row the write stored (no re-read), with expand/fields."""
    rec = row_to_record(coll, select_list(coll)[1], row, r.req)
    rec = (await r.finish(coll, [rec], query.get("expand", ""), query.get("fields", ""), done=True))[0]
    return to_json(rec)


# Record writes lift Litestar's body limit: `read_record_body` applies theirs, which grows with
# the collection's file fields (uploads stream to storage, see baas/api/uploads.py).
@post(BASE, media_type=JSON, status_code=200, request_max_body_size=None)
async def records_create(request: Request, collection_name: str) -> bytes:
    eng = engine(request)
    coll = collection(eng, collection_name)
    req = await request_info(request)
    check_scope(req, coll.name, "create")
    async with RecordFiles(eng) as files:  # uploads go if anything fails; replaced files after the commit
        body = req.body = await read_record_body(request, coll, req, files)
        r = reader(request, req)
        hashed = await prehash(coll, body)
        stored: list = []
        # Without create hooks, the body becomes values here, outside the write lock.
        hooked = eng.hooks.on_record_create.bound and eng.hooks.on_record_create.chain_for(coll)
        prepared = None if hooked or coll.type == "view" else prepare_create(r, coll, body, files.record_id)
        await eng.db.write(lambda conn: create_record(conn, r, coll, body, hashed=hashed, row_out=stored,
                                                      files=files, record_id=files.record_id, hooks=eng.hooks,
                                                      prepared=prepared))
    if eng.hooks.on_record_after_create_success.bound:  # after the commit
        await after_write(eng.hooks.on_record_after_create_success, eng.db, coll, req, "create",
                          api_record(coll, stored[0]))
    return await _respond_row(r, coll, stored[0], query_dict(request))


@patch(BASE + "/{record_id:str}", media_type=JSON, request_max_body_size=None)
async def records_update(request: Request, collection_name: str, record_id: str) -> bytes:
    eng = engine(request)
    coll = collection(eng, collection_name)
    req = await request_info(request)
    check_scope(req, coll.name, "update")
    async with RecordFiles(eng) as files:
        body = req.body = await read_record_body(request, coll, req, files, record_id)
        r = reader(request, req)
        hashed = await prehash(coll, body)
        old_hash = await check_old_password(eng.db, coll, record_id, body)
        stored: list = []
        await eng.db.write(lambda conn: update_record(conn, r, coll, record_id, body, hashed=hashed,
                                                      old_hash=old_hash, row_out=stored, files=files,
                                                      hooks=eng.hooks))
    if eng.hooks.on_record_after_update_success.bound:
        await after_write(eng.hooks.on_record_after_update_success, eng.db, coll, req, "update",
                          api_record(coll, stored[0]))
    return await _respond_row(r, coll, stored[0], query_dict(request))


@delete(BASE + "/{record_id:str}", status_code=204)
async def records_delete(request: Request, collection_name: str, record_id: str) -> None:
    eng = engine(request)
    coll = collection(eng, collection_name)
    req = await request_info(request)
    check_scope(req, coll.name, "delete")
    r = reader(request, req)
    after = eng.hooks.on_record_after_delete_success
    deleted: list | None = [] if after.bound else None
    async with RecordFiles(eng) as files:  # the deleted records' files go after the commit
        await eng.db.write(lambda conn: delete_record(conn, r, coll, record_id, files, hooks=eng.hooks,
                                                      deleted_out=deleted))
    if deleted:
        await after_write(after, eng.db, coll, req, "delete",
                          api_record_from_values(coll, deleted[0], eng.db.dialect))


ROUTES = [records_list, records_view, records_create, records_update, records_delete]
