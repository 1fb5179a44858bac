"""Per-request plumbing: the engine, the requester (from the auth token), bodies and queries.

Everything here takes an `ApiRequest`: Litestar's ``Request`` or the record fast path's
`baas.api.asgi.Call`, which run the same handlers.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol
from urllib.parse import parse_qsl

import msgspec
from litestar import Request, Response

from baas.api.asgi import ENGINE_KEY
from baas.auth import apikeys, tokens
from baas.core import Engine
from baas.errors import ApiError, BadRequest, Forbidden, NotFound, Unauthorized
from baas.files.headers import parse_header
from baas.files.multipart import OnFile, boundary_of, merge_json_payload, read_form, receive_chunks, too_large
from baas.logs import AUTH_KEY, ERROR_KEY
from baas.records.query import Reader, load_row
from baas.records.serialize import raw_record, row_to_record, select_list
from baas.rules.context import RequestInfo
from baas.schema.model import Collection

_encoder = msgspec.json.Encoder()
security = logging.getLogger("baas.security")  # refused tokens and privileges; never a secret


class ApiRequest(Protocol):
    """What handlers and these helpers read of a request. Litestar's ``Request`` has it, and so
    has the fast path's `baas.api.asgi.Call`: a handler the fast path also serves takes this
    type, not ``Request``."""

    @property
    def scope(self) -> Any: ...  # the ASGI scope (Litestar types it as TypedDicts; a dict here)

    @property
    def method(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...  # lower-case names

    @property
    def query_params(self) -> Mapping[str, Any]: ...  # str values; Litestar's MultiDict says Any

    async def body(self) -> bytes: ...


def engine(request: ApiRequest) -> Engine:
    """The engine serving this request (put on the scope by `baas.api.fast.Gateway`)."""
    eng: Engine = request.scope[ENGINE_KEY]
    return eng


class HeaderView(dict[str, Any]):
    """``@request.headers.x_name`` reads the ``x-name`` header, looked up only when a rule asks."""

    def __init__(self, headers: Any) -> None:
        super().__init__()
        self._headers = headers

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.replace("_", "-") in self._headers

    def __getitem__(self, key: str) -> Any:
        return self._headers[key.replace("_", "-")]


def to_json(data: Any) -> bytes:
    return _encoder.encode(data)


def json_response(data: Any, status: int = 200) -> Response[bytes]:
    return Response(content=_encoder.encode(data), status_code=status, media_type="application/json")


def error_response(exc: ApiError) -> Response[bytes]:
    return json_response(exc.as_dict(), exc.status)


def note_error(scope: Any, message: object) -> None:
    """Keep the message of the error a request is answered with, for the request log."""
    scope[ERROR_KEY] = message


def query_dict(request: ApiRequest) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items()}


def collection(eng: Engine, name: str) -> Collection:
    coll = eng.registry.get(name)
    if coll is None:
        raise NotFound("Missing collection context.")
    return coll


async def auth_record(eng: Engine, token: str) -> tuple[Collection, dict[str, Any], dict[str, Any]] | None:
    """(collection, API record, stored values) of a valid auth token, else None."""
    claims = tokens.peek(token)
    if claims is None:
        return None
    coll = eng.registry.get(claims["collectionId"])
    if coll is None or coll.type != "auth" or coll.id != claims["collectionId"]:
        security.warning("refused token: %r is not an auth collection id", claims["collectionId"][:40])
        return None
    row = await load_row(eng.db, coll, claims["id"])
    if row is None:
        security.warning("refused token: no record %r in %s", claims["id"][:40], coll.name)
        return None
    fields = select_list(coll)[1]
    raw = raw_record(coll, fields, row)
    if tokens.verify(token, eng.secret, raw.get("tokenKey", "")) is None:
        return None
    return coll, row_to_record(coll, fields, row, None), raw


def bearer_token(request: ApiRequest) -> str:
    """The auth token of a request: PocketBase's SDK sends it bare, others as ``Bearer …``."""
    return token_of(request.headers.get("authorization", ""))


def token_of(authorization: str) -> str:
    """The token in an ``Authorization`` header value (bare or ``Bearer …``)."""
    return (authorization[7:] if authorization[:7].lower() == "bearer " else authorization).strip()


async def request_info(request: ApiRequest, body: dict[str, Any] | None = None) -> RequestInfo:
    """``@request.*`` for rules: the authenticated record (or guest), body, query, headers."""
    eng = engine(request)
    token = bearer_token(request)
    auth = None
    if token:
        if apikeys.is_key(token):  # by prefix alone, so the JWT path pays nothing for API keys
            auth = await apikeys.authenticate(eng, token)  # 401 when malformed, revoked or expired
        else:
            found = await auth_record(eng, token)
            if found is not None:
                auth = {k: v for k, v in found[1].items() if k != "password"}
        if auth is not None:  # for the request log
            request.scope[AUTH_KEY] = (auth.get("collectionName", ""), auth.get("id", ""))
    return RequestInfo(
        auth=auth,
        body=body or {},
        query=query_dict(request),
        headers=HeaderView(request.headers),
        method=request.method.upper(),
    )


async def read_body(request: ApiRequest, *, limit: int | None = None, on_file: OnFile | None = None) -> dict[str, Any]:
    """A JSON, urlencoded or multipart body as a dict (``@jsonPayload`` merged, as PocketBase's SDK sends).

    Read within ``limit`` bytes (default: the global ``max_body_size``) and refused with 413 past
    it. Whatever ``limit`` says, what is held in memory (JSON, form values) stays within the global
    limit: only multipart file parts may make a body bigger, and they are streamed to ``on_file``
    (see `baas.files.multipart.read_form`) — without one, a file part is refused with 400."""
    # Only the media type is case-insensitive: the parameters (a browser's mixed-case multipart
    # boundary) are passed on exactly as sent.
    content_type = request.headers.get("content-type", "")
    ctype = parse_header(content_type)[0]
    length = request.headers.get("content-length")
    max_values = engine(request).settings.max_body_size
    own_limit = limit is not None  # the route lifted Litestar's limit: this function enforces it
    limit = limit or max_values
    if length and length.isdigit() and int(length) > limit:
        raise too_large(limit)
    if ctype == "multipart/form-data":
        return await read_form(_body_chunks(request, limit), boundary_of(content_type), max_values, on_file)
    raw = await _read_all(request, max_values, own_limit)
    if ctype == "application/x-www-form-urlencoded":
        data: dict[str, Any] = {}
        try:
            pairs = parse_qsl(raw.decode(), keep_blank_values=True)
        except UnicodeDecodeError:
            raise BadRequest("Failed to read the request body: the form is not valid UTF-8.") from None
        for key, value in pairs:
            if key == "@jsonPayload":
                merge_json_payload(data, value)
            elif key in data:
                prev = data[key]
                data[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
            else:
                data[key] = value
        return data
    if not raw.strip():
        return {}
    try:
        data = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise BadRequest(f"Failed to read the request body: malformed JSON ({type(exc).__name__}).") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    return data


def _body_chunks(request: ApiRequest, limit: int) -> AsyncIterator[bytes]:
    if isinstance(request, Request):
        # Straight from ASGI ``receive``, never buffered: Litestar's ``stream()`` would apply the
        # app-wide limit, which record writes lift (theirs grows with the collection's file fields).
        return receive_chunks(request.receive, limit)  # type: ignore[arg-type]  # Litestar types ASGI messages as TypedDicts
    return _whole_body(request)  # the fast path's request reads its (small) body within its own limit


async def _whole_body(request: ApiRequest) -> AsyncIterator[bytes]:
    yield await request.body()


async def _read_all(request: ApiRequest, limit: int, own_limit: bool) -> bytes:
    """The whole (small) body, refused with 413 past ``limit`` before it is all held."""
    if own_limit and isinstance(request, Request):
        return b"".join([chunk async for chunk in _body_chunks(request, limit)])
    raw = await request.body()  # Litestar's limit (or the fast path's) applies while reading
    if len(raw) > limit:
        raise too_large(limit)
    return raw


def reader(request: ApiRequest, req: RequestInfo) -> Reader:
    eng = engine(request)
    return Reader(eng.cache.reads(), eng.registry, req, eng.secret)


def require_superuser(req: RequestInfo) -> None:
    if not req.auth:
        raise Unauthorized("The request requires valid superuser authorization token.")
    if not req.is_superuser:
        security.warning("superuser action refused to %s record %r", req.auth.get("collectionName"), req.auth.get("id"))
        raise Forbidden("The authorized record is not allowed to perform this action.")


async def superuser_engine(request: ApiRequest) -> Engine:
    """The engine, once the request is known to come from a superuser (else 401 or 403): the gate
    of the console and superuser routes (collections, rules, crons, installer, settings …)."""
    require_superuser(await request_info(request))
    return engine(request)
