"""Superusers from the command line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from baas.db.base import Conn
from baas.db.tables import email_equals
from baas.records.write import create_record, update_record

if TYPE_CHECKING:
    from baas.core import Engine


async def upsert_superuser(eng: Engine, email: str, password: str) -> str:
    """Create the superuser ``email`` or reset its password; return its id."""
    coll = eng.registry.get("_superusers")
    assert coll is not None
    reader = eng.reader()

    async def run(conn: Conn) -> str:
        row = await conn.fetchone(f'SELECT "id" FROM "_superusers" WHERE {email_equals(eng.db.dialect)}', [email])
        if row is None:
            return await create_record(conn, reader, coll, {"email": email, "password": password, "verified": True})
        return await update_record(conn, reader, coll, row[0], {"password": password})

    return await eng.db.write(run)
