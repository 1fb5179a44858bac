"""The ``_logs`` table: batched inserts, the PocketBase-compatible reads (list, view, hourly stats,
with the filter language over ``id``, ``created``, ``level``, ``message`` and any ``data.*``
path), retention and the GDPR scrub. Every function is one short statement or transaction.

On PostgreSQL the table is in the server's database (migration 0009); on SQLite in a file of its
own, ``<data dir>/logs.db`` (`SQLITE_DDL`). Ids are time-ordered (the request's millisecond in
base 36, its rank in that millisecond, the writing process's tag), so the primary key is also the
insertion order and the retention cut, and the table needs no other index: each entry costs one
append to one B-tree."""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from baas import rules
from baas.db import Conn, Database, Reads
from baas.errors import BadRequest
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
SQLITE_DDL = (
    'CREATE TABLE IF NOT EXISTS "_logs" ("id" TEXT PRIMARY KEY NOT NULL, "created" TEXT NOT NULL, '
    '"level" INTEGER NOT NULL DEFAULT 0, "data" JSON NOT NULL DEFAULT \'{}\') WITHOUT ROWID'
)


def _source(dialect: str) -> str:
    """The entries as the API shows them: ``message`` (``GET /api/…``) is made from the details
    when read rather than stored twice."""
    if dialect == "postgresql":
        message = "(\"data\"->>'method') || ' ' || (\"data\"->>'url')"
    else:
        message = "json_extract(\"data\", '$.method') || ' ' || json_extract(\"data\", '$.url')"
    return f'(SELECT "id", "created", "level", {message} AS "message", "data" FROM "{TABLE}")'


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
        self._checkpointer: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def insert(self, rows: list[tuple[str, str, int, str]]) -> bool:
        """Write ``rows`` in one transaction; False (nothing written) while another holds the lock."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return False
            raise
        try:
            self.conn.execute(
                f'INSERT OR IGNORE INTO "{TABLE}" ("id", "created", "level", "data") VALUES '
                + ", ".join(["(?, ?, ?, ?)"] * len(rows)),
                [v for row in rows for v in row],
            )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return True

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the file (PASSIVE: never waits for readers or writers).
        One call at a time, from a thread: its own connection."""
        if self._checkpointer is None:
            self._checkpointer = self._connect()
        self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        self.conn.close()
        if self._checkpointer is not None:
            self._checkpointer.close()


def _data_column(dialect: str) -> str:
    return 'CAST("data" AS TEXT)' if dialect == "postgresql" else '"data"'


async def insert(conn: Conn, rows: list[tuple[str, str, int, str]]) -> None:
    """Rows of ``(id, created, level, data as JSON text)``, in a few multi-row INSERTs.
    An id already stored (two processes whose tags collide, once in 36**4 pairs, writing in the
    same millisecond at the same rank) leaves its entry out rather than failing the batch."""
    pg = conn.dialect == "postgresql"
    value = "(?, ?, ?, CAST(? AS JSONB))" if pg else "(?, ?, ?, ?)"
    head = "INSERT INTO" if pg else "INSERT OR IGNORE INTO"
    tail = " ON CONFLICT DO NOTHING" if pg else ""
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        params = [v for row in chunk for v in row]
        await conn.execute(
            f'{head} "{TABLE}" ("id", "created", "level", "data") VALUES ' + ", ".join([value] * len(chunk)) + tail,
            params,
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


def _order(db: Reads, sort: str) -> tuple[str, list[Any]]:
    if not sort:
        return '"m"."id" DESC', []
    sort = _ROWID.sub("id", sort)  # PocketBase's insertion order: the ids are in it
    try:
        sql = rules.compile_sort(
            sort, collection=LOGS, lookup=lambda _: None, request=SUPERUSER, dialect=db.dialect, alias="m"
        )
    except rules.RuleError as exc:
        raise BadRequest(f"Something went wrong while processing your request. Invalid sort: {exc}") from None
    return sql.sql, list(sql.params)


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
    else:
        total = int(await db.fetchval(f'SELECT count(*) FROM {_source(db.dialect)} AS "m"{where}', params) or 0)
        pages = (total + p.perPage - 1) // p.perPage
    return {"page": p.page, "perPage": p.perPage, "totalPages": pages, "totalItems": total, "items": items}


async def one(db: Reads, log_id: str) -> dict[str, Any] | None:
    row = await db.fetchone(
        f'SELECT "id", "created", "level", "message", {_data_column(db.dialect)} FROM {_source(db.dialect)} AS "m" '
        'WHERE "id" = ?',
        [log_id],
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


async def delete_before(db: Database, ms: int) -> int:
    """Delete the entries made before millisecond ``ms`` (retention); how many went."""

    async def run(conn: Conn) -> int:
        return await conn.execute(f'DELETE FROM "{TABLE}" WHERE "id" < ?', [id_prefix(ms)])

    return await db.write(run)


async def scrub(conn: Conn, needles: list[str]) -> int:
    """Delete every entry whose details mention one of ``needles`` (a user's id, email …): the
    GDPR erase of a user's traces in the log."""
    data = _data_column(conn.dialect)
    gone = 0
    for needle in [n for n in needles if n]:
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        gone += await conn.execute(f"DELETE FROM \"{TABLE}\" WHERE {data} LIKE ? ESCAPE '\\'", [pattern])
    return gone
