"""SIGKILL ``baas serve`` while many concurrent creates and updates are in flight: after a restart
every acknowledged write is there with the acknowledged content (an in-flight one may or may not
be), each acknowledged create has its event row, and the SQLite file passes integrity_check."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import httpx
import pytest

from baas.core import Engine
from baas.settings import Settings
from tests.harness import Node, all_records, create_collection

pytestmark = pytest.mark.crash

WRITERS = 8


@dataclass
class Ledger:
    """What the clients were told: per record the acknowledged value, and any value in flight."""

    acked: dict[str, int] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)
    count: int = 0
    reached: asyncio.Event = field(default_factory=asyncio.Event)


async def _writer(client: httpx.AsyncClient, url: str, w: int, ledger: Ledger, kill_after: int) -> None:
    """Create a record, update it twice, repeat — until the server is gone."""
    i = 0
    try:
        while True:
            i += 1
            value = w * 1_000_000 + i * 10
            r = await client.post(f"{url}/api/collections/feed/records", json={"n": value, "text": f"w{w}-{i}"})
            assert r.status_code == 200, r.text
            rid = r.json()["id"]
            assert r.json()["n"] == value
            ledger.acked[rid] = value
            ledger.created.add(rid)
            _ack(ledger, kill_after)
            for step in (1, 2):
                ledger.pending[rid] = value + step
                r = await client.patch(f"{url}/api/collections/feed/records/{rid}", json={"n": value + step})
                assert r.status_code == 200, r.text
                assert r.json()["n"] == value + step
                ledger.acked[rid] = value + step
                del ledger.pending[rid]
                _ack(ledger, kill_after)
    except httpx.TransportError:
        return  # the server died under this request: it is in `pending` (or was a create never acked)


def _ack(ledger: Ledger, kill_after: int) -> None:
    ledger.count += 1
    if ledger.count >= kill_after:
        ledger.reached.set()


async def _event_record_ids(node: Node) -> set[str]:
    eng = Engine(Settings(data_dir=str(node.data.dir), db_url=node.data.db_args[1] if node.data.db_args else ""))
    await eng.db.connect()
    try:
        rows = await eng.db.fetch('SELECT "record_id" FROM "_events" WHERE "action" = ?', ["create"])
        return {r[0] for r in rows}
    finally:
        await eng.db.close()


KILL_POINTS = (1, 10, 50)


async def test_acknowledged_writes_survive_sigkill(node: Node) -> None:
    """Kill after 1, then 10, then 50 acknowledged writes, restarting on the same data each time;
    the ledger accumulates, so earlier rounds' writes must survive the later kills too."""
    url = node.start()
    create_collection(url, node.token(), "feed", [{"name": "n", "type": "number"}, {"name": "text", "type": "text"}])
    ledger = Ledger()
    for round_, kill_after in enumerate(KILL_POINTS):
        ledger.count, ledger.reached = 0, asyncio.Event()
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=WRITERS)) as client:
            tasks = [
                asyncio.create_task(_writer(client, url, round_ * WRITERS + w, ledger, kill_after))
                for w in range(WRITERS)
            ]
            done, _ = await asyncio.wait(
                [asyncio.create_task(ledger.reached.wait()), *tasks], return_when=asyncio.FIRST_COMPLETED
            )
            for t in done:
                if t in tasks:
                    t.result()  # a writer that stopped before the kill failed: show why
            node.sigkill()  # the writers carry on at once, so writes are in flight
            await asyncio.gather(*tasks)
        assert ledger.count >= kill_after
        node.integrity()

        url = node.start()
        stored = {rec["id"]: rec["n"] for rec in all_records(url, "feed")}
        for rid, value in ledger.acked.items():
            assert rid in stored, f"round {round_}: acknowledged record {rid} lost"
            allowed = {value, ledger.pending.get(rid, value)}
            assert stored[rid] in allowed, f"record {rid}: acknowledged n={value}, stored {stored[rid]}"
            ledger.acked[rid] = stored[rid]  # an in-flight update that landed is now the value
        ledger.pending.clear()
        assert ledger.created <= await _event_record_ids(node), "an acknowledged create has no event row"
    r = httpx.post(f"{url}/api/collections/feed/records", json={"n": 1}, timeout=30)
    assert r.status_code == 200, r.text  # the restarted server takes writes again
    node.integrity()
