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
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from litestar import Request, Response, post

from baas.api.deps import engine, json_response, read_body, request_info
from baas.api.uploads import check_upload, new_record_id
from baas.auth.apikeys import check_scope
from baas.core import Engine
from baas.db.tables import q
from baas.errors import ApiError, BadRequest, Forbidden, NotFound
from baas.files.multipart import DiskSpool, OnFile, merge_files
from baas.records.files import RecordFiles
from baas.records.hooked import after_write, api_record, api_record_from_values
from baas.records.query import Reader, fetch_one
from baas.records.write import check_old_password, create_record, delete_record, prehash, update_record

MAX_REQUESTS = 1000
DEFAULT_MAX_BODY = 128 * 1024 * 1024  # PocketBase's batch.maxBodySize when 0
_URL = re.compile(r"^/api/collections/([^/?#]+)/records(?:/([^/?#]+))?$")
_FILE_KEY = re.compile(r"^requests\.(\d+)\.(.+)$")


class _BatchFailed(Exception):
    def __init__(self, index: int, error: ApiError) -> None:
        self.index, self.error = index, error


@post("/api/batch", request_max_body_size=None)
async def batch(request: Request) -> Response:
    eng = engine(request)
    limits = (await eng.settings_store.load())["batch"]
    if not limits.get("enabled"):
        raise Forbidden("Batch requests are not allowed.")
    max_requests = min(int(limits.get("maxRequests") or 50), MAX_REQUESTS)
    spooled: list[_Spooled] = []
    try:
        body = await read_body(request, limit=int(limits.get("maxBodySize") or 0) or DEFAULT_MAX_BODY,
                               on_file=_spooler(eng, spooled, max_requests))
        return await _run(request, eng, body, max_requests, spooled)
    finally:
        for item in spooled:
            item.spool.close()


async def _run(request: Request, eng: Engine, body: dict[str, Any], max_requests: int,
               spooled: list[_Spooled]) -> Response:
    items = body.get("requests")
    if not isinstance(items, list) or not items:
        raise BadRequest("Failed to read the batch request.",
                         {"requests": {"code": "validation_required", "message": "Cannot be blank."}})
    if len(items) > max_requests:
        raise BadRequest(f"The batch has more than {max_requests} requests.",
                         {"requests": {"code": "validation_length_too_long",
                                       "message": f"The length must be no more than {max_requests}."}})
    base_req = await request_info(request)

    try:
        async with RecordFiles(eng) as files:  # uploads go if the batch fails; dropped files after it commits
            new_ids = await _store_files(eng, base_req, items, spooled, files) if spooled else {}
            # Passwords are hashed (and old passwords verified) before the transaction: the writer
            # must not wait on argon2.
            hashes = [await _prehash(eng, item) for item in items]
            olds = [await _old_password(eng, item) for item in items]
            # The written records for after-success hooks, run once the whole batch has committed.
            hooks = eng.hooks
            after: list | None = [] if (hooks.on_record_after_create_success.bound or
                                        hooks.on_record_after_update_success.bound or
                                        hooks.on_record_after_delete_success.bound) else None

            async def run(conn: Any) -> list[dict[str, Any]]:
                if after is not None:
                    after.clear()
                results = []
                for i, item in enumerate(items):
                    try:
                        results.append(await _one(conn, eng, base_req, item, hashes[i], olds[i], files,
                                                  new_ids.get(i), after))
                    except ApiError as exc:
                        raise _BatchFailed(i, exc) from None
                return results

            results = await eng.db.write(run)
        for coll, action, req, record in after or ():
            await after_write(getattr(hooks, f"on_record_after_{action}_success"), eng.db, coll, req, action, record)
        return json_response(results)
    except _BatchFailed as failed:
        err = failed.error
        raise BadRequest("Batch transaction failed.", {"requests": {str(failed.index): {
            "code": "batch_request_failed", "message": "Batch request failed.",
            "response": err.as_dict()}}}) from None


class _Spooled:
    """A file part of a batch, on disk until its request is known."""

    def __init__(self, index: int, key: str, filename: str, spool: DiskSpool) -> None:
        self.index, self.key, self.filename, self.spool = index, key, filename, spool


def _spooler(eng: Engine, spooled: list[_Spooled], max_requests: int) -> OnFile:
    async def on_file(key: str, filename: str, chunks: AsyncIterator[bytes], data: dict[str, Any]) -> str:
        m = _FILE_KEY.match(key)
        if m is None or int(m.group(1)) >= max_requests:
            raise BadRequest("Failed to read the batch request.", {key: {
                "code": "validation_invalid_value", "message": "File parts must be named requests.<index>.<field>."}})
        spool = DiskSpool(str(Path(eng.settings.data_dir) / ".tmp"))
        spooled.append(_Spooled(int(m.group(1)), m.group(2), filename, spool))
        await spool.fill(chunks)
        return ""  # the name comes when the file is stored (`_store_files`)
    return on_file


async def _store_files(eng: Engine, base_req: Any, items: list[Any], spooled: list[_Spooled],
                       files: RecordFiles) -> dict[int, str]:
    """Store the spooled files for the requests they belong to and put their names into those
    requests' bodies; the ids the creates among them must use."""
    new_ids: dict[int, str] = {}
    counts: dict[int, dict[str, int]] = {}
    added: dict[tuple[int, str], list[str]] = {}
    for sp in spooled:
        i = sp.index
        try:
            item = items[i] if i < len(items) else None
            m = _URL.match(urlsplit(str(item.get("url", ""))).path) if isinstance(item, dict) else None
            method = str(item.get("method", "")).upper() if m else ""
            if m is None or method not in ("POST", "PUT", "PATCH") or (method == "PATCH") != bool(m.group(2)):
                raise BadRequest("Files can be sent only with a record create, update or upsert.")
            coll = eng.registry.get(m.group(1))
            if coll is None:
                raise NotFound("Missing collection context.")
            body = item.get("body") or {}
            if not isinstance(body, dict):
                raise BadRequest("The batch request body must be an object.")
            message = "Failed to update record." if method == "PATCH" else "Failed to save record."
            field = check_upload(coll, sp.key, counts.setdefault(i, {}), base_req.is_superuser, message)
            record_id = m.group(2) or new_ids.get(i) or new_record_id(coll, body.get("id"))
            if not m.group(2) and record_id != body.get("id"):
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


async def _prehash(eng: Engine, item: Any) -> str | None:
    if not isinstance(item, dict) or not isinstance(item.get("body"), dict):
        return None
    m = _URL.match(urlsplit(str(item.get("url", ""))).path)
    coll = eng.registry.get(m.group(1)) if m else None
    return await prehash(coll, item["body"]) if coll is not None else None


async def _old_password(eng: Engine, item: Any) -> str | None:
    if not isinstance(item, dict) or not isinstance(item.get("body"), dict):
        return None
    m = _URL.match(urlsplit(str(item.get("url", ""))).path)
    coll = eng.registry.get(m.group(1)) if m else None
    record_id = (m.group(2) or item["body"].get("id")) if m else None
    if coll is None or not isinstance(record_id, str) or not record_id:
        return None
    return await check_old_password(eng.db, coll, record_id, item["body"])


async def _one(conn: Any, eng: Engine, base_req: Any, item: Any, hashed: str | None = None,
               old_hash: str | None = None, files: RecordFiles | None = None,
               new_id: str | None = None, after: list | None = None) -> dict[str, Any]:
    """One request of the batch inside its transaction (before-hooks included); ``after``
    collects ``(collection, action, request, record)`` for the after-success hooks."""
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
    hooks = eng.hooks
    rows: list | None = [] if after is not None else None
    if method == "DELETE" and record_id:
        check_scope(req, coll.name, "delete")
        await delete_record(conn, r, coll, record_id, files, hooks=hooks, deleted_out=rows)
        if rows:
            after.append((coll, "delete", req, api_record_from_values(coll, rows[0], conn.dialect)))  # type: ignore[union-attr]
        return {"status": 204, "body": None}
    action = "create"
    if method == "POST" and not record_id:
        check_scope(req, coll.name, "create")
        record_id = await create_record(conn, r, coll, body, hashed=hashed, files=files, record_id=new_id,
                                        hooks=hooks, row_out=rows)
    elif method == "PATCH" and record_id:
        check_scope(req, coll.name, "update")
        action = "update"
        await update_record(conn, r, coll, record_id, body, hashed=hashed, old_hash=old_hash, files=files,
                            hooks=hooks, row_out=rows)
    elif method == "PUT" and not record_id:
        rid = body.get("id")
        exists = isinstance(rid, str) and rid and await conn.fetchone(
            f'SELECT 1 FROM {q(coll.name)} WHERE "id" = ?', [rid]) is not None
        if exists:
            check_scope(req, coll.name, "update")
            action = "update"
            record_id = await update_record(conn, r, coll, rid, {k: v for k, v in body.items() if k != "id"},
                                            hashed=hashed, old_hash=old_hash, files=files, hooks=hooks,
                                            row_out=rows)
        else:
            check_scope(req, coll.name, "create")
            record_id = await create_record(conn, r, coll, body, hashed=hashed, files=files, record_id=new_id,
                                            hooks=hooks, row_out=rows)
    else:
        raise BadRequest(f"Unsupported batch action: {method} {parts.path}.")
    if rows:
        after.append((coll, action, req, api_record(coll, rows[0])))  # type: ignore[union-attr]
    rec = await fetch_one(r, coll, record_id, None)
    rec = (await r.finish(coll, [rec], query.get("expand", ""), query.get("fields", ""), done=True))[0] if rec else None
    return {"status": 200, "body": rec}


ROUTES = [batch]
