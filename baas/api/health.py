"""``GET /api/health`` as PocketBase answers it: 200 while the process serves (a liveness check for
load balancers and Docker's HEALTHCHECK, with no database work). A superuser's request also gets a
readiness view: ``canBackup``, ``realIP`` (as PocketBase), and ``checks``, each ``ok`` or what
failed: the database answers a read, its writer commits a transaction, the file storage answers;
503 when one fails."""

from __future__ import annotations

import asyncio

from litestar import Response, get

from baas.api.deps import ApiRequest, engine, json_response, request_info
from baas.backups import BUSY
from baas.clientip import client_ip
from baas.core import Engine
from baas.errors import ApiError

CHECK_SECONDS = 5.0  # each check's limit: a database that hangs is not ready


@get("/api/health")
async def health(request: ApiRequest) -> Response[bytes]:
    if "authorization" in request.headers:  # guests (load balancers, probes) never pay for the checks
        try:
            req = await request_info(request)
        except ApiError:  # a stale token: still alive, and nothing more to show
            req = None
        if req is not None and req.is_superuser:
            eng = engine(request)
            checks = await readiness(eng)
            data = {
                "canBackup": not BUSY.locked(),
                "realIP": client_ip(request, eng.settings_store.cached),
                "checks": checks,
            }
            if all(v == "ok" for v in checks.values()):
                return json_response({"code": 200, "message": "API is healthy.", "data": data})
            return json_response({"code": 503, "message": "API is not ready.", "data": data}, 503)
    return json_response({"code": 200, "message": "API is healthy.", "data": {}})


async def readiness(eng: Engine) -> dict[str, str]:
    """Each check: ``ok``, or the error's type and message."""

    async def noop(conn: object) -> None:
        return None

    async def storage() -> None:
        await (await eng.files.storage()).exists("baas-health-probe")

    probes = {
        "database": lambda: eng.db.fetchval("SELECT 1"),
        "writer": lambda: eng.db.write(noop),
        "storage": storage,
    }
    out: dict[str, str] = {}
    for name, probe in probes.items():
        try:
            await asyncio.wait_for(probe(), CHECK_SECONDS)
            out[name] = "ok"
        except TimeoutError:
            out[name] = f"no answer within {CHECK_SECONDS:g} s"
        except Exception as exc:  # reported, not raised: the answer says what is down
            out[name] = f"{type(exc).__name__}: {exc}"[:300]
    return out


ROUTES = [health]
