"""Fresh PostgreSQL databases for one test process, made ahead of need and dropped off the test's path.

Every test that runs on PostgreSQL gets a database of its own, as before: nothing is shared or reused.
What changes is who waits. ``CREATE DATABASE`` and ``DROP DATABASE`` each wait on the disk (an fsync,
a checkpoint), up to a second apiece on a busy machine. A background thread, with its own event loop
and admin connection, keeps one new database ready ahead of the next request and drops used ones
while the tests go on. Jobs run in priority order: a database someone waits for comes before drops.

A *prepared* database is a copy (``CREATE DATABASE … TEMPLATE``) of one the pool set up once with
``prepare`` (the suite's: the system tables migrated to head): a test that starts an engine on it
skips the migration (most of a second on PostgreSQL) and is otherwise as on a new database. More
named templates can be added (tests/harness.py adds "api": the ``api`` fixture's schema and superuser
applied by a real engine), each set up once per process on first need.

    pool = shared("postgresql://postgres@127.0.0.1:5432/test")   # one per test process
    url = pool.take()          # a new, empty database's URL (blocks until it exists)
    url = pool.take(prepared=True)   # a new copy of the prepared database
    pool.add_template("api", prepare_api)   # then pool.take("api"): a new copy of that one
    pool.give_back(url)        # dropped in the background
    pool.close()               # drops what is left; waits until done
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import os
import queue
import secrets
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from baas.auth.superusers import upsert_superuser
from baas.core import Engine
from baas.db.migrate import migrate
from baas.settings import Settings

_MAKE, _DROP, _STOP = 0, 1, 2  # job priorities: lower runs first
PREPARED = "prepared"  # the name of the template set up by the pool's own ``prepare``
Prepare = Callable[[str], Awaitable[None]]  # sets up a template database, given its URL


@dataclass(order=True)
class _Job:
    priority: int
    seq: int
    name: str = field(compare=False, default="")
    kind: str = field(compare=False, default="")  # "": an empty database; else a template's name


class DatabasePool:
    """New databases on the server at ``admin_url`` (whose own database is only used to run DDL)."""

    def __init__(self, admin_url: str, ahead: int = 1, prepare: Prepare | None = None) -> None:
        self.admin_url = admin_url
        self.base = admin_url.rpartition("/")[0]
        self.ahead = ahead
        # Template name -> what sets it up (run once, on the template, given its URL).
        self._prepares: dict[str, Prepare] = {PREPARED: prepare} if prepare is not None else {}
        self._jobs: queue.PriorityQueue[_Job] = queue.PriorityQueue()
        # Per kind ("" or a template's name): ready databases, and the ones asked for and not yet taken.
        self._ready: dict[str, queue.Queue[str | BaseException]] = {"": queue.Queue()}
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._outstanding: dict[str, int] = {"": 0}
        self._thread: threading.Thread | None = None
        self._closed = False
        self.failures: list[str] = []  # drops that failed (reported at the end of the session)

    def add_template(self, name: str, prepare: Prepare) -> None:
        """Let ``take(name)`` hand out copies of a database set up once by ``prepare`` (on first need)."""
        with self._lock:
            if name in self._prepares and self._prepares[name] is not prepare:
                raise ValueError(f"template {name!r} is already defined")
            self._prepares[name] = prepare

    def _submit(self, priority: int, name: str = "", kind: str = "") -> None:
        self._jobs.put(_Job(priority, next(self._seq), name, kind))

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="pg-databases", daemon=True)
            self._thread.start()

    def take(self, prepared: bool | str = False) -> str:
        """The URL of a new, empty database (made now if none is ready); the next one is started.
        ``prepared``: a new copy of the database set up by ``prepare`` instead (a string: of the
        template of that name, see `add_template`)."""
        kind = PREPARED if prepared is True else prepared or ""
        with self._lock:
            if kind and kind not in self._prepares:
                raise ValueError(f"this pool has no template {kind!r}")
            if self._closed:
                raise RuntimeError("the database pool is closed")
            self._start()
            ready = self._ready.setdefault(kind, queue.Queue())
            # the one taken now plus the ones kept ahead
            missing = 1 + self.ahead - self._outstanding.setdefault(kind, 0)
            for _ in range(missing):
                self._submit(_MAKE, kind=kind)
            self._outstanding[kind] += max(missing, 0) - 1
        got = ready.get()
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
        templates: dict[str, str] = {}  # template name -> its database, made on first need

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
                        if job.kind:
                            if job.kind not in templates:
                                templates[job.kind] = "baas_t_tpl_" + secrets.token_hex(6)
                                execute(f'CREATE DATABASE "{templates[job.kind]}"')
                                with self._lock:
                                    prepare = self._prepares[job.kind]
                                loop.run_until_complete(prepare(f"{self.base}/{templates[job.kind]}"))
                            source = f' TEMPLATE "{templates[job.kind]}"'
                        name = "baas_t_" + secrets.token_hex(6)
                        execute(f'CREATE DATABASE "{name}"{source}')
                        made.append(name)
                        self._ready[job.kind].put(name)
                    else:
                        execute(f'DROP DATABASE IF EXISTS "{job.name}" WITH (FORCE)')
                        if job.name in made:
                            made.remove(job.name)
                except Exception as exc:  # a waiting take() must hear of it, not hang
                    if job.priority == _MAKE:
                        stale = templates.pop(job.kind, None) if job.kind else None
                        if stale is not None:  # maybe half-prepared: make it anew
                            try:
                                execute(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)')
                            except Exception as drop_exc:
                                self.failures.append(f"DROP DATABASE {stale}: {drop_exc!r}")
                        self._ready[job.kind].put(exc)
                    else:
                        self.failures.append(f"DROP DATABASE {job.name}: {exc!r}")
            # Made and never taken (the ones kept ahead), or taken and never given back.
            for name in made + list(templates.values()):
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


async def create_pg_database(migrated: bool = False, template: str = "") -> str:
    """The URL of a new PostgreSQL database of this test's own: empty, or (``migrated``) with the
    system tables at head, as an engine's first start leaves them, or a copy of the named
    ``template`` (`DatabasePool.add_template`)."""
    assert POOL is not None, "BAAS_TEST_POSTGRES_URL is not set"
    return await asyncio.to_thread(POOL.take, template or migrated)


async def drop_pg_database(url: str) -> None:
    """Drop the database (in the background: the next test need not wait for the disk)."""
    assert POOL is not None, "BAAS_TEST_POSTGRES_URL is not set"
    POOL.give_back(url)


# -- templates: set up once per process, a new copy for each test that asks ----------------------
# A copy holds exactly what the same set-up would have left in a new database, so a test on it runs as
# on one set up for it alone (nothing one test writes is seen by another); only the set-up's cost (a
# migration is most of a second, an engine start or a `baas superuser upsert` process more) is paid
# once. PostgreSQL copies with CREATE DATABASE … TEMPLATE (the pool above); SQLite copies the file.
TEMPLATES: dict[str, Prepare] = {PREPARED: migrate}
if POOL is not None:
    POOL.add_template(PREPARED, migrate)  # the same set-up as the pool's own "prepared"

_sqlite_templates: dict[str, Path] = {}
_sqlite_lock = threading.Lock()
_sqlite_dir = Path(tempfile.mkdtemp(prefix="baas-templates-"))
atexit.register(shutil.rmtree, _sqlite_dir, True)


def define_template(name: str, prepare: Prepare) -> None:
    """Make ``copy_template(name)`` hand out copies of a database set up by ``prepare`` (given its URL)."""
    if TEMPLATES.setdefault(name, prepare) is not prepare:
        raise ValueError(f"template {name!r} is already defined")
    if POOL is not None:
        POOL.add_template(name, prepare)


def superuser_template(email: str, password: str) -> str:
    """A template with what ``baas superuser upsert EMAIL PASSWORD`` leaves in a new database (an
    engine's first start, then the superuser); its name, for `copy_template`."""
    name = f"superuser {email} {password}"
    if name not in TEMPLATES:

        async def prepare(url: str) -> None:
            data_dir = tempfile.mkdtemp(prefix="baas-template-")  # a test's server makes its own
            try:
                eng = Engine(Settings(data_dir=data_dir, db_url=url))
                await eng.start()
                try:
                    await upsert_superuser(eng, email, password)
                finally:
                    await eng.stop()
            finally:
                shutil.rmtree(data_dir, ignore_errors=True)

        define_template(name, prepare)
    return name


def _sqlite_template(name: str) -> Path:
    """The SQLite file of template ``name``, set up on first need (blocking: call it on a thread)."""
    with _sqlite_lock:
        if name not in _sqlite_templates:
            path = _sqlite_dir / f"{secrets.token_hex(6)}.db"
            # its own event loop: the template must not depend on (or outlive) the asking test's loop
            asyncio.run(TEMPLATES[name](f"sqlite:///{path}"))
            conn = sqlite3.connect(path)  # fold the WAL into the file, so the file alone is the database
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()
            _sqlite_templates[name] = path
        return _sqlite_templates[name]


async def copy_template(name: str, sqlite_path: Path | None = None) -> str:
    """A new copy of template ``name``: on PostgreSQL a new database (drop it with
    `drop_pg_database`), else the SQLite file written to ``sqlite_path``; its URL."""
    if PG_URL:
        return await create_pg_database(template=name)
    assert sqlite_path is not None, "SQLite: say where the copy goes"
    source = await asyncio.to_thread(_sqlite_template, name)
    sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(shutil.copyfile, source, sqlite_path)
    return f"sqlite:///{sqlite_path}"


def drop_templates() -> None:
    """Remove this process's SQLite templates (at the end of the session; atexit does it otherwise)."""
    with _sqlite_lock:
        _sqlite_templates.clear()
        shutil.rmtree(_sqlite_dir, ignore_errors=True)
