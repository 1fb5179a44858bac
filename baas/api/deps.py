"""Per-request plumbing: the engine, the requester (from the auth token), bodies and queries."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response

from baas.auth import tokens
from baas.core import Engine
from baas.errors import ApiError, BadRequest, Forbidden, NotFound, TooLarge, Unauthorized
from baas.records.query import Reader, load_row
from baas.records.serialize import raw_record, row_to_record, select_list
from baas.rules.context import RequestInfo
from baas.schema.model import Collection

_encoder = msgspec.json.Encoder()


def engine(request: Request) -> Engine:
    # A plain attribute: ``app.state`` lookups cost a few percent of a whole request.
    return request.app.baas_engine  # type: ignore[attr-defined]


class HeaderView(dict):
    """``@request.headers.x_name`` reads the ``x-name`` header, looked up only when a rule asks."""

    def __init__(self, headers: Any) -> None:
        super().__init__()
        self._headers = headers

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.replace("_", "-") in self._headers

    def __getitem__(self, key: str) -> Any:
        return self._headers[key.replace("_", "-")]


def json_response(data: Any, status: int = 200) -> Response:
    return Response(content=_encoder.encode(data), status_code=status, media_type="application/json")


def error_response(exc: ApiError) -> Response:
    return json_response(exc.as_dict(), exc.status)


def query_dict(request: Request) -> dict[str, str]:
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
        return None
    row = await load_row(eng.db, coll, claims["id"])
    if row is None:
        return None
    fields = select_list(coll)[1]
    raw = raw_record(coll, fields, row)
    if tokens.verify(token, eng.secret, raw.get("tokenKey", "")) is None:
        return None
    return coll, row_to_record(coll, fields, row, None), raw


def bearer_token(request: Request) -> str:
    """The auth token of a request: PocketBase's SDK sends it bare, others as ``Bearer …``."""
    header = request.headers.get("authorization", "")
    return (header[7:] if header[:7].lower() == "bearer " else header).strip()


async def request_info(request: Request, body: dict[str, Any] | None = None) -> RequestInfo:
    """``@request.*`` for rules: the authenticated record (or guest), body, query, headers."""
    eng = engine(request)
    token = bearer_token(request)
    auth = None
    if token:
        found = await auth_record(eng, token)
        if found is not None:
            auth = {k: v for k, v in found[1].items() if k != "password"}
    return RequestInfo(auth=auth, body=body or {}, query=query_dict(request), headers=HeaderView(request.headers),
                       method=request.method.upper())


async def read_body(request: Request) -> dict[str, Any]:
    """A JSON or multipart/urlencoded body as a dict (``@jsonPayload`` merged, as PocketBase's SDK sends)."""
    ctype = request.headers.get("content-type", "").lower()
    length = request.headers.get("content-length")
    limit = engine(request).settings.max_body_size
    if length and length.isdigit() and int(length) > limit:
        raise TooLarge(f"Request body too large (limit {limit} bytes).")
    if ctype.startswith("multipart/form-data") or ctype.startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        data: dict[str, Any] = {}
        for key, value in form.multi_items():
            if key == "@jsonPayload":
                try:
                    payload = msgspec.json.decode(value if isinstance(value, (bytes, str)) else b"")
                except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, ValueError):
                    raise BadRequest("Invalid @jsonPayload: malformed JSON.") from None
                if isinstance(payload, dict):
                    data.update(payload)
                continue
            if hasattr(value, "filename"):
                # Uploads come with the file storage work; refusing beats silently dropping a file.
                raise BadRequest("Failed to read the request body: file uploads are not supported yet.",
                                 {key: {"code": "validation_file_upload_unsupported",
                                        "message": "File uploads are not supported yet."}})
            if key in data:
                prev = data[key]
                data[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
            else:
                data[key] = value
        return data
    raw = await request.body()
    if len(raw) > limit:
        raise TooLarge(f"Request body too large (limit {limit} bytes).")
    if not raw.strip():
        return {}
    try:
        data = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise BadRequest(f"Failed to read the request body: malformed JSON ({type(exc).__name__}).") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    return data


def reader(request: Request, req: RequestInfo) -> Reader:
    eng = engine(request)
    return Reader(eng.db, eng.registry, req)


def require_superuser(req: RequestInfo) -> None:
    if not req.auth:
        raise Unauthorized("The request requires valid superuser authorization token.")
    if not req.is_superuser:
        raise Forbidden("The authorized record is not allowed to perform this action.")
