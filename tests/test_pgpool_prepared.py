"""The pool's prepared databases (tests/pgpool.py): copies of one migrated template, each new and
distinct, dropped with the template on ``close``."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from baas.db.migrate import migrate
from tests.harness import PG_URL
from tests.pgpool import DatabasePool

pytestmark = pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: set BAAS_TEST_POSTGRES_URL")


async def _fetch(url: str, sql: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        return [r[0] for r in await conn.fetch(sql)]
    finally:
        await conn.close()


async def test_prepared_databases_are_distinct_migrated_copies_all_dropped_on_close() -> None:
    pool = DatabasePool(PG_URL, ahead=1, prepare=migrate)
    made: list[str] = []
    try:
        first = await asyncio.to_thread(pool.take, True)
        second = await asyncio.to_thread(pool.take, True)
        empty = await asyncio.to_thread(pool.take)
        made = [u.rpartition("/")[2] for u in (first, second, empty)]
        assert len(set(made)) == 3
        await _fetch(first, 'CREATE TABLE "mine" (x int)')  # a copy of its own: the other does not see it
        for url in (first, second):
            assert await _fetch(url, "SELECT version_num FROM _migrations")  # migrated
        assert "mine" not in await _fetch(second, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        assert await _fetch(empty, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'") == []
    finally:
        await asyncio.to_thread(pool.close)
    left = await _fetch(PG_URL, "SELECT datname FROM pg_database WHERE datname LIKE 'baas_t_%'")
    assert not set(made) & set(left)
    assert pool.failures == []


async def test_named_templates_are_set_up_once_and_copied() -> None:
    prepared: list[str] = []

    async def prepare(url: str) -> None:
        prepared.append(url)
        await _fetch(url, 'CREATE TABLE "seeded" (x int)')

    pool = DatabasePool(PG_URL, ahead=0)
    pool.add_template("seeded", prepare)
    made: list[str] = []
    try:
        with pytest.raises(ValueError, match="no template 'nope'"):
            pool.take("nope")
        first = await asyncio.to_thread(pool.take, "seeded")
        second = await asyncio.to_thread(pool.take, "seeded")
        made = [u.rpartition("/")[2] for u in (first, second)]
        assert len(prepared) == 1 and first != second  # one set-up, two distinct copies
        tables = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        assert await _fetch(first, tables) == await _fetch(second, tables) == ["seeded"]
    finally:
        await asyncio.to_thread(pool.close)
    left = await _fetch(PG_URL, "SELECT datname FROM pg_database WHERE datname LIKE 'baas_t_%'")
    template = prepared[0].rpartition("/")[2]
    assert not (set(made) | {template}) & set(left)  # the copies and the template dropped
    assert pool.failures == []
