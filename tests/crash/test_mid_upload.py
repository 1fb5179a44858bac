"""SIGKILL ``baas serve`` while multipart uploads are streaming in: after a restart no record
names a file missing from storage, and every acknowledged upload reads back byte for byte."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.harness import Node, all_records, create_collection

pytestmark = pytest.mark.crash

BOUNDARY = "crashsuiteboundary7d2f"
CHUNK = 64 * 1024
SIZE = 4 * 1024 * 1024  # each slow upload: the kill comes when half of it is sent


def _part_head(name: str, filename: str | None = None) -> bytes:
    disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    ctype = "Content-Type: application/octet-stream\r\n" if filename else ""
    return f"--{BOUNDARY}\r\nContent-Disposition: {disp}\r\n{ctype}\r\n".encode()


async def _slow_body(payload: bytes, half_sent: asyncio.Event, hold: asyncio.Event) -> AsyncIterator[bytes]:
    """A multipart body that stops after half the file until ``hold`` is set (after the kill)."""
    yield _part_head("label", None) + b"slow\r\n" + _part_head("doc", "slow.bin")
    for i in range(0, len(payload), CHUNK):
        if i >= len(payload) // 2 and not half_sent.is_set():
            half_sent.set()
            await hold.wait()
        yield payload[i : i + CHUNK]
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


async def _slow_upload(
    client: httpx.AsyncClient, url: str, payload: bytes, half_sent: asyncio.Event, hold: asyncio.Event
) -> None:
    try:
        r = await client.post(
            f"{url}/api/collections/docs/records",
            content=_slow_body(payload, half_sent, hold),
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
        raise AssertionError(f"a held upload was answered: {r.status_code} {r.text[:200]}")
    except httpx.TransportError:
        return


def _stored_files(node: Node, coll_id: str, rec: dict) -> list[Path]:
    return [node.data.dir / "storage" / coll_id / rec["id"] / name for name in rec["doc"]]


async def test_uploads_in_flight_leave_no_dangling_file_names(node: Node) -> None:
    url = node.start()
    coll = create_collection(
        url,
        node.token(),
        "docs",
        [
            {"name": "label", "type": "text"},
            {"name": "doc", "type": "file", "maxSelect": 2, "maxSize": 16 * 1024 * 1024},
        ],
    )
    acked: dict[str, bytes] = {}
    hold = asyncio.Event()
    async with httpx.AsyncClient(timeout=120) as client:
        for i in range(3):  # finished uploads (one with two files)
            files = [
                ("doc", (f"f{i}-{j}.bin", os.urandom(200_000 + i), "application/octet-stream"))
                for j in range(1 + (i == 0))
            ]
            r = await client.post(f"{url}/api/collections/docs/records", data={"label": f"done{i}"}, files=files)
            assert r.status_code == 200, r.text
            for name, (_, content, _) in zip(r.json()["doc"], (f[1] for f in files)):
                acked[f"{r.json()['id']}/{name}"] = content
        halves = [asyncio.Event() for _ in range(3)]
        slow = [asyncio.create_task(_slow_upload(client, url, os.urandom(SIZE), h, hold)) for h in halves]
        await asyncio.wait_for(asyncio.gather(*(h.wait() for h in halves)), 120)
        node.sigkill()  # three uploads half streamed in, the server partway through each body
        hold.set()  # the bodies go on into closed connections: the clients see the server gone
        await asyncio.gather(*slow)
    node.integrity()

    url = node.start()
    records = all_records(url, "docs")
    for rec in records:
        missing = [str(p) for p in _stored_files(node, coll["id"], rec) if not p.is_file()]
        assert not missing, f"record {rec['id']} names files missing from storage: {missing}"
    async with httpx.AsyncClient(timeout=60) as client:
        for key, content in acked.items():
            r = await client.get(f"{url}/api/files/{coll['id']}/{key}")
            assert r.status_code == 200 and r.content == content, f"acknowledged upload {key} unreadable"
        r = await client.post(
            f"{url}/api/collections/docs/records",
            data={"label": "after"},
            files=[("doc", ("after.bin", b"x" * 1000, "application/octet-stream"))],
        )
        assert r.status_code == 200, r.text
