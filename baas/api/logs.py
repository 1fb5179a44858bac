"""``/api/logs``: the request log for superusers, as PocketBase's logs API (and its SDKs'
``pb.logs``): a filtered, sorted page, one entry, hourly counts; and the
console dashboard's figures (``/api/logs/summary``). The work is `baas.logs`'."""

from __future__ import annotations

import time

from litestar import get

from baas.api.deps import ApiRequest, query_dict, superuser_engine, to_json
from baas.errors import NotFound
from baas.logs import store, summary
from baas.records.query import ListParams

JSON = "application/json"


@get("/api/logs", media_type=JSON)
async def logs_list(request: ApiRequest) -> bytes:
    """?page, perPage, sort, filter (over id, created, level, message and data.*), skipTotal."""
    eng = await superuser_engine(request)
    params = ListParams.from_query(query_dict(request))
    await eng.request_log.settle()  # this process's latest requests are in the answer
    return to_json(await eng.request_log.read(lambda db: store.page(db, params)))


@get("/api/logs/stats", media_type=JSON)
async def logs_stats(request: ApiRequest) -> bytes:
    """Entries per hour, ?filter as the list's."""
    eng = await superuser_engine(request)
    await eng.request_log.settle()
    expr = str(request.query_params.get("filter", ""))
    return to_json(await eng.request_log.read(lambda db: store.stats(db, expr)))


@get("/api/logs/summary", media_type=JSON)
async def logs_summary(request: ApiRequest) -> bytes:
    """The dashboard's figures: ?from, to (default the last hour), step (seconds)."""
    eng = await superuser_engine(request)
    window = summary.Window.from_query(query_dict(request), int(time.time() * 1000))
    log = eng.request_log
    await log.settle()
    out = await log.read(lambda db: summary.summary(db, window))
    # What the log keeps, for the figures' reading: a sampled or error-only log counts fewer requests.
    return to_json(
        {**out, "enabled": log.enabled, "sampling": log.sampling, "minLevel": log.min_level, "dropped": log.dropped}
    )


@get("/api/logs/{log_id:str}", media_type=JSON)
async def logs_view(request: ApiRequest, log_id: str) -> bytes:
    eng = await superuser_engine(request)
    await eng.request_log.settle()
    item = await eng.request_log.read(lambda db: store.one(db, log_id))
    if item is None:
        raise NotFound("The requested resource wasn't found.")
    return to_json(item)


ROUTES = [logs_list, logs_stats, logs_summary, logs_view]
