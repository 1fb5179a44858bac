"""PostgreSQL LISTEN/NOTIFY for the event bus: wake every node soon after any node writes.

The notification only says "look": the ``_events`` table stays the source of truth, so a lost
notification (a node that crashed between commit and notify, a dropped connection) costs at most
one fallback poll interval, never an event.

Why notify after the commit, from the writing process, and not with ``NOTIFY`` (or a trigger)
inside the write transaction: PostgreSQL serializes the commits of all transactions that notify
(a cluster-wide lock held through the commit's WAL flush), which would turn concurrent record
writes into one-at-a-time commits. A separate ``NOTIFY`` on the listener connection, coalesced
(at most one in flight, at most one per ``NOTIFY_GAP`` seconds), keeps the write path as it is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import asyncpg

CHANNEL = "baas_events"
NOTIFY_GAP = 0.002

log = logging.getLogger("baas.events")


class PgSignal:
    """One dedicated connection that LISTENs on ``baas_events`` and sends this process's NOTIFYs."""

    def __init__(self, url: str, on_notify: Callable[[], None]) -> None:
        self.url = url
        self.on_notify = on_notify
        self._conn: asyncpg.Connection | None = None
        self._pending = False
        self._sender: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def connect(self) -> bool:
        """(Re)connect and LISTEN; False if the database is unreachable (the bus keeps polling)."""
        async with self._lock:
            if self.connected:
                return True
            try:
                conn = await asyncpg.connect(self.url)
                await conn.add_listener(CHANNEL, self._heard)
            except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                log.warning("events: LISTEN connection failed (%s); polling only", exc)
                return False
            conn.add_termination_listener(lambda _c: self.on_notify())
            self._conn = conn
            return True

    def _heard(self, *_args: object) -> None:
        self.on_notify()

    def notify(self) -> None:
        """Tell the other nodes to look (coalesced; never blocks the caller)."""
        self._pending = True
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send(), name="events-notify")

    async def _send(self) -> None:
        while self._pending:
            self._pending = False
            conn = self._conn
            if conn is None or conn.is_closed():
                return  # the others still poll; the bus reconnects on its next tick
            try:
                async with self._lock:
                    await conn.execute(f"NOTIFY {CHANNEL}")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("events: NOTIFY failed (%s)", exc)
                return
            await asyncio.sleep(NOTIFY_GAP)

    async def close(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            try:
                await self._sender
            except (asyncio.CancelledError, Exception):
                pass
        if self._conn is not None:
            try:
                await self._conn.close(timeout=2)
            except Exception:
                self._conn.terminate()
            self._conn = None
