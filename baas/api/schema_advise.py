"""``GET /api/schema/advise``: the indexes that would serve the slow record lists of the request
log, as ``baas schema advise`` prints them (docs/indexes.md). Superusers only; the work is
`baas.admin.advice`'s."""

from __future__ import annotations

from litestar import get

from baas.admin import advice
from baas.api.deps import ApiRequest, superuser_engine, to_json

PATH = "/api/schema/advise"


@get(PATH, media_type="application/json")
async def schema_advise(request: ApiRequest) -> bytes:
    """?since (a duration: 30m, 24h, 7d; default 24h), minMs (default 100)."""
    eng = await superuser_engine(request)
    since = advice.parse_since(str(request.query_params.get("since", "")))
    min_ms = advice.parse_min_ms(str(request.query_params.get("minMs", "")))
    await eng.refresh_schema()  # the indexes another node applied since this one loaded the schema
    log = eng.request_log
    await log.settle()  # this process's latest requests are in the answer
    return to_json(await log.read(lambda db: advice.advise(db, eng.registry.get, since, min_ms)))


ROUTES = [schema_advise]
