"""``POST /api/collections/{c}/impersonate/{id}``: a superuser signs in as any auth record.

As PocketBase 0.23+: superusers only; body ``{"duration": seconds}`` (0 or missing: the
collection's auth token duration); the answer is ``{token, record}`` with a token whose
``refreshable`` claim is false, so auth-refresh hands it back unchanged instead of extending it.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post

from baas.api.deps import engine, json_response, read_body, reader, request_info, require_superuser
from baas.auth import tokens
from baas.errors import BadRequest, NotFound
from baas.records.query import load_row
from baas.records.serialize import raw_record, row_to_record, select_list
from baas.rules.context import RequestInfo

DEFAULT_DURATION = {"_superusers": 86400}
MAX_DURATION = 10 * 365 * 86400  # a bound, so exp stays a sane date


def _duration(body: dict[str, Any], default: int) -> int:
    value = body.get("duration", 0)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest("An error occurred while loading the submitted data.")
    if value < 0:
        raise BadRequest("An error occurred while validating the submitted data.", {"duration": {
            "code": "validation_min_greater_equal_than_required", "message": "Must be no less than 0.",
            "params": {"threshold": 0}}})
    if value > MAX_DURATION:
        raise BadRequest("An error occurred while validating the submitted data.", {"duration": {
            "code": "validation_max_less_equal_than_required", "message": f"Must be no greater than {MAX_DURATION}.",
            "params": {"threshold": MAX_DURATION}}})
    return value or default


@post("/api/collections/{collection_name:str}/impersonate/{record_id:str}")
async def impersonate(request: Request, collection_name: str, record_id: str) -> Response:
    eng = engine(request)
    require_superuser(await request_info(request))
    coll = eng.registry.get(collection_name)
    if coll is None or coll.type != "auth":
        raise NotFound("Missing or invalid auth collection context.")
    body = await read_body(request)
    duration = _duration(body, int(coll.authToken.get("duration") or DEFAULT_DURATION.get(coll.name, 604800)))
    row = await load_row(eng.db, coll, record_id)
    if row is None:
        raise NotFound()
    _, fields = select_list(coll)
    raw = raw_record(coll, fields, row)
    # The record as the impersonated account sees itself (as every auth response shows it).
    me = {"id": raw["id"], "collectionId": coll.id, "collectionName": coll.name}
    record = row_to_record(coll, fields, row, RequestInfo(auth=me))
    token = tokens.issue(eng.secret, record, coll.id, raw["tokenKey"], duration, refreshable=False)
    req = RequestInfo(auth=record, query=dict(request.query_params.items()))
    q = req.query
    rec = (await reader(request, req).finish(coll, [dict(record)], q.get("expand", ""), q.get("fields", ""),
                                             done=True))[0]
    return json_response({"token": token, "record": rec})


ROUTES = [impersonate]
