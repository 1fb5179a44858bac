"""The record routes on a thin ASGI path in front of Litestar.

Why: profiling ``GET …/records/{id}`` showed Litestar's request and response layers taking about
70 % of the Python time of a request, our handler the rest. Record CRUD is the hot path of every
app, so its five routes are matched here first and call the very same handler functions
(``baas.api.records``) with a small request object that offers the part of Litestar's
``Request`` those handlers read. Everything else — other routes, CORS preflights, multipart
record writes — goes on to Litestar unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from baas.api import realtime, records
from baas.api.deps import error_response, json_response
from baas.errors import ApiError, BadRequest, TooLarge

log = logging.getLogger("baas")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_JSON = (b"content-type", b"application/json")
_CORS = (b"access-control-allow-origin", b"*")
_VARY = (b"vary", b"Origin")

# (method, path has a record id) -> the handler function behind the Litestar route
_ROUTES = {
    ("GET", False): records.records_list.fn,
    ("POST", False): records.records_create.fn,
    ("GET", True): records.records_view.fn,
    ("PATCH", True): records.records_update.fn,
    ("DELETE", True): records.records_delete.fn,
}


class Disconnected(Exception):
    """The client went away before its body arrived."""


class Call:
    """One request on the fast path, shaped like the part of ``litestar.Request`` that
    ``baas.api.deps`` and the record handlers use (``app``, ``method``, ``headers``,
    ``query_params``, ``body()``)."""

    __slots__ = ("app", "method", "headers", "query_params", "_receive", "_body", "_limit")

    def __init__(self, app: Any, scope: Scope, receive: Receive) -> None:
        self.app = app
        self.method: str = scope["method"]
        # ASGI header names are lower-case bytes; latin-1 round-trips any byte.
        self.headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        raw_qs: bytes = scope.get("query_string", b"")
        self.query_params = dict(parse_qsl(raw_qs.decode("latin-1"), keep_blank_values=True)) if raw_qs else {}
        self._receive = receive
        self._body: bytes | None = None
        self._limit: int = app.baas_engine.settings.max_body_size

    async def body(self) -> bytes:
        if self._body is None:
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await self._receive()
                if message["type"] == "http.disconnect":
                    raise Disconnected()
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self._limit:
                    raise TooLarge(f"Request body too large (limit {self._limit} bytes).")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            self._body = b"".join(chunks)
        return self._body

    async def form(self) -> Any:  # never reached: multipart bodies are left to Litestar
        raise BadRequest("Unsupported body.")


def _route(scope: Scope) -> tuple[Callable[..., Awaitable[Any]], dict[str, str]] | None:
    """The record handler and path parameters for ``scope``, or None to let Litestar answer."""
    path: str = scope["path"]
    if not path.startswith("/api/collections/"):
        return None
    parts = path.split("/")  # '', 'api', 'collections', name, 'records'[, id]
    n = len(parts)
    if n not in (5, 6) or parts[4] != "records" or not parts[3] or (n == 6 and not parts[5]):
        return None
    method: str = scope["method"]
    handler = _ROUTES.get((method, n == 6))
    if handler is None:
        return None
    if method in ("POST", "PATCH"):
        for name, value in scope["headers"]:
            if name == b"content-type":
                if not value.lower().startswith(b"application/json"):
                    return None  # multipart / urlencoded (file uploads): Litestar parses those
                break
    params = {"collection_name": parts[3]}
    if n == 6:
        params["record_id"] = parts[5]
    return handler, params


class Gateway:
    """ASGI app: record routes here, everything else to the wrapped Litestar app."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:  # ``gateway.state``, ``gateway.baas_engine`` … reach the app
        return getattr(self.app, name)

    async def _know_collection(self, path: str) -> None:
        """A collection this process has not heard of may have just been created through another
        worker or node: look at the schema history before any handler answers 404. Costs one
        dictionary lookup for known names; schema changes still reach idle processes in ~1 s."""
        name = path.split("/", 4)[3]
        eng = self.app.baas_engine
        if name and eng.registry.get(name) is None:
            await eng.refresh_schema()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/collections/"):
            await self._know_collection(scope["path"])
        if scope["type"] == "http" and scope["path"] == realtime.PATH:  # SSE + subscriptions
            await realtime.handle(self.app, scope, receive, send)
            return
        if scope["type"] != "http" or (found := _route(scope)) is None:
            await self.app(scope, receive, send)
            return
        handler, params = found
        call = Call(self.app, scope, receive)
        try:
            result = await handler(call, **params)
        except ApiError as exc:
            result = error_response(exc)
        except Disconnected:
            return
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            result = json_response({"status": 500, "message": "Something went wrong while processing your request.",
                                    "data": {}}, 500)
        if result is None:  # DELETE: 204, no body
            status, body = 204, b""
        elif isinstance(result, bytes):  # the handlers' JSON
            status, body = 200, result
        else:  # an error response
            status, body = result.status_code, result.content
        headers = [_JSON, (b"content-length", str(len(body)).encode())] if body else []
        if "origin" in call.headers:
            headers += [_CORS, _VARY]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
