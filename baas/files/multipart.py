"""Streaming ``multipart/form-data``: one part at a time, a file part's body as an async chunk iterator.

    data = await read_form(receive_chunks(request.receive, limit), boundary, max_values, on_file)

reads a whole form as PocketBase's API does (``@jsonPayload`` parts merged, repeated keys as
lists) and hands each file part to ``on_file`` while it streams; underneath,

    async for part in FormReader(receive_chunks(request.receive, limit), boundary).parts():
        if part.filename is None:
            value = await part.read(max_bytes)
        else:
            await storage.put(key, part.chunks())     # pulled from the socket as the store asks

Nothing is read ahead: a part's body is pulled from the request only as its consumer iterates
``chunks()``, so one received chunk (plus at most a boundary's length kept by the parser) is all
that is in memory, whatever the file's size, and a slow store slows the client down (TCP
backpressure) instead of filling a buffer. No task or queue is involved.

The parser is ``multipart``'s `PushMultipartParser` (the ``multipart`` package, 1.x/2.x, by the
Bottle author, maintained since 2010): a sans-IO push parser with limits on header size, header
count and part count, and the one Litestar itself parses forms with, so it adds no dependency.
We chose it over ``python-multipart``'s callback parser because its events are plain values
yielded per chunk, which turns into the pull loop above without callbacks or intermediate buffers.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec
from multipart import MultipartError, MultipartSegment, PushMultipartParser

from baas.errors import BadRequest, TooLarge
from baas.files.headers import parse_header
from baas.schema.fields import as_list

# on_file(key, filename, chunks, values so far) -> the value the file stands for (its stored name)
OnFile = Callable[[str, str, AsyncIterator[bytes], dict[str, Any]], Awaitable[str]]

_FLUSH_AT = 1024 * 1024  # spool writes and reads in ~1 MiB pieces
MAX_PARTS = 1000  # form fields and files per request; far above any record, bounds the parser's work
_EOF = object()


class ClientGone(BadRequest):
    """The client disconnected before its body arrived (no one reads the answer)."""

    default_message = "The client closed the connection before the request body was read."


def too_large(limit: int) -> TooLarge:
    return TooLarge(f"Request entity too large (limit {limit} bytes).")


async def receive_chunks(receive: Callable[[], Awaitable[dict[str, Any]]], limit: int) -> AsyncIterator[bytes]:
    """The request body from ASGI ``receive``, chunk by chunk; `TooLarge` once past ``limit`` bytes,
    `ClientGone` on a disconnect."""
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            yield chunk
        if not message.get("more_body", False):
            return


def boundary_of(content_type: str) -> str:
    """The ``boundary`` parameter of a multipart Content-Type, exactly as sent (browsers mix cases:
    ``----WebKitFormBoundaryX7pQ…``); 400 without one."""
    boundary = parse_header(content_type)[1].get("boundary")
    if not boundary:
        raise BadRequest("Failed to read the request body: the multipart boundary is missing.")
    return boundary


def _extended_filename(segment: MultipartSegment) -> str | None:
    """``filename*=UTF-8''…`` (RFC 8187), which the multipart package does not read: it names the
    file (over a plain ``filename``) for Go's reader, so for PocketBase."""
    disposition = segment.header("Content-Disposition", "")
    if "*" not in disposition:  # the common case stays free
        return None
    return parse_header(disposition)[1].get("filename*")


def _malformed(exc: Exception) -> BadRequest:
    return BadRequest(f"Failed to read the request body: malformed multipart data ({exc}).")


class Part:
    """One part of the form: ``name``, ``filename`` (None for a plain value), the client's
    ``content_type`` (never trusted for files), and its body (read once)."""

    __slots__ = ("name", "filename", "content_type", "charset", "_reader", "_ended")

    def __init__(self, reader: FormReader, segment: MultipartSegment) -> None:
        self.name: str = segment.name or ""
        # An empty filename is what a browser sends for an empty file input: a plain (empty) value,
        # as Go's multipart reader (and so PocketBase) treats it.
        self.filename: str | None = _extended_filename(segment) or segment.filename or None
        self.content_type: str = segment.content_type or ""
        self.charset: str = segment.charset or "utf-8"
        self._reader = reader
        self._ended = False

    async def chunks(self) -> AsyncIterator[bytes]:
        """The part's body, pulled from the request as it is iterated."""
        while not self._ended:
            event = await self._reader._event()
            if event is None:
                self._ended = True
                return
            if event is _EOF or isinstance(event, MultipartSegment):
                raise BadRequest("Failed to read the request body: the multipart data ends inside a part.")
            yield event

    async def read(self, max_bytes: int) -> bytes:
        """The whole body of a small part; `TooLarge` past ``max_bytes``."""
        out = bytearray()
        async for chunk in self.chunks():
            out += chunk
            if len(out) > max_bytes:
                raise too_large(max_bytes)
        return bytes(out)

    async def drain(self) -> None:
        """Skip what the consumer left of the body."""
        async for _ in self.chunks():
            pass


class FormReader:
    """Parts of a multipart body read from ``source`` (see the module docstring)."""

    def __init__(self, source: AsyncIterator[bytes], boundary: str, *, max_parts: int = MAX_PARTS) -> None:
        try:
            self._parser = PushMultipartParser(boundary, max_segment_count=max_parts)
        except MultipartError as exc:
            raise _malformed(exc) from None
        self._source = source.__aiter__()
        self._events: Any = iter(())

    async def _event(self) -> Any:
        """The next parser event (a segment, a bytes chunk, None at a part's end) or _EOF."""
        while True:
            try:
                return next(self._events)
            except StopIteration:
                pass
            except MultipartError as exc:
                raise _malformed(exc) from None
            if self._parser.closed:
                return _EOF
            try:
                chunk = await self._source.__anext__()
            except StopAsyncIteration:
                chunk = b""  # end of input: the parser checks that the form was complete
            try:
                self._events = self._parser.parse(chunk)
            except MultipartError as exc:  # raised at once for the end-of-input check
                raise _malformed(exc) from None

    async def parts(self) -> AsyncIterator[Part]:
        """Every part in order; a part's unread body is skipped before the next one."""
        while True:
            event = await self._event()
            if event is _EOF:
                return
            if not isinstance(event, MultipartSegment):
                raise _malformed(ValueError("unexpected data between parts"))
            part = Part(self, event)
            yield part
            await part.drain()


def _add(data: dict[str, Any], key: str, value: Any) -> None:
    if key in data:
        prev = data[key]
        data[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
    else:
        data[key] = value


def merge_json_payload(data: dict[str, Any], raw: bytes | str) -> None:
    """Merge an ``@jsonPayload`` part (the SDKs send non-file values as JSON next to the files)."""
    try:
        payload = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, ValueError):
        raise BadRequest("Invalid @jsonPayload: malformed JSON.") from None
    if isinstance(payload, dict):
        data.update(payload)


async def read_form(
    source: AsyncIterator[bytes], boundary: str, max_values: int, on_file: OnFile | None = None
) -> dict[str, Any]:
    """A multipart form as a dict: ``@jsonPayload`` merged, a repeated key as a list, and the
    names ``on_file`` returns for the file parts of a key merged in by `merge_files`.

    Plain values are held in memory, so together they may take ``max_values`` bytes; file parts
    are only streamed through. Without ``on_file`` a file part is refused with 400."""
    data: dict[str, Any] = {}
    files: dict[str, list[str]] = {}
    left = max_values
    async for part in FormReader(source, boundary).parts():
        if part.filename is not None:
            if on_file is None:
                raise BadRequest(
                    "Failed to read the request body: this endpoint does not take files.",
                    {
                        part.name: {
                            "code": "validation_file_upload_unsupported",
                            "message": "Files are not accepted here.",
                        }
                    },
                )
            files.setdefault(part.name, []).append(await on_file(part.name, part.filename, part.chunks(), data))
            continue
        raw = await part.read(left)
        left -= len(raw)
        if part.name == "@jsonPayload":
            merge_json_payload(data, raw)
        else:
            try:
                _add(data, part.name, raw.decode(part.charset))
            except (LookupError, UnicodeDecodeError):
                raise BadRequest(
                    f"Failed to read the request body: the form value {part.name!r} is not valid {part.charset}."
                ) from None
    for key, names in files.items():
        merge_files(data, key, names)
    return data


def merge_files(data: dict[str, Any], key: str, names: list[str]) -> None:
    """Put the stored names of a key's files into a body as PocketBase does: after the names sent
    as plain values of the same key (the files a record keeps); alone under ``key+`` / ``+key``."""
    plain = key in data and not key.startswith("+") and not key.endswith(("+", "-"))
    data[key] = [*as_list(data[key]), *names] if plain else names


class DiskSpool:
    """A file part kept in an anonymous temporary file, for a form that names where its files go
    only after them (a batch: ``@jsonPayload`` comes last). Memory stays at one chunk; the file
    has no name on disk, so nothing is left behind even by a crash."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.size = 0
        self._fh: Any = None

    async def fill(self, chunks: AsyncIterator[bytes]) -> None:
        os.makedirs(self.directory, exist_ok=True)
        self._fh = await asyncio.to_thread(tempfile.TemporaryFile, dir=self.directory)
        buf = bytearray()
        async for chunk in chunks:
            buf += chunk
            self.size += len(chunk)
            if len(buf) >= _FLUSH_AT:
                data, buf = bytes(buf), bytearray()
                await asyncio.to_thread(self._fh.write, data)
        await asyncio.to_thread(self._fh.write, bytes(buf))

    async def chunks(self) -> AsyncIterator[bytes]:
        await asyncio.to_thread(self._fh.seek, 0)
        while data := await asyncio.to_thread(self._fh.read, _FLUSH_AT):
            yield data

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
