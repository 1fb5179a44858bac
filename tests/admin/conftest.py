"""A started engine on a fresh database (SQLite, or PostgreSQL with ``BAAS_TEST_POSTGRES_URL``)
for the services of ``baas.admin``, called without HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from baas.core import Engine
from tests.harness import fresh_db_url, start_engine


@pytest.fixture
async def eng(tmp_path: Path) -> AsyncIterator[Engine]:
    async with fresh_db_url(tmp_path) as url:
        engine = await start_engine(tmp_path, url)
        try:
            yield engine
        finally:
            await engine.stop()
