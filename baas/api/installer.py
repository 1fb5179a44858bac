"""The first superuser: ``/api/installer``.

A new install has no superuser. ``baas serve`` then prints a one-time link to the console,
``/_/#/install/<token>``, holding a short-lived *installer* token (a JWT signed with the install
secret, ``type: "installer"``), as PocketBase's installer link does. With that token, and only
while no superuser exists, ``POST /api/installer`` creates the first one; after that it refuses,
so the link is spent as soon as it has been used (or someone ran ``baas superuser upsert``).

``GET /api/installer`` tells the console's sign-in page whether the first-run page applies.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

from baas.api.deps import engine, json_response, read_body
from baas.auth import tokens
from baas.core import Engine
from baas.errors import BadRequest, Unauthorized
from baas.records.write import create_record

PATH = "/api/installer"
KIND = "installer"
# The token is shown in a terminal and may end up in a scrollback or a log: keep it short-lived.
DURATION = 30 * 60
# Signed with the install secret plus this constant instead of a record's tokenKey: no record's
# key can be this string (tokenKeys are random), so an installer token never verifies as a
# record's token and no record token verifies as an installer token (its `type` differs too).
_KEY = "installer"
_LOCK_ID = 7_417_001  # pg_advisory_xact_lock id serialising first-superuser creation across nodes


def issue_installer_token(secret: str, duration: int = DURATION) -> str:
    """A new installer token for the console link printed by ``baas serve``."""
    return tokens.issue(secret, {"id": KIND}, "_superusers", _KEY, duration, kind=KIND, refreshable=False)


def valid_installer_token(secret: str, token: str) -> bool:
    """Whether ``token`` is an unexpired installer token signed with ``secret``."""
    return bool(token) and tokens.verify(token, secret, _KEY, kind=KIND) is not None


async def superuser_exists(eng: Engine) -> bool:
    return await eng.db.fetchone('SELECT "id" FROM "_superusers" LIMIT 1') is not None


@get(PATH)
async def installer_status(request: Request) -> Response:
    """``{"superuserExists": bool}``: whether the console should show its first-run page."""
    return json_response({"superuserExists": await superuser_exists(engine(request))})


@post(PATH, status_code=204)
async def installer_create(request: Request) -> None:
    """Create the first superuser (``email``, ``password``, ``passwordConfirm``) with an installer
    token (``token`` in the body, or the Authorization header)."""
    eng = engine(request)
    body = await read_body(request)
    token = str(body.pop("token", "") or request.headers.get("authorization", "")).strip()
    if not valid_installer_token(eng.secret, token):
        raise Unauthorized("The installer token is missing, invalid or expired. Restart `baas serve` for a new "
                           "link, or create a superuser with `baas superuser upsert EMAIL PASSWORD`.")
    coll = eng.registry.get("_superusers")
    assert coll is not None  # created by Engine.start on every install
    data = {k: body.get(k) for k in ("email", "password", "passwordConfirm") if k in body}
    if "passwordConfirm" not in data:  # the form always sends it; a script may not need to
        data["passwordConfirm"] = data.get("password")
    reader = eng.reader()

    async def run(conn: Any) -> str:
        if eng.db.dialect == "postgresql":  # SQLite's single writer already serialises this check
            await conn.execute("SELECT pg_advisory_xact_lock(?)", [_LOCK_ID])
        if await conn.fetchone('SELECT "id" FROM "_superusers" LIMIT 1') is not None:
            raise BadRequest("A superuser already exists: sign in instead.")
        return await create_record(conn, reader, coll, {**data, "verified": True})

    await eng.db.write(run)


ROUTES = [installer_status, installer_create]
