"""``/api/jobs``: create, change and delete scheduled jobs over the API (superusers only;
docs/jobs.md). PocketBase has no such API: its ``/api/crons`` (list, run now) stays as it is
(baas/api/crons.py) and lists these jobs too. The service is `baas.jobs.manage`."""

from __future__ import annotations

from litestar import delete, get, patch, post

from baas.api.deps import ApiRequest, read_body, superuser_engine, to_json
from baas.jobs import manage

JSON = "application/json"


@get("/api/jobs", media_type=JSON)
async def jobs_list(request: ApiRequest) -> bytes:
    items = await manage.all_jobs(await superuser_engine(request))
    return to_json({"page": 1, "perPage": len(items), "totalItems": len(items), "items": items})


@post("/api/jobs", media_type=JSON, status_code=200)
async def jobs_create(request: ApiRequest) -> bytes:
    eng = await superuser_engine(request)
    return to_json(await manage.create(eng, await read_body(request)))


@get("/api/jobs/{name:str}", media_type=JSON)
async def jobs_view(request: ApiRequest, name: str) -> bytes:
    return to_json(await manage.get(await superuser_engine(request), name))


@patch("/api/jobs/{name:str}", media_type=JSON)
async def jobs_update(request: ApiRequest, name: str) -> bytes:
    eng = await superuser_engine(request)
    return to_json(await manage.update(eng, name, await read_body(request)))


@delete("/api/jobs/{name:str}", status_code=204)
async def jobs_delete(request: ApiRequest, name: str) -> None:
    await manage.delete(await superuser_engine(request), name)


ROUTES = [jobs_list, jobs_create, jobs_view, jobs_update, jobs_delete]
