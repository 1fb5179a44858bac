"""Crash fixtures: one data dir (and PostgreSQL database when ``BAAS_TEST_POSTGRES_URL`` is set)
that a test starts ``baas serve`` on, SIGKILLs mid-work and starts again (`Node`: tests/harness.py).

Every kill is triggered by an event the test observes (acknowledged responses counted, bytes
sent, the write lock taken), never by a sleep; the only clocks are generous give-up timeouts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.events.procs import SU, Data
from tests.harness import PG_URL, Node, drop_pg_database
from tests.pgpool import copy_template, superuser_template

pytestmark = pytest.mark.crash


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    # What `baas superuser upsert` leaves (a copy of it: the CLI's cold start costs seconds per test).
    copied = await copy_template(superuser_template(*SU), tmp_path / "data" / "data.db")
    url = copied if PG_URL else ""
    d = Data(tmp_path / "data", ["--db", url] if url else [])
    try:
        yield Node(d)
    finally:
        d.close()
        if url:
            await drop_pg_database(url)
