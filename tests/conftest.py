"""Shared fixtures: the suite runs on SQLite by default and on PostgreSQL when
``BAAS_TEST_POSTGRES_URL`` is set (each fixture then gets a fresh database of its own)."""

from __future__ import annotations

import os
import secrets
from typing import AsyncIterator

import asyncpg
import pytest

from baas.db import Database, open_database
from baas.db.migrate import migrate

PG_URL = os.environ.get("BAAS_TEST_POSTGRES_URL", "")
BACKEND = "postgresql" if PG_URL else "sqlite"


def pytest_configure(config: pytest.Config) -> None:
    """Show why tests were skipped (e.g. the JS SDK tests without tests/js/node_modules) in the summary."""
    if "s" not in config.option.reportchars and "a" not in config.option.reportchars:
        config.option.reportchars += "s"


async def _create_pg_database() -> str:
    name = "baas_t_" + secrets.token_hex(6)
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = PG_URL.rpartition("/")
    return f"{base}/{name}"


async def _drop_pg_database(url: str) -> None:
    name = url.rpartition("/")[2]
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


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
