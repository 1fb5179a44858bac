"""Retention: old events are deleted, but never one a live durable consumer has not read yet.

Settings (``/api/settings`` → ``events``):

- ``retentionDays`` (default 7): events older than this may go; 0 keeps events forever.
- ``staleConsumerDays`` (default 30): a consumer that has neither committed nor read for this
  long no longer holds events back (so an abandoned consumer cannot grow the table forever);
  0: consumers always hold them.

Pruning runs in every process about every ten minutes, in batches of ``BATCH`` rows, each its
own short write job (``heavy``: off the event loop on SQLite, between other writes). On
PostgreSQL one node at a time prunes (a transaction-scoped advisory lock); on SQLite the write
lock already serializes the processes, and a second process finds nothing left to delete.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from baas.ids import format_dt

DEFAULTS: dict[str, Any] = {"retentionDays": 7, "staleConsumerDays": 30}
BATCH = 5000
MAX_DAYS = 36500
LOCK_KEY = 0x6261_6173_6576  # "baasev": the advisory lock of the pruner


def check(section: Any) -> dict[str, Any]:
    """Field errors of an ``events`` settings section (PocketBase's error shape)."""
    errors: dict[str, Any] = {}
    if not isinstance(section, dict):
        return errors  # the generic settings check reports the section itself
    for key in DEFAULTS:
        value = section.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
            errors[key] = {
                "code": "validation_invalid_value",
                "message": f"Must be a whole number of days between 0 and {MAX_DAYS}.",
            }
    return errors


async def load(db: Any) -> dict[str, Any]:
    """The ``events`` settings section merged over its defaults."""
    raw = await db.fetchval('SELECT "value" FROM "_params" WHERE "id" = ?', ["settings"])
    stored = (json.loads(raw) if raw else {}).get("events")
    return {**DEFAULTS, **(stored if isinstance(stored, dict) else {})}


def _ago(now: datetime, days: int) -> str:
    return format_dt(now - timedelta(days=days))


async def horizon(db: Any, stale_days: int, now: datetime) -> int | None:
    """The highest id every live consumer has read (None: no consumer holds anything back)."""
    if stale_days > 0:
        value = await db.fetchval(
            'SELECT min("position") FROM "_event_consumers" WHERE "updated" >= ?', [_ago(now, stale_days)]
        )
    else:
        value = await db.fetchval('SELECT min("position") FROM "_event_consumers"')
    return None if value is None else int(value)


# The oldest BATCH events by id (an index walk, bounded), of those the ones past retention.
_DELETE = (
    'DELETE FROM "_events" WHERE "id" IN (SELECT "id" FROM (SELECT "id", "created" FROM "_events" '
    'WHERE "id" <= ? ORDER BY "id" LIMIT ?) AS t WHERE "created" < ?)'
)


async def prune(db: Any, *, now: datetime | None = None, pause: float = 0.05) -> int:
    """Delete events past retention that every live consumer has passed; returns how many."""
    now = now or datetime.now(UTC)
    settings = await load(db)
    days, stale = int(settings["retentionDays"]), int(settings["staleConsumerDays"])
    if days <= 0:
        return 0
    limit = await horizon(db, stale, now)
    if limit is None:
        limit = 2**62
    cutoff = _ago(now, days)
    pg = db.dialect == "postgresql"

    async def batch(conn: Any) -> int:
        if pg and not await conn.fetchval("SELECT pg_try_advisory_xact_lock(?)", [LOCK_KEY]):
            return -1  # another node is pruning
        return int(await conn.execute(_DELETE, [limit, BATCH, cutoff]))

    total = 0
    while True:
        n: int = await db.write(batch, heavy=True)
        if n <= 0:
            return total
        total += n
        if n < BATCH:
            return total
        await asyncio.sleep(pause)  # let request writes in between batches
