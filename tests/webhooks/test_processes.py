"""Webhooks under real ``baas serve`` processes: 1,000 record writes → 1,000 deliveries (two
workers claiming), none lost, each record's events in order; and a server SIGKILLed in the middle
of delivering, then restarted → every event delivered, duplicates carrying the same webhook-id.
Every wait polls for a condition (bounded tries); nothing asserts a duration."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.harness import PG_URL, create_pg_database, drop_pg_database
from tests.servers import baas_cmd, free_port
from tests.webhooks.common import SECRET, hook, project
from tests.webhooks.receiver import Received, Receiver, wait_until

SU = ("root@example.com", "root-password-1")


@dataclass
class Cluster:
    """One data dir and database; ``baas serve`` processes in their own process groups."""

    tmp: Path
    db_args: list[str]
    env: dict[str, str]
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.tmp / "data"

    def cli(self, *args: str) -> None:
        subprocess.run(
            baas_cmd(*args, "--dir", str(self.data), *self.db_args),
            env=self.env,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def serve(self, name: str, schema: str, *args: str) -> tuple[subprocess.Popen, str]:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = self.tmp / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                baas_cmd(
                    "serve", "--http", f"127.0.0.1:{port}", "--dir", str(self.data), *self.db_args, "--schema", schema
                )
                + list(args),
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append(proc)

        def healthy() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
            try:
                return httpx.get(f"{url}/api/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, f"{name} to start", tries=1200)
        return proc, url

    def kill(self, proc: subprocess.Popen, sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)  # the server and its granian workers
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)


@asynccontextmanager
async def cluster(tmp_path: Path, **env: str) -> AsyncIterator[Cluster]:
    db_url = await create_pg_database() if PG_URL else ""
    c = Cluster(
        tmp_path,
        ["--db", db_url] if db_url else [],
        {
            **os.environ,
            "BAAS_FAST_HASH": "1",
            "BAAS_SECRET": "shared-secret-for-the-webhook-tests-0123456789",
            "BAAS_WEBHOOKS_ALLOW_PRIVATE": "1",
            **env,
        },
    )
    try:
        c.cli("superuser", "upsert", *SU)
        yield c
    finally:
        for proc in c.procs:
            if proc.poll() is None:
                c.kill(proc, signal.SIGTERM)
        if db_url:
            await drop_pg_database(db_url)


def token(url: str) -> str:
    r = httpx.post(
        f"{url}/api/collections/_superusers/auth-with-password", json={"identity": SU[0], "password": SU[1]}, timeout=30
    )
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


async def write_records(url: str, records: int, updates: int, start: int = 0) -> list[str]:
    """``records`` creates, each followed by ``updates`` updates of ``n`` (one chain per record,
    chains concurrently): ``records * (1 + updates)`` writes, all answered 200."""
    auth = {"Authorization": token(url)}
    ids: list[str] = []
    gate = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=url, headers=auth, timeout=60) as client:

        async def chain(i: int) -> None:
            async with gate:
                r = await client.post("/api/collections/orders/records", json={"title": f"r{start + i}", "n": 0})
                assert r.status_code == 200, r.text
                rid = r.json()["id"]
                ids.append(rid)
                for n in range(1, updates + 1):
                    r = await client.patch(f"/api/collections/orders/records/{rid}", json={"n": n})
                    assert r.status_code == 200, r.text

        await asyncio.gather(*(chain(i) for i in range(records)))
    return ids


def first_arrivals(got: list[Received]) -> list[Received]:
    """Each webhook-id's first arrival, in arrival order (at-least-once: retries may repeat one)."""
    seen: set[str] = set()
    out = []
    for g in got:
        if g.msg_id not in seen:
            seen.add(g.msg_id)
            out.append(g)
    return out


def check_order_and_ids(got: list[Received], ids: list[str], updates: int) -> None:
    assert all(g.verified == [True] for g in got), "a signature did not verify"
    firsts = first_arrivals(got)
    assert len(firsts) == len(ids) * (1 + updates), len(firsts)
    per_record: dict[str, list[int]] = defaultdict(list)
    for g in firsts:
        per_record[g.payload["record"]["id"]].append(int(g.payload["record"]["n"]))
    assert set(per_record) == set(ids)
    wrong = {r: ns for r, ns in per_record.items() if ns != list(range(updates + 1))}
    assert not wrong, f"out of order: {list(wrong.items())[:5]}"
    msg_of_event: dict[str, set[str]] = defaultdict(set)
    for g in got:
        msg_of_event[g.payload["id"]].add(g.msg_id)
    assert all(len(m) == 1 for m in msg_of_event.values()), "an event was sent under two webhook-ids"


async def test_a_thousand_writes_give_a_thousand_ordered_deliveries_with_two_workers(tmp_path):
    with Receiver([SECRET]) as rx:
        schema = project(tmp_path, hook("all", rx.url, events="[orders.create, orders.update]"))
        async with cluster(tmp_path) as c:
            _, url = c.serve("serve", schema, "--workers", "2")
            ids = await write_records(url, 250, 3)
            wait_until(lambda: len(first_arrivals(rx.snapshot())) >= 1000, "1,000 deliveries", tries=3000)
            check_order_and_ids(rx.snapshot(), ids, 3)


@pytest.mark.crash
async def test_a_server_killed_mid_delivery_delivers_everything_after_restart(tmp_path):
    def slow(n: int, r: Received) -> tuple[int, dict[str, str], bytes]:
        time.sleep(0.02)  # keeps deliveries in flight when the kill comes
        return 204, {}, b""

    with Receiver([SECRET], answer=slow) as rx:
        schema = project(tmp_path, hook("all", rx.url, events="[orders.create, orders.update]", timeout=2))
        async with cluster(tmp_path, BAAS_WEBHOOKS_LEASE="1", BAAS_WEBHOOKS_BACKOFF="0.1") as c:
            proc, url = c.serve("first", schema, "--workers", "1")
            ids = await write_records(url, 150, 1)
            wait_until(lambda: len(rx.snapshot()) >= 40, "deliveries to be under way")
            c.kill(proc, signal.SIGKILL)
            before = len(first_arrivals(rx.snapshot()))
            assert before < 300, "everything was delivered before the kill: nothing was tested"
            _, url = c.serve("second", schema, "--workers", "1")
            more = await write_records(url, 10, 1, start=150)
            wait_until(lambda: len(first_arrivals(rx.snapshot())) >= 320, "every event delivered", tries=3000)
            check_order_and_ids(rx.snapshot(), ids + more, 1)
