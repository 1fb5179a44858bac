"""An in-process app (httpx over ASGI) on a fresh database, with or without a superuser; the
browser tests start a real ``baas serve`` instead (tests/servers.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from baas.auth.superusers import upsert_superuser
from tests.harness import SU, Console, in_process


async def _console(tmp_path: Path, superuser: bool) -> AsyncIterator[Console]:
    async with in_process(tmp_path) as (client, eng):
        if superuser:
            await upsert_superuser(eng, *SU)
        yield Console(client, eng)


@pytest.fixture
async def fresh(tmp_path: Path) -> AsyncIterator[Console]:
    """A new install: no superuser yet."""
    async for c in _console(tmp_path, superuser=False):
        yield c


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    """An install with the superuser ``SU``."""
    async for c in _console(tmp_path, superuser=True):
        yield c
