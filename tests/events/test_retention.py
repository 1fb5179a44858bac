"""Retention: events past ``events.retentionDays`` are pruned in batches, never past what a live
durable consumer has read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from baas.events import retention
from baas.ids import format_dt
from tests.harness import all_events, create

NOW = datetime.now(UTC)


async def _age(eng, ids: list[int], days: float) -> None:
    when = format_dt(NOW - timedelta(days=days))
    for i in ids:
        await eng.db.write(lambda c, i=i: c.execute('UPDATE "_events" SET "created" = ? WHERE "id" = ?', [when, i]))


async def _settings(eng, events: dict) -> None:
    value = json.dumps({"events": events})
    await eng.db.write(
        lambda c: c.execute(
            'INSERT INTO "_params" ("id", "value", "updated") VALUES (?, ?, ?)', ["settings", value, ""]
        )
    )


async def _seed(eng, n: int, old: int) -> list[int]:
    for i in range(n):
        await create(eng, {"n": i})
    ids = [r[0] for r in await all_events(eng)]
    await _age(eng, ids[:old], 10)
    return ids


async def test_prune_stops_at_the_slowest_live_consumer(engine) -> None:
    ids = await _seed(engine, 6, old=4)
    slow, fast = engine.events.consumer("slow", start="beginning"), engine.events.consumer("fast", start="beginning")
    await slow.commit(ids[1])
    await fast.commit(ids[5])
    assert await engine.events.prune() == 2
    assert [r[0] for r in await all_events(engine)] == ids[2:]  # old but unread by "slow": kept
    await slow.commit(ids[5])
    assert await engine.events.prune() == 2
    assert [r[0] for r in await all_events(engine)] == ids[4:]  # young: kept
    assert await engine.events.prune() == 0


async def test_without_consumers_everything_past_retention_goes_in_batches(engine, monkeypatch) -> None:
    monkeypatch.setattr(retention, "BATCH", 3)
    ids = await _seed(engine, 10, old=8)
    assert await retention.prune(engine.db, pause=0) == 8
    assert [r[0] for r in await all_events(engine)] == ids[8:]


async def test_stale_consumers_stop_holding_back(engine) -> None:
    ids = await _seed(engine, 4, old=4)
    c = engine.events.consumer("abandoned", start="beginning")
    await c.commit(ids[0])
    long_ago = format_dt(NOW - timedelta(days=40))
    await engine.db.write(lambda conn: conn.execute('UPDATE "_event_consumers" SET "updated" = ?', [long_ago]))
    await _settings(engine, {"staleConsumerDays": 0})  # consumers hold forever
    assert await engine.events.prune() == 1
    await engine.db.write(lambda conn: conn.execute('DELETE FROM "_params" WHERE "id" = ?', ["settings"]))
    assert await engine.events.prune() == 3  # default: 30 days without a sign of life is abandoned
    assert await all_events(engine) == []


async def test_retention_zero_keeps_everything(engine) -> None:
    await _seed(engine, 3, old=3)
    await _settings(engine, {"retentionDays": 0})
    assert await engine.events.prune() == 0
    assert len(await all_events(engine)) == 3


async def test_retention_days_counts(engine) -> None:
    ids = await _seed(engine, 3, old=0)
    await _age(engine, ids[:1], 3)
    await _age(engine, ids[1:2], 1)
    await _settings(engine, {"retentionDays": 2})
    assert await engine.events.prune() == 1
    assert [r[0] for r in await all_events(engine)] == ids[1:]


async def test_settings_refuse_bad_retention(api) -> None:
    for key in ("retentionDays", "staleConsumerDays"):
        for value in (-1, 1.5, "7", True, None, 40000):
            r = await api.call("PATCH", "/api/settings", "su", json={"events": {key: value}})
            assert r.status_code == 400, (key, value, r.text)
            assert r.json()["data"]["events"][key]["code"] == "validation_invalid_value", (key, value)
    r = await api.call("PATCH", "/api/settings", "su", json={"events": "forever"})
    assert r.status_code == 400 and "events" in r.json()["data"], r.text
    r = await api.call("GET", "/api/settings", "su")
    assert r.json()["events"] == {"retentionDays": 7, "staleConsumerDays": 30}  # nothing half-written


async def test_settings_set_retention(api) -> None:
    r = await api.call("PATCH", "/api/settings", "su", json={"events": {"retentionDays": 3, "staleConsumerDays": 0}})
    assert r.status_code == 200, r.text
    assert r.json()["events"] == {"retentionDays": 3, "staleConsumerDays": 0}
    assert await retention.load(api.engine.db) == {"retentionDays": 3, "staleConsumerDays": 0}
