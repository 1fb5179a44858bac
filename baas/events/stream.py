"""Reading the ``_events`` table: the `Event` shape, one read query per dialect, and the cursor
logic that never skips an event whose transaction commits late.

Why late commits matter: on PostgreSQL an event id is taken from a sequence when the row is
inserted, but becomes visible only when its transaction commits. Two writers can take ids 10 and
11 and commit 11 first; a reader that then moves past 11 would never see 10. On SQLite this
cannot happen (one writer at a time, across processes), so what a reader sees is always a
prefix of the stream.

How gaps are settled on PostgreSQL, without timeouts: every read also returns the snapshot it
ran on (``txid_current_snapshot()``: ``xmin`` = oldest transaction still running, ``xmax`` = one
past the newest transaction that has *ended*). A missing id below a visible one was taken before
that visible row committed, by a transaction that already had a transaction id (migration 0003
makes the id default take the transaction id first), so that transaction was running at the read.
Its transaction id may be at or above the read's ``xmax`` (when it is the newest one assigned, it
shows up nowhere in the snapshot: neither in ``xmin`` nor as "in flight"), so the read's snapshot
cannot bound it. A *fence* does: right after the read that found the gap, `xid_fence` takes a new
transaction id and commits at once; it is above every transaction id assigned before it, the
missing id's owner's included. Once a later read's ``xmin`` reaches the fence, every transaction
that could own the missing id has ended (the fence has ended too, so ``xmax`` is past it and a
transaction below it still running would hold ``xmin`` down): if the row is not there then, it
never will be (rolled back). Until then the id is a *gap* to look for again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, TypeAlias

import msgspec

COLUMNS = '"id", "collection_id", "collection", "record_id", "action", "record", "created"'
# Gaps tracked per cursor: a jump larger than this (a sequence reset, a huge rolled-back batch)
# only watches its newest ids.
MAX_GAP_SPAN = 10_000

Row: TypeAlias = tuple[Any, ...]  # one ``_events`` row as read: the COLUMNS, in order


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

    @property
    def is_record(self) -> bool:
        """A record write (create, update, delete); else an ``auth.*`` or ``job.*`` event
        (`baas.events.emit`), whose ``action`` is its type and ``record`` its data."""
        return self.action in ("create", "update", "delete")


_decode_record = msgspec.json.Decoder(dict[str, Any]).decode


def to_event(row: Row) -> Event:
    return Event(int(row[0]), row[1], row[2], row[3], row[4], _decode_record(row[5]), row[6])


_SQLITE_READ = f'SELECT {COLUMNS} FROM "_events" WHERE "id" > ? ORDER BY "id" LIMIT ?'
# One statement, so the snapshot returned is the one the rows were read with; the LEFT JOIN
# gives one row even when there are no events.
_PG_READ = (
    "SELECT txid_snapshot_xmin(s.snap), txid_snapshot_xmax(s.snap), e.* "
    "FROM (SELECT txid_current_snapshot() AS snap) AS s "
    f'LEFT JOIN LATERAL (SELECT {COLUMNS} FROM "_events" WHERE "id" > ? OR "id" = ANY(?::bigint[]) '
    'ORDER BY "id" LIMIT ?) AS e ON TRUE'
)
# A transaction of its own that takes a transaction id and commits. Asynchronous commit: it wrote
# nothing, so there is nothing to flush to disk (``set_config(..., true)`` lasts for this statement's
# transaction only).
_PG_FENCE = "SELECT set_config('synchronous_commit', 'off', true), txid_current()"


async def read_after(db: Any, after: int, gaps: Iterable[int] = (), limit: int = 500) -> tuple[list[Row], int, int]:
    """Events with id > ``after`` (and the ids in ``gaps``), in id order, plus the read's
    snapshot ``(xmin, xmax)``. On SQLite the snapshot is ``(0, 0)``: nothing is ever in flight
    (PostgreSQL's transaction ids start at 3, so ``xmax == 0`` means "no snapshot")."""
    if db.dialect != "postgresql":
        return await db.fetch(_SQLITE_READ, [after, limit]), 0, 0
    rows = await db.fetch(_PG_READ, [after, list(gaps), limit])
    xmin, xmax = int(rows[0][0]), int(rows[0][1])
    return [r[2:] for r in rows if r[2] is not None], xmin, xmax


async def xid_fence(db: Any) -> int:
    """PostgreSQL: a transaction id above that of every transaction that had one before this call.
    Once a read's ``xmin`` is at or past it, all of those have ended (see the module docstring)."""
    row = await db.fetchone(_PG_FENCE)
    assert row is not None
    return int(row[1])


async def max_id(db: Any) -> int:
    return int(await db.fetchval('SELECT max("id") FROM "_events"') or 0)


class Cursor:
    """The bus's cursor: the highest id read and, on PostgreSQL, the lower ids still missing (each
    with its fence: ``None`` until the caller has taken one, see `fence`).

    Events are handed out in id order: one read above a missing id that may still commit is held
    back until that id commits or is known never to, but for at most ``max_hold`` seconds (a
    long-running writer must not stall the stream); after that it goes out, and the missing id,
    should it commit, follows late. Never skipped, never twice."""

    def __init__(self, last: int, max_hold: float = 0.25) -> None:
        self.last = last
        self.max_hold = max_hold
        self.gaps: dict[int, int | None] = {}
        self._held: list[tuple[int, float, Row]] = []  # (id, since, row), ascending ids

    @property
    def holding(self) -> bool:
        return bool(self._held)

    @property
    def needs_fence(self) -> bool:
        """Gaps found by the last read wait for a fence: call ``fence(await xid_fence(db))``."""
        return None in self.gaps.values()

    def fence(self, xid: int) -> None:
        """Bound the gaps found so far without one by ``xid`` (taken after the read that found them)."""
        for g, bound in self.gaps.items():
            if bound is None:
                self.gaps[g] = xid

    def drop_held(self) -> None:
        self._held.clear()

    def holds_up_to(self, bound: int) -> bool:
        """Whether a row with id <= ``bound`` is still held back (not handed out yet)."""
        return bool(self._held) and self._held[0][0] <= bound

    def take(self, rows: list[Row], xmin: int, xmax: int) -> list[Row]:
        """The rows to deliver now, in id order."""
        fresh: list[Row] = []
        for row in rows:
            i = int(row[0])
            if i > self.last:
                if xmax:  # PostgreSQL: the ids skipped may still commit
                    for g in range(max(self.last + 1, i - MAX_GAP_SPAN), i):
                        self.gaps[g] = None
                self.last = i
                fresh.append(row)
            elif i in self.gaps:
                del self.gaps[i]
                fresh.append(row)
        if self.gaps:
            self.gaps = {g: x for g, x in self.gaps.items() if x is None or xmin < x}
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
        # (first missing id, its fence: None until the caller has taken one, see `fence`)
        self._gap: tuple[int, int | None] | None = None
        self.holding = False

    @property
    def needs_fence(self) -> bool:
        """The last read found a gap: call ``fence(await xid_fence(db))`` before reading again."""
        return self._gap is not None and self._gap[1] is None

    def fence(self, xid: int) -> None:
        """Bound the gap found by the last read with ``xid`` (taken after that read)."""
        if self._gap is not None and self._gap[1] is None:
            self._gap = (self._gap[0], xid)

    def take(self, rows: list[Row], xmin: int, xmax: int) -> list[Row]:
        out: list[Row] = []
        self.holding = False
        for row in rows:
            i = int(row[0])
            if i <= self.position:
                continue
            if i > self.position + 1 and xmax:  # PostgreSQL: a gap, whose owner may still commit
                start = self.position + 1
                if self._gap is None or self._gap[0] != start:
                    self._gap = (start, None)
                bound = self._gap[1]
                if bound is None or xmin < bound:  # not fenced yet, or a transaction below the fence runs
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
    since = max(0, top - lookback)
    rows, _, _ = await read_after(db, since, (), lookback + 1)
    seen = {int(r[0]) for r in rows}
    missing = [i for i in range(since + 1, top + 1) if i not in seen]
    if not missing:
        return top
    # Ids missing at that read may belong to transactions still running (whatever its snapshot
    # says, see the module docstring): fence them, and read again.
    fence = await xid_fence(db)
    rows, xmin, _ = await read_after(db, since, (), lookback + 1)
    if xmin >= fence:  # every id missing now is settled (never to commit)
        return top
    seen = {int(r[0]) for r in rows}
    still = [i for i in missing if i not in seen]
    return still[0] - 1 if still else top
