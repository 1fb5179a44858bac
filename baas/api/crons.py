"""``/api/crons``: the scheduled jobs, as PocketBase's crons API (superusers only).

``GET /api/crons`` lists ``{id, expression}`` (plus baas's ``timezone``, ``target``, ``nextRun``
and ``lastRun``); ``POST /api/crons/{id}`` runs a job now in the background (204);
``GET /api/crons/{id}/runs`` pages through its run history (a baas addition). The service is
`baas.admin.crons`."""

from __future__ import annotations

from litestar import get, post

from baas.admin import crons
from baas.api.deps import ApiRequest, superuser_engine, to_json
from baas.errors import BadRequest

JSON = "application/json"


@get("/api/crons", media_type=JSON)
async def crons_list(request: ApiRequest) -> bytes:
    return to_json(await crons.overview(await superuser_engine(request)))


@post("/api/crons/{job_id:str}", status_code=204)
async def crons_run(request: ApiRequest, job_id: str) -> None:
    await crons.run_now(await superuser_engine(request), job_id)


@get("/api/crons/{job_id:str}/runs", media_type=JSON)
async def crons_runs(request: ApiRequest, job_id: str) -> bytes:
    eng = await superuser_engine(request)
    crons.require_job(eng, job_id)  # a missing job answers 404 before a bad page does
    try:
        page = max(1, int(request.query_params.get("page", "1")))
        per_page = min(500, max(1, int(request.query_params.get("perPage", "30"))))
    except ValueError:
        raise BadRequest("Invalid page or perPage value: must be an integer.") from None
    return to_json({"page": page, "perPage": per_page, "items": await crons.runs(eng, job_id, page, per_page)})


ROUTES = [crons_list, crons_run, crons_runs]
