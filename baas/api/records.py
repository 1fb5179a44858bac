"""``/api/collections/{collection}/records``: list, view, create, update, delete."""

from __future__ import annotations

from litestar import Request, Response, delete, get, patch, post

from baas.api.deps import collection, engine, json_response, query_dict, read_body, reader, request_info
from baas.records.query import ListParams, Reader, fetch_one, list_records, view_record
from baas.records.write import create_record, delete_record, prehash, update_record

BASE = "/api/collections/{collection_name:str}/records"


@get(BASE)
async def records_list(request: Request, collection_name: str) -> Response:
    """Rule check, filter, sort and page, expand and fields — all in `list_records`."""
    coll = collection(engine(request), collection_name)
    req = await request_info(request)
    return json_response(await list_records(reader(request, req), coll, ListParams.from_query(req.query)))


@get(BASE + "/{record_id:str}")
async def records_view(request: Request, collection_name: str, record_id: str) -> Response:
    coll = collection(engine(request), collection_name)
    req = await request_info(request)
    q = req.query
    return json_response(await view_record(reader(request, req), coll, record_id, q.get("expand", ""),
                                           q.get("fields", "")))


async def _respond_record(r: Reader, coll, record_id: str, query: dict[str, str]) -> Response:
    rec = await fetch_one(r, coll, record_id, None)
    if rec is None:  # deleted by a concurrent request right after the write
        return Response(content=b"", status_code=204)
    rec = (await r.finish(coll, [rec], query.get("expand", ""), query.get("fields", "")))[0]
    return json_response(rec)


@post(BASE)
async def records_create(request: Request, collection_name: str) -> Response:
    eng = engine(request)
    coll = collection(eng, collection_name)
    body = await read_body(request)
    req = await request_info(request, body)
    r = reader(request, req)
    hashed = await prehash(coll, body)
    record_id = await eng.db.write(lambda conn: create_record(conn, r, coll, body, hashed=hashed))
    return await _respond_record(r, coll, record_id, query_dict(request))


@patch(BASE + "/{record_id:str}")
async def records_update(request: Request, collection_name: str, record_id: str) -> Response:
    eng = engine(request)
    coll = collection(eng, collection_name)
    body = await read_body(request)
    req = await request_info(request, body)
    r = reader(request, req)
    hashed = await prehash(coll, body)
    await eng.db.write(lambda conn: update_record(conn, r, coll, record_id, body, hashed=hashed))
    return await _respond_record(r, coll, record_id, query_dict(request))


@delete(BASE + "/{record_id:str}", status_code=204)
async def records_delete(request: Request, collection_name: str, record_id: str) -> None:
    eng = engine(request)
    coll = collection(eng, collection_name)
    req = await request_info(request)
    r = reader(request, req)
    await eng.db.write(lambda conn: delete_record(conn, r, coll, record_id))


ROUTES = [records_list, records_view, records_create, records_update, records_delete]
