"""``/api/backups``: superusers list, create, upload, download and delete backups, as PocketBase's
backups API (and its SDKs' ``pb.backups``) does. The work is `baas.backups`'."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from litestar import Response, delete, get, post
from litestar.response import File

from baas.api.deps import ApiRequest, engine, json_response, read_body, request_info, require_superuser
from baas.auth.file_tokens import file_token_record
from baas.backups import BackupError, backups_dir, check_name, create_backup, list_backups, open_archive
from baas.errors import BadRequest, Forbidden, NotFound

# One backup at a time per process (PocketBase: "another backup/restore operation is in progress");
# across processes, a name already being written is refused by create_backup itself.
_busy = asyncio.Lock()
UPLOAD_LIMIT = 1 << 40  # an upload streams to disk: bounded by the disk, not memory


@get("/api/backups")
async def backups_list(request: ApiRequest) -> Response[bytes]:
    require_superuser(await request_info(request))
    found = list_backups(engine(request).settings.data_dir)
    return json_response([{"key": b.key, "size": b.size, "modified": b.modified} for b in found])


@post("/api/backups", status_code=204)
async def backups_create(request: ApiRequest) -> None:
    """{name?}: back up now (the answer waits until the backup is complete)."""
    require_superuser(await request_info(request))
    body = await read_body(request)
    name = body.get("name") or ""
    if not isinstance(name, str):
        raise _invalid("name", "Must be a string.")
    if _busy.locked():
        raise BadRequest("Try again later - another backup/restore operation has already been started.")
    async with _busy:
        try:
            await create_backup(engine(request), name)
        except BackupError as exc:
            raise _invalid("name", str(exc)) from None


@post("/api/backups/upload", status_code=204, request_max_body_size=None)
async def backups_upload(request: ApiRequest) -> None:
    """multipart ``file``: a backup made elsewhere, checked whole before it is listed."""
    require_superuser(await request_info(request))
    folder = backups_dir(engine(request).settings.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    kept: list[tuple[Path, str]] = []  # (the partial file, the backup's name)

    async def on_file(key: str, filename: str, chunks: AsyncIterator[bytes], _: dict[str, Any]) -> str:
        if key != "file" or kept:
            raise _invalid(key, "Upload one backup, as the form field 'file'.")
        try:
            name = check_name(os.path.basename(filename))
        except BackupError as exc:
            raise _invalid("file", str(exc)) from None
        if (folder / name).exists():
            raise _invalid("file", f"A backup named {name} already exists.")
        partial = folder / f".{name}.partial"
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
        except BackupError as exc:
            raise _invalid("file", str(exc).replace(str(partial), name)) from None
        os.replace(partial, folder / name)
    finally:
        for partial, _ in kept:
            partial.unlink(missing_ok=True)


@get("/api/backups/{key:str}")
async def backups_download(request: ApiRequest, key: str) -> File:
    """``?token=``: a superuser's file token (``POST /api/files/token``), as links can carry no header."""
    auth = await file_token_record(engine(request), str(request.query_params.get("token") or ""))
    if auth is None or auth.get("collectionName") != "_superusers":
        raise Forbidden("Insufficient permissions to access the resource.")
    path = _existing(request, key)
    return File(path=path, filename=path.name, media_type="application/zip")


@delete("/api/backups/{key:str}", status_code=204)
async def backups_delete(request: ApiRequest, key: str) -> None:
    require_superuser(await request_info(request))
    _existing(request, key).unlink()


@post("/api/backups/{key:str}/restore", status_code=204)
async def backups_restore(request: ApiRequest, key: str) -> None:
    """Not over the API: a restore needs an empty install (docs/backups.md)."""
    require_superuser(await request_info(request))
    _existing(request, key)
    raise BadRequest(
        "A backup restores into an empty install: stop the server and run "
        f"`baas backup restore {key} --dir NEW_DATA_DIR` (docs/backups.md)."
    )


def _existing(request: ApiRequest, key: str) -> Path:
    try:
        check_name(key)
    except BackupError:
        raise NotFound("The requested resource wasn't found.") from None
    path = backups_dir(engine(request).settings.data_dir) / key
    if not path.is_file():
        raise NotFound("The requested resource wasn't found.")
    return path


def _invalid(field: str, message: str) -> BadRequest:
    return BadRequest(
        "An error occurred while validating the submitted data.",
        {field: {"code": "validation_invalid_value", "message": message}},
    )


ROUTES = [backups_list, backups_create, backups_upload, backups_download, backups_delete, backups_restore]
