"""``create_app(settings)``: the one place that wires the engine into a Litestar app."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Litestar, Request, Response
from litestar.config.cors import CORSConfig
from litestar.exceptions import HTTPException

from baas.api import console
from baas.api.deps import error_response, json_response, note_error
from baas.api.fast import Gateway
from baas.api.observe import ObserveMiddleware
from baas.api.plugin_routes import RequestHelpers
from baas.api.ratelimit import RateLimitMiddleware
from baas.api.routes import ROUTES
from baas.core import Engine
from baas.errors import ApiError
from baas.settings import Settings

log = logging.getLogger("baas")

_MESSAGES = {
    404: "The requested resource wasn't found.",
    405: "Method not allowed.",
    413: "Request entity too large.",
}


def _api_error(request: Request[Any, Any, Any], exc: ApiError) -> Response[Any]:
    note_error(request.scope, exc.message)
    return error_response(exc)


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    message = _MESSAGES.get(status) or (exc.detail if status < 500 else "Something went wrong.")
    note_error(request.scope, message)
    return json_response({"status": status, "message": message, "data": {}}, status)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    note_error(request.scope, f"unhandled {type(exc).__name__}")  # its text may hold data: the server log has it
    return json_response(
        {"status": 500, "message": "Something went wrong while processing your request.", "data": {}}, 500
    )


# Litestar apps by route set and body limit. Building one costs ~0.1 s (Litestar parses every
# handler's signature), and it holds no engine (each request's scope names one; the Gateway runs
# the engine's ASGI lifespan), so engines of one process with the same routes share it: the CLI
# and tests build many engines, a server one.
_APPS: dict[tuple[tuple[int, ...], int], tuple[list[Any], Litestar]] = {}
_APPS_KEPT = 8


def _litestar(route_handlers: list[Any], max_body_size: int) -> Litestar:
    key = (tuple(id(h) for h in route_handlers), max_body_size)
    hit = _APPS.get(key)  # the entry holds the handlers, so their ids stay theirs while cached
    if hit is not None:
        return hit[1]
    app = Litestar(
        route_handlers=route_handlers,
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _unexpected},
        cors_config=CORSConfig(allow_origins=["*"], allow_methods=["*"], allow_headers=["*"]),
        request_max_body_size=max_body_size,
        debug=False,
        openapi_config=None,
    )
    if len(_APPS) >= _APPS_KEPT:
        del _APPS[next(iter(_APPS))]  # the oldest
    _APPS[key] = (route_handlers, app)
    return app


def create_app(settings: Settings, engine: Engine | None = None) -> ObserveMiddleware:
    """The ASGI app serving the PocketBase-compatible API for ``settings``: the rate limiter, then
    the fast path for record routes (baas/api/fast.py), then Litestar for everything else."""
    eng = engine or Engine(settings)
    eng.jobs.attach()  # the scheduler ticks while the server runs (baas/jobs)
    eng.webhooks.attach()  # webhooks are dispatched and sent while the server runs (baas/webhooks)
    eng.push.attach()  # push deliveries are sent while the server runs (baas/push)
    plugins = eng.load_plugins()  # they bind their hooks on the engine and bring routes (baas/plugins.py)
    plugins.serve(RequestHelpers())  # their routes' request helpers (app.request_info …) use this layer
    routes = [*ROUTES, *console.ROUTES, *plugins.routes]  # /_/: static files, not API
    app = _litestar(routes, settings.max_body_size)
    # Outermost the metrics and request log (they count 429s too), then the limiter (it limits the
    # fast path too).
    return ObserveMiddleware(RateLimitMiddleware(Gateway(app, eng), eng), eng)
