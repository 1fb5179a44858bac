"""The fan-out: one durable consumer of the event stream (``webhooks``) turns each event into a
delivery row per matching webhook. The rows and the consumer's new position are written in ONE
transaction, and only if the position is still the one the batch was read after — so however many
processes run the dispatcher, each event is fanned out exactly once, and a crash between reading
and writing loses nothing (the batch is read again)."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import msgspec

from baas.events import Event
from baas.events.emit import RECORD_ACTIONS
from baas.ids import now_str
from baas.webhooks import store
from baas.webhooks.catalog import record_matches
from baas.webhooks.payload import event_body, event_type

if TYPE_CHECKING:
    from baas.webhooks.service import Webhooks

log = logging.getLogger("baas.webhooks")
CONSUMER = "webhooks"
BATCH = 200
LAST_SEEN = 10_000  # records whose latest state is remembered for oldRecord
_decode = msgspec.json.Decoder(dict[str, Any]).decode


class Dispatcher:
    """Reads the stream after the ``webhooks`` consumer's position and fans events out."""

    def __init__(self, svc: Webhooks) -> None:
        self.svc = svc
        self._last: OrderedDict[tuple[str, str], tuple[int, dict[str, Any]]] = OrderedDict()

    async def run(self) -> None:
        eng = self.svc.engine
        wake = asyncio.Event()
        unlisten = eng.events.listen(lambda _events: wake.set())
        consumer = None
        position = 0
        try:
            while True:
                wake.clear()
                if consumer is None:
                    if not self.svc.catalog.entries and not await self._registered():
                        # No webhook: look again in a second, not at every commit (waking on each
                        # event would add a read per write to servers that have no webhooks).
                        await asyncio.sleep(1.0)
                        continue
                    consumer = eng.events.consumer(CONSUMER)
                    position = await consumer.position()
                try:
                    batch = await consumer.read(BATCH)
                    if not batch:
                        await self._idle(wake, 0.05 if position else 0.5)
                        continue
                    rows = await self._rows(batch)
                    if await store.fan_out(eng.db, CONSUMER, position, batch[-1].id, rows):
                        position = batch[-1].id
                        if rows:
                            self.svc.worker.wake()
                    else:  # another process fanned this batch out: continue from the saved position
                        if position and not await self._registered():
                            await self._restore(position)
                        consumer = None
                        self._last.clear()  # the other process's events were skipped: the cache is stale
                        await asyncio.sleep(random.uniform(0.01, 0.05))
                except asyncio.CancelledError:
                    raise
                except Exception:  # a transient database error: read the batch again
                    log.warning("webhooks: fan-out failed; retrying", exc_info=True)
                    consumer = None
                    self._last.clear()
                    await asyncio.sleep(1.0)
        finally:
            unlisten()

    async def _registered(self) -> bool:
        db = self.svc.engine.db
        return await db.fetchone('SELECT 1 FROM "_event_consumers" WHERE "name" = ?', [CONSUMER]) is not None

    async def _restore(self, position: int) -> None:
        """The consumer row was dropped from outside (``baas events consumers --drop webhooks``):
        register it again at the last position this process saved, not at "now", so the events in
        between are still fanned out (those pruned meanwhile are gone; re-fanned ones are no-ops)."""
        log.warning("webhooks: the %r event consumer was dropped; registering it again at %d", CONSUMER, position)
        await self.svc.engine.db.write(
            lambda c: c.execute(
                'INSERT INTO "_event_consumers" ("name", "position", "updated") VALUES (?, ?, ?) '
                'ON CONFLICT ("name") DO NOTHING',
                [CONSUMER, position, now_str()],
            )
        )

    async def _idle(self, wake: asyncio.Event, seconds: float) -> None:
        try:
            async with asyncio.timeout(seconds):
                await wake.wait()
        except TimeoutError:
            pass

    async def _rows(self, batch: list[Event]) -> list[dict[str, Any]]:
        eng = self.svc.engine
        rows = []
        for event in batch:
            entries = [e for e in self.svc.catalog.matching(event) if e.enabled]
            key = (event.collection_id, event.record_id)
            record = event.action in RECORD_ACTIONS
            old = await self._previous(event) if entries and event.action == "update" else None
            if self.svc.catalog.entries and record:
                self._remember(key, event)
            if not entries:
                continue
            coll = eng.registry.get(event.collection_id) if event.collection_id else None
            body: bytes | None = None
            for entry in entries:
                # Filters are about records: auth.* and job.* events are not filtered.
                if record and coll is not None and not await record_matches(eng, entry, coll, event.record):
                    continue
                body = body or event_body(event, coll, old)
                rows.append(
                    store.delivery_row(
                        entry.hook.name,
                        "event",
                        event_type(event),
                        body.decode(),
                        event_id=event.id,
                        record_key=f"{event.collection_id}:{event.record_id}",
                    )
                )
        return rows

    def _remember(self, key: tuple[str, str], event: Event) -> None:
        if event.action == "delete":
            self._last.pop(key, None)
            return
        self._last[key] = (event.id, event.record)
        self._last.move_to_end(key)
        while len(self._last) > LAST_SEEN:
            self._last.popitem(last=False)

    async def _previous(self, event: Event) -> dict[str, Any] | None:
        """The record before ``event`` (an update): remembered, else its previous event. The
        remembered record is used only if it comes from an earlier event: after a failed or lost
        fan-out the same events are read again, and the cache may hold this event or a later one."""
        known = self._last.get((event.collection_id, event.record_id))
        db = self.svc.engine.db
        # ... and only while its event is still stored: erasing a user (baas/gdpr) removes the events
        # that mention them, in any process, and their old values must not come back from here.
        if known is not None and known[0] < event.id:
            if await db.fetchval('SELECT 1 FROM "_events" WHERE "id" = ?', [known[0]]):
                return known[1]
            self._last.pop((event.collection_id, event.record_id), None)
        raw = await db.fetchval(
            'SELECT "record" FROM "_events" WHERE "collection_id" = ? AND "record_id" = ? AND "id" < ? '
            'ORDER BY "id" DESC LIMIT 1',
            [event.collection_id, event.record_id, event.id],
        )
        return None if raw is None else _decode(raw)
