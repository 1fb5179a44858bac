"""Real processes on one database: events written through any server (granian workers on one
SQLite file, or nodes on one PostgreSQL) reach the bus of every other process; a server killed
with SIGKILL in the middle of a stream of writes loses no committed event, and durable consumers
(also killed) resume from their saved positions."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from baas.core import Engine
from baas.settings import Settings
from tests.events.procs import SU, Data, create_feed, kill, lines, superuser_token, wait_collection, wait_until
from tests.harness import PG_URL, Collector, drop_pg_database
from tests.pgpool import copy_template, superuser_template


@pytest.fixture
async def data(tmp_path: Path) -> AsyncIterator[Data]:
    # What `baas superuser upsert` leaves (a copy of it: the CLI's cold start costs seconds per test).
    copied = await copy_template(superuser_template(*SU), tmp_path / "data" / "data.db")
    url = copied if PG_URL else ""
    d = Data(tmp_path / "data", ["--db", url] if url else [])
    try:
        yield d
    finally:
        d.close()
        if url:
            await drop_pg_database(url)


def _settings(d: Data) -> Settings:
    return Settings(data_dir=str(d.dir), db_url=d.db_args[1] if d.db_args else "")


async def _event_rows(d: Data, after: int = 0) -> list[tuple]:
    eng = Engine(_settings(d))
    await eng.db.connect()
    try:
        return await eng.db.fetch(
            'SELECT "id", "record_id", "action" FROM "_events" WHERE "id" > ? ORDER BY "id"', [after]
        )
    finally:
        await eng.db.close()


async def test_every_process_sees_every_event(data: Data) -> None:
    # SQLite: one server with two granian workers plus a second server, all on one file.
    # PostgreSQL: two nodes on one database.
    _, a = data.serve("a", "--workers", "1" if PG_URL else "2")
    _, b = data.serve("b", "--workers", "1")
    create_feed(a, superuser_token(a))
    wait_collection(b)
    followers = [data.tail(f"follower{i}")[1] for i in range(2)]
    eng = Engine(_settings(data))  # this test process is one more subscriber
    await eng.start()
    try:
        await eng.events.sync()
        got = Collector()
        eng.events.listen(got)
        start = eng.events.last_id
        async with httpx.AsyncClient(timeout=30) as client:

            async def write(i: int) -> str:
                url = (a, b)[i % 2]
                r = await client.post(f"{url}/api/collections/feed/records", json={"n": i})
                assert r.status_code == 200, r.text
                rid = r.json()["id"]
                if i % 3 == 0:
                    r = await client.patch(f"{(b, a)[i % 2]}/api/collections/feed/records/{rid}", json={"n": -i})
                    assert r.status_code == 200, r.text
                if i % 5 == 0:
                    r = await client.delete(f"{url}/api/collections/feed/records/{rid}")
                    assert r.status_code == 204, r.text
                return rid

            await asyncio.gather(*(write(i) for i in range(40)))
        expected = await _event_rows(data, start)
        assert len(expected) == 40 + 14 + 8
        ids = [r[0] for r in expected]
        await got.wait_count(len(ids), timeout=30)
        for out in followers:
            wait_until(lambda out=out: len(lines(out)) >= len(ids), 30, f"{out.name}: {len(lines(out))}/{len(ids)}")
        await asyncio.sleep(0.3)  # nothing more, nothing twice
        seen = {"in-test": [e.id for e in got.events], **{o.name: [e["id"] for e in lines(o)] for o in followers}}
        for name, got_ids in seen.items():
            if PG_URL:  # concurrent nodes: ids may commit out of order; each still arrives exactly once
                assert sorted(got_ids) == ids, name
            else:
                assert got_ids == ids, name
        by_id = {e["id"]: e for e in lines(followers[0])}
        assert [(by_id[i]["record_id"], by_id[i]["action"]) for i in ids] == [(r[1], r[2]) for r in expected]
    finally:
        await eng.stop()


async def test_sigkill_mid_stream_loses_no_committed_event(data: Data) -> None:
    server, url = data.serve("server", "--workers", "1")
    create_feed(url, superuser_token(url))
    # Two durable consumers registered before the stream: "audit" runs now and then (a CLI
    # run each time), "live" follows the stream and is SIGKILLed too.
    registered = data.cli("events", "tail", "--consumer", "audit")  # a new consumer starts "now"
    start = int(registered.stderr.split("consumer audit at ")[1].split()[0])
    live, live_out = data.tail("live", "--consumer", "live", "--follow")
    ok: list[str] = []
    audit_runs: list[list[dict]] = []

    async def writer(client: httpx.AsyncClient, w: int) -> None:
        i = 0
        while True:
            try:
                r = await client.post(f"{url}/api/collections/feed/records", json={"n": w * 100000 + i})
            except httpx.HTTPError:
                return  # the server is gone
            assert r.status_code == 200, r.text
            ok.append(r.json()["id"])
            i += 1

    async def crash() -> None:
        while len(ok) < 60:
            await asyncio.sleep(0.005)
        run = await asyncio.to_thread(data.cli, "events", "tail", "--consumer", "audit")
        audit_runs.append([json.loads(x) for x in run.stdout.splitlines()])
        while len(ok) < 120:
            await asyncio.sleep(0.005)
        kill(live, signal.SIGKILL)  # the consumer dies mid-stream...
        while len(ok) < 200:
            await asyncio.sleep(0.005)
        kill(server, signal.SIGKILL)  # ...and then the server, with writes in flight

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(crash(), *(writer(client, w) for w in range(4)))
    server.wait(timeout=10)
    live.wait(timeout=10)
    assert audit_runs[0], "the first audit run saw nothing"

    # Every acknowledged write has its event; at most the in-flight ones (one per writer) more.
    rows = await _event_rows(data)
    created = [r[1] for r in rows if r[2] == "create"]
    assert len(created) == len(set(created))
    assert set(ok) <= set(created)
    assert len(set(created) - set(ok)) <= 4

    # After a restart the stream goes on, and the consumers resume from their saved positions.
    _, url = data.serve("restarted", "--workers", "1")
    async with httpx.AsyncClient(timeout=30) as client:
        for i in range(5):
            r = await client.post(f"{url}/api/collections/feed/records", json={"n": -1 - i})
            assert r.status_code == 200, r.text
    rows = await _event_rows(data, start)
    all_ids = [r[0] for r in rows]

    second = [json.loads(x) for x in data.cli("events", "tail", "--consumer", "audit").stdout.splitlines()]
    first_ids, second_ids = [e["id"] for e in audit_runs[0]], [e["id"] for e in second]
    assert first_ids + second_ids == all_ids  # each exactly once, in order, nothing lost

    before_kill = [e["id"] for e in lines(live_out)]
    assert before_kill == all_ids[: len(before_kill)]  # in order, a prefix of the stream
    position = int(
        next(
            line.split("\t")[1]
            for line in data.cli("events", "consumers").stdout.splitlines()
            if line.startswith("live\t")
        )
    )
    assert position <= (before_kill[-1] if before_kill else 0)  # saved only after printing
    resumed = [json.loads(x)["id"] for x in data.cli("events", "tail", "--consumer", "live").stdout.splitlines()]
    assert resumed == [i for i in all_ids if i > position]  # exactly the events after its position
    assert set(before_kill) | set(resumed) == set(all_ids)  # at-least-once: nothing missed
