"""Superusers written by ``baas superuser upsert`` and the installer (``POST /api/installer``).

Both write through the record write path with the engine's hooks, as the auth flows do: the
``_superusers`` record hooks fire (before, inside the transaction after ``e.next()``, and
after-success once committed) and the write appends its ``create``/``update`` event. The password
is hashed before the write lock, as for an API write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from baas.auth.accounts import after_commit
from baas.db.base import Conn
from baas.db.tables import email_equals
from baas.errors import BadRequest
from baas.records.draft import Draft
from baas.records.write import prehash, save
from baas.rules.context import SUPERUSER
from baas.schema.model import Collection

if TYPE_CHECKING:
    from baas.core import Engine

_LOCK_ID = 7_417_001  # pg_advisory_xact_lock id serialising first-superuser creation across nodes
_FIRST = 'SELECT "id" FROM "_superusers" LIMIT 1'


def _superusers(eng: Engine) -> Collection:
    coll = eng.registry.get("_superusers")
    assert coll is not None  # created by Engine.start on every install
    return coll


async def upsert_superuser(eng: Engine, email: str, password: str) -> str:
    """Create the superuser ``email`` or reset its password; return its id."""
    coll = _superusers(eng)
    hashed = await prehash(coll, {"password": password})
    written: list[Draft] = []

    async def run(conn: Conn) -> str:
        row = await conn.fetchone(f'SELECT "id" FROM "_superusers" WHERE {email_equals(eng.db.dialect)}', [email])
        if row is None:
            body = {"email": email, "password": password, "verified": True}
            draft = Draft(coll, SUPERUSER, "create", body, hashed=hashed)
        else:
            draft = Draft(coll, SUPERUSER, "update", {"password": password}, row[0], hashed=hashed)
        written[:] = [draft]  # the last attempt's, should the database run this again
        await save(conn, eng.registry, draft, eng.hooks)
        return draft.record_id

    record_id = await eng.db.write(run)
    await after_commit(eng.hooks, eng.db, written)
    return record_id


async def create_first_superuser(eng: Engine, data: dict[str, Any]) -> str:
    """Create the first superuser from ``email``, ``password``, ``passwordConfirm`` in ``data``
    (the installer checked its token); its id. 400 once a superuser exists or for invalid values."""
    coll = _superusers(eng)
    body = {**data, "verified": True}
    hashed = await prehash(coll, body)
    written: list[Draft] = []

    async def run(conn: Conn) -> str:
        if eng.db.dialect == "postgresql":  # SQLite's single writer already serialises this check
            await conn.execute("SELECT pg_advisory_xact_lock(?)", [_LOCK_ID])
        if await conn.fetchone(_FIRST) is not None:
            raise BadRequest("A superuser already exists: sign in instead.")
        draft = Draft(coll, SUPERUSER, "create", body, hashed=hashed)
        written[:] = [draft]
        await save(conn, eng.registry, draft, eng.hooks)
        return draft.record_id

    record_id = await eng.db.write(run)
    await after_commit(eng.hooks, eng.db, written)
    return record_id
