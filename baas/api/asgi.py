"""Plain ASGI for the parts of the API that answer ahead of Litestar: the record fast path
(`baas.api.fast`), the rate limiter (`baas.api.ratelimit`) and realtime (`baas.api.realtime`).

One way to answer there, as the Litestar app would: a JSON body in the API's error shape
(``{"status", "message", "data"}``) and, for a cross-origin request, the CORS headers the app's
CORS config (any origin) adds::

    await send_error(send, scope, NotFound("Missing collection context."))
    await send_error(send, scope, TooManyRequests(), headers=[(b"retry-after", b"3")])
    await send_response(send, 200, body, cors=has_origin(scope))   # a JSON body, or b"" for none

and `Call`, the request object the fast path hands to handlers written for Litestar's
``Request`` (both satisfy `baas.api.deps.ApiRequest`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from baas.errors import ApiError, TooLarge
from baas.logs import ERROR_KEY

# ASGI as servers speak it: plain dicts (Litestar's TypedDicts describe the same objects).
Scope = MutableMapping[str, Any]
# Where a request's scope carries the engine serving it (set by `baas.api.fast.Gateway`): the
# Litestar app is shared by every engine of a process (`baas.app`), so it cannot hold one.
ENGINE_KEY = "baas.engine"
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Header = tuple[bytes, bytes]

JSON_TYPE: Header = (b"content-type", b"application/json")
# What the app's CORSConfig(allow_origins=["*"]) sends on a simple cross-origin request.
CORS: tuple[Header, ...] = ((b"access-control-allow-origin", b"*"), (b"vary", b"Origin"))
INTERNAL_ERROR = msgspec.json.encode(
    {"status": 500, "message": "Something went wrong while processing your request.", "data": {}}
)

_encode = msgspec.json.Encoder().encode


def has_origin(scope: Scope) -> bool:
    """Whether the request is cross-origin (has an ``Origin`` header): it gets the CORS headers."""
    return any(name == b"origin" for name, _ in scope["headers"])


def error_body(error: ApiError) -> bytes:
    """``error`` as the API's JSON error body."""
    return _encode(error.as_dict())


async def send_response(
    send: Send, status: int, body: bytes = b"", *, cors: bool, headers: Iterable[Header] = ()
) -> None:
    """A whole response: ``body`` is JSON (``b""``: no body and no content headers), ``cors``
    adds the CORS headers, ``headers`` any others."""
    out = [JSON_TYPE, (b"content-length", str(len(body)).encode())] if body else []
    if cors:
        out += CORS
    out += headers
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, scope: Scope, error: ApiError, *, headers: Iterable[Header] = ()) -> None:
    """``error`` in the API's error shape, with its status, CORS headers as the app would send."""
    scope[ERROR_KEY] = error.message  # for the request log
    await send_response(send, error.status, error_body(error), cors=has_origin(scope), headers=headers)


class Disconnected(Exception):
    """The client went away before its body arrived: there is no one to answer."""


class Call:
    """One request on the fast path, shaped like the part of ``litestar.Request`` that
    ``baas.api.deps`` and the record handlers read (``scope``, ``method``, ``headers``,
    ``query_params``, ``body()``; see `baas.api.deps.ApiRequest`). Its body is read within
    ``limit`` bytes (413 past it)."""

    __slots__ = ("scope", "method", "headers", "query_params", "_receive", "_body", "_limit")

    def __init__(self, scope: Scope, receive: Receive, limit: int) -> None:
        self.scope = scope
        self.method: str = scope["method"]
        # ASGI header names are lower-case bytes; latin-1 round-trips any byte.
        self.headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        raw_qs: bytes = scope.get("query_string", b"")
        self.query_params = dict(parse_qsl(raw_qs.decode("latin-1"), keep_blank_values=True)) if raw_qs else {}
        self._receive = receive
        self._body: bytes | None = None
        self._limit = limit

    async def body(self) -> bytes:
        """The whole body; `Disconnected` if the client leaves first, `TooLarge` past the limit."""
        if self._body is None:
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await self._receive()
                if message["type"] == "http.disconnect":
                    raise Disconnected()
                chunk: bytes = message.get("body", b"")
                size += len(chunk)
                if size > self._limit:
                    raise TooLarge(f"Request body too large (limit {self._limit} bytes).")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            self._body = b"".join(chunks)
        return self._body
