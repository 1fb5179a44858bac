"""``/api/settings``: superusers read and patch the stored server settings (`baas.settings_store`)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, patch

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


ROUTES = [settings_view, settings_update]
