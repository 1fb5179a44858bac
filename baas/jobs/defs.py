"""The ``_jobs`` table: jobs created over the API or the console (those of ``baas.yaml`` live in
the file). Each row is a name, the job's options as JSON, and when it was created and last changed.
Every statement is one short transaction with bound parameters."""

from __future__ import annotations

from typing import Any

from baas.db import Conn, Database
from baas.ids import format_dt
from baas.jobs.store import now

COLUMNS = ("name", "config", "created", "updated")
_SELECT = "SELECT " + ", ".join(f'"{c}"' for c in COLUMNS) + ' FROM "_jobs"'


async def rows(db: Database) -> list[dict[str, Any]]:
    """Every stored job, by name."""
    return [dict(zip(COLUMNS, r)) for r in await db.fetch(_SELECT + ' ORDER BY "name"')]


async def create(db: Database, name: str, config: str) -> bool:
    """Insert an API job; False if the name is taken (another request won the race)."""

    async def tx(conn: Conn) -> bool:
        stamp = format_dt(now())
        n = await conn.execute(
            'INSERT INTO "_jobs" ("name", "config", "created", "updated") VALUES (?, ?, ?, ?) '
            'ON CONFLICT ("name") DO NOTHING',
            [name, config, stamp, stamp],
        )
        return n == 1

    return await db.write(tx)


async def update(db: Database, name: str, config: str) -> bool:
    """Replace an API job's options; False if it is gone."""
    stamp = format_dt(now())
    n = await db.write(
        lambda conn: conn.execute(
            'UPDATE "_jobs" SET "config" = ?, "updated" = ? WHERE "name" = ?', [config, stamp, name]
        )
    )
    return bool(n == 1)


async def delete(db: Database, name: str) -> bool:
    """Remove an API job (its run history stays, pruned as usual); False if it was gone."""
    n = await db.write(lambda conn: conn.execute('DELETE FROM "_jobs" WHERE "name" = ?', [name]))
    return bool(n == 1)
