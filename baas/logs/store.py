"""The request log's storage: batched inserts, the PocketBase-compatible reads (list, view, hourly
stats, with the filter language over ``id``, ``created``, ``level``, ``message`` and any
``data.*`` path), retention and the GDPR scrub. Every function is one short statement or
transaction.

SQLite: a file of its own, ``<data dir>/logs.db``, table ``batches`` (`SQLITE_DDL`): one row per
written batch, its entries (`Entry`, as the middleware took them) one JSON array, newest first.
Writing costs one JSON encoding in C and one B-tree append a batch; the API's shape (``id`` = the
batch's key * 1000 + the entry's rank, ``created``, ``level``, ``message``, ``data``) is made
when read (`_source`, over ``json_each``).

PostgreSQL: ``_logs`` in the server's database (migration 0009), PocketBase's shape as stored:
time-ordered text ids (the request's millisecond in base 36, its rank in that millisecond, the
writing process's tag), ``created``, ``level`` and ``data`` as JSONB."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import msgspec

from baas import rules
from baas.db import Conn, Database, Reads
from baas.db.tables import contains_pattern
from baas.errors import BadRequest
from baas.ids import format_dt
from baas.records.query import ListParams
from baas.rules.context import SUPERUSER
from baas.schema.fields.date import DateField
from baas.schema.fields.json_field import JSONField
from baas.schema.fields.number import NumberField
from baas.schema.fields.text import TextField
from baas.schema.model import Collection

TABLE = "_logs"
# The log as the filter language sees it: a collection whose fields are the table's columns.
LOGS = Collection(
    name=TABLE,
    id=TABLE,
    system=True,
    fields=[
        TextField(name="id", id="logs_id", primaryKey=True),
        DateField(name="created", id="logs_created"),
        NumberField(name="level", id="logs_level"),
        TextField(name="message", id="logs_message"),
        JSONField(name="data", id="logs_data"),
    ],
)
_CHUNK = 500  # rows per INSERT statement: 2,500 parameters, within both databases' limits

# One answered request, as the middleware keeps it and as it is stored: (ms since the epoch,
# method, URL (secrets masked), status, microseconds taken, auth collection or None, auth record id
# or None, user agent, referer, remote IP or None, user IP or None, error or None).
Entry = tuple[int, str, str, int, int, "str | None", "str | None", str, str, "str | None", "str | None", "str | None"]
SQLITE_TABLE = "batches"
BATCH_MAX = 1000  # entries per stored batch at most: an entry's id is its batch's key * 1000 + its index
SQLITE_DDL = (
    # One row per written batch: its entries as one JSON array of `Entry` arrays, newest first (a
    # null where an entry was erased), the first and last entry's times (retention), how many it
    # was written with (``size``: the entries' ids) and how many it holds now (``n``).
    # AUTOINCREMENT: a key (and so an id) is never given twice, even once retention emptied the table.
    f'CREATE TABLE IF NOT EXISTS "{SQLITE_TABLE}" ("k" INTEGER PRIMARY KEY AUTOINCREMENT, "first" INTEGER NOT NULL, '
    '"last" INTEGER NOT NULL, "size" INTEGER NOT NULL, "n" INTEGER NOT NULL, "entries" TEXT NOT NULL);\n'
    # The dashboard's summary finds a window's batches by time (baas/logs/summary.py).
    f'CREATE INDEX IF NOT EXISTS "{SQLITE_TABLE}_last" ON "{SQLITE_TABLE}" ("last");'
)
SQLITE_INSERT = f'INSERT INTO "{SQLITE_TABLE}" ("first", "last", "size", "n", "entries") VALUES (?, ?, ?, ?, ?)'
_ENTRIES = msgspec.json.Encoder().encode
# The entries as the API shows them, expanded from the batches and shaped when read. ``_b``, ``_i``:
# the batch's key and the entry's rank in it (0 for its oldest), for the lookups by id and the
# orders: newest first (the default) is the batches' keys backwards, each batch's array as stored.
_E = 'json_extract("e"."value", \'$[{}]\')'
_SQLITE_SOURCE = (
    '(SELECT printf(\'%015d\', "b"."k" * 1000 + "b"."size" - 1 - "e"."key") AS "id", '
    f"strftime('%Y-%m-%d %H:%M:%f', {_E.format(0)} / 1000.0, 'unixepoch') || 'Z' AS \"created\", "
    f'CASE WHEN {_E.format(3)} >= 500 THEN 8 WHEN {_E.format(3)} >= 400 THEN 4 ELSE 0 END AS "level", '
    f"{_E.format(1)} || ' ' || {_E.format(2)} AS \"message\", "
    "json_patch(json_object('type', 'request', "
    f"'method', {_E.format(1)}, 'url', {_E.format(2)}, 'status', {_E.format(3)}, "
    f"'execTime', {_E.format(4)} / 1000.0, 'auth', coalesce({_E.format(5)}, 'guest'), "
    f"'userAgent', {_E.format(7)}, 'referer', {_E.format(8)}), "
    f"json_object('remoteIP', {_E.format(9)}, 'userIP', {_E.format(10)}, 'authId', {_E.format(6)}, "
    f"'error', {_E.format(11)})) AS \"data\", "
    '"b"."k" AS "_b", "b"."size" - 1 - "e"."key" AS "_i" '
    f'FROM "{SQLITE_TABLE}" AS "b", json_each("b"."entries") AS "e" WHERE "e"."type" = \'array\')'
)


async def upgrade_sqlite(db: Database) -> int:
    """Carry the entries of the first design's table (``_logs``, one JSON document a row) into
    batches, then drop it: a transaction per batch (each moves its entries: a crash halfway loses
    or doubles none), off the event loop's statements. How many entries were carried."""
    found = await db.fetch("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_logs'")
    if not found:
        return 0

    async def move(conn: Conn) -> int:
        rows = await conn.fetch('SELECT "id", "created", "data" FROM "_logs" ORDER BY "id" LIMIT ?', [BATCH_MAX])
        if rows:
            await conn.execute(SQLITE_INSERT, list(encode_batch([_old_entry(c, t) for _, c, t in rows])))
            await conn.execute('DELETE FROM "_logs" WHERE "id" <= ?', [rows[-1][0]])
        return len(rows)

    moved = 0
    while n := await db.write(move, heavy=True):
        moved += n
    await db.write(lambda conn: conn.execute('DROP TABLE IF EXISTS "_logs"'), heavy=True)
    return moved


def _old_entry(created: str, text: str) -> Entry:
    d = json.loads(text or "{}")
    return (
        int(datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp() * 1000),
        str(d.get("method", "")),
        str(d.get("url", "")),
        int(d.get("status", 0)),
        round(float(d.get("execTime", 0)) * 1000),
        None if d.get("auth", "guest") == "guest" else d.get("auth"),
        d.get("authId"),
        str(d.get("userAgent", "")),
        str(d.get("referer", "")),
        d.get("remoteIP"),
        d.get("userIP"),
        d.get("error"),
    )


def encode_batch(entries: list[Entry]) -> tuple[int, int, int, int, str]:
    """A batch's row: (first time, last time, size, count, the entries as JSON, newest first)."""
    times = [e[0] for e in entries]
    return min(times), max(times), len(entries), len(entries), _ENTRIES(entries[::-1]).decode()


def _source(dialect: str) -> str:
    """The entries as the API shows them: ``message`` (``GET /api/…``) is made from the details
    when read rather than stored twice (and on SQLite every other field too)."""
    if dialect == "postgresql":
        message = "(\"data\"->>'method') || ' ' || (\"data\"->>'url')"
        return (
            f'(SELECT "id", "created", "level", {message} AS "message", "data", "id" AS "_b", 0 AS "_i" FROM "{TABLE}")'
        )
    return _SQLITE_SOURCE


DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_ROWID = re.compile(r"(?<![\w.@])@?rowid\b")


def id_prefix(ms: int) -> str:
    """The first 9 characters of the ids of entries made in millisecond ``ms`` (base 36, fixed
    width, so the ids sort as their times do until the year 5188)."""
    out = ""
    for _ in range(9):
        ms, d = divmod(ms, 36)
        out = DIGITS[d] + out
    return out


class SqliteSink:
    """Writes entries to the SQLite log file from the event loop's own thread, in short
    transactions. Not through a writer thread: a second busy thread makes the event loop wait for
    the GIL at its system calls, which cost the reads of a busy server ~10 % (measured); a chunk of
    entries holds the loop for well under a millisecond instead. Never waits for the file's lock
    (another process writing its batch): `insert` answers False and the caller tries again later.
    Checkpoints are left to `checkpoint`, run from a thread (all C, no GIL)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.conn = self._connect()
        self.conn.execute("PRAGMA busy_timeout=0")
        self.conn.execute("PRAGMA wal_autocheckpoint=0")
        # This connection writes on the event loop: it never cuts the write-ahead log back (a
        # truncate there stalled the loop; the log keeps its largest size, about 30 s of entries).
        self.conn.execute("PRAGMA journal_size_limit=-1")
        self._checkpointer: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        # Never synced, neither the batches nor the checkpoints: a sync made the whole disk's
        # pending writes wait, stalling every write of the event loop behind it (measured: views
        # 0.88 of the log-off rate with syncs, 0.97 without). A crash of the server loses no written entry;
        # a power loss may cost the last entries or damage the file, which the next start then
        # moves aside (`baas.logs.RequestLog.start`).
        conn.execute("PRAGMA synchronous=OFF")
        # Checkpoints are seldom (baas/logs, CHECKPOINT_SECONDS): the write-ahead log grows between
        # two. The checkpoints after an erasure (TRUNCATE) cut it back to this size; the writer
        # (below) never does.
        conn.execute(f"PRAGMA journal_size_limit={64 << 20}")
        conn.execute("PRAGMA secure_delete=ON")  # an erased entry's bytes are overwritten, not left in free pages
        return conn

    def insert(self, entries: list[Entry]) -> bool:
        """Write ``entries`` in one transaction; False (nothing written) while another holds the lock."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return False
            raise
        try:
            self.conn.execute(SQLITE_INSERT, encode_batch(entries))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return True

    def checkpoint(self, mode: str = "PASSIVE") -> None:
        """Copy the write-ahead log into the file (PASSIVE: never waits for readers or writers;
        TRUNCATE, after an erasure: waits, then empties the write-ahead log, so no copy of an
        erased entry stays in it). One call at a time, from a thread: its own connection."""
        if self._checkpointer is None:
            self._checkpointer = self._connect()
            self._checkpointer.execute("PRAGMA busy_timeout=5000")  # TRUNCATE waits for a writer's batch
        self._checkpointer.execute(f"PRAGMA wal_checkpoint({'TRUNCATE' if mode == 'TRUNCATE' else 'PASSIVE'})")

    def close(self) -> None:
        self.conn.close()
        if self._checkpointer is not None:
            self._checkpointer.close()


def _data_column(dialect: str) -> str:
    return 'CAST("data" AS TEXT)' if dialect == "postgresql" else '"data"'


class IdMaker:
    """PostgreSQL's ids for the entries of one process: 9 characters of time (base 36), 2 of the
    entry's rank in its millisecond, 4 of the process: unique, and in order of arrival."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        # Ranks per millisecond, for the latest few: entries do not come in time order (a request
        # logged by its start time ends after a later one), and a rank restarted when the
        # millisecond came back would repeat an id and lose the entry.
        self.ranks: dict[int, int] = {}

    def next(self, ms: int) -> str:
        rank = self.ranks.get(ms, 0)
        self.ranks[ms] = rank + 1
        if len(self.ranks) > 512:
            del self.ranks[next(iter(self.ranks))]
        return id_prefix(ms) + _SEQ[rank % 1296] + self.tag


_SEQ = [a + b for a in DIGITS for b in DIGITS]  # ranks 0 … 1295 as 2 characters
_ENCODE = msgspec.json.Encoder()


class RequestData(msgspec.Struct, omit_defaults=True):  # positional: built once per entry
    """An entry's ``data``: PocketBase's fields for a request (the optional ones left out when unset)."""

    type: str  # "request"
    method: str
    url: str
    status: int
    execTime: float  # milliseconds
    auth: str  # the auth record's collection, or "guest"
    userAgent: str
    referer: str
    remoteIP: str | None = None
    userIP: str | None = None
    authId: str | None = None
    error: str | None = None


def documents(entries: list[Entry], ids: IdMaker) -> list[tuple[str, str, int, str]]:
    """The entries in PocketBase's shape: (id, created, level, ``data`` as JSON), for PostgreSQL's
    table and the JSON lines on standard output."""
    out = []
    last_second, second_prefix = -1, ""
    encode = _ENCODE.encode
    for ms, method, url, status, us, auth, auth_id, agent, referer, remote_ip, user_ip, error in entries:
        second = ms // 1000
        if second != last_second:
            last_second = second
            second_prefix = format_dt(datetime.fromtimestamp(second, UTC))[:19]
        data = RequestData(
            "request",
            method,
            url,
            status,
            us / 1000,
            auth or "guest",
            agent,
            referer,
            remote_ip,
            user_ip,
            auth_id,
            error,
        )
        level = 0 if status < 400 else 4 if status < 500 else 8
        out.append((ids.next(ms), f"{second_prefix}.{ms % 1000:03d}Z", level, encode(data).decode()))
    return out


async def insert(conn: Conn, entries: list[Entry], ids: IdMaker | None = None) -> None:
    """Store ``entries`` (a few multi-row INSERTs). On PostgreSQL an id already stored (two
    processes whose tags collide, once in 36**4 pairs, writing in the same millisecond at the same
    rank) leaves its entry out rather than failing the batch."""
    if conn.dialect != "postgresql":
        for start in range(0, len(entries), BATCH_MAX):
            await conn.execute(SQLITE_INSERT, list(encode_batch(entries[start : start + BATCH_MAX])))
        return
    rows = documents(entries, ids or IdMaker("test"))
    for start in range(0, len(rows), _CHUNK):
        part = rows[start : start + _CHUNK]
        await conn.execute(
            f'INSERT INTO "{TABLE}" ("id", "created", "level", "data") VALUES '
            + ", ".join(["(?, ?, ?, CAST(? AS JSONB))"] * len(part))
            + " ON CONFLICT DO NOTHING",
            [v for row in part for v in row],
        )


def _where(db: Reads, expr: str) -> tuple[str, list[Any]]:
    if not expr:
        return "", []
    try:
        sql = rules.compile_filter(
            expr, collection=LOGS, lookup=lambda _: None, request=SUPERUSER, dialect=db.dialect, alias="m"
        )
    except rules.RuleError as exc:
        raise BadRequest(f"Something went wrong while processing your request. Invalid filter: {exc}") from None
    return f" WHERE {sql.sql}", list(sql.params)


_BY_ID = re.compile(r'"m"\."id"( ASC| DESC)?')


def _by_id(m: re.Match[str]) -> str:
    # Newest first is the order the batches are read in; oldest first needs a sort.
    return '"m"."_b" DESC' if m[1] == " DESC" else '"m"."_b" ASC, "m"."_i" ASC'


def _order(db: Reads, sort: str) -> tuple[str, list[Any]]:
    if not sort:
        return '"m"."id" DESC' if db.dialect == "postgresql" else '"m"."_b" DESC', []
    sort = _ROWID.sub("id", sort)  # PocketBase's insertion order: the ids are in it
    try:
        sql = rules.compile_sort(
            sort, collection=LOGS, lookup=lambda _: None, request=SUPERUSER, dialect=db.dialect, alias="m"
        )
    except rules.RuleError as exc:
        raise BadRequest(f"Something went wrong while processing your request. Invalid sort: {exc}") from None
    # The ids' order is the keys': sorted by them, the primary key serves it.
    if db.dialect == "postgresql":  # the ids are a column there, with its own index
        return sql.sql, list(sql.params)
    return _BY_ID.sub(_by_id, sql.sql), list(sql.params)


def _item(row: tuple[Any, ...]) -> dict[str, Any]:
    return {"id": row[0], "created": row[1], "level": row[2], "message": row[3], "data": json.loads(row[4] or "{}")}


async def page(db: Reads, p: ListParams) -> dict[str, Any]:
    """One page of log entries, newest first unless ``p.sort`` says otherwise."""
    where, params = _where(db, p.filter)
    order, order_params = _order(db, p.sort)
    rows = await db.fetch(
        f'SELECT "m"."id", "m"."created", "m"."level", "m"."message", {_data_column(db.dialect)} '
        f'FROM {_source(db.dialect)} AS "m"{where} ORDER BY {order} LIMIT ? OFFSET ?',
        [*params, *order_params, p.perPage, (p.page - 1) * p.perPage],
    )
    items = [_item(r) for r in rows]
    if p.skipTotal:
        total, pages = -1, -1
    elif not where and db.dialect != "postgresql":  # every entry: the batches know their counts
        total = int(await db.fetchval(f'SELECT coalesce(sum("n"), 0) FROM "{SQLITE_TABLE}"') or 0)
        pages = (total + p.perPage - 1) // p.perPage
    else:
        total = int(await db.fetchval(f'SELECT count(*) FROM {_source(db.dialect)} AS "m"{where}', params) or 0)
        pages = (total + p.perPage - 1) // p.perPage
    return {"page": p.page, "perPage": p.perPage, "totalPages": pages, "totalItems": total, "items": items}


async def one(db: Reads, log_id: str) -> dict[str, Any] | None:
    if db.dialect == "postgresql":
        key: list[Any] = [log_id, 0]
    elif len(log_id) == 15 and log_id.isascii() and log_id.isdigit():
        key = list(divmod(int(log_id), BATCH_MAX))
    else:
        return None
    row = await db.fetchone(
        f'SELECT "id", "created", "level", "message", {_data_column(db.dialect)} FROM {_source(db.dialect)} AS "m" '
        'WHERE "_b" = ? AND "_i" = ?',
        key,
    )
    return None if row is None else _item(row)


async def stats(db: Reads, expr: str) -> list[dict[str, Any]]:
    """Entries per hour (``date``: the hour's start, as PocketBase writes it), oldest first."""
    where, params = _where(db, expr)
    hour = 'substr("m"."created", 1, 13) || \':00:00.000\''
    rows = await db.fetch(
        f'SELECT {hour} AS "date", count(*) FROM {_source(db.dialect)} AS "m"{where} GROUP BY 1 ORDER BY 1', params
    )
    return [{"total": int(n), "date": date} for date, n in rows]


RETENTION_CHUNK = 200  # batches (up to 50,000 entries) per retention transaction
# Entries are stored in the order their batches are written, up to about a second after they were
# made (and each process writes its own): the retention walks past the cut by this much.
SKEW_MS = 60_000


async def delete_before(db: Database, ms: int) -> int:
    """Delete the entries made before millisecond ``ms`` (retention); how many went. On SQLite it
    walks the oldest entries in key order, a chunk per transaction (other processes' batches go on
    between two), and stops past the cut: no scan of the whole log."""
    if db.dialect == "postgresql":
        cut = id_prefix(ms)
        return await db.write(lambda conn: conn.execute(f'DELETE FROM "{TABLE}" WHERE "id" < ?', [cut]))
    gone, after = 0, -1
    while True:

        async def chunk(conn: Conn, after: int = after) -> tuple[int, int, bool]:
            rows = await conn.fetch(
                f'SELECT "k", "first" FROM "{SQLITE_TABLE}" WHERE "k" > ? ORDER BY "k" LIMIT ?',
                [after, RETENTION_CHUNK],
            )
            if not rows:
                return 0, after, True
            last_k, last_first = rows[-1]
            n = await conn.fetchval(
                f'SELECT coalesce(sum("n"), 0) FROM "{SQLITE_TABLE}" WHERE "k" > ? AND "k" <= ? AND "last" < ?',
                [after, last_k, ms],
            )
            await conn.execute(
                f'DELETE FROM "{SQLITE_TABLE}" WHERE "k" > ? AND "k" <= ? AND "last" < ?', [after, last_k, ms]
            )
            return int(n or 0), last_k, len(rows) < RETENTION_CHUNK or last_first >= ms + SKEW_MS

        n, after, done = await db.write(chunk, heavy=True)
        gone += n
        if done:
            return gone


async def scrub(conn: Conn, needles: list[str]) -> int:
    """Delete every entry whose details mention one of ``needles`` (a user's id, email …): the
    GDPR erase of a user's traces in the log. How many went."""
    needles = [n for n in needles if n]
    gone = 0
    if conn.dialect == "postgresql":
        for needle in needles:
            pattern = contains_pattern(needle)
            gone += await conn.execute(
                f'DELETE FROM "{TABLE}" WHERE CAST("data" AS TEXT) ILIKE ? ESCAPE \'\\\'', [pattern]
            )
        return gone
    # SQLite: an entry that mentions one becomes a null in its batch (the others keep their ids).
    keys: set[int] = set()
    for needle in needles:
        pattern = contains_pattern(needle)
        rows = await conn.fetch(f'SELECT "k" FROM "{SQLITE_TABLE}" WHERE "entries" LIKE ? ESCAPE \'\\\'', [pattern])
        keys.update(r[0] for r in rows)
    for k in sorted(keys):
        batch = json.loads(await conn.fetchval(f'SELECT "entries" FROM "{SQLITE_TABLE}" WHERE "k" = ?', [k]))
        # As LIKE found the batch: ASCII letters in any case (an email typed Alice@Example.com).
        hit = [
            i
            for i, e in enumerate(batch)
            if e is not None and any(n.lower() in _ENTRIES(e).decode().lower() for n in needles)
        ]
        for i in hit:
            batch[i] = None
        if hit:
            gone += len(hit)
            await conn.execute(
                f'UPDATE "{SQLITE_TABLE}" SET "entries" = ?, "n" = "n" - ? WHERE "k" = ?',
                [_ENTRIES(batch).decode(), len(hit), k],
            )
    return gone


decode_batch = msgspec.json.Decoder(list[list[Any] | None]).decode  # a SQLite batch's entries


async def window_batches(db: Reads, start: int, end: int, chunk: int) -> AsyncIterator[str]:
    """SQLite: the entries (JSON text, `decode_batch`) of each batch that may hold entries of
    ``start`` <= ms < ``end`` (by the indexed time of its last entry), ``chunk`` batches per
    query: each query and the caller's work on it hold the event loop a few milliseconds only."""
    after = -1
    while True:
        rows = await db.fetch(
            f'SELECT "k", "entries" FROM "{SQLITE_TABLE}" WHERE "last" >= ? AND "first" < ? AND "k" > ? '
            'ORDER BY "k" LIMIT ?',
            [start, end, after, chunk],
        )
        for _, text in rows:
            yield text
        if len(rows) < chunk:
            return
        after = rows[-1][0]
