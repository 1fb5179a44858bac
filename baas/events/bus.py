"""The event bus: every process tails ``_events`` and hands each committed event, once, to the
listeners registered in that process (realtime, hooks, consumers waiting for work).

    unsubscribe = eng.events.listen(on_events)   # on_events(list[Event]) -> None | Awaitable
    ...
    unsubscribe()

A process starts at the newest event ("now"). Events written by any process reach every
process: on SQLite each process polls a cheap indexed query every ``interval`` (10 ms; 100 ms
while it has no listener) and looks at once after its own commits; on PostgreSQL each node
LISTENs and is woken by a NOTIFY the writing node sends after its commit, with a poll every
second as the fallback. Delivery is in id order:
on PostgreSQL, where a lower id can commit after a higher one, the higher one waits for it (a
quarter of a second at most; past that it goes out and the lower one follows late, never
skipped) — see `baas.events.stream`.

Listeners run one after another on the bus task: keep them short (queue the work elsewhere). A
listener that raises is logged and keeps its subscription.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from baas.events import retention
from baas.events.consumer import Consumer
from baas.events.pg import PgSignal
from baas.events.stream import Cursor, Event, max_id, read_after, start_position, to_event, xid_fence

log = logging.getLogger("baas.events")

Listener = Callable[[list[Event]], "Awaitable[None] | None"]
BATCH = 500
LOOKBACK = 1000  # PostgreSQL: ids below "now" watched at start for a late commit
HOLD_POLL = 0.005  # seconds between reads while events wait for a lower id (PostgreSQL)
PRUNE_EVERY = 600.0  # seconds between retention runs (the first comes 1-2 minutes after start)


class EventBus:
    """Owned by the Engine (``eng.events``); started and stopped with it."""

    def __init__(self, db: Any, *, interval: float | None = None) -> None:
        self.db = db
        pg = db.dialect == "postgresql"
        # PostgreSQL: notifications do the waking, the poll is only a fallback.
        self.interval = interval if interval is not None else (1.0 if pg else 0.01)
        # With no listener in this process nobody waits for events: poll less (waking a process
        # 100 times a second costs ~2% of a core even when the query finds nothing).
        self.idle_interval = max(self.interval, 0.1)
        self._listeners: list[Listener] = []
        self._cursor = Cursor(0)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pruner: asyncio.Task[None] | None = None
        self._signal: PgSignal | None = None  # PostgreSQL only
        self._synced: list[asyncio.Future[None]] = []  # sync() callers waiting for the next read
        # sync() callers whose read is done, with the newest id it saw: released once no row up to
        # that id is held back behind a gap (PostgreSQL), i.e. once all of them went out.
        self._settling: list[tuple[asyncio.Future[None], int]] = []
        self.on_delivered: Callable[[str], None] | None = None  # the oldest delivered event's time (metrics)

    @property
    def last_id(self) -> int:
        """The newest event id this process has read."""
        return self._cursor.last

    async def start(self) -> None:
        if self._task is not None:
            return
        if self.db.dialect == "postgresql":
            self._signal = PgSignal(self.db.url, self.poke)
            await self._signal.connect()  # LISTEN before reading "now", so nothing falls between
            # Ids just below "now" may belong to transactions still in flight: watch them.
            since = max(0, await max_id(self.db) - LOOKBACK)
            rows, xmin, xmax = await read_after(self.db, since, (), LOOKBACK + 1)
            self._cursor = Cursor(since)
            self._cursor.take(rows, xmin, xmax)
            if self._cursor.needs_fence:
                self._cursor.fence(await xid_fence(self.db))
            self._cursor.drop_held()  # committed before "now": not delivered
        else:
            self._cursor = Cursor(await max_id(self.db))
        self.db.on_commit = self._committed
        self._task = asyncio.create_task(self._run(), name="events-bus")
        self._pruner = asyncio.create_task(self._prune_loop(), name="events-prune")

    async def stop(self) -> None:
        if getattr(self.db, "on_commit", None) == self._committed:
            self.db.on_commit = None
        for task in (self._task, self._pruner):
            if task is not None:
                task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass
        self._task = self._pruner = None
        for fut in [*self._synced, *(f for f, _ in self._settling)]:
            fut.cancel()
        self._synced = []
        self._settling = []
        if self._signal is not None:
            await self._signal.close()
            self._signal = None

    def listen(self, callback: Listener) -> Callable[[], None]:
        """Call ``callback(events)`` with each batch of new events (ids ascending) from now on.
        Returns the function that unsubscribes it."""
        self._listeners.append(callback)

        def unsubscribe() -> None:
            try:
                self._listeners.remove(callback)
            except ValueError:
                pass

        return unsubscribe

    async def sync(self) -> None:
        """Wait until this process has read (and delivered) every event committed before the call,
        those held back behind a gap included (PostgreSQL; for at most the cursor's ``max_hold``).

        A new listener may otherwise get a few events committed just before it subscribed (the
        ones the bus had not read or had held back yet); ``await bus.sync()`` before ``listen``
        rules that out."""
        if self._task is None:
            return
        fut = asyncio.get_running_loop().create_future()
        self._synced.append(fut)
        self._wake.set()
        await fut

    def poke(self) -> None:
        """Look for new events now (instead of at the next poll)."""
        self._wake.set()

    def _committed(self) -> None:
        """The database's after-commit hook: this process wrote, so look now and tell the others.
        With nobody listening here, the idle poll keeps the cursor current: a write costs nothing
        more."""
        if self._listeners or self._synced:
            self._wake.set()
        if self._signal is not None:
            self._signal.notify()

    def consumer(self, name: str, *, start: str = "now") -> Consumer:
        """A durable consumer with its own saved position (see `baas.events.consumer`)."""
        return Consumer(self, name, start=start)

    async def start_position(self) -> int:
        return await start_position(self.db)

    async def prune(self) -> int:
        """Delete events past retention that every live consumer has read; returns how many."""
        return await retention.prune(self.db)

    async def _run(self) -> None:
        while True:
            if not self._wake.is_set():
                # Events held back behind an id still being committed: look again soon.
                wait = HOLD_POLL if self._cursor.holding else self.interval if self._listeners else self.idle_interval
                try:
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
                except TimeoutError:
                    pass
            self._wake.clear()
            waiting, self._synced = self._synced, []
            try:
                if self._signal is not None and not self._signal.connected:
                    await self._signal.connect()
                await self._drain()
            except asyncio.CancelledError:
                raise
            except Exception:  # a lost connection, a locked file: try again on the next tick
                self._synced[:0] = waiting
                log.warning("events: reading the stream failed", exc_info=True)
                await asyncio.sleep(min(1.0, self.interval * 10))
                continue
            read = self._cursor.last  # every event committed before the waiting calls is <= this
            settling, self._settling = [*self._settling, *((fut, read) for fut in waiting)], []
            for fut, bound in settling:
                if self._cursor.holds_up_to(bound):
                    self._settling.append((fut, bound))  # held for at most the cursor's max_hold
                elif not fut.done():
                    fut.set_result(None)

    async def _drain(self) -> None:
        while True:
            cur = self._cursor
            rows, xmin, xmax = await read_after(self.db, cur.last, cur.gaps, BATCH)
            fresh = cur.take(rows, xmin, xmax)
            # Deliver before fencing: the cursor has moved past `fresh`, so a failed fence must not
            # lose them. A gap left unfenced is only waited on longer (fenced on a later read).
            if fresh and self._listeners:
                if self.on_delivered is not None:
                    try:
                        self.on_delivered(min(r[6] for r in fresh))  # the oldest write waited longest
                    except Exception:
                        log.exception("events: the delivery lag was not recorded")
                await self._deliver([to_event(r) for r in fresh])
            if cur.needs_fence:  # new gaps: bound them before the next read (baas.events.stream)
                cur.fence(await xid_fence(self.db))
            if len(rows) < BATCH:
                return

    async def _deliver(self, events: list[Event]) -> None:
        for callback in list(self._listeners):
            try:
                result = callback(events)
                if inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("events: a listener failed")

    async def _prune_loop(self) -> None:
        await asyncio.sleep(60.0 + random.random() * 60.0)
        while True:
            try:
                await self.prune()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("events: pruning failed", exc_info=True)
            await asyncio.sleep(PRUNE_EVERY * (0.9 + random.random() * 0.2))
