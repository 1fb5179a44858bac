"""Shared fixtures: the suite runs on SQLite by default and on PostgreSQL when
``BAAS_TEST_POSTGRES_URL`` is set (each fixture then gets a fresh database of its own)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest

from baas.db import Database, open_database
from baas.db.migrate import migrate
from tests import pgpool

PG_URL = os.environ.get("BAAS_TEST_POSTGRES_URL", "")
BACKEND = "postgresql" if PG_URL else "sqlite"


def pytest_configure(config: pytest.Config) -> None:
    """Show why tests were skipped (e.g. the JS SDK tests without tests/js/node_modules) in the summary."""
    if "s" not in config.option.reportchars and "a" not in config.option.reportchars:
        config.option.reportchars += "s"


# One pool per test process (each xdist worker has its own): databases made ahead, dropped behind.
_POOL = pgpool.shared(PG_URL) if PG_URL else None


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop the databases still held (the one made ahead), and say if a drop failed."""
    if _POOL is not None:
        _POOL.close()
        for failure in _POOL.failures:
            print(f"\nwarning: {failure}")


async def _create_pg_database() -> str:
    """The URL of a new, empty PostgreSQL database of this test's own."""
    assert _POOL is not None, "BAAS_TEST_POSTGRES_URL is not set"
    return await asyncio.to_thread(_POOL.take)


async def _drop_pg_database(url: str) -> None:
    """Drop the database (in the background: the next test need not wait for the disk)."""
    assert _POOL is not None, "BAAS_TEST_POSTGRES_URL is not set"
    _POOL.give_back(url)


@pytest.fixture
async def db_url(tmp_path) -> AsyncIterator[str]:
    """A URL of a new, empty database on the backend under test."""
    if PG_URL:
        url = await _create_pg_database()
        yield url
        await _drop_pg_database(url)
    else:
        yield f"sqlite:///{tmp_path / 'data.db'}"


@pytest.fixture
async def database(db_url) -> AsyncIterator[Database]:
    """A connected `Database` with the system tables created."""
    await migrate(db_url)
    db = open_database(db_url)
    await db.connect()
    yield db
    await db.close()
