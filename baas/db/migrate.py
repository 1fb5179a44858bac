"""Bring the system tables to the latest Alembic revision (at start, before serving).

This is the only place that uses a SQLAlchemy engine, and only for the moment of migrating:
requests run on the thin drivers in `baas.db.sqlite` and `baas.db.postgres`.
"""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import create_async_engine


def _config(connection: sa.Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "baas.db:migrations")
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: sa.Connection, revision: str) -> None:
    command.upgrade(_config(connection), revision)


async def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the system tables of the database at ``url`` to ``revision`` (a backup being restored
    stops at its own, then goes on to head)."""
    if url.startswith("sqlite:///"):

        def run() -> None:
            engine = sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args={"timeout": 30})
            try:
                with engine.begin() as conn:
                    _upgrade(conn, revision)
            finally:
                engine.dispose()

        await asyncio.to_thread(run)
        return
    async_url = "postgresql+asyncpg://" + url.split("://", 1)[1]
    engine = create_async_engine(async_url, poolclass=sa.pool.NullPool)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, revision)
    finally:
        await engine.dispose()
