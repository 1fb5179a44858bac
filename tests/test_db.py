"""The Database interface: reads, transactional writes, group commit isolating failures."""

from __future__ import annotations

import asyncio

import pytest


async def test_write_and_read(database):
    async def create(conn):
        await conn.execute('CREATE TABLE "t" ("id" TEXT PRIMARY KEY, "n" INTEGER NOT NULL)')
        return await conn.execute('INSERT INTO "t" ("id", "n") VALUES (?, ?)', ("a", 1))

    assert await database.write(create) == 1
    assert await database.fetch('SELECT "id", "n" FROM "t"') == [("a", 1)]
    assert await database.fetchval('SELECT count(*) FROM "t" WHERE "n" = ?', (1,)) == 1


async def test_failed_write_rolls_back_alone(database):
    await database.write(lambda c: c.execute('CREATE TABLE "t" ("id" TEXT PRIMARY KEY)'))

    def insert(i: str, fail: bool = False):
        async def job(conn):
            await conn.execute('INSERT INTO "t" ("id") VALUES (?)', (i,))
            if fail:
                raise RuntimeError("boom")
            return i

        return job

    jobs = [database.write(insert(f"r{i}", fail=(i % 3 == 0))) for i in range(12)]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    ok = sorted(r for r in results if isinstance(r, str))
    failed = [r for r in results if isinstance(r, Exception)]
    assert len(failed) == 4 and all(str(e) == "boom" for e in failed)
    rows = sorted(r[0] for r in await database.fetch('SELECT "id" FROM "t"'))
    assert rows == ok


async def test_constraint_violation_is_reported(database):
    await database.write(lambda c: c.execute('CREATE TABLE "t" ("id" TEXT PRIMARY KEY)'))
    await database.write(lambda c: c.execute('INSERT INTO "t" ("id") VALUES (?)', ("x",)))
    with pytest.raises(Exception):  # noqa: B017  (sqlite3.IntegrityError or asyncpg's UniqueViolationError)
        await database.write(lambda c: c.execute('INSERT INTO "t" ("id") VALUES (?)', ("x",)))
    assert await database.fetchval('SELECT count(*) FROM "t"') == 1


async def test_writer_survives_a_job_that_ends_the_transaction(database):
    """A job whose error already rolled back the whole transaction (as SQLite does on I/O
    errors) fails alone; the writer keeps serving later writes."""
    if database.dialect != "sqlite":
        pytest.skip("SQLite group-commit writer")
    await database.write(lambda c: c.execute('CREATE TABLE "t" ("id" TEXT PRIMARY KEY)'))

    async def rolls_back(conn):
        await conn.execute('INSERT INTO "t" ("id") VALUES (?)', ("lost",))
        await conn.execute("ROLLBACK")
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError, match="disk gone"):
        await database.write(rolls_back)
    ok = database.write(lambda c: c.execute('INSERT INTO "t" ("id") VALUES (?)', ("ok",)))
    await asyncio.wait_for(ok, 30)  # hangs if the writer leaked its lock; the bound only ends the test
    assert await database.fetch('SELECT "id" FROM "t"') == [("ok",)]


async def test_slow_reads_leave_the_event_loop(database):
    """A read over the inline budget is finished on a reader thread, with the right answer."""
    slow = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) SELECT count(*) FROM n"
    assert await database.fetchval(slow, (300000,)) == 300000
    assert await database.fetchval(slow, (3,)) == 3
