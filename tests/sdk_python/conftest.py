"""The live servers of the Python SDK tests: one ``baas serve`` and one PocketBase 0.40.6 per test
process, shared by every module here (a server start is the expensive part of these tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.sdk_python.kit import KINDS, Backend, backend


@pytest.fixture(scope="session", params=KINDS)
async def srv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Backend]:
    """A live server with the ``posts`` and ``vault`` collections (``srv.kind``: baas or pocketbase)."""
    async with backend(request.param, tmp_path_factory.mktemp(request.param)) as b:
        yield b
