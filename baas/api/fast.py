"""The record routes on a thin ASGI path in front of Litestar.

Why: profiling ``GET …/records/{id}`` showed Litestar's request and response layers taking about
70 % of the Python time of a request, our handler the rest. Record CRUD is the hot path of every
app, so its five routes are matched here first and call the very same handler functions
(``baas.api.records``) with a small request object that offers the part of Litestar's
``Request`` those handlers read. Everything else — other routes, CORS preflights, multipart
record writes — goes on to Litestar unchanged.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Awaitable, Callable
from traceback import format_exc
from typing import cast

from litestar import Litestar

from baas.api import realtime, records
from baas.api.asgi import (
    ENGINE_KEY,
    INTERNAL_ERROR,
    ASGIApp,
    Call,
    Disconnected,
    Receive,
    Scope,
    Send,
    send_error,
    send_response,
)
from baas.api.deps import ApiRequest
from baas.api.paths import parse_collection_path
from baas.core import Engine
from baas.errors import ApiError
from baas.logs import ERROR_KEY

log = logging.getLogger("baas")

# The handler functions behind the Litestar routes, by method: on ``…/records`` and on ``…/records/{id}``.
_ON_RECORDS: dict[str, Callable[[ApiRequest, str], Awaitable[bytes]]] = {
    "GET": records.records_list.fn,
    "POST": records.records_create.fn,
}
_ON_RECORD: dict[str, Callable[[ApiRequest, str, str], Awaitable[bytes | None]]] = {
    "GET": records.records_view.fn,
    "PATCH": records.records_update.fn,
    "DELETE": records.records_delete.fn,
}


def _json_body(scope: Scope) -> bool:
    """Whether a write's body is JSON (the fast path's); multipart and urlencoded bodies (file
    uploads) are Litestar's to parse."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bool(value.lower().startswith(b"application/json"))
    return True


async def _lifespan_step(phase: str, work: Awaitable[None], send: Send) -> None:
    """Run ``work``; if it fails, tell the server (``lifespan.<phase>.failed``) and re-raise."""
    try:
        await work
    except BaseException:
        await send({"type": f"lifespan.{phase}.failed", "message": format_exc()})
        raise


# The route templates of the fast path's requests (the metrics' labels), as Litestar names its own.
RECORDS_ROUTE = "/api/collections/{collection_name}/records"
RECORD_ROUTE = RECORDS_ROUTE + "/{record_id}"


class Gateway:
    """ASGI app for one engine: record routes and realtime here, everything else to the Litestar
    app, which may serve other engines of the process too (each request's scope names its own)."""

    def __init__(self, app: Litestar, engine: Engine) -> None:
        self.app = app
        self.engine = engine
        # Litestar types ASGI scopes and messages as TypedDicts; servers pass plain dicts, the same objects.
        self._litestar = cast(ASGIApp, app)

    def __getattr__(self, name: str) -> object:  # ``gateway.state`` … reach the app
        return getattr(self.app, name)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """ASGI lifespan: start the engine, then stop it. Here, not in the Litestar app, which may
        serve other engines of the process and runs one lifespan at a time; it needs none itself
        (no listeners, stores or startup hooks)."""
        await receive()  # lifespan.startup
        await _lifespan_step("startup", self.engine.start(), send)
        # What startup built (modules, the app, the schema) lives as long as the process: keep it
        # out of every later full collection, which otherwise scans it all — measured ~100 ms
        # pauses of a worker holding 1,000 realtime streams (bench realtime p99).
        gc.collect()
        gc.freeze()
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        await _lifespan_step("shutdown", self.engine.stop(), send)
        await send({"type": "lifespan.shutdown.complete"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        scope[ENGINE_KEY] = self.engine
        if scope["type"] != "http":
            await self._litestar(scope, receive, send)
            return
        path: str = scope["path"]
        if path == realtime.PATH:  # SSE + subscriptions
            scope["path_template"] = realtime.PATH  # for the metrics, as Litestar names its routes
            await realtime.handle(self.engine, scope, receive, send)
            return
        target = parse_collection_path(path)
        if target is None:
            await self._litestar(scope, receive, send)
            return
        eng = self.engine
        if eng.registry.get(target.collection) is None:
            # A collection this process has not heard of may have just been created through another
            # worker or node: look at the schema history before any handler answers 404. Costs one
            # dictionary lookup for known names; schema changes still reach idle processes in ~1 s.
            await eng.refresh_schema()
        method: str = scope["method"]
        rid = target.record_id
        if (
            not (target.canonical and target.is_records)
            or method not in (_ON_RECORDS if rid is None else _ON_RECORD)
            or (method in ("POST", "PATCH") and not _json_body(scope))
        ):
            await self._litestar(scope, receive, send)
            return
        scope["path_template"] = RECORDS_ROUTE if rid is None else RECORD_ROUTE
        call = Call(scope, receive, eng.settings.max_body_size)
        try:
            if rid is None:
                body: bytes | None = await _ON_RECORDS[method](call, target.collection)
            else:
                body = await _ON_RECORD[method](call, target.collection, rid)
        except ApiError as exc:
            await send_error(send, scope, exc)
            return
        except Disconnected:
            return
        except Exception as exc:
            log.exception("unhandled error on %s %s", method, path)
            scope[ERROR_KEY] = f"unhandled {type(exc).__name__}"  # its text may hold data: the server log has it
            await send_response(send, 500, INTERNAL_ERROR, cors="origin" in call.headers)
            return
        if body is None:  # DELETE: 204, no body
            await send_response(send, 204, cors="origin" in call.headers)
        else:
            await send_response(send, 200, body, cors="origin" in call.headers)
