"""MIME types sniffed from a file's first bytes, never taken from the client.

Binary formats come from the ``filetype`` package (pure Python, no libmagic, magic-number
signatures of ~80 formats: images, audio, video, archives, documents, fonts). We chose it over
``puremagic`` because its matchers are exact, ordered checks of the signature bytes rather than a
scored match over a large, looser database, which is what a security check wants. Text formats,
which have no magic numbers, follow WHATWG's sniffing rules as Go's ``http.DetectContentType``
and PocketBase's detector do: HTML, SVG, XML, JSON, then UTF-8/UTF-16 text versus
``application/octet-stream``. Names are PocketBase's (``gabriel-vasile/mimetype``) where they
differ, so a field's ``mimeTypes`` list written for PocketBase matches the same files here.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator

import filetype

SNIFF_BYTES = 8192  # enough for every filetype matcher (it reads at most 8 KiB) and the text rules

# filetype's names -> PocketBase's (mimetype's) canonical names.
_CANONICAL = {
    "image/apng": "image/vnd.mozilla.apng",
    "audio/x-wav": "audio/wav",
    "audio/x-flac": "audio/flac",
    "audio/x-aiff": "audio/aiff",
    "application/font-woff": "font/woff",
    "application/font-sfnt": "font/ttf",
    "application/x-sqlite3": "application/vnd.sqlite3",
    "application/x-rar-compressed": "application/x-rar-compressed",
    "application/x-msdownload": "application/vnd.microsoft.portable-executable",
    "image/vnd.ms-photo": "image/jxr",
}

# Names that mean the same type, both ways (a field listing either accepts the file).
_ALIASES = [
    {"image/jpeg", "image/jpg", "image/pjpeg"},
    {"application/pdf", "application/x-pdf"},
    {"audio/wav", "audio/x-wav", "audio/vnd.wave", "audio/wave"},
    {"audio/flac", "audio/x-flac"},
    {"audio/aiff", "audio/x-aiff"},
    {"audio/mpeg", "audio/mp3", "audio/x-mpeg", "audio/x-mp3", "audio/mpeg3"},
    {"application/gzip", "application/x-gzip", "application/gzip-compressed"},
    {"application/zip", "application/x-zip", "application/x-zip-compressed"},
    {"text/xml", "application/xml"},
    {"application/json", "text/json"},
    {"image/x-icon", "image/vnd.microsoft.icon"},
    {"image/bmp", "image/x-bmp", "image/x-ms-bmp"},
    {"font/woff", "application/font-woff", "application/x-font-woff"},
    {"font/ttf", "application/font-sfnt", "application/x-font-ttf", "font/sfnt"},
    {"application/vnd.sqlite3", "application/x-sqlite3"},
    {"application/x-rar-compressed", "application/x-rar", "application/vnd.rar"},
    {"video/quicktime", "video/x-quicktime"},
    {"image/tiff", "image/x-tiff"},
]
_ALIAS_OF = {name: group for group in _ALIASES for name in group}

_HTML_TAGS = (
    b"<!doctype html",
    b"<html",
    b"<head",
    b"<script",
    b"<iframe",
    b"<h1",
    b"<div",
    b"<font",
    b"<table",
    b"<a",
    b"<style",
    b"<title",
    b"<b",
    b"<body",
    b"<br",
    b"<p",
    b"<!--",
)
_WS = b"\t\n\x0c\r "
# Bytes that never occur in text (WHATWG "binary data byte").
_BINARY = set(range(0x00, 0x09)) | {0x0B} | set(range(0x0E, 0x1B)) | set(range(0x1C, 0x20))


def sniff(head: bytes, *, complete: bool = False) -> str:
    """The MIME type of a file whose first bytes are ``head``: at least `SNIFF_BYTES` of them, or
    the whole file (anything shorter is taken as the whole file, so small JSON documents are
    recognised; ``complete=True`` says so for longer ones)."""
    complete = complete or len(head) < SNIFF_BYTES
    if not head:
        return "text/plain; charset=utf-8"
    kind = filetype.guess(head[:SNIFF_BYTES])
    mime: str = kind.mime if kind is not None else ""  # filetype is untyped: its results are Any
    if mime and mime != "application/octet-stream":
        return _CANONICAL.get(mime, mime)
    return _sniff_text(head, complete)


def _sniff_text(head: bytes, complete: bool) -> str:
    if head.startswith((b"\xfe\xff", b"\xff\xfe")):
        return "text/plain; charset=utf-16" + ("be" if head[0] == 0xFE else "le")
    body = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    stripped = body.lstrip(_WS)
    lower = stripped[:512].lower()
    for tag in _HTML_TAGS:
        if lower.startswith(tag) and len(lower) > len(tag) and lower[len(tag)] in b" >":
            return "text/html; charset=utf-8"
    if lower.startswith(b"<svg") or (lower.startswith(b"<?xml") and b"<svg" in stripped[:SNIFF_BYTES].lower()):
        return "image/svg+xml"
    if lower.startswith(b"<?xml"):
        return "text/xml; charset=utf-8"
    if any(b in _BINARY for b in body[:SNIFF_BYTES]):
        return "application/octet-stream"
    try:
        text = body.decode("utf-8") if complete else body[:SNIFF_BYTES].decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the window is still text.
        if complete or exc.start < len(body[:SNIFF_BYTES]) - 4:
            return "application/octet-stream"
        text = ""
    if complete and text.lstrip()[:1] in ("{", "["):
        try:
            json.loads(text)
            return "application/json"
        except ValueError:
            pass
    return "text/plain; charset=utf-8"


def base_type(mime: str) -> str:
    """``text/plain; charset=utf-8`` -> ``text/plain``."""
    return mime.split(";", 1)[0].strip().lower()


def extension_for(mime: str) -> str:
    """A file extension (with the dot) for a sniffed type, or ``""``: for uploads without one."""
    base = base_type(mime)
    for t in filetype.types:
        if _CANONICAL.get(t.mime, t.mime) == base:
            extension: str = t.extension  # filetype is untyped: its results are Any
            return "." + extension
    return {
        "text/plain": ".txt",
        "text/html": ".html",
        "image/svg+xml": ".svg",
        "text/xml": ".xml",
        "application/json": ".json",
    }.get(base, "")


def mime_allowed(detected: str, allowed: list[str] | None) -> bool:
    """True when a field's ``mimeTypes`` list (empty: anything) accepts the sniffed type.

    Matches the base type, case-insensitively, or one of its aliases (``image/jpg`` for
    ``image/jpeg``); parameters such as ``charset`` are ignored."""
    if not allowed:
        return True
    got = base_type(detected)
    names = _ALIAS_OF.get(got, {got})
    return any(base_type(a) in names for a in allowed if isinstance(a, str))


async def read_ahead(chunks: AsyncIterable[bytes]) -> tuple[bytes, bool, AsyncIterator[bytes]]:
    """The first `SNIFF_BYTES` (or all) bytes, whether that was everything, and the whole stream."""
    it = chunks.__aiter__()
    head: list[bytes] = []
    size = 0
    done = False
    while size < SNIFF_BYTES:
        try:
            chunk = await it.__anext__()
        except StopAsyncIteration:
            done = True
            break
        head.append(chunk)
        size += len(chunk)

    async def replay() -> AsyncIterator[bytes]:
        for chunk in head:
            yield chunk
        if not done:
            async for chunk in it:
                yield chunk

    return b"".join(head), done, replay()
