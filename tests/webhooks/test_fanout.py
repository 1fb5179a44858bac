"""The fan-out from the event stream to deliveries, against the real app and database: ``oldRecord``
stays right when a batch is read again (a failed or lost fan-out), fanning an event out twice is a
no-op, and a ``webhooks`` consumer dropped from outside does not make events go missing."""

from __future__ import annotations

import json
from typing import Any

from baas.events.consumer import drop_consumer
from baas.webhooks import store
from baas.webhooks.dispatch import CONSUMER, Dispatcher
from tests.harness import app_for
from tests.webhooks.common import SECRET, deliveries, hook, project
from tests.webhooks.receiver import Receiver, await_until


async def _create(app: Any, **values: Any) -> dict[str, Any]:
    r = await app.client.post("/api/collections/orders/records", json=values, headers={"Authorization": app.su})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _update(app: Any, rid: str, **values: Any) -> None:
    r = await app.client.patch(f"/api/collections/orders/records/{rid}", json=values, headers={"Authorization": app.su})
    assert r.status_code == 200, r.text


def _totals(rows: list[dict[str, Any]]) -> list[tuple[int, int]]:
    bodies = [json.loads(r["payload"]) for r in rows]
    return [(b["record"]["total"], b["oldRecord"]["total"]) for b in bodies]


async def test_old_record_is_right_when_a_batch_is_read_again(tmp_path, monkeypatch):
    monkeypatch.setenv("BAAS_WEBHOOKS_ALLOW_PRIVATE", "1")
    with Receiver([SECRET]) as rx:
        async with app_for(tmp_path, project(tmp_path, hook("upd", rx.url, events="[orders.update]"))) as app:
            rec = await _create(app, title="x", total=5)
            await _update(app, rec["id"], total=6)
            await _update(app, rec["id"], total=7)
            await await_until(lambda: len(rx.snapshot()) >= 2, "the two updates delivered")
            probe = app.engine.events.consumer("probe-oldrecord", start="beginning")
            batch = [e for e in await probe.read(100) if e.action == "update"]
            assert len(batch) == 2
            dispatcher = Dispatcher(app.engine.webhooks)  # a fresh process's view of the stream
            assert _totals(await dispatcher._rows(batch)) == [(6, 5), (7, 6)]
            # The fan-out failed (or was lost to another process): the same batch is read again.
            assert _totals(await dispatcher._rows(batch)) == [(6, 5), (7, 6)]


async def test_fanning_an_event_out_twice_is_a_no_op(tmp_path, monkeypatch):
    monkeypatch.setenv("BAAS_WEBHOOKS_ALLOW_PRIVATE", "1")
    with Receiver([SECRET]) as rx:
        async with app_for(tmp_path, project(tmp_path, hook("all", rx.url))) as app:
            await _create(app, title="x", total=1)
            await await_until(lambda: rx.snapshot(), "the delivery")
            probe = app.engine.events.consumer("probe-twice", start="beginning")
            batch = [e for e in await probe.read(100) if e.action == "create"]
            rows = await app.engine.webhooks.dispatcher._rows(batch)
            assert len(rows) == 1
            # As after moving the consumer back: the CAS holds, the delivery already exists.
            pos = await app.engine.events.consumer(CONSUMER).position()
            assert await store.fan_out(app.engine.db, CONSUMER, pos, pos, rows)
            assert len(await deliveries(app.client, app.su, "all")) == 1


async def test_a_dropped_consumer_does_not_skip_events(tmp_path, monkeypatch):
    monkeypatch.setenv("BAAS_WEBHOOKS_ALLOW_PRIVATE", "1")
    with Receiver([SECRET]) as rx:
        async with app_for(tmp_path, project(tmp_path, hook("all", rx.url, events="[orders.create]"))) as app:
            await _create(app, title="first")
            await await_until(lambda: rx.snapshot(), "the first delivery")
            assert await drop_consumer(app.engine.db, CONSUMER)  # `baas events consumers --drop webhooks`
            await _create(app, title="second")
            got = await await_until(lambda: len(rx.snapshot()) >= 2 and rx.snapshot(), "the second delivery")
            assert [g.payload["record"]["title"] for g in got] == ["first", "second"]


async def test_a_collection_named_job_has_record_webhooks(tmp_path, monkeypatch):
    monkeypatch.setenv("BAAS_WEBHOOKS_ALLOW_PRIVATE", "1")
    with Receiver([SECRET]) as rx:
        path = tmp_path / "baas.yaml"
        path.write_text(
            "collections:\n  - name: job\n    fields:\n      - {name: title, type: text}\n"
            "webhooks:\n" + hook("jobs", rx.url, events="[job.create, job.failed]")
        )
        async with app_for(tmp_path, str(path)) as app:
            r = await app.client.post(
                "/api/collections/job/records", json={"title": "t"}, headers={"Authorization": app.su}
            )
            assert r.status_code == 200, r.text
            got = await await_until(lambda: rx.snapshot(), "the record delivery")
            assert got[0].payload["type"] == "job.create" and got[0].payload["record"]["title"] == "t"
