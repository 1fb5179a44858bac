"""SIGKILL ``baas serve`` while batch requests are in flight: after a restart each batch is all
or nothing, and every acknowledged batch is complete."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from tests.harness import Node, all_records, create_collection

pytestmark = pytest.mark.crash

CLIENTS = 6
PER_BATCH = 5
KILL_POINTS = (1, 10)


async def _client(
    client: httpx.AsyncClient, url: str, c: int, acked: set[str], sent: set[str], state: dict, kill_after: int
) -> None:
    i = 0
    try:
        while True:
            i += 1
            tag = f"r{state['round']}c{c}b{i}"
            sent.add(tag)
            r = await client.post(
                f"{url}/api/batch",
                json={
                    "requests": [
                        {"method": "POST", "url": "/api/collections/items/records", "body": {"batch": tag, "k": k}}
                        for k in range(PER_BATCH)
                    ]
                },
            )
            assert r.status_code == 200, r.text
            assert [x["status"] for x in r.json()] == [200] * PER_BATCH
            acked.add(tag)
            state["count"] += 1
            if state["count"] >= kill_after:
                state["reached"].set()
    except httpx.TransportError:
        return


async def test_batches_are_all_or_nothing_after_sigkill(node: Node) -> None:
    url = node.start()
    token = node.token()
    create_collection(url, token, "items", [{"name": "batch", "type": "text"}, {"name": "k", "type": "number"}])
    r = httpx.patch(
        f"{url}/api/settings",
        headers={"Authorization": token},
        timeout=30,
        json={"batch": {"enabled": True, "maxRequests": 50}},
    )
    assert r.status_code == 200, r.text
    acked: set[str] = set()
    sent: set[str] = set()
    for round_, kill_after in enumerate(KILL_POINTS):
        state = {"round": round_, "count": 0, "reached": asyncio.Event()}
        async with httpx.AsyncClient(timeout=60) as client:
            tasks = [
                asyncio.create_task(_client(client, url, c, acked, sent, state, kill_after)) for c in range(CLIENTS)
            ]
            done, _ = await asyncio.wait(
                [asyncio.create_task(state["reached"].wait()), *tasks], return_when=asyncio.FIRST_COMPLETED
            )
            for t in done:
                if t in tasks:
                    t.result()
            node.sigkill()
            await asyncio.gather(*tasks)
        node.integrity()

        url = node.start()
        per_batch = Counter(rec["batch"] for rec in all_records(url, "items"))
        partial = {tag: n for tag, n in per_batch.items() if n != PER_BATCH}
        assert not partial, f"half-applied batches after the kill: {partial}"
        assert acked <= set(per_batch), f"acknowledged batches lost: {sorted(acked - set(per_batch))}"
        assert set(per_batch) <= sent
