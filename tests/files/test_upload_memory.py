"""Uploads through a real ``baas serve``: a big file grows the server's memory by a bounded amount,
and a client that goes away mid-upload leaves nothing behind.

A memory bound, not a timing: the upload (200 MB here; ``BAAS_UPLOAD_MB`` for more, e.g. 1024)
must raise the serving process's peak resident set (``VmHWM``, read from ``/proc``) by less than
100 MB over what it held before. Run by hand for the figure in docs/files.md:

    BAAS_UPLOAD_MB=1024 python -m pytest tests/files/test_upload_memory.py -s
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.servers import running_server

EMAIL, PASSWORD = "su@example.com", "su-password-123"
MB = 1024 * 1024
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in bytes."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out


def _tree(pid: int) -> list[int]:
    """The process and all its descendants (granian serves from worker processes)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in children:
            found += _tree(int(child))
    return found


async def _body(size: int, boundary: str, digest: hashlib._Hash) -> AsyncIterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nbig\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="blob"; filename="big.bin"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    block = bytes(range(256)) * 4096  # 1 MiB, not all zeros
    sent = 0
    while sent < size:
        piece = block[: min(len(block), size - sent)]
        digest.update(piece)
        sent += len(piece)
        yield piece
    yield f"\r\n--{boundary}--\r\n".encode()


async def test_big_upload_grows_server_memory_by_less_than_100_mb(tmp_path) -> None:
    size = int(os.environ.get("BAAS_UPLOAD_MB", "200")) * MB
    async with running_server(tmp_path, superuser=(EMAIL, PASSWORD)) as srv:
        assert srv.proc is not None
        async with httpx.AsyncClient(base_url=srv.url, timeout=600) as http:
            su = (
                await http.post(
                    "/api/collections/_superusers/auth-with-password", json={"identity": EMAIL, "password": PASSWORD}
                )
            ).json()["token"]
            h = {"Authorization": su}
            r = await http.post(
                "/api/collections",
                headers=h,
                json={
                    "name": "blobs",
                    "type": "base",
                    "fields": [
                        {"name": "title", "type": "text"},
                        {"name": "blob", "type": "file", "maxSize": size + MB},
                    ],
                },
            )
            assert r.status_code == 200, r.text
            # Warm up (imports, connections, a first small upload) before measuring.
            for _ in range(3):
                r = await http.post(
                    "/api/collections/blobs/records",
                    headers=h,
                    data={"title": "warm"},
                    files={"blob": ("warm.bin", os.urandom(2 * MB))},
                )
                assert r.status_code == 200, r.text
            pids = _tree(srv.proc.pid)
            before = {pid: _status(pid) for pid in pids}

            digest = hashlib.sha256()
            boundary = "memtestboundary"
            # A Content-Length, as browsers and the SDK send: the parts around the file, plus the file.
            length = len(b"".join([c async for c in _body(0, boundary, hashlib.sha256())])) + size
            r = await http.post(
                "/api/collections/blobs/records",
                content=_body(size, boundary, digest),
                headers={
                    **h,
                    "Content-Type": f"multipart/form-data; boundary={boundary}",
                    "Content-Length": str(length),
                },
            )
            assert r.status_code == 200, r.text
            rec = r.json()
            after = {pid: _status(pid) for pid in pids if Path(f"/proc/{pid}").exists()}

            growth = max(after[pid]["VmHWM"] - before[pid]["VmRSS"] for pid in after)
            print(
                f"\nupload {size // MB} MB: server peak RSS grew by {growth / MB:.1f} MB "
                f"(per process: {[(pid, before[pid]['VmRSS'] // MB, after[pid]['VmHWM'] // MB) for pid in after]})"
            )
            assert growth < 100 * MB

            stored = srv.data_dir / "storage" / rec["collectionId"] / rec["id"] / rec["blob"]
            assert stored.stat().st_size == size
            check = hashlib.sha256()
            with stored.open("rb") as fh:
                while chunk := fh.read(8 * MB):
                    check.update(chunk)
            assert check.hexdigest() == digest.hexdigest()


async def test_client_disconnect_mid_upload_leaves_nothing(tmp_path) -> None:
    """A real client that goes away halfway through a file: no record, no blob, no temporary file."""
    async with running_server(tmp_path, superuser=(EMAIL, PASSWORD)) as srv:
        async with httpx.AsyncClient(base_url=srv.url, timeout=60) as http:
            su = (
                await http.post(
                    "/api/collections/_superusers/auth-with-password", json={"identity": EMAIL, "password": PASSWORD}
                )
            ).json()["token"]
            r = await http.post(
                "/api/collections",
                headers={"Authorization": su},
                json={
                    "name": "blobs",
                    "type": "base",
                    "listRule": "",
                    "createRule": "",
                    "fields": [{"name": "blob", "type": "file", "maxSize": 100 * MB}],
                },
            )
            assert r.status_code == 200, r.text

            host, port = srv.url.removeprefix("http://").split(":")
            reader, writer = await asyncio.open_connection(host, int(port))
            parts = [c async for c in _body(20 * MB, "cut", hashlib.sha256())]
            body = b"".join(parts)
            writer.write(
                (
                    f"POST /api/collections/blobs/records HTTP/1.1\r\nHost: {host}\r\n"
                    f"Content-Type: multipart/form-data; boundary=cut\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode()
                + body[: 8 * MB]
            )
            await writer.drain()
            storage = srv.data_dir / "storage"
            for _ in range(200):  # wait until the server has begun storing the file
                if any(p.is_file() for p in storage.rglob("*")):
                    break
                await asyncio.sleep(0.05)
            assert any(p.is_file() for p in storage.rglob("*")), "the upload never started"
            writer.close()  # gone, 12 MB short
            await writer.wait_closed()

            for _ in range(200):  # then until it has cleaned up
                if not any(p.is_file() for p in storage.rglob("*")):
                    break
                await asyncio.sleep(0.05)
            assert [p for p in storage.rglob("*") if p.is_file()] == []
            assert (await http.get("/api/collections/blobs/records")).json()["totalItems"] == 0
            r = await http.post("/api/collections/blobs/records", files={"blob": ("after.bin", b"still serving")})
            assert r.status_code == 200, r.text
