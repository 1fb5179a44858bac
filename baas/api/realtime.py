"""``GET /api/realtime`` (the SSE stream) and ``POST /api/realtime`` (set subscriptions), as
PocketBase 0.23+ serves them, on plain ASGI ahead of Litestar (``baas.api.fast.Gateway``).

Why plain ASGI: an SSE connection is one long response written in pieces, and a subscriber
count in the thousands means every layer per message counts; the handler writes straight to
the server's ``send``, whose waiting when a peer stops reading is the back-pressure signal
(`baas.realtime.client`).

Wire format (PocketBase's): the stream opens with ``PB_CONNECT`` whose ``id:`` (the SDK's
``lastEventId``) and data carry the client id; every message repeats the client id as ``id:``
and names the subscription topic as ``event:``::

    id:Oa3…40 chars
    event:PB_CONNECT
    data:{"clientId":"Oa3…"}

    id:Oa3…
    event:posts/*
    data:{"record":{…},"action":"create"}
"""

from __future__ import annotations

import asyncio
import logging

from baas.api.asgi import CORS, Call, Disconnected, Header, Receive, Scope, Send, has_origin, send_error, send_response
from baas.api.deps import auth_record, bearer_token, read_body
from baas.auth import apikeys, tokens
from baas.core import Engine
from baas.errors import ApiError, Forbidden, NotFound
from baas.realtime import AuthState, Client
from baas.realtime.broker import CLIENT_ID_LEN, fingerprint
from baas.realtime.topics import parse_form

log = logging.getLogger("baas.realtime")
PATH = "/api/realtime"

_SSE_HEADERS: list[Header] = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),
]


class _MethodNotAllowed(ApiError):
    status = 405
    default_message = "Method not allowed."


async def handle(eng: Engine, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one request to ``/api/realtime``."""
    method = scope["method"]
    if method == "GET":
        await _stream(eng, scope, receive, send)
    elif method == "POST":
        await _subscribe(eng, scope, receive, send)
    elif method == "OPTIONS":
        await _preflight(scope, send)
    else:
        await send_error(send, scope, _MethodNotAllowed())


async def _preflight(scope: Scope, send: Send) -> None:
    asked = next((v for k, v in scope["headers"] if k == b"access-control-request-headers"), b"*")
    headers = [
        *CORS,
        (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
        (b"access-control-allow-headers", asked),
        (b"access-control-max-age", b"600"),
    ]
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


RECONNECT_HINT = b"retry:500\n\n"  # SSE: reconnect after 500 ms


# -- the stream -----------------------------------------------------------------------------------
async def _stream(eng: Engine, scope: Scope, receive: Receive, send: Send) -> None:
    broker = eng.realtime
    client = broker.connect()
    headers = [*_SSE_HEADERS, *CORS] if has_origin(scope) else _SSE_HEADERS
    watcher = asyncio.ensure_future(_watch(receive, client))
    me = asyncio.current_task()
    try:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        cid = client.id.encode()
        first = b"id:" + cid + b'\nevent:PB_CONNECT\ndata:{"clientId":"' + cid + b'"}\n\n'
        await send({"type": "http.response.body", "body": first, "more_body": True})
        while True:
            chunk = await client.next_chunk()
            if chunk is None:
                break
            # A client closed (dropped for falling behind, server shutdown) while this send waits
            # on its socket: close() cancels the wait (see Client.on_drop).
            client.on_drop = me
            try:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            finally:
                client.on_drop = None
    except asyncio.CancelledError:
        if not client.interrupted or me is None:
            raise
        me.uncancel()
    except Exception as exc:  # the peer went away mid-write (the server's error type varies)
        log.debug("realtime: client %s write failed: %r", client.id[:12], exc)
    finally:
        watcher.cancel()
        reason = client.reason or "gone"
        broker.disconnect(client)
        log.debug("realtime: client %s closed (%s)", client.id[:12], reason)
    if client.interrupted:
        return  # the peer is not reading: nothing more to write; the server closes the connection
    # The server is stopping (a restart, a deploy): ask the client back soon, to whichever node
    # answers then; an EventSource would otherwise wait its own default (~3 s) before retrying.
    last = RECONNECT_HINT if reason == "shutdown" else b""
    try:
        await asyncio.wait_for(send({"type": "http.response.body", "body": last, "more_body": False}), 1.0)
    except Exception:
        pass


async def _watch(receive: Receive, client: Client) -> None:
    """End the client when its peer disconnects (the request has no body to wait for)."""
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                client.close("gone")
                return
    except asyncio.CancelledError:
        raise
    except Exception:
        client.close("gone")


# -- subscriptions ----------------------------------------------------------------------------------
async def _subscribe(eng: Engine, scope: Scope, receive: Receive, send: Send) -> None:
    broker = eng.realtime
    call = Call(scope, receive, eng.settings.max_body_size)
    try:
        body = await read_body(call)
        client_id, topics = parse_form(body)
        auth = await resolve_auth(eng, bearer_token(call))
        if client_id in broker.clients:
            status = await broker.subscribe(client_id, auth, topics)
        elif len(client_id) == CLIENT_ID_LEN and not client_id.startswith(broker.instance):
            status = await broker.mailbox.ask(
                client_id, "subscribe", {"subscriptions": topics, "auth": auth.to_json() if auth else None}
            )
        else:
            status = 404
        if status == 404:
            raise NotFound("Missing or invalid client id.")
        if status == 403:
            raise Forbidden("The current and the previous request authorization don't match.")
    except ApiError as exc:
        await send_error(send, scope, exc)
        return
    except Disconnected:
        return
    await send_response(send, 204, cors=has_origin(scope))


async def resolve_auth(eng: Engine, token: str) -> AuthState | None:
    """The auth a subscription request carries: a valid JWT's record, an API key (401 when
    malformed, revoked or expired, as everywhere), or None (a guest; an invalid JWT counts as
    none, as in PocketBase)."""
    if not token:
        return None
    if apikeys.is_key(token):
        record = await apikeys.authenticate(eng, token)
        return AuthState(record, apikeys.hash_key(token), 0.0, api_key=True)
    found = await auth_record(eng, token)
    if found is None:
        return None
    _, record, raw = found
    claims = tokens.peek(token) or {}
    exp = claims.get("exp")
    return AuthState(
        {k: v for k, v in record.items() if k != "password"},
        fingerprint(raw.get("tokenKey") or ""),
        float(exp) if isinstance(exp, (int, float)) else 0.0,
    )
