"""Durable consumers: named readers of the event stream whose position is saved in the database,
so a crash (of the consumer, the server, the machine) resumes where the last commit left off.

    consumer = eng.events.consumer("webhooks")          # new consumers start "now"
    async for batch in consumer.batches():               # waits for events; commits each batch
        for event in batch:                              # once the loop body is done with it
            await deliver(event)

or by hand: ``events = await consumer.read(100)`` … ``await consumer.commit()``.

Delivery is at-least-once: the position is saved after processing, so events processed but not
yet committed when a crash hits are read again. Events come in id order, and a position only
moves over settled ids (on PostgreSQL a consumer waits for a lower id still being committed —
see `baas.events.stream`), so nothing at or below a saved position can appear later.

One name is one reader: run a named consumer in one process at a time (commits only move the
position forward, so a second reader cannot move it back, but both would see the same events).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from baas.events.stream import Event, StrictCursor, read_after, to_event, xid_fence
from baas.ids import now_str, parse_dt

if TYPE_CHECKING:
    from baas.events.bus import EventBus

log = logging.getLogger("baas.events")

TOUCH_EVERY = 3600.0  # seconds: how often a reading consumer marks itself alive (see retention)
HOLD_RETRY = 0.05  # seconds: re-read soon while waiting on an id still being committed


class Consumer:
    """A named, durable reader of the event stream."""

    def __init__(self, bus: EventBus, name: str, *, start: str = "now") -> None:
        if not name or len(name) > 100:
            raise ValueError("a consumer name is 1-100 characters")
        if start not in ("now", "beginning"):
            raise ValueError("start is 'now' or 'beginning'")
        self.bus = bus
        self.db = bus.db
        self.name = name
        self.start = start
        self._cursor: StrictCursor | None = None
        self._touched = 0.0

    async def _ensure(self) -> StrictCursor:
        if self._cursor is None:
            pos = await self.db.fetchval('SELECT "position" FROM "_event_consumers" WHERE "name" = ?', [self.name])
            if pos is None:
                initial = 0 if self.start == "beginning" else await self.bus.start_position()
                await self.db.write(
                    lambda c: c.execute(
                        'INSERT INTO "_event_consumers" ("name", "position", "updated") VALUES (?, ?, ?) '
                        'ON CONFLICT ("name") DO NOTHING',
                        [self.name, initial, now_str()],
                    )
                )
                pos = await self.db.fetchval('SELECT "position" FROM "_event_consumers" WHERE "name" = ?', [self.name])
            self._cursor = StrictCursor(int(pos))
            self._touched = time.monotonic()
        return self._cursor

    async def position(self) -> int:
        """The saved position: every event with a lower or equal id has been processed."""
        await self._ensure()
        return int(
            await self.db.fetchval('SELECT "position" FROM "_event_consumers" WHERE "name" = ?', [self.name]) or 0
        )

    async def read(self, limit: int = 100) -> list[Event]:
        """The next events after what this object has read so far (at first: after the saved
        position). Reading does not save anything: call `commit` when they are processed."""
        cur = await self._ensure()
        rows, xmin, xmax = await read_after(self.db, cur.position, (), max(1, limit))
        events = [to_event(r) for r in cur.take(rows, xmin, xmax)]
        if cur.needs_fence:  # a new gap: bound it before the next read (baas.events.stream)
            try:
                cur.fence(await xid_fence(self.db))
            except Exception:  # the cursor has moved past `events`: return them; the gap is fenced later
                log.warning("events: fencing a gap failed; retried on the next read", exc_info=True)
        if time.monotonic() - self._touched > TOUCH_EVERY:
            await self._touch()
        return events

    async def commit(self, position: int | None = None) -> None:
        """Save the position (default: the last event read). It only ever moves forward."""
        cur = await self._ensure()
        pos = cur.position if position is None else int(position)
        await self.db.write(
            lambda c: c.execute(
                'UPDATE "_event_consumers" SET "position" = ?, "updated" = ? WHERE "name" = ? AND "position" < ?',
                [pos, now_str(), self.name, pos],
            )
        )
        self._touched = time.monotonic()

    ack = commit

    async def seek(self, position: int) -> None:
        """Set the saved position, backwards too (to replay retained events)."""
        await self._ensure()
        await self.db.write(
            lambda c: c.execute(
                'UPDATE "_event_consumers" SET "position" = ?, "updated" = ? WHERE "name" = ?',
                [int(position), now_str(), self.name],
            )
        )
        self._cursor = StrictCursor(int(position))

    async def _touch(self) -> None:
        await self.db.write(
            lambda c: c.execute('UPDATE "_event_consumers" SET "updated" = ? WHERE "name" = ?', [now_str(), self.name])
        )
        self._touched = time.monotonic()

    async def batches(
        self, limit: int = 100, *, follow: bool = True, autocommit: bool = True, idle: float = 1.0
    ) -> AsyncIterator[list[Event]]:
        """Batches of new events. With ``autocommit`` a batch is committed when the loop asks for
        the next one (so a batch whose processing crashed or broke out of the loop is read again).
        Without ``follow`` the iteration ends once caught up; with it, it waits for new events
        (woken by the bus, re-checking every ``idle`` seconds)."""
        wake = asyncio.Event()
        unlisten = self.bus.listen(lambda _events: wake.set())
        try:
            while True:
                wake.clear()  # before reading: an event arriving from here on sets it again
                batch = await self.read(limit)
                if batch:
                    yield batch
                    if autocommit:
                        await self.commit(batch[-1].id)
                    continue
                if not follow and not (self._cursor is not None and self._cursor.holding):
                    return
                wait = HOLD_RETRY if self._cursor is not None and self._cursor.holding else idle
                try:
                    async with asyncio.timeout(wait):
                        await wake.wait()
                except TimeoutError:
                    pass
        finally:
            unlisten()


async def list_consumers(db: Any) -> list[tuple[str, int, str]]:
    """(name, position, updated) of every registered consumer."""
    return [
        (r[0], int(r[1]), r[2])
        for r in await db.fetch('SELECT "name", "position", "updated" FROM "_event_consumers" ORDER BY "name"')
    ]


async def consumer_lags(db: Any, now: datetime | None = None) -> dict[str, float]:
    """Per consumer, the age in seconds of the oldest event it has not read (0 when caught up)."""
    now = now or datetime.now(UTC)
    rows = await db.fetch(
        'SELECT "c"."name", (SELECT "e"."created" FROM "_events" AS "e" WHERE "e"."id" > "c"."position" '
        'ORDER BY "e"."id" LIMIT 1) FROM "_event_consumers" AS "c"'
    )
    out: dict[str, float] = {}
    for name, created in rows:
        written = (parse_dt(str(created)) if created else None) or now
        out[name] = max(0.0, round((now - written).total_seconds(), 3))
    return out


async def drop_consumer(db: Any, name: str) -> bool:
    """Forget a consumer (it no longer holds back retention). True if it existed."""
    n = await db.write(lambda c: c.execute('DELETE FROM "_event_consumers" WHERE "name" = ?', [name]))
    return bool(n)
