"""The Engine as the one service hub: its services are its own attributes, the settings store
pushes changes to them, background work drains per engine. That nothing below the HTTP layer
imports it (not even inside a function) is checked with the other import rules in
tests/test_imports.py."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from baas.core import Engine
from baas.errors import BadRequest
from baas.settings import Settings
from baas.settings_store import DEFAULTS


@pytest.fixture
async def engine(tmp_path, db_url) -> AsyncIterator[Engine]:
    eng = Engine(Settings(data_dir=str(tmp_path / "data"), db_url=db_url))
    await eng.start()
    try:
        yield eng
    finally:
        await eng.stop()


def test_services_are_attributes_of_each_engine(tmp_path) -> None:
    """Two engines (tests build several; a server has one) share no service state."""
    a = Engine(Settings(data_dir=str(tmp_path / "a")))
    b = Engine(Settings(data_dir=str(tmp_path / "b")))
    for name in ("settings_store", "limiter", "files", "mailer", "throttle", "tasks", "realtime", "plugins"):
        assert getattr(a, name) is not getattr(b, name), name
    a.throttle.failed("c", "x@example.com")
    assert a.throttle._entries and not b.throttle._entries


ENABLED_LIMITS = {"rateLimits": {"enabled": True, "rules": [{"label": "/api/", "maxRequests": 2, "duration": 5}]}}


async def test_a_settings_change_reaches_the_limiter_and_storage_at_once(engine: Engine) -> None:
    storage = await engine.files.storage()
    assert not engine.limiter.enabled
    saved = await engine.settings_store.update(ENABLED_LIMITS)
    assert saved["rateLimits"]["enabled"] is True
    assert engine.limiter.enabled and [r.label for r in engine.limiter.rules] == ["/api/"]
    assert engine.settings_store.cached == saved
    # The storage re-reads its settings on next use (same local backend: same config).
    assert await engine.files.storage() is storage


@pytest.mark.parametrize(
    "patch, section",
    [
        ({"batch": {"maxRequests": 0}}, "batch"),
        ({"rateLimits": {"enabled": True, "rules": [{"label": "", "maxRequests": 1, "duration": 1}]}}, "rateLimits"),
        ({"s3": {"enabled": True}}, "s3"),
        ({"meta": "not an object"}, "meta"),
    ],
)
async def test_an_invalid_settings_change_saves_and_pushes_nothing(engine: Engine, patch, section) -> None:
    before = await engine.settings_store.load()
    with pytest.raises(BadRequest) as caught:
        await engine.settings_store.update(patch)
    assert section in caught.value.data
    assert await engine.settings_store.load() == before
    assert not engine.limiter.enabled


async def test_unknown_sections_are_not_stored(engine: Engine) -> None:
    saved = await engine.settings_store.update({"nope": {"a": 1}, "meta": {"appName": "Acme"}})
    assert "nope" not in saved and set(saved) == set(DEFAULTS)
    assert (await engine.settings_store.load())["meta"]["appName"] == "Acme"


async def test_task_group_drains_its_own_work_and_logs_failures(engine: Engine, caplog) -> None:
    gate = asyncio.Event()
    done: list[str] = []

    async def work(name: str) -> None:
        await gate.wait()
        done.append(name)

    async def boom() -> None:
        raise RuntimeError("secret detail")

    caplog.set_level(logging.WARNING, logger="baas")
    engine.tasks.spawn(work("a"), "first job")
    engine.tasks.spawn(boom(), "second job")
    assert len(engine.tasks) == 2
    gate.set()
    await engine.tasks.drain()
    assert done == ["a"] and len(engine.tasks) == 0
    assert "second job failed: RuntimeError" in caplog.text and "secret detail" not in caplog.text
