"""``/api/settings``: superusers read and patch the stored server settings (`baas.settings_store`),
and test the mail and S3 settings (`baas.admin.settings_probe`), as PocketBase's settings API does."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, patch, post

from baas.admin import settings_probe
from baas.api.deps import engine, json_response, read_body, request_info, require_superuser
from baas.settings_store import public


@get("/api/settings")
async def settings_view(request: Request[Any, Any, Any]) -> Response[bytes]:
    require_superuser(await request_info(request))
    return json_response(public(await engine(request).settings_store.load()))


@patch("/api/settings")
async def settings_update(request: Request[Any, Any, Any]) -> Response[bytes]:
    require_superuser(await request_info(request))
    body = await read_body(request)
    # The store checks and saves, then pushes the change to this process's limiter and storage.
    return json_response(public(await engine(request).settings_store.update(body)))


@post("/api/settings/test/email", status_code=204)
async def settings_test_email(request: Request[Any, Any, Any]) -> None:
    """{email, template, collection?}: the template's mail to that address (SMTP or the dev mailbox)."""
    require_superuser(await request_info(request))
    await settings_probe.send_test_email(engine(request), await read_body(request))


@post("/api/settings/test/s3", status_code=204)
async def settings_test_s3(request: Request[Any, Any, Any]) -> None:
    """{filesystem: "storage", s3?}: write, read and delete a probe object with the (given) S3 settings."""
    require_superuser(await request_info(request))
    await settings_probe.test_s3(engine(request), await read_body(request))


ROUTES = [settings_view, settings_update, settings_test_email, settings_test_s3]
