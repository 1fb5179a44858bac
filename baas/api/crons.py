"""``/api/crons``: the scheduled jobs, as PocketBase's crons API (superusers only).

``GET /api/crons`` lists ``{id, expression}`` (plus baas's ``timezone``, ``target``, ``nextRun``
and ``lastRun``); ``POST /api/crons/{id}`` runs a job now in the background (204);
``GET /api/crons/{id}/runs`` pages through its run history (a baas addition)."""

from __future__ import annotations

from litestar import Request, get, post

from baas.api.deps import engine, request_info, require_superuser, to_json
from baas.errors import BadRequest, NotFound
from baas.ids import format_dt
from baas.jobs import store

JSON = "application/json"


async def _superuser(request: Request) -> None:
    require_superuser(await request_info(request))


@get("/api/crons", media_type=JSON)
async def crons_list(request: Request) -> bytes:
    await _superuser(request)
    sched = engine(request).jobs
    last = await store.last_runs(engine(request).db)
    now = store.now()
    out = []
    for name in sorted(sched.jobs):
        job = sched.jobs[name]
        nxt = sched.next_fire(name, now) if job.enabled else None
        out.append({"id": name, "expression": job.schedule, "timezone": job.timezone, "target": job.target,
                    "nextRun": format_dt(nxt) if nxt else "", "lastRun": last.get(name)})
    return to_json(out)


@post("/api/crons/{job_id:str}", status_code=204)
async def crons_run(request: Request, job_id: str) -> None:
    await _superuser(request)
    sched = engine(request).jobs
    if job_id not in sched.jobs:
        raise NotFound("Missing or invalid cron job")
    await sched.run_now(job_id)


@get("/api/crons/{job_id:str}/runs", media_type=JSON)
async def crons_runs(request: Request, job_id: str) -> bytes:
    await _superuser(request)
    eng = engine(request)
    if job_id not in eng.jobs.jobs:
        raise NotFound("Missing or invalid cron job")
    try:
        page = max(1, int(request.query_params.get("page", "1")))
        per_page = min(500, max(1, int(request.query_params.get("perPage", "30"))))
    except ValueError:
        raise BadRequest("Invalid page or perPage value: must be an integer.") from None
    items = await store.history(eng.db, job_id, per_page, (page - 1) * per_page)
    return to_json({"page": page, "perPage": per_page, "items": items})


ROUTES = [crons_list, crons_run, crons_runs]
