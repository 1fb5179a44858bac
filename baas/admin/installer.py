"""The first superuser: installer tokens and the one-time creation behind ``/api/installer``.

A new install has no superuser. ``baas serve`` then prints a one-time console link holding a
short-lived *installer* token (a JWT signed with the install secret, ``type: "installer"``), as
PocketBase's installer link does. With that token, and only while no superuser exists, the first
one can be created; after that creation is refused, so the link is spent once used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from baas.auth import tokens
from baas.db.base import Conn
from baas.errors import BadRequest, Unauthorized
from baas.records.write import create_record

if TYPE_CHECKING:
    from baas.core import Engine

KIND = "installer"
# The token is shown in a terminal and may end up in a scrollback or a log: keep it short-lived.
DURATION = 30 * 60
# Signed with the install secret plus this constant instead of a record's tokenKey: no record's
# key can be this string (tokenKeys are random), so an installer token never verifies as a
# record's token and no record token verifies as an installer token (its `type` differs too).
_KEY = "installer"
_LOCK_ID = 7_417_001  # pg_advisory_xact_lock id serialising first-superuser creation across nodes
_FIRST = 'SELECT "id" FROM "_superusers" LIMIT 1'


def issue_installer_token(secret: str, duration: int = DURATION) -> str:
    """A new installer token for the console link printed by ``baas serve``."""
    return tokens.issue(secret, {"id": KIND}, "_superusers", _KEY, duration, kind=KIND, refreshable=False)


def valid_installer_token(secret: str, token: str) -> bool:
    """Whether ``token`` is an unexpired installer token signed with ``secret``."""
    return bool(token) and tokens.verify(token, secret, _KEY, kind=KIND) is not None


async def superuser_exists(eng: Engine) -> bool:
    """Whether any superuser exists (the installer is spent)."""
    return await eng.db.fetchone(_FIRST) is not None


async def create_first_superuser(eng: Engine, token: str, body: dict[str, Any]) -> str:
    """Create the first superuser from ``email``, ``password`` (and ``passwordConfirm``, the
    password when absent) in ``body`` with installer ``token``; its id.

    401 for a bad token, 400 once a superuser exists or for invalid values."""
    if not valid_installer_token(eng.secret, token):
        raise Unauthorized(
            "The installer token is missing, invalid or expired. Restart `baas serve` for a new "
            "link, or create a superuser with `baas superuser upsert EMAIL PASSWORD`."
        )
    coll = eng.registry.get("_superusers")
    assert coll is not None  # created by Engine.start on every install
    data: dict[str, Any] = {k: body.get(k) for k in ("email", "password", "passwordConfirm") if k in body}
    if "passwordConfirm" not in data:  # the form always sends it; a script may not need to
        data["passwordConfirm"] = data.get("password")
    reader = eng.reader()

    async def run(conn: Conn) -> str:
        if eng.db.dialect == "postgresql":  # SQLite's single writer already serialises this check
            await conn.execute("SELECT pg_advisory_xact_lock(?)", [_LOCK_ID])
        if await conn.fetchone(_FIRST) is not None:
            raise BadRequest("A superuser already exists: sign in instead.")
        return await create_record(conn, reader, coll, {**data, "verified": True})

    return await eng.db.write(run)
