"""The webhook tables (migration 0006): webhooks, deliveries, attempts. Every function is one short
transaction with bound parameters.

Claiming: a due delivery is taken by one ``UPDATE … RETURNING`` that sets it ``sending`` with a
lease. On PostgreSQL the candidate rows are locked ``FOR UPDATE SKIP LOCKED``, so workers and
nodes claiming at once take different rows; on SQLite writes are serialised across processes, so
the UPDATE itself is the claim. A delivery waits while an earlier delivery of the same record to
the same webhook is not final (pending or sending), so each record's events arrive in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from baas.db import Conn, Database
from baas.ids import format_dt, new_id

FINAL = ("delivered", "dead")
DELIVERY_COLUMNS = (
    "id",
    "webhook",
    "origin",
    "event_id",
    "seq",
    "record_key",
    "type",
    "payload",
    "state",
    "attempts",
    "next_attempt",
    "lease_until",
    "owner",
    "last_status",
    "last_error",
    "replay_of",
    "created",
    "updated",
)
_DELIVERY_SELECT = "SELECT " + ", ".join(f'"{c}"' for c in DELIVERY_COLUMNS) + ' FROM "_webhook_deliveries"'
_INSERT_DELIVERY = (
    'INSERT INTO "_webhook_deliveries" ('
    + ", ".join(f'"{c}"' for c in DELIVERY_COLUMNS)
    + ") VALUES ("
    + ", ".join("?" for _ in DELIVERY_COLUMNS)
    + ")"
)
# Fan-out may meet an event it already fanned out (the consumer was moved back, or re-registered
# after a drop): the partial unique index on (webhook, event_id) makes that a no-op, not an error.
_INSERT_EVENT_DELIVERY = _INSERT_DELIVERY + ' ON CONFLICT ("webhook", "event_id") WHERE "origin" = \'event\' DO NOTHING'
ATTEMPT_COLUMNS = ("id", "delivery", "attempt", "started", "status", "latency_ms", "response", "error")


def now() -> datetime:
    return datetime.now(UTC)


def new_delivery_id() -> str:
    """A ``webhook-id``: ``msg_`` and 24 random characters."""
    return "msg_" + new_id(24)


def delivery_row(
    webhook: str,
    origin: str,
    type_: str,
    payload: str,
    *,
    event_id: int = 0,
    record_key: str = "",
    replay_of: str = "",
    stamp: str = "",
) -> dict[str, Any]:
    """A new pending delivery, due now."""
    stamp = stamp or format_dt(now())
    return {
        "id": new_delivery_id(),
        "webhook": webhook,
        "origin": origin,
        "event_id": event_id,
        "seq": event_id,
        "record_key": record_key,
        "type": type_,
        "payload": payload,
        "state": "pending",
        "attempts": 0,
        "next_attempt": stamp,
        "lease_until": "",
        "owner": "",
        "last_status": 0,
        "last_error": "",
        "replay_of": replay_of,
        "created": stamp,
        "updated": stamp,
    }


# -- webhooks ------------------------------------------------------------------------------------
WEBHOOK_COLUMNS = ("name", "source", "config", "enabled", "failures", "disabled_reason", "created", "updated")
_WEBHOOK_SELECT = "SELECT " + ", ".join(f'"{c}"' for c in WEBHOOK_COLUMNS) + ' FROM "_webhooks"'


async def webhooks(db: Database) -> list[dict[str, Any]]:
    """Every webhook row, by name."""
    return [dict(zip(WEBHOOK_COLUMNS, r)) for r in await db.fetch(_WEBHOOK_SELECT + ' ORDER BY "name"')]


async def webhook(db: Database, name: str) -> dict[str, Any] | None:
    row = await db.fetchone(_WEBHOOK_SELECT + ' WHERE "name" = ?', [name])
    return None if row is None else dict(zip(WEBHOOK_COLUMNS, row))


async def sync_declared(db: Database, declared: dict[str, tuple[str, bool]]) -> None:
    """Make the ``yaml`` webhooks those of ``declared`` (name → (config JSON, enabled)). A changed
    declaration starts over (its ``enabled``, no failures); an unchanged one keeps its state, so a
    webhook disabled after failures stays disabled across restarts until re-enabled."""

    async def tx(conn: Conn) -> None:
        stamp = format_dt(now())
        rows = {
            r[0]: (r[1], r[2])
            for r in await conn.fetch('SELECT "name", "source", "config" FROM "_webhooks" WHERE "source" = \'yaml\'')
        }
        for name in rows.keys() - declared.keys():  # removed from the file: gone with its log
            await _delete(conn, name)
        for name, (config, enabled) in declared.items():
            if name in rows and rows[name][1] == config:
                continue
            if name in rows:
                await conn.execute(
                    'UPDATE "_webhooks" SET "config" = ?, "enabled" = ?, "failures" = 0, "disabled_reason" = \'\', '
                    '"updated" = ? WHERE "name" = ?',
                    [config, int(enabled), stamp, name],
                )
                continue
            # An upsert: workers starting together may both get here (an API webhook of that name is replaced).
            await conn.execute(
                'INSERT INTO "_webhooks" ("name", "source", "config", "enabled", "failures", "disabled_reason", '
                '"created", "updated") VALUES (?, \'yaml\', ?, ?, 0, \'\', ?, ?) ON CONFLICT ("name") DO UPDATE SET '
                '"source" = excluded."source", "config" = excluded."config", "enabled" = excluded."enabled", '
                '"failures" = 0, "disabled_reason" = \'\', "updated" = excluded."updated"',
                [name, config, int(enabled), stamp, stamp],
            )

    await db.write(tx)


async def create_webhook(db: Database, name: str, config: str, enabled: bool) -> bool:
    """Insert an API webhook; False if the name is taken."""

    async def tx(conn: Conn) -> bool:
        if await conn.fetchone('SELECT 1 FROM "_webhooks" WHERE "name" = ?', [name]):
            return False
        stamp = format_dt(now())
        await conn.execute(
            'INSERT INTO "_webhooks" ("name", "source", "config", "enabled", "failures", "disabled_reason", '
            "\"created\", \"updated\") VALUES (?, 'api', ?, ?, 0, '', ?, ?)",
            [name, config, int(enabled), stamp, stamp],
        )
        return True

    return await db.write(tx)


async def update_webhook(db: Database, name: str, config: str | None, enabled: bool) -> None:
    """Replace an API webhook's options (``None``: keep them) and set ``enabled`` (re-enabling
    forgets the failure count)."""
    stamp = format_dt(now())
    if config is None:
        sql = 'UPDATE "_webhooks" SET "enabled" = ?, "updated" = ?'
        params: list[Any] = [int(enabled), stamp]
    else:
        sql = 'UPDATE "_webhooks" SET "config" = ?, "enabled" = ?, "updated" = ?'
        params = [config, int(enabled), stamp]
    if enabled:
        sql += ', "failures" = 0, "disabled_reason" = \'\''
    await db.write(lambda c: c.execute(sql + ' WHERE "name" = ?', [*params, name]))


async def delete_webhook(db: Database, name: str) -> None:
    """Remove a webhook with its deliveries and their log."""

    await db.write(lambda conn: _delete(conn, name))


async def _delete(conn: Conn, name: str) -> None:
    await conn.execute(
        'DELETE FROM "_webhook_attempts" WHERE "delivery" IN (SELECT "id" FROM "_webhook_deliveries" WHERE "webhook" = ?)',
        [name],
    )
    await conn.execute('DELETE FROM "_webhook_deliveries" WHERE "webhook" = ?', [name])
    await conn.execute('DELETE FROM "_webhooks" WHERE "name" = ?', [name])


# -- fan-out -------------------------------------------------------------------------------------
async def fan_out(db: Database, consumer: str, old: int, new: int, rows: list[dict[str, Any]]) -> bool:
    """Insert ``rows`` and move ``consumer`` from ``old`` to ``new`` in one transaction. False (and
    nothing written) if the position was no longer ``old``: another process fanned out first."""

    class _Lost(Exception):
        pass

    async def tx(conn: Conn) -> None:
        moved = await conn.execute(
            'UPDATE "_event_consumers" SET "position" = ?, "updated" = ? WHERE "name" = ? AND "position" = ?',
            [new, format_dt(now()), consumer, old],
        )
        if moved != 1:
            raise _Lost
        # An event erased meanwhile (baas/gdpr removes the events that mention an erased user)
        # gets no delivery: it would carry the erased data out again.
        ids = sorted({int(row["event_id"]) for row in rows if row["event_id"]})
        kept: set[int] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            kept.update(r[0] for r in await conn.fetch(f'SELECT "id" FROM "_events" WHERE "id" IN ({marks})', chunk))
        for row in rows:
            if row["event_id"] and int(row["event_id"]) not in kept:
                continue
            await conn.execute(_INSERT_EVENT_DELIVERY, [row[c] for c in DELIVERY_COLUMNS])

    try:
        await db.write(tx)
    except _Lost:
        return False
    return True


async def insert(db: Database, rows: list[dict[str, Any]]) -> None:
    """New deliveries (test sends, replays)."""

    async def tx(conn: Conn) -> None:
        for row in rows:
            await conn.execute(_INSERT_DELIVERY, [row[c] for c in DELIVERY_COLUMNS])

    await db.write(tx)


# -- claiming and outcomes -----------------------------------------------------------------------
async def claim(db: Database, owner: str, lease: float, limit: int) -> list[dict[str, Any]]:
    """Take up to ``limit`` due deliveries of enabled webhooks for ``owner`` (see the module
    docstring); ``lease`` seconds until another process may take them again."""
    stamp = now()
    lock = ' FOR UPDATE OF "d" SKIP LOCKED' if db.dialect == "postgresql" else ""
    sql = (
        'UPDATE "_webhook_deliveries" SET "state" = \'sending\', "owner" = ?, "lease_until" = ?, '
        '"attempts" = "attempts" + 1, "updated" = ? WHERE "id" IN ('
        'SELECT "d"."id" FROM "_webhook_deliveries" AS "d" JOIN "_webhooks" AS "w" ON "w"."name" = "d"."webhook" '
        'WHERE "w"."enabled" = 1 AND (("d"."state" = \'pending\' AND "d"."next_attempt" <= ?) '
        'OR ("d"."state" = \'sending\' AND "d"."lease_until" < ?)) '
        'AND ("d"."record_key" = \'\' OR NOT EXISTS (SELECT 1 FROM "_webhook_deliveries" AS "e" '
        'WHERE "e"."webhook" = "d"."webhook" AND "e"."record_key" = "d"."record_key" AND "e"."seq" < "d"."seq" '
        "AND \"e\".\"state\" IN ('pending', 'sending'))) "
        f'ORDER BY "d"."seq" LIMIT ?{lock}) RETURNING "id", "webhook", "type", "payload", "attempts", "created"'
    )
    now_s = format_dt(stamp)
    until = format_dt(stamp + timedelta(seconds=lease))
    rows = await db.write(lambda c: c.fetch(sql, [owner, until, now_s, now_s, now_s, limit]))
    keys = ("id", "webhook", "type", "payload", "attempts", "created")
    return [dict(zip(keys, r)) for r in rows]


async def release(db: Database, owner: str) -> None:
    """Hand back ``owner``'s claims (a normal stop): due again now, under the same webhook-id."""
    await db.write(
        lambda c: c.execute(
            'UPDATE "_webhook_deliveries" SET "state" = \'pending\', "lease_until" = \'\', "next_attempt" = ? '
            'WHERE "owner" = ? AND "state" = \'sending\'',
            [format_dt(now()), owner],
        )
    )


async def finish(
    db: Database,
    delivery: dict[str, Any],
    owner: str,
    *,
    state: str,
    next_attempt: str,
    status: int,
    latency_ms: float,
    response: str,
    error: str,
    disable_after: int,
) -> tuple[bool, bool]:
    """Record an attempt's outcome and the webhook's failure streak. Returns (recorded, disabled
    now): not recorded when the lease was lost to another process meanwhile."""

    async def tx(conn: Conn) -> tuple[bool, bool]:
        stamp = format_dt(now())
        n = await conn.execute(
            'UPDATE "_webhook_deliveries" SET "state" = ?, "next_attempt" = ?, "last_status" = ?, "last_error" = ?, '
            '"lease_until" = \'\', "updated" = ? WHERE "id" = ? AND "owner" = ? AND "state" = \'sending\' '
            'AND "attempts" = ?',
            [state, next_attempt, status, error, stamp, delivery["id"], owner, delivery["attempts"]],
        )
        if n != 1:
            return False, False
        await conn.execute(
            'INSERT INTO "_webhook_attempts" ("id", "delivery", "attempt", "started", "status", "latency_ms", '
            '"response", "error") VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
            [new_id(), delivery["id"], delivery["attempts"], stamp, status, latency_ms, response, error],
        )
        if state == "delivered":
            await conn.execute(
                'UPDATE "_webhooks" SET "failures" = 0 WHERE "name" = ? AND "failures" <> 0', [delivery["webhook"]]
            )
            return True, False
        await conn.execute('UPDATE "_webhooks" SET "failures" = "failures" + 1 WHERE "name" = ?', [delivery["webhook"]])
        disabled = await conn.execute(
            'UPDATE "_webhooks" SET "enabled" = 0, "disabled_reason" = ?, "updated" = ? '
            'WHERE "name" = ? AND "enabled" = 1 AND "failures" >= ?',
            [
                f"disabled after {disable_after} consecutive failed attempts (last: {error})"[:500],
                stamp,
                delivery["webhook"],
                disable_after,
            ],
        )
        return True, disabled == 1

    return await db.write(tx)


# -- the delivery log ----------------------------------------------------------------------------
async def deliveries(
    db: Database, webhook: str, *, state: str = "", limit: int = 30, offset: int = 0
) -> list[dict[str, Any]]:
    """A webhook's deliveries, newest first, each with its ``attempts`` log."""
    where, params = ' WHERE "webhook" = ?', [webhook]
    if state:
        where += ' AND "state" = ?'
        params.append(state)
    rows = await db.fetch(
        _DELIVERY_SELECT + where + ' ORDER BY "created" DESC, "seq" DESC, "id" LIMIT ? OFFSET ?',
        [*params, limit, offset],
    )
    out = [dict(zip(DELIVERY_COLUMNS, r)) for r in rows]
    if out:
        marks = ", ".join("?" for _ in out)
        by_id: dict[str, list[dict[str, Any]]] = {d["id"]: [] for d in out}
        for a in await db.fetch(
            "SELECT " + ", ".join(f'"{c}"' for c in ATTEMPT_COLUMNS) + ' FROM "_webhook_attempts" '
            f'WHERE "delivery" IN ({marks}) ORDER BY "attempt"',
            [d["id"] for d in out],
        ):
            by_id[a[1]].append(dict(zip(ATTEMPT_COLUMNS, a)))
        for d in out:
            d["attempt_log"] = by_id[d["id"]]
    return out


async def delivery(db: Database, webhook: str, delivery_id: str) -> dict[str, Any] | None:
    row = await db.fetchone(_DELIVERY_SELECT + ' WHERE "webhook" = ? AND "id" = ?', [webhook, delivery_id])
    return None if row is None else dict(zip(DELIVERY_COLUMNS, row))


async def in_range(db: Database, webhook: str, start: str, end: str, limit: int) -> list[dict[str, Any]]:
    """The event deliveries of ``webhook`` created in [start, end], oldest first."""
    rows = await db.fetch(
        _DELIVERY_SELECT + ' WHERE "webhook" = ? AND "origin" = \'event\' AND "created" >= ? AND "created" <= ? '
        'ORDER BY "seq" LIMIT ?',
        [webhook, start, end, limit],
    )
    return [dict(zip(DELIVERY_COLUMNS, r)) for r in rows]


async def prune(db: Database, days: float) -> int:
    """Delete final deliveries (and their attempts) older than ``days``."""
    cutoff = format_dt(now() - timedelta(days=days))

    async def tx(conn: Conn) -> int:
        await conn.execute(
            'DELETE FROM "_webhook_attempts" WHERE "delivery" IN (SELECT "id" FROM "_webhook_deliveries" '
            "WHERE \"state\" IN ('delivered', 'dead') AND \"created\" < ?)",
            [cutoff],
        )
        return int(
            await conn.execute(
                'DELETE FROM "_webhook_deliveries" WHERE "state" IN (\'delivered\', \'dead\') AND "created" < ?',
                [cutoff],
            )
        )

    return await db.write(tx)
