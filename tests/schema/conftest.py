"""Schema fixtures: an engine on the backend under test, and the HTTP app over it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from baas.auth.superusers import upsert_superuser
from baas.core import Engine
from baas.settings import Settings
from tests.harness import SU_EMAIL, SU_PASS, Http, in_process, sign_in


@pytest.fixture
async def engine(tmp_path: Path, db_url: str) -> AsyncIterator[Engine]:
    eng = Engine(Settings(data_dir=str(tmp_path), db_url=db_url))
    await eng.start()
    yield eng
    await eng.stop()


@pytest.fixture
async def http(tmp_path: Path, db_url: str) -> AsyncIterator[Http]:
    async with in_process(tmp_path, db_url=db_url) as (client, eng):
        await upsert_superuser(eng, SU_EMAIL, SU_PASS)
        yield Http(client, eng, await sign_in(client))
