"""Sign-in and address lookups search the auth collections' unique email index instead of
scanning the table (the predicate must match how the index is built on each backend)."""

from __future__ import annotations

from typing import Any

from baas.db.tables import email_equals


async def _plan(api: Any, sql: str) -> str:
    async def run(conn: Any) -> str:
        if api.engine.db.dialect == "postgresql":
            await conn.execute("SET LOCAL enable_seqscan = off")  # tiny test tables: ask if the index *can* serve
            rows = await conn.fetch("EXPLAIN " + sql, ["Alice@Example.com"])
        else:
            rows = await conn.fetch("EXPLAIN QUERY PLAN " + sql, ["Alice@Example.com"])
        return "\n".join(str(r[-1]) for r in rows)

    return await api.engine.db.write(run)


async def test_email_lookup_uses_the_unique_index(api: Any) -> None:
    for table, alias in (("users", "m"), ("_superusers", "")):
        where = email_equals(api.engine.db.dialect, alias)
        sql = f'SELECT "id" FROM "{table}"' + (f' AS "{alias}"' if alias else "") + f" WHERE {where}"
        plan = await _plan(api, sql)
        assert f"idx_email_{table}" in plan, plan
        found = await api.engine.db.fetch(sql, ["ALICE@example.COM"])
        assert len(found) == (1 if table == "users" else 0)  # case-insensitive, as sign-in is
