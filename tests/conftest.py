"""Shared fixtures: the suite runs on SQLite by default and on PostgreSQL when
``BAAS_TEST_POSTGRES_URL`` is set (each fixture then gets a fresh database of its own; fixtures that
need a set-up database get a new copy of one set up once per process, see TEMPLATES in tests/harness.py).
The helpers behind them are in tests/harness.py; test modules import from there, never from a conftest."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from baas.db import Database, open_database
from baas.db.migrate import migrate
from tests.harness import Api, add_users, fresh_db_url, in_process, sign_in
from tests.pgpool import POOL, drop_templates

# `baas` reads these when an option is not given (docs/settings.md): a developer's shell exporting one
# (say BAAS_DB) must not point the suite's servers and commands at that data.
SERVER_ENV = (
    "BAAS_DIR",
    "BAAS_DB",
    "BAAS_HTTP",
    "BAAS_SCHEMA",
    "BAAS_PROJECT",
    "BAAS_DEV",
    "BAAS_ACCEPT_DATA_LOSS",
    "BAAS_WORKERS",
    "BAAS_MAX_BODY_SIZE",
    "BAAS_SECRET",
    "BAAS_METRICS_TOKEN",
)


def pytest_configure(config: pytest.Config) -> None:
    """Show why tests were skipped (e.g. the JS SDK tests without tests/js/node_modules) in the summary;
    keep the shell's server settings away from the suite."""
    if "s" not in config.option.reportchars and "a" not in config.option.reportchars:
        config.option.reportchars += "s"
    for name in SERVER_ENV:
        os.environ.pop(name, None)


# The files that take longest (a durations report of the suite on this 2-core machine, longest first).
# Under xdist (`--dist loadfile`: a file runs whole on one worker) they are started first, so no long
# file is left running alone at the end while the other worker idles. Only the order of whole files
# changes, never the order within a file, and only under xdist; files with browser or crash tests come
# next (they start real servers), then the rest, more tests first. (pyproject.toml's addopts turn off
# xdist's own reordering, which puts files with more tests first however long they take.)
SLOW_FIRST = [
    "tests/api/test_fuzz.py",
    "tests/jobs/test_jobs_processes.py",
    "tests/test_docs.py",
    "tests/cli/test_serve_ops.py",
    "tests/cli/test_cli.py",
    "tests/test_bench_smoke.py",
    "tests/auth/test_oauth2.py",
    "tests/webhooks/test_processes.py",
    "tests/events/test_processes.py",
    "tests/console/test_console_browser_settings.py",
    "tests/webhooks/test_delivery.py",
    "tests/console/test_console_journey.py",
    "tests/console/test_console_browser_schema.py",
    "tests/console/test_console_browser_rules.py",
    "tests/console/test_console_browser_records.py",
    "tests/console/test_console_browser.py",
    "tests/jobs/test_jobs_cli.py",
    "tests/sdk_python/test_realtime.py",
    "tests/realtime/test_servers.py",
    "tests/typegen/test_typecheck.py",
    "tests/console/test_console_browser_jobs.py",
    "tests/crash/test_mid_writes.py",
    "tests/console/test_console_browser_webhooks.py",
    "tests/files/test_upload_memory.py",
]


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than cores. Many tests spend their time waiting on a server
    process or a job's next tick, so a third worker on 2 cores measured 4:56 → 4:14 for the whole
    suite; a fourth made it slower again (4:49: each worker pays its own imports and templates)."""
    return len(os.sched_getaffinity(0)) + 1


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the container tests out unless asked for (``-m container``: they need root and a Docker
    daemon, and .ci/run runs them once on their own). Under xdist, start the slowest files first
    (SLOW_FIRST); a stable sort by file keeps each file's own order."""
    if "container" not in (config.getoption("markexpr") or ""):
        left_out = [item for item in items if item.get_closest_marker("container") is not None]
        if left_out:
            config.hook.pytest_deselected(items=left_out)
            items[:] = [item for item in items if item.get_closest_marker("container") is None]
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    rank = {path: i for i, path in enumerate(SLOW_FIRST)}
    count = Counter(item.nodeid.split("::")[0] for item in items)
    starts_servers = {
        item.nodeid.split("::")[0]
        for item in items
        if item.get_closest_marker("browser") is not None or item.get_closest_marker("crash") is not None
    }

    def key(item: pytest.Item) -> tuple[int, int]:
        path = item.nodeid.split("::")[0]
        if path in rank:
            return (0, rank[path])
        return (1 if path in starts_servers else 2, -count[path])

    items.sort(key=key)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop the databases still held (the one made ahead, the templates), and say if a drop failed."""
    drop_templates()
    if POOL is not None:
        POOL.close()
        for failure in POOL.failures:
            print(f"\nwarning: {failure}")


@pytest.fixture
async def db_url(tmp_path: Path) -> AsyncIterator[str]:
    """A URL of a new, empty database on the backend under test."""
    async with fresh_db_url(tmp_path) as url:
        yield url


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    """A connected `Database` with the system tables created (a copy of one migrated to head; the
    migration runs again here and finds nothing to do)."""
    async with fresh_db_url(tmp_path, migrated=True) as url:
        await migrate(url)
        db = open_database(url)
        await db.connect()
        yield db
        await db.close()


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    """The app in-process with tests/harness.py's API_SCHEMA (posts, comments, notes, vault), signed in
    as the superuser ``su`` and the users ``alice`` and ``bob``. The schema and superuser were applied by
    a real engine on the "api" template, of which this test's database is a new copy."""
    async with in_process(tmp_path, template="api") as (client, eng):
        a = Api(client, eng)
        a.tokens["su"] = await sign_in(client)
        await add_users(a, "alice", "bob")
        yield a
