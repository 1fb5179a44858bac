"""PostgreSQL: an event id whose transaction holds the *newest* transaction id.

A snapshot's ``xmax`` is one past the newest transaction that has ended, not the next one to be
assigned: a transaction whose id is newer than every ended one shows up nowhere in a snapshot
(``xmin == xmax`` with it still running). Taking its event id, then seeing a higher id commit,
must still hold readers back (durable consumers) or deliver it late (the bus), never skip it.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from baas.events import consumer as consumer_module
from tests.harness import PG_URL, Collector

pytestmark = pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: ids can commit out of order there")

INSERT = (
    'INSERT INTO "_events" ("collection_id", "collection", "record_id", "action", "record", "created") '
    "VALUES ($1, 'notes', $2, 'create', '{}', '2030-01-01 00:00:00.000Z') RETURNING id"
)


async def _out_of_order(db_url: str, coll_id: str) -> tuple[asyncpg.Connection, asyncpg.transaction.Transaction]:
    """A committed "high" event above a running "low" one whose transaction id is the newest."""
    older, newer = await asyncpg.connect(db_url), await asyncpg.connect(db_url)
    t_old = older.transaction()
    await t_old.start()
    await older.fetchval("SELECT txid_current()")  # the older transaction id (as a record row would take)
    t_new = newer.transaction()
    await t_new.start()
    low = await newer.fetchval(INSERT, coll_id, "low")  # the newest transaction id, the lower event id
    high = await older.fetchval(INSERT, coll_id, "high")
    await t_old.commit()
    await older.close()
    assert high > low
    return newer, t_new


async def test_consumer_waits_for_the_newest_transaction(engine, db_url) -> None:
    c = engine.events.consumer("strict", start="beginning")
    assert await c.read() == []
    conn, running = await _out_of_order(db_url, engine.registry.get("notes").id)
    try:
        assert await c.read() == []  # "low" may still commit
        assert await c.read() == []  # ...and still may, whatever the snapshot's xmin says
        await running.commit()
        async with asyncio.timeout(30):
            while not (events := await c.read()):
                await asyncio.sleep(0.05)
        assert [e.record_id for e in events] == ["low", "high"]
    finally:
        await conn.close()


async def test_bus_delivers_the_newest_transactions_event_late(engine, db_url) -> None:
    await engine.events.sync()
    got = Collector()
    engine.events.listen(got)
    conn, running = await _out_of_order(db_url, engine.registry.get("notes").id)
    try:
        engine.events.poke()
        await got.wait_count(1)  # "high" goes out once held long enough
        await running.commit()
        engine.events.poke()
        await got.wait_count(2)  # "low" follows late: never skipped
        assert sorted(e.record_id for e in got.events) == ["high", "low"]
        assert len({e.id for e in got.events}) == 2
    finally:
        await conn.close()


async def test_a_failed_fence_loses_no_event(engine, db_url, monkeypatch) -> None:
    """The cursor has moved past what a read returns before the gap it found is fenced: a fence
    that fails (a dropped connection) must still return those events and fence the gap later."""
    c = engine.events.consumer("strict", start="beginning")
    coll_id = engine.registry.get("notes").id
    first = await asyncpg.connect(db_url)
    await first.fetchval(INSERT, coll_id, "first")  # committed, below the gap
    await first.close()
    conn, running = await _out_of_order(db_url, coll_id)
    real = consumer_module.xid_fence

    async def broken(db: object) -> int:
        raise ConnectionError("connection reset while fencing")

    try:
        monkeypatch.setattr(consumer_module, "xid_fence", broken)
        assert [e.record_id for e in await c.read()] == ["first"]  # returned, not lost with the error
        monkeypatch.setattr(consumer_module, "xid_fence", real)
        assert await c.read() == []  # "low" may still commit: the gap is now fenced and waited on
        await running.commit()
        async with asyncio.timeout(30):
            while not (events := await c.read()):
                await asyncio.sleep(0.05)
        assert [e.record_id for e in events] == ["low", "high"]
    finally:
        await conn.close()
