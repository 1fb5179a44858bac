"""Reading the ``_events`` table: the `Event` shape, one read query per dialect, and the cursor
logic that never skips an event whose transaction commits late.

Why late commits matter: on PostgreSQL an event id is taken from a sequence when the row is
inserted, but becomes visible only when its transaction commits. Two writers can take ids 10 and
11 and commit 11 first; a reader that then moves past 11 would never see 10. On SQLite this
cannot happen (one writer at a time, across processes), so what a reader sees is always a
prefix of the stream.

How gaps are settled on PostgreSQL, without timeouts: every read also returns the snapshot it
ran on (``txid_current_snapshot()``: ``xmin`` = oldest transaction still running, ``xmax`` =
first transaction id not yet assigned). A missing id below a visible one was taken before that
visible row committed, by a transaction that already had a transaction id (migration 0003 makes
the id default take the transaction id first), so that transaction was running at the read, and
its id is below the read's ``xmax``. Once a later read's ``xmin`` reaches that ``xmax``, every
transaction that could own the missing id has finished: if the row is not there then, it never
will be (rolled back). Until then the id is a *gap* to look for again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import msgspec

COLUMNS = '"id", "collection_id", "collection", "record_id", "action", "record", "created"'
# Gaps tracked per cursor: a jump larger than this (a sequence reset, a huge rolled-back batch)
# only watches its newest ids.
MAX_GAP_SPAN = 10_000


class Event(msgspec.Struct, frozen=True):
    """One record write: ``action`` is create, update or delete; ``record`` is the record as the
    API shows it to a superuser, minus secrets (password hash, tokenKey), with collectionId and
    collectionName."""

    id: int
    collection_id: str
    collection: str
    record_id: str
    action: str
    record: dict[str, Any]
    created: str


_decode_record = msgspec.json.Decoder(dict[str, Any]).decode


def to_event(row: tuple) -> Event:
    return Event(int(row[0]), row[1], row[2], row[3], row[4], _decode_record(row[5]), row[6])


_SQLITE_READ = f'SELECT {COLUMNS} FROM "_events" WHERE "id" > ? ORDER BY "id" LIMIT ?'
# One statement, so the snapshot returned is the one the rows were read with; the LEFT JOIN
# gives one row even when there are no events.
_PG_READ = (
    'SELECT txid_snapshot_xmin(s.snap), txid_snapshot_xmax(s.snap), e.* '
    "FROM (SELECT txid_current_snapshot() AS snap) AS s "
    f'LEFT JOIN LATERAL (SELECT {COLUMNS} FROM "_events" WHERE "id" > ? OR "id" = ANY(?::bigint[]) '
    'ORDER BY "id" LIMIT ?) AS e ON TRUE'
)


async def read_after(db: Any, after: int, gaps: Iterable[int] = (), limit: int = 500) -> tuple[list[tuple], int, int]:
    """Events with id > ``after`` (and the ids in ``gaps``), in id order, plus the read's
    snapshot ``(xmin, xmax)``. On SQLite the snapshot is ``(0, 0)``: nothing is ever in flight."""
    if db.dialect != "postgresql":
        return await db.fetch(_SQLITE_READ, [after, limit]), 0, 0
    rows = await db.fetch(_PG_READ, [after, list(gaps), limit])
    xmin, xmax = int(rows[0][0]), int(rows[0][1])
    return [r[2:] for r in rows if r[2] is not None], xmin, xmax


async def max_id(db: Any) -> int:
    return int(await db.fetchval('SELECT max("id") FROM "_events"') or 0)


class Cursor:
    """The bus's cursor: the highest id read and, on PostgreSQL, the lower ids still missing (each
    with the ``xmax`` of the read that first missed it).

    Events are handed out in id order: one read above a missing id that may still commit is held
    back until that id commits or is known never to, but for at most ``max_hold`` seconds (a
    long-running writer must not stall the stream); after that it goes out, and the missing id,
    should it commit, follows late. Never skipped, never twice."""

    def __init__(self, last: int, max_hold: float = 0.25) -> None:
        self.last = last
        self.max_hold = max_hold
        self.gaps: dict[int, int] = {}
        self._held: list[tuple[int, float, tuple]] = []  # (id, since, row), ascending ids

    @property
    def holding(self) -> bool:
        return bool(self._held)

    def drop_held(self) -> None:
        self._held.clear()

    def take(self, rows: list[tuple], xmin: int, xmax: int) -> list[tuple]:
        """The rows to deliver now, in id order."""
        fresh: list[tuple] = []
        for row in rows:
            i = int(row[0])
            if i > self.last:
                if xmin < xmax:  # transactions in flight: the ids skipped may still commit
                    for g in range(max(self.last + 1, i - MAX_GAP_SPAN), i):
                        self.gaps[g] = xmax
                self.last = i
                fresh.append(row)
            elif self.gaps.pop(i, None) is not None:
                fresh.append(row)
        if self.gaps:
            self.gaps = {g: x for g, x in self.gaps.items() if xmin < x}
            if len(self.gaps) > MAX_GAP_SPAN:  # bounded memory: keep the newest
                self.gaps = dict(sorted(self.gaps.items())[-MAX_GAP_SPAN:])
        if not self._held and not self.gaps:
            return fresh  # the common case (and always on SQLite)
        now = time.monotonic()
        self._held.extend((int(r[0]), now, r) for r in fresh)
        self._held.sort(key=lambda h: h[0])
        low = min(self.gaps) if self.gaps else None
        n = 0
        for i, since, _ in self._held:
            if low is not None and i > low and now - since < self.max_hold:
                break
            n += 1
        out = [row for _, _, row in self._held[:n]]
        del self._held[:n]
        return out


class StrictCursor:
    """A durable consumer's cursor: a single position, moved only over settled ids, so that
    everything up to it is final. Stops at the first gap that may still be filled."""

    def __init__(self, position: int) -> None:
        self.position = position
        self._gap: tuple[int, int] | None = None  # (first missing id, xmax of the read that saw it)
        self.holding = False

    def take(self, rows: list[tuple], xmin: int, xmax: int) -> list[tuple]:
        out: list[tuple] = []
        self.holding = False
        for row in rows:
            i = int(row[0])
            if i <= self.position:
                continue
            if i > self.position + 1 and xmin < xmax:  # a gap, and writers are in flight
                start = self.position + 1
                if self._gap is None or self._gap[0] != start:
                    self._gap = (start, xmax)
                if xmin < self._gap[1]:  # a transaction that may own it is still running
                    self.holding = True
                    break
            self._gap = None
            out.append(row)
            self.position = i
        return out


async def start_position(db: Any, lookback: int = 1000) -> int:
    """A position for a reader starting "now" that misses nothing committed after this call:
    the newest id, or on PostgreSQL just below the oldest id of the last ``lookback`` that may
    still be in flight (so a few earlier events may be seen, never fewer)."""
    top = await max_id(db)
    if db.dialect != "postgresql" or top == 0:
        return top
    rows, xmin, xmax = await read_after(db, max(0, top - lookback), (), lookback + 1)
    if xmin >= xmax:
        return max([top, *(int(r[0]) for r in rows)])
    expected = max(0, top - lookback) + 1
    for row in rows:
        if int(row[0]) != expected:
            return expected - 1
        expected += 1
    return expected - 1
