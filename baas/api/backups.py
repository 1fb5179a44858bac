"""``/api/backups``: superusers list, create, upload, download and delete backups, as PocketBase's
backups API (and its SDKs' ``pb.backups``) does. The work is `baas.backups`'."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from litestar import Response, delete, get, post
from litestar.response import File, Stream

from baas.api.deps import ApiRequest, engine, json_response, read_body, request_info, require_superuser
from baas.api.files import stream_blob
from baas.auth.file_tokens import file_token_record
from baas.backups import (
    BUSY,
    BackupError,
    BackupNameError,
    BackupStore,
    backup_store,
    backups_dir,
    check_name,
    create_backup,
    open_archive,
    partial_file,
)
from baas.backups.store import LocalBackups
from baas.errors import BadRequest, Forbidden, NotFound
from baas.files.blob import BlobNotFound

UPLOAD_LIMIT = 1 << 40  # an upload streams to disk: bounded by the disk, not memory
BUSY_MESSAGE = "Try again later - another backup/restore operation has already been started."


@get("/api/backups")
async def backups_list(request: ApiRequest) -> Response[bytes]:
    require_superuser(await request_info(request))
    try:
        found = await (await _store(request)).list()
    except BackupError as exc:  # the S3 store is unreachable or refuses us
        raise BadRequest(f"Failed to load backups: {exc}") from None
    return json_response([{"key": b.key, "size": b.size, "modified": b.modified} for b in found])


@post("/api/backups", status_code=204)
async def backups_create(request: ApiRequest) -> None:
    """{name?}: back up now (the answer waits until the backup is complete)."""
    require_superuser(await request_info(request))
    body = await read_body(request)
    name = body.get("name") or ""
    if not isinstance(name, str):
        raise _invalid("name", "Must be a string.")
    if BUSY.locked():
        raise BadRequest(BUSY_MESSAGE)
    async with BUSY:
        try:
            await create_backup(engine(request), name)
        except BackupNameError as exc:  # a taken or invalid name: the field's error
            raise _invalid("name", str(exc)) from None
        except BackupError as exc:
            raise BadRequest(f"Failed to create the backup: {exc}") from None


@post("/api/backups/upload", status_code=204, request_max_body_size=None)
async def backups_upload(request: ApiRequest) -> None:
    """multipart ``file``: a backup made elsewhere, checked whole before it is listed."""
    require_superuser(await request_info(request))
    eng = engine(request)
    store = await _store(request)
    folder = backups_dir(eng.settings.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    kept: list[tuple[Path, str]] = []  # (the partial file, the backup's name)

    async def on_file(key: str, filename: str, chunks: AsyncIterator[bytes], _: dict[str, Any]) -> str:
        if key != "file" or kept:
            raise _invalid(key, "Upload one backup, as the form field 'file'.")
        try:
            name = check_name(os.path.basename(filename))
        except BackupError as exc:
            raise _invalid("file", str(exc)) from None
        if await store.exists(name):
            raise _invalid("file", f"A backup named {name} already exists.")
        partial = Path(partial_file(folder, name))  # one of its own: two uploads never share it
        kept.append((partial, name))
        with partial.open("wb") as out:
            async for chunk in chunks:
                await asyncio.to_thread(out.write, chunk)
        return name

    try:
        await read_body(request, limit=UPLOAD_LIMIT, on_file=on_file)
        if not kept:
            raise _invalid("file", "Missing the backup file.")
        partial, name = kept[0]
        try:
            await asyncio.to_thread(lambda: open_archive(partial).zf.close())
            await store.keep(name, partial)
        except BackupError as exc:
            raise _invalid("file", str(exc).replace(str(partial), name)) from None
    finally:
        for partial, _ in kept:
            partial.unlink(missing_ok=True)


@get("/api/backups/{key:str}")
async def backups_download(request: ApiRequest, key: str) -> File | Stream:
    """``?token=``: a superuser's file token (``POST /api/files/token``), as links can carry no header."""
    auth = await file_token_record(engine(request), str(request.query_params.get("token") or ""))
    if auth is None or auth.get("collectionName") != "_superusers":
        raise Forbidden("Insufficient permissions to access the resource.")
    store = await _store_with(request, key)
    if isinstance(store, LocalBackups):  # a file response: ranges, sendfile
        return File(path=store.path(key), filename=key, media_type="application/zip")
    try:
        blob = await store.open(key)
    except BlobNotFound:
        raise NotFound("The requested resource wasn't found.") from None
    except BackupError as exc:
        raise BadRequest(str(exc)) from None
    return Stream(
        stream_blob(blob),  # releases the S3 connection however the download ends
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{key}"', "Content-Length": str(blob.info.size)},
    )


@delete("/api/backups/{key:str}", status_code=204)
async def backups_delete(request: ApiRequest, key: str) -> None:
    require_superuser(await request_info(request))
    store = await _store_with(request, key)
    try:
        await store.delete(key)
    except BlobNotFound:
        raise NotFound("The requested resource wasn't found.") from None
    except BackupError as exc:
        raise BadRequest(str(exc)) from None


@post("/api/backups/{key:str}/restore", status_code=204)
async def backups_restore(request: ApiRequest, key: str) -> None:
    """Not over the API: a restore needs an empty install (docs/backups.md)."""
    require_superuser(await request_info(request))
    await _store_with(request, key)
    raise BadRequest(
        "A backup restores into an empty install: stop the server and run "
        f"`baas backup restore {key} --dir NEW_DATA_DIR` (docs/backups.md)."
    )


async def _store_with(request: ApiRequest, key: str) -> BackupStore:
    """The backup store, if it holds backup ``key`` (else 404)."""
    try:
        check_name(key)
    except BackupError:
        raise NotFound("The requested resource wasn't found.") from None
    store = await _store(request)
    try:
        found = await store.exists(key)
    except BackupError as exc:
        raise BadRequest(str(exc)) from None
    if not found:
        raise NotFound("The requested resource wasn't found.")
    return store


async def _store(request: ApiRequest) -> BackupStore:
    """The backup store, or 400 saying why it can't be used (bad ``backups.s3`` settings)."""
    try:
        return await backup_store(engine(request))
    except BackupError as exc:
        raise BadRequest(str(exc)) from None


def _invalid(field: str, message: str) -> BadRequest:
    return BadRequest(
        "An error occurred while validating the submitted data.",
        {field: {"code": "validation_invalid_value", "message": message}},
    )


ROUTES = [backups_list, backups_create, backups_upload, backups_download, backups_delete, backups_restore]
