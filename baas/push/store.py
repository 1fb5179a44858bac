"""The push tables (migration 0011). Every function is one short transaction with bound parameters.

Claiming works as for webhook deliveries: one ``UPDATE … RETURNING`` marks due deliveries
``sending`` under a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so nodes claiming at once take
different rows; SQLite runs one write at a time). A claim whose lease ran out (its process died) is
taken again."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from baas.db import Conn, Database
from baas.ids import format_dt, new_id

SUB_COLUMNS = (
    "id",
    "collectionRef",
    "recordRef",
    "provider",
    "endpoint",
    "keys",
    "label",
    "expires",
    "lastSent",
    "created",
    "updated",
)
_SUB_SELECT = "SELECT " + ", ".join(f'"{c}"' for c in SUB_COLUMNS) + ' FROM "_push_subscriptions"'
DELIVERY_COLUMNS = (
    "id",
    "message",
    "subscription",
    "collectionRef",
    "recordRef",
    "provider",
    "topic",
    "collapse",
    "payload",
    "ttl",
    "urgency",
    "state",
    "attempts",
    "next_attempt",
    "lease_until",
    "owner",
    "last_status",
    "last_error",
    "created",
    "updated",
)
_DELIVERY_SELECT = "SELECT " + ", ".join(f'"{c}"' for c in DELIVERY_COLUMNS) + ' FROM "_push_deliveries"'
FINAL = ("delivered", "expired", "failed")
STATES = ("pending", "sending", *FINAL)
CHUNK = 400  # ids per IN (…) list: well under SQLite's 999 bound parameters


def now() -> datetime:
    return datetime.now(UTC)


# -- subscriptions -------------------------------------------------------------------------------
async def subscribe(
    db: Database,
    owner: tuple[str, str],
    provider: str,
    endpoint: str,
    keys: dict[str, Any],
    label: str,
    expires: str,
    keep: int,
) -> dict[str, Any]:
    """Store a device for ``owner`` (collection id, record id). The same endpoint again is the same
    device: its keys and owner are updated (a browser re-subscribes after another user signed in).
    Past ``keep`` devices for one owner, the least recently updated go."""

    async def tx(conn: Conn) -> dict[str, Any]:
        stamp = format_dt(now())
        row = await conn.fetchone(
            'SELECT "id", "created", "collectionRef", "recordRef" FROM "_push_subscriptions" '
            'WHERE "provider" = ? AND "endpoint" = ?',
            [provider, endpoint],
        )
        if row is not None and (row[2], row[3]) != owner:
            # The device changed hands: what was queued for the previous user must never reach it.
            await conn.execute(
                'UPDATE "_push_deliveries" SET "state" = \'expired\', "last_error" = ?, "updated" = ? '
                'WHERE "subscription" = ? AND "state" = \'pending\'',
                ["the device was registered by another user", stamp, row[0]],
            )
        values = {
            "id": row[0] if row else "ps_" + new_id(15),
            "collectionRef": owner[0],
            "recordRef": owner[1],
            "provider": provider,
            "endpoint": endpoint,
            "keys": json.dumps(keys, sort_keys=True),
            "label": label,
            "expires": expires,
            "lastSent": "",
            "created": row[1] if row else stamp,
            "updated": stamp,
        }
        cols = ", ".join(f'"{c}"' for c in SUB_COLUMNS)
        marks = ", ".join("?" for _ in SUB_COLUMNS)
        update = ", ".join(f'"{c}" = excluded."{c}"' for c in SUB_COLUMNS if c not in ("id", "created", "lastSent"))
        await conn.execute(
            f'INSERT INTO "_push_subscriptions" ({cols}) VALUES ({marks}) '
            f'ON CONFLICT ("provider", "endpoint") DO UPDATE SET {update}',
            [values[c] for c in SUB_COLUMNS],
        )
        extra = await conn.fetch(
            'SELECT "id" FROM "_push_subscriptions" WHERE "collectionRef" = ? AND "recordRef" = ? '
            'ORDER BY "updated" DESC, "id" DESC LIMIT -1 OFFSET ?'
            if conn.dialect != "postgresql"
            else 'SELECT "id" FROM "_push_subscriptions" WHERE "collectionRef" = ? AND "recordRef" = ? '
            'ORDER BY "updated" DESC, "id" DESC OFFSET ?',
            [owner[0], owner[1], keep],
        )
        for (old,) in extra:
            await conn.execute('DELETE FROM "_push_subscriptions" WHERE "id" = ?', [old])
        return values

    return await db.write(tx)


def sub_dict(row: Sequence[Any]) -> dict[str, Any]:
    return dict(zip(SUB_COLUMNS, row))


async def subscriptions(
    db: Database, owner: tuple[str, str] | None, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of devices (``owner``'s, or everybody's) newest first, and how many there are."""
    where, params = ("", []) if owner is None else (' WHERE "collectionRef" = ? AND "recordRef" = ?', list(owner))
    total = await db.fetchval('SELECT count(*) FROM "_push_subscriptions"' + where, params)
    rows = await db.fetch(
        _SUB_SELECT + where + ' ORDER BY "created" DESC, "id" DESC LIMIT ? OFFSET ?',
        [*params, per_page, (page - 1) * per_page],
    )
    return [sub_dict(r) for r in rows], int(total or 0)


async def subscription(db: Database, sub_id: str) -> dict[str, Any] | None:
    row = await db.fetchone(_SUB_SELECT + ' WHERE "id" = ?', [sub_id])
    return None if row is None else sub_dict(row)


async def unsubscribe(db: Database, sub_id: str) -> None:
    """Remove a device; its deliveries not yet sent end as ``expired``."""

    async def tx(conn: Conn) -> None:
        await conn.execute('DELETE FROM "_push_subscriptions" WHERE "id" = ?', [sub_id])
        await conn.execute(
            'UPDATE "_push_deliveries" SET "state" = \'expired\', "last_error" = ?, "updated" = ? '
            'WHERE "subscription" = ? AND "state" = \'pending\'',
            ["the subscription was removed", format_dt(now()), sub_id],
        )

    await db.write(tx)


# -- preferences ---------------------------------------------------------------------------------
async def preferences(db: Database, owner: tuple[str, str]) -> dict[str, Any]:
    row = await db.fetchone(
        'SELECT "enabled", "muted" FROM "_push_preferences" WHERE "collectionRef" = ? AND "recordRef" = ?', list(owner)
    )
    return (
        {"enabled": True, "mutedTopics": []}
        if row is None
        else {"enabled": bool(row[0]), "mutedTopics": json.loads(row[1])}
    )


async def set_preferences(db: Database, owner: tuple[str, str], enabled: bool, muted: list[str]) -> None:
    await db.write(
        lambda c: c.execute(
            'INSERT INTO "_push_preferences" ("collectionRef", "recordRef", "enabled", "muted", "updated") '
            'VALUES (?, ?, ?, ?, ?) ON CONFLICT ("collectionRef", "recordRef") DO UPDATE SET '
            '"enabled" = excluded."enabled", "muted" = excluded."muted", "updated" = excluded."updated"',
            [owner[0], owner[1], int(enabled), json.dumps(muted), format_dt(now())],
        )
    )


# -- the outbox ----------------------------------------------------------------------------------
async def enqueue(
    db: Database,
    message: str,
    owners: list[tuple[str, str]],
    payload: str,
    topic: str,
    ttl: int,
    urgency: str,
    collapse: str,
    providers: set[str],
) -> dict[str, int]:
    """One pending delivery per device of each owner who has not opted out (of everything, or of
    ``topic``), all in one transaction. Counts: ``queued`` deliveries, ``optedOut`` users and users
    with ``noDevice``. Devices of a provider this server does not have are left out."""

    async def tx(conn: Conn) -> dict[str, int]:
        stamp = format_dt(now())
        counts = {"queued": 0, "optedOut": 0, "noDevice": 0}
        cols = ", ".join(f'"{c}"' for c in DELIVERY_COLUMNS)
        insert = f'INSERT INTO "_push_deliveries" ({cols}) VALUES ({", ".join("?" for _ in DELIVERY_COLUMNS)})'
        by_coll: dict[str, list[str]] = {}
        for coll_id, rec_id in dict.fromkeys(owners):
            by_coll.setdefault(coll_id, []).append(rec_id)
        for coll_id, ids in by_coll.items():
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                marks = ", ".join("?" for _ in chunk)
                prefs = {
                    r[0]: (bool(r[1]), json.loads(r[2]))
                    for r in await conn.fetch(
                        'SELECT "recordRef", "enabled", "muted" FROM "_push_preferences" '
                        f'WHERE "collectionRef" = ? AND "recordRef" IN ({marks})',
                        [coll_id, *chunk],
                    )
                }
                devices: dict[str, list[tuple[str, str]]] = {}
                for sub_id, rec_id, provider in await conn.fetch(
                    'SELECT "id", "recordRef", "provider" FROM "_push_subscriptions" '
                    f'WHERE "collectionRef" = ? AND "recordRef" IN ({marks}) ORDER BY "id"',
                    [coll_id, *chunk],
                ):
                    if provider in providers:
                        devices.setdefault(rec_id, []).append((sub_id, provider))
                for rec_id in chunk:
                    enabled, muted = prefs.get(rec_id, (True, []))
                    if not enabled or (topic and topic in muted):
                        counts["optedOut"] += 1
                        continue
                    if rec_id not in devices:
                        counts["noDevice"] += 1
                        continue
                    for sub_id, provider in devices[rec_id]:
                        row = {
                            "id": "pd_" + new_id(15),
                            "message": message,
                            "subscription": sub_id,
                            "collectionRef": coll_id,
                            "recordRef": rec_id,
                            "provider": provider,
                            "topic": topic,
                            "collapse": collapse,
                            "payload": payload,
                            "ttl": ttl,
                            "urgency": urgency,
                            "state": "pending",
                            "attempts": 0,
                            "next_attempt": stamp,
                            "lease_until": "",
                            "owner": "",
                            "last_status": 0,
                            "last_error": "",
                            "created": stamp,
                            "updated": stamp,
                        }
                        await conn.execute(insert, [row[c] for c in DELIVERY_COLUMNS])
                        counts["queued"] += 1
        return counts

    return await db.write(tx)


async def due(db: Database) -> bool:
    """Whether any delivery waits (a read: polling costs no write when there is nothing to send)."""
    stamp = format_dt(now())
    row = await db.fetchone(
        'SELECT 1 FROM "_push_deliveries" WHERE ("state" = \'pending\' AND "next_attempt" <= ?) '
        'OR ("state" = \'sending\' AND "lease_until" < ?) LIMIT 1',
        [stamp, stamp],
    )
    return row is not None


CLAIMED = (
    "id",
    "message",
    "subscription",
    "collectionRef",
    "recordRef",
    "provider",
    "topic",
    "collapse",
    "payload",
    "ttl",
    "urgency",
    "attempts",
    "created",
)


async def claim(db: Database, owner: str, lease: float, limit: int) -> list[dict[str, Any]]:
    """Take up to ``limit`` due deliveries for ``owner`` for ``lease`` seconds (module docstring)."""
    stamp = now()
    lock = " FOR UPDATE SKIP LOCKED" if db.dialect == "postgresql" else ""
    sql = (
        'UPDATE "_push_deliveries" SET "state" = \'sending\', "owner" = ?, "lease_until" = ?, '
        '"attempts" = "attempts" + 1, "updated" = ? WHERE "id" IN ('
        'SELECT "id" FROM "_push_deliveries" WHERE ("state" = \'pending\' AND "next_attempt" <= ?) '
        'OR ("state" = \'sending\' AND "lease_until" < ?) '
        f'ORDER BY "next_attempt" LIMIT ?{lock}) RETURNING ' + ", ".join(f'"{c}"' for c in CLAIMED)
    )
    now_s = format_dt(stamp)
    until = format_dt(stamp + timedelta(seconds=lease))
    rows = await db.write(lambda c: c.fetch(sql, [owner, until, now_s, now_s, now_s, limit]))
    return [dict(zip(CLAIMED, r)) for r in rows]


async def finish(
    db: Database, d: dict[str, Any], owner: str, *, state: str, next_attempt: str, status: int, error: str, gone: bool
) -> bool:
    """Record an attempt's outcome if ``owner`` still holds the claim (False otherwise). ``gone``:
    the device is no longer subscribed — it is removed, and its other unsent deliveries expire."""

    async def tx(conn: Conn) -> bool:
        stamp = format_dt(now())
        n = await conn.execute(
            'UPDATE "_push_deliveries" SET "state" = ?, "next_attempt" = ?, "lease_until" = \'\', "owner" = \'\', '
            '"last_status" = ?, "last_error" = ?, "updated" = ? WHERE "id" = ? AND "owner" = ? AND "state" = \'sending\'',
            [state, next_attempt or stamp, status, error[:500], stamp, d["id"], owner],
        )
        if n != 1:
            return False
        if state == "delivered":
            await conn.execute(
                'UPDATE "_push_subscriptions" SET "lastSent" = ? WHERE "id" = ?', [stamp, d["subscription"]]
            )
        if gone:
            await conn.execute('DELETE FROM "_push_subscriptions" WHERE "id" = ?', [d["subscription"]])
            await conn.execute(
                'UPDATE "_push_deliveries" SET "state" = \'expired\', "last_error" = ?, "updated" = ? '
                'WHERE "subscription" = ? AND "state" = \'pending\'',
                ["the subscription is gone", stamp, d["subscription"]],
            )
        return True

    return await db.write(tx)


async def release(db: Database, owner: str) -> None:
    """Hand back ``owner``'s claims (a server stopping normally)."""
    await db.write(
        lambda c: c.execute(
            'UPDATE "_push_deliveries" SET "state" = \'pending\', "owner" = \'\', "lease_until" = \'\', '
            '"attempts" = "attempts" - 1 WHERE "owner" = ? AND "state" = \'sending\'',
            [owner],
        )
    )


async def deliveries(
    db: Database, *, message: str, state: str, owner: tuple[str, str] | None, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of the delivery log, newest first, and how many match."""
    conds, params = [], []
    if message:
        conds.append('"message" = ?')
        params.append(message)
    if state:
        conds.append('"state" = ?')
        params.append(state)
    if owner:
        conds += ['"collectionRef" = ?', '"recordRef" = ?']
        params += list(owner)
    where = (" WHERE " + " AND ".join(conds)) if conds else ""
    total = await db.fetchval('SELECT count(*) FROM "_push_deliveries"' + where, params)
    rows = await db.fetch(
        _DELIVERY_SELECT + where + ' ORDER BY "created" DESC, "id" DESC LIMIT ? OFFSET ?',
        [*params, per_page, (page - 1) * per_page],
    )
    return [dict(zip(DELIVERY_COLUMNS, r)) for r in rows], int(total or 0)


async def prune(db: Database, days: float) -> int:
    """Delete final deliveries older than ``days``."""
    cutoff = format_dt(now() - timedelta(days=days))
    return await db.write(
        lambda c: c.execute(
            "DELETE FROM \"_push_deliveries\" WHERE \"state\" IN ('delivered', 'expired', 'failed') AND \"updated\" < ?",
            [cutoff],
        )
    )
