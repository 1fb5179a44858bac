"""``POST /api/functions/{name}``: call a function of the project's ``functions/`` package
(docs/functions.md). JSON object in, the function's JSON answer out."""

from __future__ import annotations

from litestar import get, post

from baas.api.deps import ApiRequest, engine, read_body, request_info, require_superuser, to_json
from baas.errors import ApiError, NotFound

JSON = "application/json"


class NotJSON(ApiError):
    status = 500
    default_message = "The function's answer could not be encoded as JSON."


@post("/api/functions/{name:str}", media_type=JSON, status_code=200)
async def functions_call(request: ApiRequest, name: str) -> bytes:
    """Rule check, concurrency cap, timeout and error mapping all happen in `Functions.call`."""
    eng = engine(request)
    if eng.functions.get(name) is None:  # before reading a body nobody will use
        raise NotFound("The requested function wasn't found.")
    body = await read_body(request)
    req = await request_info(request, body)
    result = await eng.functions.call(name, req, body)
    try:
        return to_json(result)
    except (TypeError, ValueError, OverflowError):
        raise NotJSON() from None


@get("/api/functions", media_type=JSON)
async def functions_list(request: ApiRequest) -> bytes:
    """The declared functions (superusers only): name, rule, timeout, concurrency cap."""
    eng = engine(request)
    require_superuser(await request_info(request))
    specs = [f for f in map(eng.functions.get, eng.functions.names()) if f is not None]
    return to_json(
        [
            {
                "name": f.name,
                "rule": f.rule,
                "timeout": f.timeout,
                "maxConcurrency": f.max_concurrency,
                "description": f.description,
            }
            for f in specs
        ]
    )


ROUTES = [functions_call, functions_list]
