"""``POST /api/batch``: several record writes in one transaction, PocketBase's shapes.

Request ``{"requests": [{"method": "POST", "url": "/api/collections/posts/records", "body": {…}}]}``;
``PUT`` on ``…/records`` upserts by ``body.id``. Response: ``[{"status": 200, "body": {…}}, …]``.
If one request fails, none is applied and the answer names it.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from litestar import Request, Response, post

from baas.api.deps import engine, json_response, read_body, request_info
from baas.db.tables import q
from baas.errors import ApiError, BadRequest, Forbidden, NotFound
from baas.records.query import Reader, fetch_one
from baas.records.write import create_record, delete_record, prehash, update_record

MAX_REQUESTS = 1000
_URL = re.compile(r"^/api/collections/([^/?#]+)/records(?:/([^/?#]+))?$")


class _BatchFailed(Exception):
    def __init__(self, index: int, error: ApiError) -> None:
        self.index, self.error = index, error


@post("/api/batch")
async def batch(request: Request) -> Response:
    eng = engine(request)
    from baas.api.settings import load_settings

    limits = (await load_settings(eng))["batch"]
    if not limits.get("enabled"):
        raise Forbidden("Batch requests are not allowed.")
    max_requests = min(int(limits.get("maxRequests") or 50), MAX_REQUESTS)
    body = await read_body(request)
    items = body.get("requests")
    if not isinstance(items, list) or not items:
        raise BadRequest("Failed to read the batch request.",
                         {"requests": {"code": "validation_required", "message": "Cannot be blank."}})
    if len(items) > max_requests:
        raise BadRequest(f"The batch has more than {max_requests} requests.",
                         {"requests": {"code": "validation_length_too_long",
                                       "message": f"The length must be no more than {max_requests}."}})
    base_req = await request_info(request)

    # Passwords are hashed before the transaction: the writer must not wait on argon2.
    hashes = [await _prehash(eng, item) for item in items]

    async def run(conn: Any) -> list[dict[str, Any]]:
        results = []
        for i, item in enumerate(items):
            try:
                results.append(await _one(conn, eng, base_req, item, hashes[i]))
            except ApiError as exc:
                raise _BatchFailed(i, exc) from None
        return results

    try:
        return json_response(await eng.db.write(run))
    except _BatchFailed as failed:
        err = failed.error
        raise BadRequest("Batch transaction failed.", {"requests": {str(failed.index): {
            "code": "batch_request_failed", "message": "Batch request failed.",
            "response": err.as_dict()}}}) from None


async def _prehash(eng: Any, item: Any) -> str | None:
    if not isinstance(item, dict) or not isinstance(item.get("body"), dict):
        return None
    m = _URL.match(urlsplit(str(item.get("url", ""))).path)
    coll = eng.registry.get(m.group(1)) if m else None
    return await prehash(coll, item["body"]) if coll is not None else None


async def _one(conn: Any, eng: Any, base_req: Any, item: Any, hashed: str | None = None) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise BadRequest("Invalid batch request item.")
    method = str(item.get("method", "")).upper()
    parts = urlsplit(str(item.get("url", "")))
    m = _URL.match(parts.path)
    if not m or method not in ("POST", "PUT", "PATCH", "DELETE"):
        raise BadRequest(f"Unsupported batch action: {method} {parts.path}.")
    coll = eng.registry.get(m.group(1))
    if coll is None:
        raise NotFound("Missing collection context.")
    body = item.get("body") or {}
    if not isinstance(body, dict):
        raise BadRequest("The batch request body must be an object.")
    query = dict(parse_qsl(parts.query))
    req = type(base_req)(auth=base_req.auth, body=body, query=query, headers=base_req.headers, method=method)
    r = Reader(conn, eng.registry, req)
    record_id = m.group(2)
    if method == "DELETE" and record_id:
        await delete_record(conn, r, coll, record_id)
        return {"status": 204, "body": None}
    if method == "POST" and not record_id:
        record_id = await create_record(conn, r, coll, body, hashed=hashed)
    elif method == "PATCH" and record_id:
        await update_record(conn, r, coll, record_id, body, hashed=hashed)
    elif method == "PUT" and not record_id:
        rid = body.get("id")
        exists = isinstance(rid, str) and rid and await conn.fetchone(
            f'SELECT 1 FROM {q(coll.name)} WHERE "id" = ?', [rid]) is not None
        if exists:
            record_id = await update_record(conn, r, coll, rid, {k: v for k, v in body.items() if k != "id"},
                                            hashed=hashed)
        else:
            record_id = await create_record(conn, r, coll, body, hashed=hashed)
    else:
        raise BadRequest(f"Unsupported batch action: {method} {parts.path}.")
    rec = await fetch_one(r, coll, record_id, None)
    rec = (await r.finish(coll, [rec], query.get("expand", ""), query.get("fields", "")))[0] if rec else None
    return {"status": 200, "body": rec}


ROUTES = [batch]
