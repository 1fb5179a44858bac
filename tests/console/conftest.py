"""An in-process app (httpx over ASGI) on a fresh database, with or without a superuser; the
browser tests start a real ``baas serve`` instead (tests/servers.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from baas.app import create_app
from baas.auth.superusers import upsert_superuser
from baas.core import Engine
from baas.settings import Settings
from tests.conftest import PG_URL, _create_pg_database, _drop_pg_database

SU = ("root@example.com", "root-password-1")


@dataclass
class Console:
    client: httpx.AsyncClient
    engine: Engine

    async def sign_in(self, email: str = SU[0], password: str = SU[1], collection: str = "_superusers") -> str:
        r = await self.client.post(f"/api/collections/{collection}/auth-with-password",
                                   json={"identity": email, "password": password})
        assert r.status_code == 200, r.text
        return r.json()["token"]

    async def superusers(self) -> int:
        return int(await self.engine.db.fetchval('SELECT COUNT(*) FROM "_superusers"'))

    async def call(self, method: str, url: str, token: str = "", **kw: Any) -> httpx.Response:
        return await self.client.request(method, url, headers={"Authorization": token} if token else {}, **kw)


async def _console(tmp_path: Any, superuser: bool) -> AsyncIterator[Console]:
    url = await _create_pg_database() if PG_URL else f"sqlite:///{tmp_path / 'data.db'}"
    settings = Settings(data_dir=str(tmp_path), db_url=url)
    eng = Engine(settings)
    app = create_app(settings, eng)
    app.state.engine = eng  # ASGITransport sends no lifespan events: start the engine by hand
    await eng.start()
    try:
        if superuser:
            await upsert_superuser(eng, *SU)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            yield Console(client, eng)
    finally:
        await eng.stop()
        if PG_URL:
            await _drop_pg_database(url)


@pytest.fixture
async def fresh(tmp_path: Any) -> AsyncIterator[Console]:
    """A new install: no superuser yet."""
    async for c in _console(tmp_path, superuser=False):
        yield c


@pytest.fixture
async def console(tmp_path: Any) -> AsyncIterator[Console]:
    """An install with the superuser ``SU``."""
    async for c in _console(tmp_path, superuser=True):
        yield c
