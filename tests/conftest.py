"""Shared fixtures: the suite runs on SQLite by default and on PostgreSQL when
``BAAS_TEST_POSTGRES_URL`` is set (each fixture then gets a fresh database of its own).
The helpers behind them are in tests/harness.py; test modules import from there, never from a conftest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from baas.auth.superusers import upsert_superuser
from baas.core import Engine
from baas.db import Database, open_database
from baas.db.migrate import migrate
from baas.schema.loader import load_schema_text
from tests.harness import API_SCHEMA, SU_EMAIL, SU_PASS, Api, add_users, fresh_db_url, in_process, sign_in
from tests.pgpool import POOL


def pytest_configure(config: pytest.Config) -> None:
    """Show why tests were skipped (e.g. the JS SDK tests without tests/js/node_modules) in the summary."""
    if "s" not in config.option.reportchars and "a" not in config.option.reportchars:
        config.option.reportchars += "s"


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop the databases still held (the one made ahead), and say if a drop failed."""
    if POOL is not None:
        POOL.close()
        for failure in POOL.failures:
            print(f"\nwarning: {failure}")


@pytest.fixture
async def db_url(tmp_path: Path) -> AsyncIterator[str]:
    """A URL of a new, empty database on the backend under test."""
    async with fresh_db_url(tmp_path) as url:
        yield url


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    """A connected `Database` with the system tables created."""
    await migrate(db_url)
    db = open_database(db_url)
    await db.connect()
    yield db
    await db.close()


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    """The app in-process with tests/harness.py's API_SCHEMA (posts, comments, notes, vault), signed in
    as the superuser ``su`` and the users ``alice`` and ``bob``."""

    async def prepare(setup: Engine) -> None:
        await upsert_superuser(setup, SU_EMAIL, SU_PASS)
        await setup.apply(load_schema_text(API_SCHEMA).collections + [c for c in setup.registry.all()])

    async with in_process(tmp_path, prepare=prepare) as (client, eng):
        a = Api(client, eng)
        a.tokens["su"] = await sign_in(client)
        await add_users(a, "alice", "bob")
        yield a
