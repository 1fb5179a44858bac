"""Fixtures for the event stream: an engine with a small schema, and the API app (tests/api)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from baas.core import Engine
from baas.events import Event
from baas.records.write import create_record, delete_record, update_record
from baas.schema.loader import load_schema_text
from baas.settings import Settings
from tests.api.conftest import Api, api  # noqa: F401  (the in-process app fixture)

SCHEMA = """
collections:
  - name: notes
    listRule: ""
    viewRule: ""
    createRule: ""
    updateRule: ""
    deleteRule: ""
    fields:
      - {name: n, type: number}
      - {name: text, type: text}
"""


async def start_engine(tmp_path: Any, db_url: str, name: str = "eng") -> Engine:
    eng = Engine(Settings(data_dir=str(tmp_path / name), db_url=db_url))
    await eng.start()
    return eng


@pytest.fixture
async def engine(tmp_path, db_url) -> AsyncIterator[Engine]:
    """A started engine with a ``notes`` collection."""
    eng = await start_engine(tmp_path, db_url)
    await eng.apply(lambda: [*eng.registry.all(), *load_schema_text(SCHEMA).collections])
    yield eng
    await eng.stop()


async def create(eng: Engine, body: dict[str, Any], coll: str = "notes") -> str:
    c = eng.registry.get(coll)
    return await eng.db.write(lambda conn: create_record(conn, eng.reader(), c, body))


async def update(eng: Engine, record_id: str, body: dict[str, Any], coll: str = "notes") -> None:
    c = eng.registry.get(coll)
    await eng.db.write(lambda conn: update_record(conn, eng.reader(), c, record_id, body))


async def delete(eng: Engine, record_id: str, coll: str = "notes") -> None:
    c = eng.registry.get(coll)
    await eng.db.write(lambda conn: delete_record(conn, eng.reader(), c, record_id))


class Collector:
    """A bus listener that keeps what it got."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.batches = 0
        self._changed = asyncio.Event()

    def __call__(self, events: list[Event]) -> None:
        self.batches += 1
        self.events.extend(events)
        self._changed.set()

    async def wait_for(self, pred: Callable[[list[Event]], bool], timeout: float = 30.0) -> list[Event]:
        async with asyncio.timeout(timeout):
            while not pred(self.events):
                self._changed.clear()
                await self._changed.wait()
        return self.events

    async def wait_count(self, n: int, timeout: float = 30.0) -> list[Event]:
        return await self.wait_for(lambda evs: len(evs) >= n, timeout)


async def all_events(eng: Engine) -> list[tuple]:
    return await eng.db.fetch('SELECT "id", "collection", "record_id", "action" FROM "_events" ORDER BY "id"')
