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
from litestar import Response, post, route
from litestar.enums import HttpMethod
from litestar.response import Stream

from baas.admin.file_access import StoredFile, find_file
from baas.api.deps import ApiRequest, HeaderView, engine, json_response, query_dict, request_info
from baas.auth.file_tokens import issue_file_token
from baas.errors import NotFound
from baas.files.sniff import base_type
from baas.files.storage import Blob, BlobNotFound

CACHE_CONTROL = "max-age=2592000, stale-while-revalidate=86400"
CSP = "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox"
INLINE_TYPES = frozenset(
    {
        "image/png",
        "image/jpg",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/x-icon",
        "image/bmp",
        "video/webm",
        "video/mp4",
        "video/3gpp",
        "video/quicktime",
        "video/x-ms-wmv",
        "audio/basic",
        "audio/aiff",
        "audio/mpeg",
        "audio/midi",
        "audio/mp3",
        "audio/wave",
        "audio/wav",
        "audio/x-wav",
        "audio/x-mpeg",
        "audio/x-m4a",
        "audio/aac",
        "application/pdf",
        "application/x-pdf",
    }
)
# Types given by the extension whatever the sniffer says (a browser needs them to load the file);
# still served as attachments with the sandboxing CSP, so an SVG or HTML file cannot run script.
EXT_TYPES = {".svg": "image/svg+xml", ".css": "text/css", ".js": "text/javascript", ".mjs": "text/javascript"}
_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")
_UNSATISFIABLE = "unsatisfiable"


@post("/api/files/token")
async def file_token(request: ApiRequest) -> Response[bytes]:
    """A short-lived token for protected files, for the authenticated record (or superuser)."""
    req = await request_info(request)
    return json_response({"token": await issue_file_token(engine(request), req.auth)})


@route("/api/files/{collection_name:str}/{record_id:str}/{filename:str}", http_method=[HttpMethod.GET, HttpMethod.HEAD])
async def file_download(request: ApiRequest, collection_name: str, record_id: str, filename: str) -> Response[Any]:
    query = query_dict(request)
    found = await find_file(
        engine(request),
        collection_name,
        record_id,
        filename,
        thumb=query.get("thumb", ""),
        token=query.get("token", ""),
        query=query,
        headers=HeaderView(request.headers),
    )
    return await _serve(request, found, _truthy(query.get("download", "")))


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "t", "true", "yes", "on")


async def _serve(request: ApiRequest, found: StoredFile, download: bool) -> Response[Any]:
    info, name = found.info, found.name
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
        return Response(
            content=b"", status_code=304, headers={k: headers[k] for k in ("ETag", "Last-Modified", "Cache-Control")}
        )
    status, offset, length = 200, 0, info.size
    wanted = _wanted_range(request, etag, info.modified, info.size)
    if wanted == _UNSATISFIABLE:
        return Response(
            content=b"", status_code=416, headers={"Content-Range": f"bytes */{info.size}", "Accept-Ranges": "bytes"}
        )
    if isinstance(wanted, tuple):
        status, (offset, length) = 206, wanted
        headers["Content-Range"] = f"bytes {offset}-{offset + length - 1}/{info.size}"
    headers["Content-Length"] = str(length)
    if request.method == HttpMethod.HEAD:
        return Response(content=b"", status_code=status, headers=headers, media_type=media_type)
    try:
        blob = await found.storage.open(found.key, offset, length)
    except BlobNotFound:
        raise NotFound() from None
    return Stream(stream_blob(blob), status_code=status, headers=headers, media_type=media_type)


async def stream_blob(blob: Blob) -> AsyncIterator[bytes]:
    """The blob's chunks for a streamed answer; the file or connection is released however it ends."""
    try:
        async for chunk in blob:
            yield chunk
    finally:
        with anyio.CancelScope(shield=True):  # release the file or connection even when cancelled
            await blob.aclose()


def _not_modified(request: ApiRequest, etag: str, modified: float) -> bool:
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


def _wanted_range(request: ApiRequest, etag: str, modified: float, size: int) -> tuple[int, int] | str | None:
    """(offset, length) of a satisfiable single byte range, "unsatisfiable", or None (whole file).

    Several ranges, a malformed header or a stale ``If-Range`` get the whole file (RFC 9110 allows
    ignoring Range); a range past the end gets 416."""
    header = request.headers.get("range")
    if not header or not header.strip().lower().startswith("bytes="):
        return None
    if_range = request.headers.get("if-range")
    if if_range and if_range.strip() != etag and if_range.strip() != email.utils.formatdate(modified, usegmt=True):
        return None
    specs = header.strip()[6:].split(",")
    if len(specs) != 1:
        return None
    m = _RANGE.match(specs[0])
    if m is None or (not m.group(1) and not m.group(2)):
        return None
    if not m.group(1):  # suffix: the last N bytes
        n = int(m.group(2))
        if n == 0 or size == 0:
            return _UNSATISFIABLE
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
