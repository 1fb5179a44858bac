"""Fresh PostgreSQL databases for one test process, made ahead of need and dropped off the test's path.

Every test that runs on PostgreSQL gets a database of its own, as before: nothing is shared or reused.
What changes is who waits. ``CREATE DATABASE`` and ``DROP DATABASE`` each wait on the disk (an fsync,
a checkpoint), up to a second apiece on a busy machine. A background thread, with its own event loop
and admin connection, keeps one new database ready ahead of the next request and drops used ones
while the tests go on. Jobs run in priority order: a database someone waits for comes before drops.

    pool = shared("postgresql://postgres@127.0.0.1:5432/test")   # one per test process
    url = pool.take()          # a new, empty database's URL (blocks until it exists)
    pool.give_back(url)        # dropped in the background
    pool.close()               # drops what is left; waits until done
"""

from __future__ import annotations

import asyncio
import itertools
import queue
import secrets
import threading
from dataclasses import dataclass, field

import asyncpg

_MAKE, _DROP, _STOP = 0, 1, 2  # job priorities: lower runs first


@dataclass(order=True)
class _Job:
    priority: int
    seq: int
    name: str = field(compare=False, default="")


class DatabasePool:
    """New databases on the server at ``admin_url`` (whose own database is only used to run DDL)."""

    def __init__(self, admin_url: str, ahead: int = 1) -> None:
        self.admin_url = admin_url
        self.base = admin_url.rpartition("/")[0]
        self.ahead = ahead
        self._jobs: queue.PriorityQueue[_Job] = queue.PriorityQueue()
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._outstanding = 0  # databases asked for and not yet taken
        self._thread: threading.Thread | None = None
        self._closed = False
        self.failures: list[str] = []  # drops that failed (reported at the end of the session)

    def _submit(self, priority: int, name: str = "") -> None:
        self._jobs.put(_Job(priority, next(self._seq), name))

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="pg-databases", daemon=True)
            self._thread.start()

    def take(self) -> str:
        """The URL of a new, empty database (made now if none is ready); the next one is started."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the database pool is closed")
            self._start()
            missing = 1 + self.ahead - self._outstanding  # the one taken now plus the ones kept ahead
            for _ in range(missing):
                self._submit(_MAKE)
            self._outstanding += max(missing, 0) - 1
        got = self._ready.get()
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

        def execute(sql: str) -> None:
            nonlocal conn
            if conn is None or conn.is_closed():
                conn = loop.run_until_complete(asyncpg.connect(self.admin_url))
            loop.run_until_complete(conn.execute(sql))

        try:
            while (job := self._jobs.get()).priority != _STOP:
                try:
                    if job.priority == _MAKE:
                        name = "baas_t_" + secrets.token_hex(6)
                        execute(f'CREATE DATABASE "{name}"')
                        made.append(name)
                        self._ready.put(name)
                    else:
                        execute(f'DROP DATABASE IF EXISTS "{job.name}" WITH (FORCE)')
                        if job.name in made:
                            made.remove(job.name)
                except Exception as exc:  # a waiting take() must hear of it, not hang
                    if job.priority == _MAKE:
                        self._ready.put(exc)
                    else:
                        self.failures.append(f"DROP DATABASE {job.name}: {exc!r}")
            # Made and never taken (the ones kept ahead), or taken and never given back.
            for name in made:
                execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            if conn is not None:
                loop.run_until_complete(conn.close())
            loop.close()


_SHARED: dict[str, DatabasePool] = {}
_SHARED_LOCK = threading.Lock()


def shared(admin_url: str) -> DatabasePool:
    """This process's pool for ``admin_url``. One module object holds it: tests/conftest.py is
    imported twice (as ``conftest`` by pytest and as ``tests.conftest`` by test modules)."""
    with _SHARED_LOCK:
        if admin_url not in _SHARED:
            _SHARED[admin_url] = DatabasePool(admin_url)
        return _SHARED[admin_url]
