"""The PostgreSQL test-database pool (tests/pgpool.py): fresh, empty, distinct databases; every one it
made is gone after ``close``; a failure reaches the caller instead of hanging it."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tests.harness import PG_URL
from tests.pgpool import DatabasePool

pytestmark = pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: set BAAS_TEST_POSTGRES_URL")


async def _names(prefix: str = "baas_t_") -> set[str]:
    conn = await asyncpg.connect(PG_URL)
    try:
        return {r[0] for r in await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", prefix + "%")}
    finally:
        await conn.close()


async def _tables(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        return [
            r[0]
            for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
            )
        ]
    finally:
        await conn.close()


async def test_databases_are_new_empty_distinct_and_all_dropped_on_close() -> None:
    pool = DatabasePool(PG_URL, ahead=1)
    try:
        first = await asyncio.to_thread(pool.take)
        second = await asyncio.to_thread(pool.take)
        assert first != second
        for url in (first, second):
            assert await _tables(url) == []
        pool.give_back(first)
    finally:
        await asyncio.to_thread(pool.close)  # joins the thread: every job is done when it returns
    mine = {first.rpartition("/")[2], second.rpartition("/")[2]}
    # The given-back one, the one still held and the one made ahead: none is left.
    assert not mine & await _names()
    assert pool.failures == []


async def test_a_database_that_cannot_be_made_fails_the_taker_instead_of_hanging() -> None:
    pool = DatabasePool(PG_URL.rpartition("/")[0] + "/no_such_database_for_the_pool")
    try:
        with pytest.raises(RuntimeError, match="could not create a PostgreSQL test database"):
            await asyncio.to_thread(pool.take)
    finally:
        await asyncio.to_thread(pool.close)


def test_a_closed_pool_takes_no_more() -> None:
    pool = DatabasePool(PG_URL)
    pool.close()
    with pytest.raises(RuntimeError, match="closed"):
        pool.take()
