"""Durable consumers: saved positions, resume, at-least-once, and (PostgreSQL) never moving past
an id that may still commit."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from baas.events.consumer import drop_consumer, list_consumers
from tests.harness import PG_URL, create, start_engine


async def test_resume_from_the_saved_position(engine) -> None:
    ids = [await create(engine, {"n": i}) for i in range(5)]
    c = engine.events.consumer("mailer", start="beginning")
    first = await c.read(3)
    assert [e.record_id for e in first] == ids[:3]
    await c.commit()
    assert await c.position() == first[-1].id
    assert [e.record_id for e in await c.read(10)] == ids[3:]  # read, not committed
    # A new reader with the same name (a restarted process) starts at the saved position.
    again = engine.events.consumer("mailer")
    assert [e.record_id for e in await again.read(10)] == ids[3:]
    await again.commit()
    assert await engine.events.consumer("mailer").read(10) == []


async def test_new_consumer_starts_now_unless_asked(engine) -> None:
    await create(engine, {"n": 1})
    await create(engine, {"n": 2})
    now = engine.events.consumer("late")
    assert await now.read() == []
    later = await create(engine, {"n": 3})
    assert [e.record_id for e in await now.read()] == [later]
    everything = engine.events.consumer("archive", start="beginning")
    assert len(await everything.read()) == 3
    # An existing name keeps its position whatever ``start`` says.
    await now.commit()
    assert await engine.events.consumer("late", start="beginning").read() == []


async def test_batches_commit_after_the_body_and_redeliver_a_broken_batch(engine) -> None:
    ids = [await create(engine, {"n": i}) for i in range(7)]
    c = engine.events.consumer("hooks", start="beginning")
    seen = []
    async for batch in c.batches(limit=3, follow=False):
        seen.append([e.record_id for e in batch])
        if len(seen) == 2:
            break  # "crash" while processing the second batch
    assert seen == [ids[0:3], ids[3:6]]
    c3 = engine.events.consumer("hooks")
    assert [e.record_id for e in await c3.read(10)] == ids[3:]  # the broken batch comes again
    got = [e.record_id async for batch in engine.events.consumer("hooks").batches(follow=False) for e in batch]
    assert got == ids[3:]
    assert await engine.events.consumer("hooks").read() == []


async def test_following_consumer_wakes_on_events_from_another_engine(engine, tmp_path, db_url) -> None:
    other = await start_engine(tmp_path, db_url, "other")
    try:
        c = engine.events.consumer("follow")
        got: list[str] = []

        async def consume() -> None:
            async for batch in c.batches():
                got.extend(e.record_id for e in batch)
                if len(got) >= 3:
                    return

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.1)
        ids = [await create(other, {"n": i}) for i in range(3)]
        await asyncio.wait_for(task, 30)  # a bound against hanging
        assert got == ids
    finally:
        await other.stop()


async def test_commit_only_moves_forward_and_seek_replays(engine) -> None:
    ids = [await create(engine, {"n": i}) for i in range(3)]
    c = engine.events.consumer("x", start="beginning")
    events = await c.read()
    await c.commit(events[2].id)
    await c.commit(events[0].id)  # a stale commit: ignored
    assert await c.position() == events[2].id
    await c.seek(events[0].id)
    assert [e.record_id for e in await c.read()] == ids[1:]
    assert [n for n, _, _ in await list_consumers(engine.db)] == ["x"]
    assert await drop_consumer(engine.db, "x") and not await drop_consumer(engine.db, "x")
    assert await list_consumers(engine.db) == []


def test_consumer_names_and_starts_are_checked(engine) -> None:
    with pytest.raises(ValueError):
        engine.events.consumer("")
    with pytest.raises(ValueError):
        engine.events.consumer("a" * 101)
    with pytest.raises(ValueError):
        engine.events.consumer("ok", start="yesterday")


async def _settled(c: Any) -> list[str]:
    """The consumer's next non-empty read. A gap settles once the oldest transaction still running in
    the whole PostgreSQL cluster is past it, and other tests' transactions (parallel workers, other
    databases) count too: so wait for it, bounded, rather than assume it settles at once."""
    async with asyncio.timeout(30):
        while not (events := await c.read()):
            await asyncio.sleep(0.05)
    return [e.record_id for e in events]


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: ids can commit out of order there")
async def test_consumer_never_passes_an_id_still_being_committed(engine, db_url) -> None:
    coll = engine.registry.get("notes")
    insert = (
        'INSERT INTO "_events" ("collection_id", "collection", "record_id", "action", "record", "created") '
        "VALUES ($1, 'notes', $2, 'create', '{}', '2030-01-01 00:00:00.000Z') RETURNING id"
    )
    c = engine.events.consumer("strict", start="beginning")
    assert await c.read() == []
    early, late = await asyncpg.connect(db_url), await asyncpg.connect(db_url)
    try:
        t1 = early.transaction()
        await t1.start()
        await early.fetchval(insert, coll.id, "low")
        async with late.transaction():
            await late.fetchval(insert, coll.id, "high")
        assert await c.read() == []  # "high" waits: "low" may still commit
        await c.commit()
        await t1.commit()
        assert await _settled(c) == ["low", "high"]
        await c.commit()
        # A rolled-back id never fills: once its transaction is over, the consumer moves on.
        t2 = early.transaction()
        await t2.start()
        await early.fetchval(insert, coll.id, "never")
        async with late.transaction():
            await late.fetchval(insert, coll.id, "after")
        assert await c.read() == []
        await t2.rollback()
        assert await _settled(c) == ["after"]
        # Restarted after a crash: the saved position is below everything not yet read.
        resumed = engine.events.consumer("strict")
        assert await _settled(resumed) == ["after"]
    finally:
        await early.close()
        await late.close()
