"""``/api/crons``: the scheduled jobs, as PocketBase's crons API (superusers only).

``GET /api/crons`` lists ``{id, expression}`` (plus baas's ``timezone``, ``target``, ``nextRun``
and ``lastRun``); ``POST /api/crons/{id}`` runs a job now in the background (204);
``GET /api/crons/{id}/runs`` pages through its run history (a baas addition). The service is
`baas.admin.crons`. Jobs made over ``/api/jobs`` (baas/api/jobs.py) are listed and run here too,
each with its ``source`` (yaml or api); every handler first reloads them, so a job made through
another worker or node is known at once."""

from __future__ import annotations

from litestar import get, post

from baas.admin import crons
from baas.api.deps import ApiRequest, superuser_engine, to_json
from baas.errors import BadRequest

JSON = "application/json"


@get("/api/crons", media_type=JSON)
async def crons_list(request: ApiRequest) -> bytes:
    eng = await superuser_engine(request)
    await eng.jobs.refresh()
    items = await crons.overview(eng)
    for item in items:
        item["source"] = eng.jobs.sources.get(item["id"], "yaml")
    return to_json(items)


@post("/api/crons/{job_id:str}", status_code=204)
async def crons_run(request: ApiRequest, job_id: str) -> None:
    eng = await superuser_engine(request)
    await eng.jobs.refresh()
    await crons.run_now(eng, job_id)


@get("/api/crons/{job_id:str}/runs", media_type=JSON)
async def crons_runs(request: ApiRequest, job_id: str) -> bytes:
    eng = await superuser_engine(request)
    await eng.jobs.refresh()
    crons.require_job(eng, job_id)  # a missing job answers 404 before a bad page does
    try:
        page = max(1, int(request.query_params.get("page", "1")))
        per_page = min(500, max(1, int(request.query_params.get("perPage", "30"))))
    except ValueError:
        raise BadRequest("Invalid page or perPage value: must be an integer.") from None
    return to_json({"page": page, "perPage": per_page, "items": await crons.runs(eng, job_id, page, per_page)})


ROUTES = [crons_list, crons_run, crons_runs]
