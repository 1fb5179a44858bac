"""``GET /metrics`` and the middleware that counts every answered request (baas/metrics.py,
docs/metrics.md)."""

from __future__ import annotations

import hmac
import os
import time

from litestar import Response, get

from baas.api.asgi import Message, Receive, Scope, Send
from baas.api.deps import ApiRequest, bearer_token, engine, request_info
from baas.api.ratelimit import RateLimitMiddleware
from baas.core import Engine
from baas.errors import Forbidden, Unauthorized

TOKEN_ENV = "BAAS_METRICS_TOKEN"  # a scraper's bearer token; without it only superusers may scrape
UNMATCHED = "<unmatched>"  # the route of a request no route took (404s, 429s): bounded label values
STREAM = "/api/realtime"


class MetricsMiddleware:
    """Outermost ASGI layer: each HTTP request's method, route template (never the raw path, whose
    ids would make a label value per record), status and time, recorded once it is answered.
    Attributes it lacks are the wrapped app's."""

    def __init__(self, app: RateLimitMiddleware, engine: Engine) -> None:
        self.app = app
        self.engine = engine
        self.metrics = engine.metrics

    def __getattr__(self, name: str) -> object:
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # an app that raised before answering

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        start = time.perf_counter()
        try:
            await self.app(scope, receive, sent)
        finally:
            route = scope.get("path_template") or UNMATCHED
            timed = None if route == STREAM and scope["method"] == "GET" else time.perf_counter() - start
            self.metrics.observe(scope["method"], route, status, timed)


@get("/metrics", media_type="text/plain; version=0.0.4; charset=utf-8")
async def metrics_view(request: ApiRequest) -> Response[bytes]:
    """Prometheus text format: with ``BAAS_METRICS_TOKEN`` set, ``Authorization: Bearer <it>``
    (what a scrape config sends); a superuser's token works either way."""
    expected = os.environ.get(TOKEN_ENV, "")
    given = bearer_token(request)
    if not (expected and given and hmac.compare_digest(given.encode(), expected.encode())):
        req = await request_info(request)
        if not req.auth:
            raise Unauthorized("The request requires a superuser's token or the metrics token.")
        if not req.is_superuser:
            raise Forbidden("Only superusers can perform this action.")
    body = engine(request).metrics.exposition()
    return Response(content=body, media_type="text/plain; version=0.0.4; charset=utf-8")


ROUTES = [metrics_view]
