"""The outermost ASGI layer: each answered HTTP request is counted for ``/metrics``
(baas/metrics.py) and handed to the request log (baas/logs) — method, route template, status and
time, taken once the answer has been sent. Both only append to in-memory batches here."""

from __future__ import annotations

import time

from baas.api.asgi import Message, Receive, Scope, Send
from baas.api.ratelimit import RateLimitMiddleware
from baas.core import Engine
from baas.logs import AUTH_KEY, ERROR_KEY, URL_KEY

UNMATCHED = "<unmatched>"  # the route of a request no route took (404s, 429s): bounded label values
STREAM = "/api/realtime"
CONSOLE = "/_/"  # the console's static files: not API requests, left out of the request log


class ObserveMiddleware:
    """Metrics use the route template (never the raw path, whose ids would make a label value per
    record); the log keeps the path and query (secrets masked). Attributes it lacks are the
    wrapped app's."""

    def __init__(self, app: RateLimitMiddleware, engine: Engine) -> None:
        self.app = app
        self.engine = engine
        self.metrics = engine.metrics
        self.log = engine.request_log

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
            seconds = time.perf_counter() - start
            method = scope["method"]
            route = scope.get("path_template") or UNMATCHED
            self.metrics.observe(method, route, status, None if route == STREAM and method == "GET" else seconds)
            path = scope["path"]
            if not path.startswith(CONSOLE):
                url = scope.get(URL_KEY)  # a handler's redacted URL
                self.log.add(
                    method,
                    url or path,
                    b"" if url else scope.get("query_string", b""),
                    scope["headers"],
                    scope.get("client"),
                    status,
                    seconds,
                    scope.get(AUTH_KEY),
                    scope.get(ERROR_KEY),
                )
