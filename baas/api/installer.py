"""The first superuser: ``/api/installer`` (the service is `baas.admin.installer`).

A new install has no superuser. ``baas serve`` then prints a one-time link to the console,
``/_/#/install/<token>``, holding a short-lived *installer* token, as PocketBase's installer
link does. With that token, and only while no superuser exists, ``POST /api/installer`` creates
the first one; after that it refuses, so the link is spent as soon as it has been used (or
someone ran ``baas superuser upsert``).

``GET /api/installer`` tells the console's sign-in page whether the first-run page applies.

The creation goes through `baas.auth.superusers.create_first_superuser`, the record write path
with the engine's hooks: the ``_superusers`` record hooks fire and the ``create`` event is appended.
"""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post

from baas.admin.installer import superuser_exists, valid_installer_token
from baas.api.deps import ApiRequest, engine, json_response, read_body
from baas.auth.superusers import create_first_superuser
from baas.errors import Unauthorized

PATH = "/api/installer"


@get(PATH)
async def installer_status(request: ApiRequest) -> Response[bytes]:
    """``{"superuserExists": bool}``: whether the console should show its first-run page."""
    return json_response({"superuserExists": await superuser_exists(engine(request))})


@post(PATH, status_code=204)
async def installer_create(request: ApiRequest) -> None:
    """Create the first superuser (``email``, ``password``, ``passwordConfirm``) with an installer
    token (``token`` in the body, or the Authorization header)."""
    eng = engine(request)
    body = await read_body(request)
    token = str(body.pop("token", "") or request.headers.get("authorization", "")).strip()
    if not valid_installer_token(eng.secret, token):
        raise Unauthorized(
            "The installer token is missing, invalid or expired. Restart `baas serve` for a new "
            "link, or create a superuser with `baas superuser upsert EMAIL PASSWORD`."
        )
    data: dict[str, Any] = {k: body.get(k) for k in ("email", "password", "passwordConfirm") if k in body}
    if "passwordConfirm" not in data:  # the form always sends it; a script may not need to
        data["passwordConfirm"] = data.get("password")
    await create_first_superuser(eng, data)


ROUTES = [installer_status, installer_create]
