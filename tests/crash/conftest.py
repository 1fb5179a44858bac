"""Crash fixtures: one data dir (and PostgreSQL database when ``BAAS_TEST_POSTGRES_URL`` is set)
that a test starts ``baas serve`` on, SIGKILLs mid-work and starts again.

Every kill is triggered by an event the test observes (acknowledged responses counted, bytes
sent, the write lock taken), never by a sleep; the only clocks are generous give-up timeouts."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PG_URL, _create_pg_database, _drop_pg_database
from tests.events.procs import SU, Data, kill, superuser_token

pytestmark = pytest.mark.crash


class Node:
    """A data dir plus the one ``baas serve`` running on it (restartable after a kill)."""

    def __init__(self, data: Data) -> None:
        self.data = data
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.starts = 0

    def start(self) -> str:
        self.starts += 1
        self.proc, self.url = self.data.serve(f"serve{self.starts}", "--workers", "1")
        return self.url

    def sigkill(self) -> None:
        """SIGKILL the server and its workers, and wait until they are gone."""
        assert self.proc is not None
        kill(self.proc, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def token(self) -> str:
        return superuser_token(self.url)

    def integrity(self) -> None:
        """``PRAGMA integrity_check`` on the SQLite file (PostgreSQL: nothing to check here)."""
        if self.data.db_args:
            return
        conn = sqlite3.connect(self.data.dir / "data.db")
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        finally:
            conn.close()


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    url = await _create_pg_database() if PG_URL else ""
    d = Data(tmp_path / "data", ["--db", url] if url else [])
    try:
        d.cli("superuser", "upsert", *SU)
        yield Node(d)
    finally:
        d.close()
        if url:
            await _drop_pg_database(url)


def create_collection(url: str, token: str, name: str, fields: list[dict[str, Any]]) -> dict[str, Any]:
    r = httpx.post(f"{url}/api/collections", headers={"Authorization": token}, timeout=60, json={
        "name": name, "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
        "fields": fields})
    assert r.status_code == 200, r.text
    return r.json()


def all_records(url: str, coll: str, token: str = "") -> list[dict[str, Any]]:
    """Every record of ``coll`` (paged through)."""
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        r = httpx.get(f"{url}/api/collections/{coll}/records", params={"page": page, "perPage": 1000},
                      headers={"Authorization": token} if token else {}, timeout=60)
        assert r.status_code == 200, r.text
        out += r.json()["items"]
        if page >= r.json()["totalPages"]:
            return out
        page += 1
