"""``/api/files``: serving record files (with thumbnails, ranges, caching) and file tokens.

    GET  /api/files/{collectionIdOrName}/{recordId}/{filename}[?thumb=100x100][&download=1][&token=…]
    POST /api/files/token      -> {"token": "<short-lived JWT for protected files>"}

As in PocketBase: the record must exist and hold the file name in one of its file fields; files
of non-protected fields are public; a protected field's file needs a file token (``?token=``)
whose record passes the collection's view rule, and anything refused answers 404, never telling
whether the file exists. Responses stream from storage and carry PocketBase's headers (inline for
images, video, audio and PDF, attachment otherwise; a sandboxing Content-Security-Policy), plus an
ETag; Range and conditional requests are answered as HTTP says.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import AsyncIterator
from typing import Any

import anyio
from litestar import Request, Response, post, route
from litestar.enums import HttpMethod
from litestar.response import Stream

from baas import files
from baas.api.deps import HeaderView, engine, json_response, query_dict, request_info
from baas.auth import tokens
from baas.core import Engine
from baas.errors import ApiError, NotFound, Unauthorized
from baas.files import thumbs
from baas.files.names import is_stored_name
from baas.files.sniff import base_type
from baas.files.storage import Blob, BlobInfo, BlobNotFound, InvalidKey, file_key, thumb_key
from baas.records.query import Reader, fetch_one, load_row
from baas.records.serialize import raw_record, row_to_record, select_list
from baas.rules.context import RequestInfo
from baas.schema.model import Collection

DEFAULT_FILE_TOKEN_DURATION = 180  # PocketBase's default ``fileToken.duration`` (seconds)
CACHE_CONTROL = "max-age=2592000, stale-while-revalidate=86400"
CSP = "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox"
INLINE_TYPES = frozenset({
    "image/png", "image/jpg", "image/jpeg", "image/gif", "image/webp", "image/x-icon", "image/bmp",
    "video/webm", "video/mp4", "video/3gpp", "video/quicktime", "video/x-ms-wmv",
    "audio/basic", "audio/aiff", "audio/mpeg", "audio/midi", "audio/mp3", "audio/wave", "audio/wav", "audio/x-wav",
    "audio/x-mpeg", "audio/x-m4a", "audio/aac", "application/pdf", "application/x-pdf"})
# Types given by the extension whatever the sniffer says (a browser needs them to load the file);
# still served as attachments with the sandboxing CSP, so an SVG or HTML file cannot run script.
EXT_TYPES = {".svg": "image/svg+xml", ".css": "text/css", ".js": "text/javascript", ".mjs": "text/javascript"}
_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


@post("/api/files/token")
async def file_token(request: Request) -> Response:
    """A short-lived token for protected files, for the authenticated record (or superuser)."""
    req = await request_info(request)
    if not req.auth:
        raise Unauthorized("The request requires valid record authorization token.")
    eng = engine(request)
    coll = eng.registry.get(req.auth.get("collectionId", ""))
    row = await load_row(eng.db, coll, req.auth["id"]) if coll is not None else None
    if coll is None or row is None:
        raise Unauthorized("The request requires valid record authorization token.")
    raw = raw_record(coll, select_list(coll)[1], row)
    duration = int(coll.fileToken.get("duration") or DEFAULT_FILE_TOKEN_DURATION)
    token = tokens.issue(eng.secret, {"id": req.auth["id"]}, coll.id, raw.get("tokenKey", ""), duration,
                         kind="file", refreshable=False)
    return json_response({"token": token})


async def file_token_record(eng: Engine, token: str) -> dict[str, Any] | None:
    """The auth record (as the API shows it) of a valid, unexpired file token; else None."""
    claims = tokens.peek(token.strip()) if token else None
    if claims is None or claims.get("type") != "file":
        return None
    coll = eng.registry.get(claims["collectionId"])
    if coll is None or coll.type != "auth" or coll.id != claims["collectionId"]:
        return None
    row = await load_row(eng.db, coll, claims["id"])
    if row is None:
        return None
    fields = select_list(coll)[1]
    if tokens.verify(token.strip(), eng.secret, raw_record(coll, fields, row).get("tokenKey", ""), kind="file") is None:
        return None
    return row_to_record(coll, fields, row, None)


@route("/api/files/{collection_name:str}/{record_id:str}/{filename:str}", http_method=[HttpMethod.GET, HttpMethod.HEAD])
async def file_download(request: Request, collection_name: str, record_id: str, filename: str) -> Response:
    eng = engine(request)
    coll = eng.registry.get(collection_name)
    if coll is None or coll.type == "view" or not record_id or not is_stored_name(filename):
        raise NotFound()
    row = await load_row(eng.db, coll, record_id)
    if row is None:
        raise NotFound()
    field = _field_holding(coll, row, filename)
    if field is None:
        raise NotFound()
    query = query_dict(request)
    if field.protected and not await _may_view(request, eng, coll, record_id, query.get("token", "")):
        raise NotFound()

    storage = await eng.files.storage()
    try:
        key = file_key(coll.id, record_id, filename)
        info = await storage.stat(key)
    except (BlobNotFound, InvalidKey):
        raise NotFound() from None
    served_name = filename
    spec = thumbs.allowed_spec(query.get("thumb", ""), field.thumbs) if query.get("thumb") else None
    if spec is not None and thumbs.is_thumbable(info.content_type):
        tkey = thumb_key(coll.id, record_id, filename, str(spec))
        if await eng.files.thumbnailer.ensure(storage, key, tkey, spec):
            try:
                info = await storage.stat(tkey)
                key, served_name = tkey, f"{spec}_{filename}"
            except BlobNotFound:  # removed in between (record deleted): serve the original
                pass
    return await _serve(request, storage, key, info, served_name, _truthy(query.get("download", "")))


def _field_holding(coll: Collection, row: tuple, filename: str) -> Any:
    """The file field whose stored value holds ``filename`` (PocketBase's FindFileFieldByFile)."""
    for f, raw in zip(select_list(coll)[1], row):
        if f.type != "file":
            continue
        value = f.from_db(raw)
        if filename == value or (isinstance(value, list) and filename in value):
            return f
    return None


async def _may_view(request: Request, eng: Engine, coll: Collection, record_id: str, token: str) -> bool:
    """Whether the file token's record (or a guest, without one) passes the view rule."""
    auth = await file_token_record(eng, token)
    if auth is not None:
        auth = {k: v for k, v in auth.items() if k != "password"}
    req = RequestInfo(auth=auth, query=query_dict(request), headers=HeaderView(request.headers), method="GET",
                      context="protectedFile")
    if coll.viewRule is None and not req.is_superuser:
        return False
    try:
        return await fetch_one(Reader(eng.db, eng.registry, req), coll, record_id, coll.viewRule) is not None
    except ApiError:  # a rule that cannot apply to this requester: no access
        return False


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "t", "true", "yes", "on")


async def _serve(request: Request, storage: files.Storage, key: str, info: BlobInfo, name: str,
                 download: bool) -> Response:
    ctype = info.content_type or "application/octet-stream"
    inline = not download and base_type(ctype) in INLINE_TYPES
    ext = ("." + name.rsplit(".", 1)[1].lower()) if "." in name else ""
    etag = f'"{info.etag}"'
    last_modified = email.utils.formatdate(info.modified, usegmt=True)
    headers = {
        "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{name}"',
        "Content-Security-Policy": CSP,
        "Cache-Control": CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Last-Modified": last_modified,
    }
    media_type = EXT_TYPES.get(ext, ctype)
    # Given as a header, exactly as stored (as PocketBase serves it), so Litestar, which appends
    # "; charset=utf-8" to any text/* media type, adds nothing: "text/plain; charset=utf-8" was
    # sent with the charset twice and a sniffed "text/plain; charset=utf-16le" with two charsets.
    headers["Content-Type"] = media_type
    if _not_modified(request, etag, info.modified):
        return Response(content=b"", status_code=304, headers={k: headers[k] for k in
                                                               ("ETag", "Last-Modified", "Cache-Control")})
    status, offset, length = 200, 0, info.size
    wanted = _wanted_range(request, etag, info)
    if wanted == "unsatisfiable":
        return Response(content=b"", status_code=416, headers={"Content-Range": f"bytes */{info.size}",
                                                               "Accept-Ranges": "bytes"})
    if wanted is not None:
        status, (offset, length) = 206, wanted
        headers["Content-Range"] = f"bytes {offset}-{offset + length - 1}/{info.size}"
    headers["Content-Length"] = str(length)
    if request.method == HttpMethod.HEAD:
        return Response(content=b"", status_code=status, headers=headers, media_type=media_type)
    try:
        blob = await storage.open(key, offset, length)
    except BlobNotFound:
        raise NotFound() from None
    return Stream(_stream(blob), status_code=status, headers=headers, media_type=media_type)


async def _stream(blob: Blob) -> AsyncIterator[bytes]:
    try:
        async for chunk in blob:
            yield chunk
    finally:
        with anyio.CancelScope(shield=True):  # release the file or connection even when cancelled
            await blob.aclose()


def _not_modified(request: Request, etag: str, modified: float) -> bool:
    inm = request.headers.get("if-none-match")
    if inm is not None:
        tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
        return "*" in tags or etag in tags
    ims = request.headers.get("if-modified-since")
    if ims:
        try:
            since = email.utils.parsedate_to_datetime(ims).timestamp()
        except (TypeError, ValueError):
            return False
        return int(modified) <= since
    return False


def _wanted_range(request: Request, etag: str, info: BlobInfo) -> tuple[int, int] | str | None:
    """(offset, length) of a satisfiable single byte range, "unsatisfiable", or None (whole file).

    Several ranges, a malformed header or a stale ``If-Range`` get the whole file (RFC 9110 allows
    ignoring Range); a range past the end gets 416."""
    header = request.headers.get("range")
    if not header or not header.strip().lower().startswith("bytes="):
        return None
    if_range = request.headers.get("if-range")
    if if_range and if_range.strip() != etag and if_range.strip() != email.utils.formatdate(info.modified, usegmt=True):
        return None
    specs = header.strip()[6:].split(",")
    if len(specs) != 1:
        return None
    m = _RANGE.match(specs[0])
    if m is None or (not m.group(1) and not m.group(2)):
        return None
    size = info.size
    if not m.group(1):  # suffix: the last N bytes
        n = int(m.group(2))
        if n == 0 or size == 0:
            return "unsatisfiable"
        n = min(n, size)
        return size - n, n
    start = int(m.group(1))
    end = int(m.group(2)) if m.group(2) else size - 1
    if m.group(2) and end < start:  # malformed: ignored
        return None
    if start >= size:
        return "unsatisfiable"
    end = min(end, size - 1)
    return start, end - start + 1


ROUTES = [file_token, file_download]
