"""The request log: every answered API request, kept in ``_logs`` for ``/api/logs`` (docs/logs.md).

The server's outermost middleware hands each answered request to `RequestLog.add`, which appends
one tuple and returns: building the entries (URL without secrets, client IP under the trusted-proxy
settings, JSON details) and writing them happen for a whole batch at once, about once a second,
in one transaction. The queue is bounded: past ``PENDING_MAX`` unwritten entries new ones are
dropped and counted (``baas_request_log_dropped_total`` in /metrics), never waited for, so a slow
database never slows the answers.

What is kept follows the ``logs`` settings (PocketBase's, plus ``sampling``): ``maxDays`` (0: no
log), ``minLevel``, ``logIP``, ``logAuthId``, and ``sampling``, the share of successful requests
kept (answers of 400 and above always are). With ``BAAS_LOG_JSON=1`` each entry is also written
to standard output as one JSON line.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import random
import re
import secrets
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, quote

import msgspec

from baas.clientip import client_ip
from baas.db import Database, Reads
from baas.db.sqlite import SqliteDatabase
from baas.errors import Unavailable
from baas.logs import store

if TYPE_CHECKING:
    from baas.core import Engine

log = logging.getLogger("baas")

AUTH_KEY = "baas.auth"  # scope key: (collection name, record id) of the request's auth, set when resolved
ERROR_KEY = "baas.error"  # scope key: the message of the error the request was answered with
URL_KEY = "baas.log_url"  # scope key: the URL to log instead of the request's (an erase's, without the id)
JSON_ENV = "BAAS_LOG_JSON"
FILE = "logs.db"  # on SQLite, in the data dir
# Beside it when a read or a write found the file damaged: the next start moves the file aside.
DAMAGED = ".damaged"
FLUSH_SECONDS = 1.0
# A batch this big is written at once rather than at the next tick: small enough that a busy
# server's queued entries stay in the CPU's caches (5,000 cost a view ~1.5 µs more, measured).
BATCH = 1000
# Entries turned into rows and written between two turns of the event loop (well under 1 ms). Not
# in a thread: a busy Python thread makes the event loop wait for the GIL at every system call
# (measured: -30 % req/s).
ROWS_AT_ONCE = 250  # PostgreSQL: each entry is made into a row (~4 µs) before it is sent
SQLITE_AT_ONCE = store.BATCH_MAX  # SQLite: a batch is one JSON encoding and one row (~0.3 ms for 1,000)
_LOCK_WAITS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)  # seconds, for the SQLite file's lock
PENDING_MAX = 50_000  # unwritten entries held at most; past it new ones are dropped and counted
PRUNE_SECONDS = 3600.0  # how often a process deletes entries past maxDays
CHECKPOINT_SECONDS = 30.0  # how often a process copies the SQLite log's write-ahead log into its file
RECHECK_SECONDS = 2.0  # how often a process whose log is off looks whether it was turned on
# Query parameters whose values never reach the log: file tokens (?token=), OAuth2 codes and states,
# API keys, passwords, OTPs … matched by name.
# A list cursor (?cursor=) too: it carries the values of a row (an email, an id) in base64, which
# an erasure's scrub of the log could not find.
_SECRET_NAME = re.compile(r"token|secret|passw|key|code|state|otp|auth|sig|cursor", re.IGNORECASE)
_ENCODE = msgspec.json.Encoder()


Entry = store.Entry
T = TypeVar("T")


def level_of(status: int) -> int:
    """The entry's level, on PocketBase's scale: info (0), warn (4) for a 4xx answer, error (8) for a 5xx."""
    return 8 if status >= 500 else 4 if status >= 400 else 0


def safe_url(path: str, query: bytes) -> str:
    """The request's path and query, the values of secret-looking parameters masked."""
    if not query:
        return path
    qs = query.decode("latin-1")
    if "%" in qs or _SECRET_NAME.search(qs):  # a percent-encoded name (%74oken) is read decoded
        qs = "&".join(
            f"{quote(k, safe='')}=" + ("***" if _SECRET_NAME.search(k) else quote(v, safe=""))
            for k, v in parse_qsl(qs, keep_blank_values=True)
        )
    return f"{path}?{qs}"


def _agent_and_referer(headers: list[tuple[bytes, bytes]]) -> tuple[str, str]:
    """The request's user agent and referer (the referer's secret-looking query values masked)."""
    user_agent = referer = ""
    for name, value in headers:
        if name == b"user-agent":
            user_agent = value.decode("latin-1")
        elif name == b"referer":
            referer = value.decode("latin-1")
            if "?" in referer:  # a page's URL may carry a token too
                ref_path, _, ref_query = referer.partition("?")
                referer = safe_url(ref_path, ref_query.encode("latin-1"))
    return user_agent, referer


class RequestLog:
    """The engine's request log (``Engine.request_log``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.db: Database = engine.db  # where the entries go (set by start)
        self._own: SqliteDatabase | None = None  # the log's own SQLite file, when it has one (reads)
        self._sink: store.SqliteSink | None = None  # ... and its writes
        self.dropped = 0  # entries lost to a full queue or a failed write, since the process started
        self._pending: list[Entry] = []
        self._writing = 0  # entries taken by the flush in progress
        self._flush_at: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._pruned_at = 0.0
        self._checkpointed_at = 0.0
        self._housekept_at = 0.0
        self._lock: IO[bytes] | None = None  # SQLite: the shared lock of this process on the log file
        self._recheck_at = 0.0
        self._added = self._done = 0  # entries queued, and written or dropped, since the start
        self._stopped = False
        self._settings: dict[str, Any] = {}  # the stored settings as of the last apply()
        self._proxy = False  # whether trustedProxy names headers
        self._ids = store.IdMaker(store.id_prefix(secrets.randbelow(36**4))[-4:])  # PostgreSQL's ids
        self._stdout = os.environ.get(JSON_ENV, "") not in ("", "0", "false")
        # The `logs` settings, as of the last flush (PocketBase's defaults until then).
        self.enabled = True
        self.min_level = 0
        self.sampling = 1.0
        self.log_ip = True
        self.log_auth_id = False
        self.max_days = 5
        # A change made through this process applies at once; others' within about a second (housekeeping).
        engine.settings_store.listen(lambda settings: self.apply(settings.get("logs") or {}))

    def add(
        self,
        method: str,
        path: str,
        query: bytes,
        headers: list[tuple[bytes, bytes]],
        client: Any,
        status: int,
        seconds: float,
        auth: Any,
        error: Any,
    ) -> None:
        """One answered request (the middleware's call). Keeps only plain values (never the
        request's header list): entries waiting for their batch are then no work for the garbage
        collector, which a busy server's thousands of queued lists measurably were."""
        if not self.enabled:
            if self._stopped:
                return
            if time.monotonic() >= self._recheck_at:  # turned back on by another process?
                self._recheck_at = time.monotonic() + RECHECK_SECONDS
                self._start_flush()  # nothing to write: it reads the settings
            return
        if status < 400 and self.sampling < 1.0 and random.random() >= self.sampling:
            return
        if self.min_level and level_of(status) < self.min_level:
            return
        if len(self._pending) + self._writing >= PENDING_MAX:
            self._drop(1)
            return
        user_agent, referer = _agent_and_referer(headers)
        peer = user_ip = None
        if self.log_ip:
            peer = client[0] if client else ""
            user_ip = client_ip({"client": client, "headers": headers}, self._settings) if self._proxy else peer
        url = safe_url(path, query) if query else path
        if "\x00" in url or "\x00" in user_agent or "\x00" in referer:  # (%00 in a path): no NUL is kept
            url, user_agent, referer = (
                url.replace("\x00", ""),
                user_agent.replace("\x00", ""),
                referer.replace("\x00", ""),
            )
        # The entry as stored (baas/logs/store.py, Entry): plain values, nothing left to format.
        self._pending.append(
            (
                int(time.time() * 1000),
                method,
                url,
                status,
                int(seconds * 1_000_000),
                auth[0] if auth else None,
                auth[1] if auth and self.log_auth_id else None,
                user_agent,
                referer,
                peer,
                user_ip,
                str(error) if error else None,
            )
        )
        self._added += 1
        if self._task is None:
            if len(self._pending) >= BATCH:
                self._start_flush()
            elif self._flush_at is None:
                self._flush_at = asyncio.get_running_loop().call_later(FLUSH_SECONDS, self._start_flush)

    def _drop(self, n: int) -> None:
        self.dropped += n
        self.engine.metrics.log_dropped.inc(n)

    def _start_flush(self) -> None:
        self._flush_at = None
        if self._task is None:
            self._task = asyncio.create_task(self._flush(), name="request-log")

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                self._writing = len(batch)
                try:
                    await self.write(batch)
                finally:
                    self._writing = 0
            if time.monotonic() - self._housekept_at >= FLUSH_SECONDS:  # a busy server flushes more often
                self._housekept_at = time.monotonic()
                try:
                    await self._housekeeping()
                except Exception as exc:  # retention or a checkpoint failed: the next flush tries again
                    log.exception("request log: housekeeping failed")
                    self._check_damage(exc)
        finally:
            self._task = None
        if self._pending and self._flush_at is None:  # arrived during housekeeping
            self._flush_at = asyncio.get_running_loop().call_later(FLUSH_SECONDS, self._start_flush)

    async def write(self, batch: list[Entry]) -> None:
        """Turn the batch into rows and store them, a chunk at a time (a transaction each): the
        event loop serves requests between two chunks. A chunk the database refuses is counted
        as dropped; the server goes on."""
        step = ROWS_AT_ONCE if self._sink is None else SQLITE_AT_ONCE
        for start in range(0, len(batch), step):
            if start:
                await asyncio.sleep(0)
            chunk = batch[start : start + step]
            try:
                await self._write_chunk(chunk)
            except Exception as exc:  # the database is away: count the loss, keep serving
                self._drop(len(chunk))
                log.exception("request log: %d entries not written", len(chunk))
                self._check_damage(exc)
            finally:
                self._done += len(chunk)

    async def _write_chunk(self, chunk: list[Entry]) -> None:
        if self._stdout:
            docs = store.documents(chunk, self._ids)
            lines = [_ENCODE.encode({"time": r[1], "level": r[2], "data": msgspec.Raw(r[3].encode())}) for r in docs]
            sys.stdout.buffer.write(b"\n".join(lines) + b"\n")
            sys.stdout.flush()
        if self._sink is None:
            await self.db.write(partial(store.insert, entries=chunk, ids=self._ids))
            return
        for wait in _LOCK_WAITS:  # another process is writing its batch
            if self._sink.insert(chunk):
                return
            await asyncio.sleep(wait)
        raise TimeoutError("the log file stayed locked")

    async def _housekeeping(self) -> None:
        """Pick up settings changed by any process, and delete entries past maxDays now and then."""
        try:
            settings = (await self.engine.settings_store.load()).get("logs") or {}
        except Exception:  # keep the last known settings
            log.exception("request log: settings not read")
            return
        self.apply(settings)
        now = time.monotonic()
        if self._sink is not None and now - self._checkpointed_at >= CHECKPOINT_SECONDS:
            # In a thread (all C, the GIL is free meanwhile), and seldom: each copies the write-ahead
            # log into the file, which at every flush cost a view ~10 µs (measured).
            self._checkpointed_at = now
            await asyncio.to_thread(self._sink.checkpoint)
        if self.max_days and now - self._pruned_at >= PRUNE_SECONDS:
            self._pruned_at = now
            await self.prune()

    def apply(self, logs: dict[str, Any]) -> None:
        """Follow the ``logs`` section of the settings (and the trusted-proxy one: which IP is the client's)."""
        self._settings = self.engine.settings_store.cached
        self._proxy = bool((self._settings.get("trustedProxy") or {}).get("headers"))
        self.max_days = int(logs.get("maxDays", 5) or 0)
        self.enabled = self.max_days > 0 and not self._stopped
        self.min_level = int(logs.get("minLevel", 0) or 0)
        self.sampling = float(logs.get("sampling", 1.0))
        self.log_ip = bool(logs.get("logIP", True))
        self.log_auth_id = bool(logs.get("logAuthId", False))

    async def prune(self) -> int:
        """Delete the entries older than ``maxDays`` days; how many went."""
        cutoff = datetime.now(UTC) - timedelta(days=self.max_days)
        return await store.delete_before(self.db, int(cutoff.timestamp() * 1000))

    async def scrub(self, needles: list[str]) -> int:
        """Delete the entries that mention any of ``needles`` (GDPR erase); how many went."""
        await self.settle()
        gone = await self.db.write(lambda conn: store.scrub(conn, needles), heavy=True)
        if self._sink is not None:  # nothing of the erased entries left in the write-ahead log
            await asyncio.to_thread(self._sink.checkpoint, "TRUNCATE")
        return gone

    async def start(self) -> None:
        """Open the log's database: on SQLite a file of its own beside data.db (see baas/logs/store.py)."""
        if self.engine.db.dialect == "sqlite":
            path = str(Path(self.engine.settings.data_dir) / FILE)
            # Every process that opens the file holds a shared lock on a file beside it for as long
            # as it runs; only a process that is alone (a server's first process, at its start)
            # may set a damaged file aside: the others would go on writing into the moved file.
            self._lock = open(path + ".lock", "a+b")  # noqa: SIM115  # held until stop()
            alone = _try_lock(self._lock, fcntl.LOCK_EX)
            try:
                if os.path.exists(path + DAMAGED):  # a read or write of the last run found it damaged
                    raise sqlite3.DatabaseError(Path(path + DAMAGED).read_text() or "damaged")
                own = await _open_sqlite(path)
            except sqlite3.DatabaseError as exc:
                if not damaged(exc) and not os.path.exists(path + DAMAGED):
                    raise
                if not alone:  # another process has it open: leave it be (the server's next start sets it aside)
                    try:
                        own = await _open_sqlite(path)
                    except sqlite3.DatabaseError:
                        raise RuntimeError(
                            f"The request log file {path} is damaged; restart the server, which sets it aside."
                        ) from exc
                    log.warning("request log: %s is marked damaged; it is set aside at the server's next start", path)
                    return await self._started(path, own)
                # The log file is never synced (baas/logs/store.py): a power loss may damage it. It
                # is moved aside, kept for inspection, and a new one begins.
                aside = f"{path}.damaged-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
                for suffix in ("", "-wal", "-shm"):
                    if os.path.exists(path + suffix):
                        os.replace(path + suffix, aside + suffix)
                if os.path.exists(path + DAMAGED):
                    os.remove(path + DAMAGED)
                log.error("request log: %s is damaged (%s); moved to %s, a new log begins", path, exc, aside)
                own = await _open_sqlite(path)
            finally:
                fcntl.flock(self._lock, fcntl.LOCK_SH)  # from exclusive, or waiting for one that repairs
            await self._started(path, own)
        else:
            self.db = self.engine.db
            self.apply((await self.engine.settings_store.load()).get("logs") or {})

    async def _started(self, path: str, own: SqliteDatabase) -> None:
        self._own = self.db = own
        self._sink = store.SqliteSink(path)
        self.apply((await self.engine.settings_store.load()).get("logs") or {})

    async def stop(self) -> None:
        """Write what is still queued (the server is stopping), then close the log's files."""
        if self._own is None and self.db is None:
            return  # never started
        await self.settle()
        self._stopped = True
        self.enabled = False  # no new entries, no new flush
        if self._flush_at is not None:
            self._flush_at.cancel()
            self._flush_at = None
        # The last flush's housekeeping may still be checkpointing in a thread, on a connection of
        # the sink: closing it under that thread would crash the process.
        while self._task is not None:
            await asyncio.shield(self._task)
        if self._sink is not None:
            await asyncio.to_thread(self._sink.checkpoint)
            self._sink.close()
            self._sink = None
        if self._own is not None:
            await self._own.close()
            self._own = None
        if self._lock is not None:
            self._lock.close()  # releases the shared lock
            self._lock = None

    async def read(self, work: Callable[[Reads], Awaitable[T]]) -> T:
        """One of `baas.logs.store`'s reads of the log. A damaged SQLite file answers 503 (and is
        replaced at the server's next start) rather than an unexplained 500."""
        try:
            return await work(self.db)
        except sqlite3.DatabaseError as exc:
            if not self._check_damage(exc):
                raise
            raise Unavailable(
                "The request log file is damaged (a power loss?); the server's next start sets it aside and begins a new one."
            ) from None

    def _check_damage(self, exc: BaseException) -> bool:
        """Whether ``exc`` says the SQLite log file is damaged; if so, leave the marker for the next start."""
        if self._sink is None or not damaged(exc):
            return False
        marker = self._sink.path + DAMAGED
        if not os.path.exists(marker):
            try:
                Path(marker).write_text(str(exc))
            except OSError:  # a full or read-only disk: said in the server's log all the same
                pass
            log.error("request log: %s is damaged (%s); it is set aside at the next start", self._sink.path, exc)
        return True

    async def settle(self) -> None:
        """Write the entries this process had queued when called (the logs API, the erase, tests
        and shutdown wait on this, never on a clock; entries queued meanwhile don't hold it up)."""
        target = self._added
        while self._done < target:
            task = self._task
            if task is None:
                if self._flush_at is not None:
                    self._flush_at.cancel()
                self._start_flush()
                continue
            await asyncio.shield(task)


async def _open_sqlite(path: str) -> SqliteDatabase:
    """The SQLite log file, made or upgraded, its newest batch read (a damaged file fails here)."""
    own = SqliteDatabase(path, readers=1)
    try:
        await own.connect()
        await own.write(lambda conn: conn.executescript(store.SQLITE_DDL))
        # Retention and erasure write through this connection: what they delete is overwritten.
        await own.write(lambda conn: conn.execute("PRAGMA secure_delete=ON"))
        await own.fetch(f'SELECT "k", "entries" FROM "{store.SQLITE_TABLE}" ORDER BY "k" DESC LIMIT 1')
        await store.upgrade_sqlite(own)
    except BaseException:
        await own.close()
        raise
    return own


_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26


def damaged(exc: BaseException) -> bool:
    """Whether ``exc`` says the SQLite file is damaged (not locked, full, read-only, or misused)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return True
    # Text a torn page turned into: the entries are written by msgspec, never malformed otherwise.
    return isinstance(exc, sqlite3.OperationalError) and "malformed JSON" in str(exc)


def _try_lock(fh: IO[bytes], how: int) -> bool:
    try:
        fcntl.flock(fh, how | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
