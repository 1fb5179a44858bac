"""``POST /api/batch``: several record writes in one transaction, PocketBase's shapes.

Request ``{"requests": [{"method": "POST", "url": "/api/collections/posts/records", "body": {…}}]}``;
``PUT`` on ``…/records`` upserts by ``body.id``. Response: ``[{"status": 200, "body": {…}}, …]``.
If one request fails, none is applied and the answer names it.

Files: as PocketBase's SDK sends them, a multipart body with file parts under
``requests.<index>.<field>`` and the requests in ``@jsonPayload`` — after the files, so a file's
collection and record are known only once the whole body is in. File parts are therefore spooled
to anonymous temporary files under the data dir while the body streams in (memory stays at one
chunk), then checked and stored like a single write's uploads, and removed again if the batch fails.
The body limit is ``batch.maxBodySize`` (PocketBase's 128 MiB when 0); the JSON in it still counts
against the global limit.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from litestar import Response, post

from baas.api.deps import ApiRequest, engine, json_response, read_body, request_info
from baas.api.paths import record_route
from baas.api.uploads import check_upload, new_record_id
from baas.core import Engine
from baas.db import Conn
from baas.errors import ApiError, BadRequest, Forbidden, NotFound
from baas.files.multipart import DiskSpool, OnFile, merge_files
from baas.records import service
from baas.records.draft import Draft
from baas.records.files import RecordFiles
from baas.records.query import Reader
from baas.records.write import check_old_password, prehash, record_exists, save
from baas.rules.context import RequestInfo
from baas.rules.scopes import check_scope

MAX_REQUESTS = 1000
DEFAULT_MAX_BODY = 128 * 1024 * 1024  # PocketBase's batch.maxBodySize when 0
_FILE_KEY = re.compile(r"^requests\.(\d+)\.(.+)$")


class _BatchFailed(Exception):
    def __init__(self, index: int, error: ApiError) -> None:
        self.index, self.error = index, error


@post("/api/batch", request_max_body_size=None)
async def batch(request: ApiRequest) -> Response[bytes]:
    eng = engine(request)
    limits = (await eng.settings_store.load())["batch"]
    if not limits.get("enabled"):
        raise Forbidden("Batch requests are not allowed.")
    max_requests = min(int(limits.get("maxRequests") or 50), MAX_REQUESTS)
    spooled: list[_Spooled] = []
    try:
        body = await read_body(
            request,
            limit=int(limits.get("maxBodySize") or 0) or DEFAULT_MAX_BODY,
            on_file=_spooler(eng, spooled, max_requests),
        )
        return await _run(request, eng, body, max_requests, spooled)
    finally:
        for item in spooled:
            item.spool.close()


async def _run(
    request: ApiRequest, eng: Engine, body: dict[str, Any], max_requests: int, spooled: list[_Spooled]
) -> Response[bytes]:
    items = body.get("requests")
    if not isinstance(items, list) or not items:
        raise BadRequest(
            "Failed to read the batch request.",
            {"requests": {"code": "validation_required", "message": "Cannot be blank."}},
        )
    if len(items) > max_requests:
        raise BadRequest(
            f"The batch has more than {max_requests} requests.",
            {
                "requests": {
                    "code": "validation_length_too_long",
                    "message": f"The length must be no more than {max_requests}.",
                }
            },
        )
    base_req = await request_info(request)

    try:
        async with RecordFiles(eng) as files:  # uploads go if the batch fails; dropped files after it commits
            new_ids = await _store_files(eng, base_req, items, spooled, files) if spooled else {}
            plans = [_plan(eng, base_req, item, new_ids.get(i), files) for i, item in enumerate(items)]
            for plan in plans:  # passwords hashed (and old ones verified) before the writer is held
                await _prepare(eng, plan)

            async def run(conn: Conn) -> list[dict[str, Any]]:
                results = []
                for i, plan in enumerate(plans):
                    try:
                        results.append(await _one(conn, eng, plan))
                    except ApiError as exc:
                        raise _BatchFailed(i, exc) from None
                return results

            results = await eng.db.write(run)
        # The after-success hooks, once the whole batch has committed.
        await service.after(eng, [plan.draft for plan in plans if plan.draft is not None])
        return json_response(results)
    except _BatchFailed as failed:
        err = failed.error
        raise BadRequest(
            "Batch transaction failed.",
            {
                "requests": {
                    str(failed.index): {
                        "code": "batch_request_failed",
                        "message": "Batch request failed.",
                        "response": err.as_dict(),
                    }
                }
            },
        ) from None


class _Spooled:
    """A file part of a batch, on disk until its request is known."""

    def __init__(self, index: int, key: str, filename: str, spool: DiskSpool) -> None:
        self.index, self.key, self.filename, self.spool = index, key, filename, spool


def _spooler(eng: Engine, spooled: list[_Spooled], max_requests: int) -> OnFile:
    async def on_file(key: str, filename: str, chunks: AsyncIterator[bytes], data: dict[str, Any]) -> str:
        m = _FILE_KEY.match(key)
        if m is None or int(m.group(1)) >= max_requests:
            raise BadRequest(
                "Failed to read the batch request.",
                {
                    key: {
                        "code": "validation_invalid_value",
                        "message": "File parts must be named requests.<index>.<field>.",
                    }
                },
            )
        spool = DiskSpool(str(Path(eng.settings.data_dir) / ".tmp"))
        spooled.append(_Spooled(int(m.group(1)), m.group(2), filename, spool))
        await spool.fill(chunks)
        return ""  # the name comes when the file is stored (`_store_files`)

    return on_file


async def _store_files(
    eng: Engine, base_req: Any, items: list[Any], spooled: list[_Spooled], files: RecordFiles
) -> dict[int, str]:
    """Store the spooled files for the requests they belong to and put their names into those
    requests' bodies; the ids the creates among them must use."""
    new_ids: dict[int, str] = {}
    counts: dict[int, dict[str, int]] = {}
    added: dict[tuple[int, str], list[str]] = {}
    for sp in spooled:
        i = sp.index
        try:
            item = items[i] if i < len(items) else None
            if not isinstance(item, dict):
                raise BadRequest("Files can be sent only with a record create, update or upsert.")
            target = record_route(urlsplit(str(item.get("url", ""))).path)
            method = str(item.get("method", "")).upper() if target else ""
            if (
                target is None
                or method not in ("POST", "PUT", "PATCH")
                or (method == "PATCH") != bool(target.record_id)
            ):
                raise BadRequest("Files can be sent only with a record create, update or upsert.")
            coll = eng.registry.get(target.collection)
            if coll is None:
                raise NotFound("Missing collection context.")
            body = item.get("body") or {}
            if not isinstance(body, dict):
                raise BadRequest("The batch request body must be an object.")
            message = "Failed to update record." if method == "PATCH" else "Failed to save record."
            field = check_upload(coll, sp.key, counts.setdefault(i, {}), base_req.is_superuser, message)
            record_id = target.record_id or new_ids.get(i) or new_record_id(coll, body.get("id"))
            if not target.record_id and record_id != body.get("id"):
                new_ids[i] = record_id
            name = await files.store(coll, record_id, field, sp.filename, sp.spool.chunks(), message)
        except ApiError as exc:
            raise _BatchFailed(i, exc) from None
        added.setdefault((i, sp.key), []).append(name)
    for (i, key), names in added.items():
        body = dict(items[i].get("body") or {})
        merge_files(body, key, names)
        items[i]["body"] = body
    return new_ids


@dataclass(slots=True)
class _Plan:
    """One request of the batch, read before the transaction. A request that cannot be read keeps
    its ``error``, raised at its turn in the transaction (the answer names the first failing one)."""

    method: str = ""
    path: str = ""
    query: dict[str, str] = field(default_factory=dict)
    draft: Draft | None = None
    upsert: bool = False  # PUT: an update when the body's id exists, else a create
    error: ApiError | None = None


def _plan(eng: Engine, base_req: RequestInfo, item: Any, new_id: str | None, files: RecordFiles) -> _Plan:
    try:
        return _read(eng, base_req, item, new_id, files)
    except ApiError as exc:
        return _Plan(error=exc)


def _read(eng: Engine, base_req: RequestInfo, item: Any, new_id: str | None, files: RecordFiles) -> _Plan:
    if not isinstance(item, dict):
        raise BadRequest("Invalid batch request item.")
    method = str(item.get("method", "")).upper()
    parts = urlsplit(str(item.get("url", "")))
    target = record_route(parts.path)
    if target is None or method not in ("POST", "PUT", "PATCH", "DELETE"):
        raise BadRequest(f"Unsupported batch action: {method} {parts.path}.")
    coll = eng.registry.get(target.collection)
    if coll is None:
        raise NotFound("Missing collection context.")
    body = item.get("body") or {}
    if not isinstance(body, dict):
        raise BadRequest("The batch request body must be an object.")
    query = dict(parse_qsl(parts.query))
    plan = _Plan(method, parts.path, query)
    req = RequestInfo(auth=base_req.auth, body=body, query=query, headers=base_req.headers, method=method)
    record_id = target.record_id
    if method == "DELETE" and record_id:
        plan.draft = Draft(coll, req, "delete", record_id=record_id, files=files)
    elif method == "POST" and not record_id:
        plan.draft = Draft(coll, req, "create", body, new_id=new_id, files=files)
    elif method == "PATCH" and record_id:
        plan.draft = Draft(coll, req, "update", body, record_id, files=files)
    elif method == "PUT" and not record_id:
        plan.draft = Draft(coll, req, "create", body, new_id=new_id, files=files)
        plan.upsert = True
    return plan


async def _prepare(eng: Engine, plan: _Plan) -> None:
    """The draft's work before the write lock (an upsert's, for both ways it may go)."""
    draft = plan.draft
    if draft is None:
        return
    if not plan.upsert:
        await service.prepare(eng, draft)
        return
    draft.hashed = await prehash(draft.coll, draft.body)
    rid = draft.body.get("id")
    if isinstance(rid, str) and rid:
        draft.old_hash = await check_old_password(eng.db, draft.coll, rid, draft.body)


async def _one(conn: Conn, eng: Engine, plan: _Plan) -> dict[str, Any]:
    """One request of the batch inside its transaction (before-hooks included)."""
    draft = plan.draft
    if plan.error is not None:
        raise plan.error
    if draft is None:
        raise BadRequest(f"Unsupported batch action: {plan.method} {plan.path}.")
    coll, req = draft.coll, draft.req
    if plan.upsert:
        # An upsert may create or update: a key needs both scopes, checked before the lookup so
        # the answer never tells a key without them whether the id exists.
        check_scope(req, coll.name, "create")
        check_scope(req, coll.name, "update")
        rid = draft.body.get("id")
        if isinstance(rid, str) and rid and await record_exists(conn, coll, rid):
            draft.action, draft.record_id = "update", rid
            draft.body = {k: v for k, v in draft.body.items() if k != "id"}
    check_scope(req, coll.name, draft.action)
    await save(conn, eng.registry, draft, eng.hooks)
    if draft.action == "delete":
        return {"status": 204, "body": None}
    rec = await service.respond(
        Reader(conn, eng.registry, req), draft, plan.query.get("expand", ""), plan.query.get("fields", "")
    )
    return {"status": 200, "body": rec}


ROUTES = [batch]
