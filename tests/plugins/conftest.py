"""Helpers for plugin tests: an in-process app for a project file, an installed test distribution."""

from __future__ import annotations

import os
import textwrap
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from baas.app import create_app
from baas.auth.superusers import upsert_superuser
from baas.core import Engine
from baas.settings import Settings
from tests.conftest import PG_URL, _create_pg_database, _drop_pg_database

os.environ["BAAS_FAST_HASH"] = "1"
SU_EMAIL, SU_PASS = "root@example.com", "root-password-1"


@dataclass
class Running:
    client: httpx.AsyncClient
    engine: Engine
    su: str  # a superuser token


@asynccontextmanager
async def app_for(tmp_path: Path, project_file: str = "") -> AsyncIterator[Running]:
    """The real app (plugins loaded as ``baas serve`` loads them) on a fresh database, in-process."""
    url = await _create_pg_database() if PG_URL else f"sqlite:///{tmp_path / 'data.db'}"
    settings = Settings(data_dir=str(tmp_path / "data"), db_url=url, schema_file=project_file)
    eng = Engine(settings)
    app = create_app(settings, eng)
    await eng.start()  # ASGITransport sends no lifespan events
    try:
        await upsert_superuser(eng, SU_EMAIL, SU_PASS)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            r = await c.post("/api/collections/_superusers/auth-with-password",
                             json={"identity": SU_EMAIL, "password": SU_PASS})
            assert r.status_code == 200, r.text
            yield Running(c, eng, r.json()["token"])
    finally:
        await eng.stop()
        if PG_URL:
            await _drop_pg_database(url)


def unique(prefix: str) -> str:
    """A module name no other test uses (modules stay imported for the whole test process)."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def install_dist(site: Path, module: str, source: str, ep_name: str, value: str | None = None) -> None:
    """An installed distribution in ``site``, laid out as pip installs one (module + ``.dist-info``
    with ``entry_points.txt``): put ``site`` on ``sys.path``/``PYTHONPATH`` and importlib finds it."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[baas.plugins]\n{ep_name} = {value or module}\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory on ``sys.path`` for test distributions and modules."""
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    return path
