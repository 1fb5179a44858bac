"""The in-process side of the event bus: every committed write reaches every listener once, in
order; engines on the same database (as separate processes would be) see each other's events."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tests.harness import PG_URL, Collector, all_events, create, delete, start_engine, update

# An event row written straight to the table, so a test can hold its transaction open (an id in flight).
INSERT_EVENT = (
    'INSERT INTO "_events" ("collection_id", "collection", "record_id", "action", "record", "created") '
    "VALUES ($1, 'notes', $2, 'create', '{}', '2030-01-01 00:00:00.000Z') RETURNING id"
)


async def test_creates_updates_deletes_arrive_once_in_order(engine) -> None:
    got = Collector()
    engine.events.listen(got)
    a = await create(engine, {"n": 1, "text": "one"})
    b = await create(engine, {"n": 2})
    await update(engine, a, {"n": 10})
    await delete(engine, b)
    events = await got.wait_count(4)
    assert [(e.action, e.record_id) for e in events] == [("create", a), ("create", b), ("update", a), ("delete", b)]
    assert [e.id for e in events] == sorted({e.id for e in events})
    assert events[0].record["text"] == "one" and events[2].record["n"] == 10
    assert events[0].collection == "notes" and events[0].record["collectionName"] == "notes"
    assert events[0].collection_id == engine.registry.get("notes").id
    stored = [r[0] for r in await all_events(engine)]
    assert [e.id for e in events] == stored[-4:]


async def test_concurrent_writes_each_delivered_once(engine) -> None:
    engine.events._cursor.max_hold = 10.0  # PostgreSQL: strict id order even on a busy test machine
    got = Collector()
    engine.events.listen(got)
    ids = await asyncio.gather(*(create(engine, {"n": i}) for i in range(60)))
    events = await got.wait_count(60)
    await asyncio.sleep(0.1)  # nothing more may come
    assert len(got.events) == 60
    assert sorted(e.record_id for e in events) == sorted(ids)
    assert [e.id for e in events] == sorted(e.id for e in events)


async def test_listeners_start_now_and_unsubscribe(engine) -> None:
    await create(engine, {"n": 1})
    await engine.events.sync()
    got, other = Collector(), Collector()
    unsubscribe = engine.events.listen(got)
    engine.events.listen(other)
    second = await create(engine, {"n": 2})
    assert [e.record_id for e in await got.wait_count(1)] == [second]
    unsubscribe()
    third = await create(engine, {"n": 3})
    await other.wait_count(2)
    assert [e.record_id for e in other.events] == [second, third]
    assert [e.record_id for e in got.events] == [second]


async def test_a_failing_listener_neither_stops_the_bus_nor_loses_its_subscription(engine) -> None:
    calls: list[int] = []

    async def broken(events) -> None:
        calls.append(len(events))
        raise RuntimeError("listener bug")

    got = Collector()
    engine.events.listen(broken)
    engine.events.listen(got)
    await create(engine, {"n": 1})
    await got.wait_count(1)
    await create(engine, {"n": 2})
    await got.wait_count(2)
    assert sum(calls) == 2


async def test_secrets_never_in_events(engine) -> None:
    got = Collector()
    engine.events.listen(got)
    await create(
        engine, {"email": "ev@example.com", "password": "password-123", "passwordConfirm": "password-123"}, coll="users"
    )
    (event,) = await got.wait_count(1)
    assert event.collection == "users" and event.record["email"] == "ev@example.com"
    assert "password" not in event.record and "tokenKey" not in event.record


async def test_another_engine_on_the_same_database_sees_every_event(engine, tmp_path, db_url) -> None:
    """Two engines, each with its own connections and bus (what two processes would have)."""
    other = await start_engine(tmp_path, db_url, "other")
    try:
        mine, theirs = Collector(), Collector()
        engine.events.listen(mine)
        other.events.listen(theirs)
        ids = []
        for i in range(20):
            ids.append(await create(engine if i % 2 else other, {"n": i}, "notes"))
        await mine.wait_count(20)
        await theirs.wait_count(20)
        await asyncio.sleep(0.1)
        for got in (mine, theirs):
            assert [e.record_id for e in got.events] == ids  # one writer at a time here: id order = write order
    finally:
        await other.stop()


async def test_api_batch_and_cascade_events(api) -> None:
    await api.engine.events.sync()  # the fixture's own writes (users) are behind us
    got = Collector()
    api.engine.events.listen(got)
    r = await api.call("PATCH", "/api/settings", "su", json={"batch": {"enabled": True}})
    assert r.status_code == 200, r.text
    r = await api.call(
        "POST",
        "/api/collections/posts/records",
        "alice",
        json={"title": "hello", "author": api.users["alice"], "published": True},
    )
    assert r.status_code == 200, r.text
    post = r.json()["id"]
    r = await api.call(
        "POST",
        "/api/batch",
        "su",
        json={
            "requests": [
                {"method": "POST", "url": "/api/collections/comments/records", "body": {"post": post, "message": m}}
                for m in ("a", "b", "c")
            ]
        },
    )
    assert r.status_code == 200, r.text
    comments = [item["body"]["id"] for item in r.json()]
    r = await api.call("DELETE", f"/api/collections/posts/records/{post}", "alice")
    assert r.status_code == 204, r.text
    events = await got.wait_count(8)
    assert [(e.collection, e.action, e.record_id) for e in events[:4]] == [
        ("posts", "create", post),
        *[("comments", "create", c) for c in comments],
    ]
    assert (events[7].collection, events[7].action, events[7].record_id) == ("posts", "delete", post)
    assert sorted(e.record_id for e in events[4:7]) == sorted(comments)
    assert {(e.collection, e.action) for e in events[4:7]} == {("comments", "delete")}


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: ids can commit out of order there")
async def test_out_of_order_commits_are_delivered_late_not_skipped(engine, db_url) -> None:
    got = Collector()
    engine.events.listen(got)
    coll = engine.registry.get("notes")
    early, late = await asyncpg.connect(db_url), await asyncpg.connect(db_url)
    try:
        t1 = early.transaction()
        await t1.start()
        low = await early.fetchval(INSERT_EVENT, coll.id, "low")  # takes the lower id, commits last
        async with late.transaction():
            high = await late.fetchval(INSERT_EVENT, coll.id, "high")
        assert high > low
        engine.events.poke()
        await got.wait_count(1)
        await asyncio.sleep(0.1)
        assert [e.record_id for e in got.events] == ["high"]
        await t1.commit()
        engine.events.poke()
        await got.wait_count(2)
        # A rolled-back id is a gap that never fills: it is dropped, the next event still comes.
        t3 = early.transaction()
        await t3.start()
        await early.fetchval(INSERT_EVENT, coll.id, "never")
        async with late.transaction():
            await late.fetchval(INSERT_EVENT, coll.id, "after")
        await t3.rollback()
        engine.events.poke()
        await got.wait_count(3)
        await create(engine, {"n": 1})
        await got.wait_count(4)
        await asyncio.sleep(0.1)
        assert [e.record_id for e in got.events][:3] == ["high", "low", "after"]
        assert len(got.events) == 4 and len({e.id for e in got.events}) == 4
        # The rolled-back id settles once the oldest transaction running in the whole cluster is past
        # its fence (other tests' transactions count): wait for it, bounded, instead of assuming it has.
        async with asyncio.timeout(30):
            while engine.events._cursor.gaps:
                engine.events.poke()
                await asyncio.sleep(0.05)
        assert not engine.events._cursor.gaps  # the rolled-back id is settled
    finally:
        await early.close()
        await late.close()


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: ids can commit out of order there")
async def test_sync_returns_after_events_held_behind_a_gap_went_out(engine, db_url) -> None:
    """``sync()`` promises every event committed before the call has been delivered: one held back
    behind a lower id still in flight counts too (realtime applies a subscription after a sync;
    before, such an event reached the new subscriber)."""
    got = Collector()
    engine.events.listen(got)
    coll = engine.registry.get("notes")
    early, late = await asyncpg.connect(db_url), await asyncpg.connect(db_url)
    try:
        open_tx = early.transaction()
        await open_tx.start()
        await early.fetchval(INSERT_EVENT, coll.id, "in flight")  # the lower id, left uncommitted
        async with late.transaction():
            await late.fetchval(INSERT_EVENT, coll.id, "committed")
        await engine.events.sync()
        assert [e.record_id for e in got.events] == ["committed"]
        await open_tx.rollback()
    finally:
        await early.close()
        await late.close()
