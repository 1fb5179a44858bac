"""Schema fixtures: an engine on the backend under test, and the HTTP app over it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from baas.app import create_app
from baas.auth.superusers import upsert_superuser
from baas.core import Engine
from baas.settings import Settings

os.environ["BAAS_FAST_HASH"] = "1"

SU_EMAIL, SU_PASS = "root@example.com", "root-password-1"


@pytest.fixture
async def engine(tmp_path, db_url) -> AsyncIterator[Engine]:
    eng = Engine(Settings(data_dir=str(tmp_path), db_url=db_url))
    await eng.start()
    yield eng
    await eng.stop()


class Http:
    """An httpx client on the app, signed in as a superuser (``su=True``) or not."""

    def __init__(self, client: httpx.AsyncClient, engine: Engine, token: str) -> None:
        self.client, self.engine, self.token = client, engine, token

    async def call(self, method: str, url: str, su: bool = False, **kw: Any) -> httpx.Response:
        headers = {"Authorization": self.token} if su else {}
        return await self.client.request(method, url, headers=headers, **kw)


@pytest.fixture
async def http(tmp_path, db_url) -> AsyncIterator[Http]:
    settings = Settings(data_dir=str(tmp_path), db_url=db_url)
    eng = Engine(settings)
    app = create_app(settings, eng)
    app.state.engine = eng
    await eng.start()  # ASGITransport sends no lifespan events
    try:
        await upsert_superuser(eng, SU_EMAIL, SU_PASS)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            r = await client.post("/api/collections/_superusers/auth-with-password",
                                  json={"identity": SU_EMAIL, "password": SU_PASS})
            assert r.status_code == 200, r.text
            yield Http(client, eng, r.json()["token"])
    finally:
        await eng.stop()
