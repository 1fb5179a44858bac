"""SQLite driver: WAL, a pool of reader connections, one serialized writer with group commit.

Each connection lives on its own thread, so no query stalls the event loop, and each call
is one hop to that thread (execute and fetch together). Concurrent writes queue up; the
writer runs all that are waiting inside one ``BEGIN IMMEDIATE`` transaction, each job in its
own savepoint, so a failing job rolls back alone and its neighbours still commit together.
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from enum import Enum
from typing import Any, Literal, TypeVar

from baas.db.base import Conn, Params, Row

try:
    import fcntl
except ImportError:  # Windows: SQLite's own lock and busy timeout only
    fcntl = None  # type: ignore[assignment]  # None marks "no flock here"; every use checks _lock_fd first

T = TypeVar("T")
log = logging.getLogger("baas.db")
# A queued write job and the future its caller awaits.
_Job = tuple[Callable[[Conn], Awaitable[Any]], "asyncio.Future[Any]"]


class _Miss(Enum):
    """`SqliteDatabase._inline_try` gave up: run the read on a reader thread."""

    MISS = 0


_MISS: Literal[_Miss.MISS] = _Miss.MISS

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-16000",
)


# How long a read may run on the event loop before it is moved to a reader thread.
INLINE_BUDGET = 0.002
SLOW_FOR = 1.0  # seconds a statement found over the budget goes to the reader threads before it is tried inline again


class _Timed:
    """A read that notes how long it ran (in the thread that runs it)."""

    def __init__(self, fn: Callable[[sqlite3.Connection], Any]) -> None:
        self.fn, self.seconds = fn, 0.0

    def __call__(self, conn: sqlite3.Connection) -> Any:
        started = time.perf_counter()
        try:
            return self.fn(conn)
        finally:
            self.seconds = time.perf_counter() - started


_TAGS = re.compile(r"<[^>]*>")


def html_text(value: object) -> str:
    """An editor field's HTML as the words it shows: SQL ``baas_text()``, which the full-text
    search triggers (baas/search) call, so every connection that writes records needs it."""
    text = html.unescape(_TAGS.sub(" ", str(value or "")))
    return text.replace("\x01", " ").replace("\x02", " ")  # they mark the matches in snippets


def _open(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in _PRAGMAS:
        conn.execute(pragma)
    conn.create_function("baas_text", 1, html_text, deterministic=True)
    return conn


class QueryTimeout(Exception):
    """A query ran past the database's query timeout and was interrupted."""


class _Worker:
    """One sqlite3 connection bound to one thread."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self.conn: sqlite3.Connection | None = None
        self._deadline = 0.0

    def _open(self) -> sqlite3.Connection:
        conn = _open(self.path)
        # The progress handler enforces the query timeout without a watchdog thread.
        conn.set_progress_handler(lambda: 1 if time.monotonic() > self._deadline else 0, 10000)
        self.conn = conn
        return conn

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, self._call, fn)

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self.conn if self.conn is not None else self._open()
        self._deadline = time.monotonic() + self.timeout
        try:
            return fn(conn)
        except sqlite3.OperationalError as exc:
            if str(exc) == "interrupted":
                raise QueryTimeout("query timed out") from exc
            raise

    def close(self) -> None:
        def _close(_: Any) -> None:
            if self.conn is not None:
                self.conn.close()
                self.conn = None

        self.pool.submit(_close, None).result()
        self.pool.shutdown(wait=True)


# The data versions, and under "" the schema mark (the newest _schema_history id) they go with.
_VERSIONS = (
    'SELECT \'\', coalesce(max("id"), 0) FROM "_schema_history" UNION ALL '
    'SELECT "collection_id", sum("version") FROM "_data_versions" GROUP BY "collection_id"'
)


def _fetch(sql: str, params: Params) -> Callable[[sqlite3.Connection], list[Row]]:
    return lambda c: c.execute(sql, params).fetchall()


def _fetchone(sql: str, params: Params) -> Callable[[sqlite3.Connection], Row | None]:
    return lambda c: c.execute(sql, params).fetchone()


def _statement(sql: str) -> Callable[[sqlite3.Connection], object]:
    return lambda c: c.execute(sql)


class SqliteConn:
    """The writer connection as seen by one write job."""

    dialect = "sqlite"

    def __init__(self, worker: _Worker) -> None:
        self._w = worker
        # Inside a group that holds the write lock, statements run right on the event loop:
        # they are short single-record statements that no longer wait for any lock, and a hop
        # to the writer thread per statement would cost more than the statement itself.
        self.inline = False

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self.inline:
            return self._w._call(fn)
        return await self._w.run(fn)

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        return await self._run(_fetch(sql, params))

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        return await self._run(_fetchone(sql, params))

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Params = ()) -> int:
        return await self._run(lambda c: c.execute(sql, params).rowcount)

    async def executescript(self, sql: str) -> None:
        # Statements one by one: executescript() would COMMIT the open transaction.
        for stmt in _split_sql(sql):
            await self._run(_statement(stmt))


def _split_sql(script: str) -> list[str]:
    return [s.strip() for s in script.split(";\n") if s.strip()]


class SqliteDatabase:
    """SQLite behind the `Database` interface."""

    dialect = "sqlite"

    def __init__(self, path: str, *, readers: int = 4, timeout: float = 30.0) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self.timeout = timeout
        self._readers = [_Worker(path, timeout) for _ in range(max(1, readers))]
        self._free: asyncio.Queue[_Worker] | None = None
        self._writer = _Worker(path, timeout * 4)
        self._queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task[None] | None = None
        self._inline: sqlite3.Connection | None = None
        self._inline_deadline = 0.0
        self._slow: dict[str, float] = {}  # statements found over the inline budget, until when
        self._lock_fd: int | None = None  # see _lock_and_begin
        self.on_commit: Callable[[], None] | None = None  # called after each commit (the event bus)
        self._versions: dict[str, int] | None = None  # see data_versions
        self._versions_seen = -1

    async def connect(self) -> None:
        if self.path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        # Open the writer first so WAL mode is set before readers attach.
        await self._writer.run(lambda c: None)
        if self.path != ":memory:" and fcntl is not None:
            self._lock_fd = os.open(f"{self.path}-writelock", os.O_RDWR | os.O_CREAT, 0o600)
        self._versions, self._versions_seen = None, -1  # a new inline connection counts from its own start
        self._free = asyncio.Queue()
        for r in self._readers:
            self._free.put_nowait(r)
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._write_loop(), name="sqlite-writer")
        self._inline = _open(self.path)
        self._inline.execute("PRAGMA query_only=ON")
        self._inline.set_progress_handler(lambda: 1 if time.monotonic() > self._inline_deadline else 0, 1000)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None
        for w in [*self._readers, self._writer]:
            await asyncio.get_running_loop().run_in_executor(None, w.close)
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _inline_try(self, key: str, fn: Callable[[sqlite3.Connection], T]) -> T | Literal[_Miss.MISS]:
        """Run a read right here on the event loop if it finishes within ``INLINE_BUDGET``.

        Most reads (a record by id, a page by index) take tens of microseconds: a hop to a
        thread costs more than the query. A read that runs over budget is interrupted by the
        progress handler, remembered as slow, and re-run on a reader thread, so no query
        stalls the loop for longer than the budget."""
        conn = self._inline
        if conn is None:
            return _MISS
        now = time.monotonic()
        until = self._slow.get(key)
        if until is not None:
            if now < until:
                return _MISS
            # Tried inline again now and then: a read that ran over once because the process was
            # paused (a busy machine) would otherwise stay on the threads for good, where a loaded
            # server's hand-offs keep it slow — measured as one worker serving a third fewer views.
            del self._slow[key]
        self._inline_deadline = now + INLINE_BUDGET
        try:
            return fn(conn)
        except sqlite3.OperationalError as exc:
            if str(exc) != "interrupted":
                raise
        self._slow[key] = time.monotonic() + SLOW_FOR
        if len(self._slow) > 2048:
            self._slow.pop(next(iter(self._slow)))
        return _MISS

    async def _read(self, fn: Callable[[sqlite3.Connection], T], key: str = "") -> T:
        assert self._free is not None, "database not connected"
        if key:
            value = self._inline_try(key, fn)
            if value is not _MISS:
                return value
        worker = await self._free.get()
        try:
            if key not in self._slow:
                return await worker.run(fn)
            # Found over budget inline: timed where it runs (the hand-offs to and from the thread
            # left out). Well within budget here, the overrun was a pause of the process (another
            # thread holding the GIL, the CPU taken away on a busy machine), not the statement:
            # it goes back inline at once rather than sending every such read to the threads.
            timed = _Timed(fn)
            result: T = await worker.run(timed)
            if timed.seconds < INLINE_BUDGET / 4:
                self._slow.pop(key, None)
            return result
        finally:
            self._free.put_nowait(worker)

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        return await self._read(_fetch(sql, params), sql)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        return await self._read(_fetchone(sql, params), sql)

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def data_versions(self, ids: Sequence[str]) -> dict[str, int] | None:
        """Every collection's data version (``_data_versions``, see `baas.schema.ddl`), as committed
        now, and under ``""`` the schema mark; None where there is no such table. ``PRAGMA
        data_version`` tells whether any connection, in any process, committed since the last
        look, so the table is read again only then: a check costs a few microseconds, on the
        event loop (no thread hop)."""
        conn = self._inline
        if conn is None:
            return None
        self._inline_deadline = time.monotonic() + self.timeout
        try:
            seen = conn.execute("PRAGMA data_version").fetchone()[0]
            if seen != self._versions_seen or self._versions is None:
                self._versions = dict(conn.execute(_VERSIONS).fetchall())
                self._versions_seen = seen
        except sqlite3.OperationalError:  # not migrated yet (a bare database in a test)
            return None
        return self._versions

    def load(self) -> int:
        return self._queue.qsize() if self._queue is not None else 0

    async def schema_changed(self) -> None:
        """Nothing to do: sqlite3 re-prepares statements whose schema changed."""

    async def columns(self, sql: str) -> list[str]:
        """The result column names of a SELECT (runs it with no rows wanted)."""
        return await self._read(lambda c: [d[0] for d in c.execute(f"SELECT * FROM ({sql}) LIMIT 0").description])

    async def write(self, fn: Callable[[Conn], Awaitable[T]], *, heavy: bool = False) -> T:
        """Queue a write job. ``heavy`` jobs (schema changes, bulk deletes) run their statements
        on the writer thread so they never hold up the event loop."""
        assert self._queue is not None, "database not connected"
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((_Heavy(fn) if heavy else fn, fut))
        return await fut

    async def _write_loop(self) -> None:
        assert self._queue is not None
        conn = SqliteConn(self._writer)
        while True:
            jobs = [await self._queue.get()]
            while not self._queue.empty() and len(jobs) < 256:
                jobs.append(self._queue.get_nowait())
            try:
                await self._run_group(conn, jobs)
            except asyncio.CancelledError:
                _fail(jobs, RuntimeError("the database is closing"))
                raise
            except Exception as exc:  # never let the writer die: fail this group, keep serving
                log.exception("sqlite writer: a group failed")
                await self._rollback(conn)
                _fail(jobs, exc)
            # Not kept while waiting for the next write: a job's closure may hold anything (a
            # schema change's plan holds the replaced collections, and so their layouts).
            del jobs

    async def _in_transaction(self) -> bool:
        return await self._writer.run(lambda c: c.in_transaction)

    async def _rollback(self, conn: SqliteConn) -> None:
        try:
            if await self._in_transaction():
                await conn.execute("ROLLBACK")
        except Exception:
            log.exception("sqlite writer: rollback failed")

    async def _run_group(self, conn: SqliteConn, jobs: list[_Job]) -> None:
        """Run queued jobs in one transaction, each in a savepoint; resolve every job's future."""
        results: list[tuple[asyncio.Future[Any], bool, Any]] = []
        conn.inline = False
        # On the writer thread: this is where other processes make us wait.
        await self._writer.run(self._lock_and_begin)
        conn.inline = not any(isinstance(fn, _Heavy) for fn, _ in jobs)
        try:
            await self._run_jobs(conn, jobs, results)
        except Exception:
            conn.inline = False
            await self._rollback(conn)  # before the lock goes to the next process
            raise
        finally:
            conn.inline = False
            self._unlock()

    def _lock_and_begin(self, c: sqlite3.Connection) -> None:
        """Take the cross-process write lock, then SQLite's.

        Several server processes (granian workers) share one file. SQLite makes a writer that
        finds the lock taken poll with growing sleeps (up to 100 ms), which shows as long write
        tails; an ``flock`` on a side file queues the processes in the kernel instead, and the
        next one wakes the moment the lock is released. Other programs that skip the side file
        still meet SQLite's own lock and busy timeout, so correctness never depends on it."""
        if self._lock_fd is not None:
            self._take_lock()
        try:
            c.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._unlock()
            raise

    def _take_lock(self) -> None:
        """``flock`` with the query timeout: a process holding the lock too long (say, a hook
        waiting on the network inside a transaction) makes the others' writes fail with
        `QueryTimeout` instead of queueing forever. Polls without blocking, sleeping at most 2 ms
        between tries, so the next process still gets the lock within ~2 ms of its release."""
        assert self._lock_fd is not None
        deadline = time.monotonic() + self.timeout
        delay = 0.0001
        while True:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise QueryTimeout("another server process held the write lock too long") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.002)

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    async def _run_jobs(
        self, conn: SqliteConn, jobs: list[_Job], results: list[tuple[asyncio.Future[Any], bool, Any]]
    ) -> None:
        if len(jobs) == 1:
            await self._run_one(conn, jobs[0])
            return
        for i, (fn, fut) in enumerate(jobs):
            if fut.cancelled():
                continue
            await conn.execute("SAVEPOINT job")
            try:
                value = await fn(conn)
            except Exception as exc:  # handed to the job's own caller
                if not await self._in_transaction():
                    # SQLite rolled the whole transaction back itself (I/O error, disk full, …):
                    # the jobs before this one are gone too; the ones after run in a new group.
                    _fail([(None, f) for f, _, _ in results] + [(None, fut)], exc)
                    if jobs[i + 1 :]:
                        await self._run_group(conn, jobs[i + 1 :])
                    return
                await conn.execute("ROLLBACK TO SAVEPOINT job")
                await conn.execute("RELEASE SAVEPOINT job")
                results.append((fut, False, exc))
                continue
            await conn.execute("RELEASE SAVEPOINT job")
            results.append((fut, True, value))
        try:
            await conn.execute("COMMIT")
        except Exception as exc:
            await self._rollback(conn)
            for fut, ok, value in results:
                if not fut.done():
                    fut.set_exception(exc if ok else value)
            return
        if self.on_commit is not None:
            self.on_commit()
        for fut, ok, value in results:
            if fut.done():
                continue
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)

    async def _run_one(self, conn: SqliteConn, job: _Job) -> None:
        """A group of one (the common case when writes don't overlap) needs no savepoint: its
        failure rolls the whole transaction back. Two statements fewer per write."""
        fn, fut = job
        if fut.cancelled():
            await self._rollback(conn)
            return
        try:
            value = await fn(conn)
            await conn.execute("COMMIT")
        except Exception as exc:  # the job's error, or the commit's: handed to the job's caller
            await self._rollback(conn)
            if not fut.done():
                fut.set_exception(exc)
            return
        if self.on_commit is not None:
            self.on_commit()
        if not fut.done():
            fut.set_result(value)


class _Heavy:
    """Marks a write job whose statements run on the writer thread."""

    def __init__(self, fn: Callable[[Conn], Awaitable[Any]]) -> None:
        self.fn = fn

    def __call__(self, conn: Conn) -> Awaitable[Any]:
        return self.fn(conn)


def _fail(jobs: Iterable[tuple[object, asyncio.Future[Any]]], exc: BaseException) -> None:
    for _, fut in jobs:
        if not fut.done():
            fut.set_exception(exc)
