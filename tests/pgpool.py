"""Fresh PostgreSQL databases for one test process, made ahead of need and dropped off the test's path.

Every test that runs on PostgreSQL gets a database of its own, as before: nothing is shared or reused.
What changes is who waits. ``CREATE DATABASE`` and ``DROP DATABASE`` each wait on the disk (an fsync,
a checkpoint), up to a second apiece on a busy machine. A background thread, with its own event loop
and admin connection, keeps one new database ready ahead of the next request and drops used ones
while the tests go on. Jobs run in priority order: a database someone waits for comes before drops.

A *prepared* database is a copy (``CREATE DATABASE … TEMPLATE``) of one the pool set up once with
``prepare`` (the suite's: the system tables migrated to head): a test that starts an engine on it
skips the migration (most of a second on PostgreSQL) and is otherwise as on a new database.

    pool = shared("postgresql://postgres@127.0.0.1:5432/test")   # one per test process
    url = pool.take()          # a new, empty database's URL (blocks until it exists)
    url = pool.take(prepared=True)   # a new copy of the prepared database
    pool.give_back(url)        # dropped in the background
    pool.close()               # drops what is left; waits until done
"""

from __future__ import annotations

import asyncio
import itertools
import os
import queue
import secrets
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg

from baas.db.migrate import migrate

_MAKE, _DROP, _STOP = 0, 1, 2  # job priorities: lower runs first


@dataclass(order=True)
class _Job:
    priority: int
    seq: int
    name: str = field(compare=False, default="")
    prepared: bool = field(compare=False, default=False)


class DatabasePool:
    """New databases on the server at ``admin_url`` (whose own database is only used to run DDL)."""

    def __init__(self, admin_url: str, ahead: int = 1, prepare: Callable[[str], Awaitable[None]] | None = None) -> None:
        self.admin_url = admin_url
        self.base = admin_url.rpartition("/")[0]
        self.ahead = ahead
        self.prepare = prepare  # run once on the template of prepared databases (given its URL)
        self._jobs: queue.PriorityQueue[_Job] = queue.PriorityQueue()
        # Per kind (prepared or not): ready databases, and the ones asked for and not yet taken.
        self._ready: dict[bool, queue.Queue[str | BaseException]] = {False: queue.Queue(), True: queue.Queue()}
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._outstanding = {False: 0, True: 0}
        self._thread: threading.Thread | None = None
        self._closed = False
        self.failures: list[str] = []  # drops that failed (reported at the end of the session)

    def _submit(self, priority: int, name: str = "", prepared: bool = False) -> None:
        self._jobs.put(_Job(priority, next(self._seq), name, prepared))

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="pg-databases", daemon=True)
            self._thread.start()

    def take(self, prepared: bool = False) -> str:
        """The URL of a new, empty database (made now if none is ready); the next one is started.
        ``prepared``: a new copy of the database set up by ``prepare`` instead."""
        if prepared and self.prepare is None:
            raise ValueError("this pool has no prepare step")
        with self._lock:
            if self._closed:
                raise RuntimeError("the database pool is closed")
            self._start()
            # the one taken now plus the ones kept ahead
            missing = 1 + self.ahead - self._outstanding[prepared]
            for _ in range(missing):
                self._submit(_MAKE, prepared=prepared)
            self._outstanding[prepared] += max(missing, 0) - 1
        got = self._ready[prepared].get()
        if isinstance(got, BaseException):
            raise RuntimeError(f"could not create a PostgreSQL test database: {got!r}") from got
        return f"{self.base}/{got}"

    def give_back(self, url: str) -> None:
        """Drop the database at ``url`` in the background (its connections are closed by force)."""
        with self._lock:
            if self._closed:  # too late for the thread: say so rather than leave it silently
                self.failures.append(f"{url} was given back after the pool closed (not dropped)")
                return
            self._start()
            self._submit(_DROP, url.rpartition("/")[2])

    def close(self) -> None:
        """Drop every database still held here (the ready one included) and stop the thread."""
        with self._lock:
            if self._closed or self._thread is None:
                self._closed = True
                return
            self._closed = True
            self._submit(_STOP)
        self._thread.join()

    # -- the background thread -----------------------------------------------------------------
    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        conn: asyncpg.Connection | None = None
        made: list[str] = []  # created here and not yet dropped
        template: str | None = None  # the prepared databases' source, made on first need

        def execute(sql: str) -> None:
            nonlocal conn
            if conn is None or conn.is_closed():
                conn = loop.run_until_complete(asyncpg.connect(self.admin_url))
            loop.run_until_complete(conn.execute(sql))

        try:
            while (job := self._jobs.get()).priority != _STOP:
                try:
                    if job.priority == _MAKE:
                        source = ""
                        if job.prepared:
                            if template is None:
                                template = "baas_t_tpl_" + secrets.token_hex(6)
                                execute(f'CREATE DATABASE "{template}"')
                                assert self.prepare is not None
                                loop.run_until_complete(self.prepare(f"{self.base}/{template}"))
                            source = f' TEMPLATE "{template}"'
                        name = "baas_t_" + secrets.token_hex(6)
                        execute(f'CREATE DATABASE "{name}"{source}')
                        made.append(name)
                        self._ready[job.prepared].put(name)
                    else:
                        execute(f'DROP DATABASE IF EXISTS "{job.name}" WITH (FORCE)')
                        if job.name in made:
                            made.remove(job.name)
                except Exception as exc:  # a waiting take() must hear of it, not hang
                    if job.priority == _MAKE:
                        if job.prepared and template is not None:  # maybe half-prepared: make it anew
                            stale, template = template, None
                            try:
                                execute(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)')
                            except Exception as drop_exc:
                                self.failures.append(f"DROP DATABASE {stale}: {drop_exc!r}")
                        self._ready[job.prepared].put(exc)
                    else:
                        self.failures.append(f"DROP DATABASE {job.name}: {exc!r}")
            # Made and never taken (the ones kept ahead), or taken and never given back.
            for name in made + ([template] if template else []):
                execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            if conn is not None:
                loop.run_until_complete(conn.close())
            loop.close()


_SHARED: dict[str, DatabasePool] = {}
_SHARED_LOCK = threading.Lock()


def shared(admin_url: str) -> DatabasePool:
    """This process's pool for ``admin_url`` (one per process, whoever asks); its prepared databases
    have the system tables migrated to head."""
    with _SHARED_LOCK:
        if admin_url not in _SHARED:
            _SHARED[admin_url] = DatabasePool(admin_url, prepare=migrate)
        return _SHARED[admin_url]


# -- the suite's databases (tests/harness.py re-exports these; tests/servers.py uses them) ----------
PG_URL = os.environ.get("BAAS_TEST_POSTGRES_URL", "")
# One pool per test process (each xdist worker has its own): databases made ahead, dropped behind.
POOL = shared(PG_URL) if PG_URL else None


async def create_pg_database(migrated: bool = False) -> str:
    """The URL of a new PostgreSQL database of this test's own: empty, or (``migrated``) with the
    system tables at head, as an engine's first start leaves them."""
    assert POOL is not None, "BAAS_TEST_POSTGRES_URL is not set"
    return await asyncio.to_thread(POOL.take, migrated)


async def drop_pg_database(url: str) -> None:
    """Drop the database (in the background: the next test need not wait for the disk)."""
    assert POOL is not None, "BAAS_TEST_POSTGRES_URL is not set"
    POOL.give_back(url)
