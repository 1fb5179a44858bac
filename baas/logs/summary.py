"""The request log as a dashboard sees it (``GET /api/logs/summary``): for a window of time cut in
steps, how many requests each step answered, how many with a client error (4xx) or a server error
(5xx), the share answered without a server error, and the median and 99th percentile of the time
taken; the same over the whole window, and its most frequent errors.

Computed from the stored entries at each call (no second store to keep in step), in bounded
memory: latencies are counted in a log-scale histogram per step (`BUCKETS_PER_DOUBLING` buckets
each time the time doubles, so a percentile is exact to within 4.5 %). SQLite's batches are read a
few at a time with the event loop free in between; PostgreSQL counts in SQL. A process computes
one summary at a time. Realtime streams (``GET /api/realtime``) are counted as requests but left
out of the latencies: their "time taken" is a connection's whole life."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from baas.db import Reads
from baas.errors import BadRequest
from baas.ids import format_dt, parse_dt
from baas.logs import store

STARTED = time.time()  # this process's start, for the uptime the dashboard shows
MAX_WINDOW_MS = 31 * 86_400_000
MAX_END_MS = 253_402_300_799_999  # 9999-12-31 23:59:59.999: the ids' time prefix holds it
MAX_STEPS = 1440
MIN_STEP_S = 10
TOP_ERRORS = 10
BUCKETS_PER_DOUBLING = 8
CHUNK_BATCHES = 4  # SQLite batches (up to 4,000 entries, a few ms) counted between two turns of the loop
STREAM = "/api/realtime"
_ONE_AT_A_TIME = asyncio.Lock()


def bucket(us: int) -> int:
    """The histogram bucket of a latency in microseconds."""
    return int(math.log2(us) * BUCKETS_PER_DOUBLING) if us > 1 else 0


def bucket_ms(b: int) -> float:
    """A bucket's representative latency in milliseconds: the geometric middle of its bounds."""
    return round(2 ** ((b + 0.5) / BUCKETS_PER_DOUBLING) / 1000, 3)


def is_stream(method: str, url: str) -> bool:
    return method == "GET" and (url == STREAM or url.startswith(STREAM + "?"))


@dataclass
class _Step:
    requests: int = 0
    client_errors: int = 0
    server_errors: int = 0
    latency: Counter[int] = field(default_factory=Counter)  # bucket -> requests

    def add(self, status: int, b: int | None, n: int = 1) -> None:
        self.requests += n
        if status >= 500:
            self.server_errors += n
        elif status >= 400:
            self.client_errors += n
        if b is not None:
            self.latency[b] += n

    def merge(self, other: _Step) -> None:
        self.requests += other.requests
        self.client_errors += other.client_errors
        self.server_errors += other.server_errors
        self.latency.update(other.latency)

    def shape(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "clientErrors": self.client_errors,
            "serverErrors": self.server_errors,
            "successRate": None if not self.requests else round(1 - self.server_errors / self.requests, 6),
            "p50": self._percentile(0.50),
            "p99": self._percentile(0.99),
        }

    def _percentile(self, q: float) -> float | None:
        """The nearest-rank percentile's bucket, in milliseconds (None: no timed request)."""
        n = sum(self.latency.values())
        if not n:
            return None
        rank, seen = max(1, math.ceil(n * q)), 0
        for b in sorted(self.latency):
            seen += self.latency[b]
            if seen >= rank:
                return bucket_ms(b)
        return None  # not reached


@dataclass(frozen=True)
class Window:
    """``[start, end)`` in milliseconds since the epoch, cut in steps of ``step`` milliseconds (the
    last one shorter when the window is not a whole number of steps)."""

    start: int
    end: int
    step: int

    @property
    def steps(self) -> int:
        return -(-(self.end - self.start) // self.step)

    @classmethod
    def from_query(cls, query: dict[str, str], now_ms: int) -> Window:
        """``from``, ``to`` (dates as the filter language takes them, UTC; default the last hour)
        and ``step`` (seconds; default: the window in at most 60 steps, whole minutes)."""

        def date(name: str, default: int) -> int:
            raw = query.get(name, "")
            if not raw:
                return default
            dt = parse_dt(raw)
            if dt is None or dt.year < 1970:
                raise BadRequest(f"Invalid {name} value: expected a date since 1970, such as 2026-12-01 10:00:00Z.")
            return min(MAX_END_MS, (dt - datetime(1970, 1, 1, tzinfo=UTC)) // _MS)

        end = date("to", now_ms)
        start = date("from", end - 3_600_000)
        if start >= end:
            raise BadRequest("Invalid from value: it must be before to.")
        if end - start > MAX_WINDOW_MS:
            raise BadRequest("Invalid from value: the window is 31 days at most.")
        raw_step = query.get("step", "")
        if raw_step:
            if not (raw_step.isascii() and raw_step.isdigit() and len(raw_step) <= 8 and int(raw_step) >= MIN_STEP_S):
                raise BadRequest(f"Invalid step value: a whole number of seconds, at least {MIN_STEP_S}.")
            step = int(raw_step) * 1000
        else:
            step = max(60_000, -(-(end - start) // 60 // 60_000) * 60_000)
        window = cls(start, end, step)
        if window.steps > MAX_STEPS:
            raise BadRequest(f"Invalid step value: the window would have more than {MAX_STEPS} steps.")
        return window


_MS = datetime(1970, 1, 1, 0, 0, 0, 1000, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)


class _Tally:
    def __init__(self, w: Window) -> None:
        self.w = w
        self.steps = [_Step() for _ in range(w.steps)]
        self.errors: Counter[tuple[int, str]] = Counter()

    def add(self, i: int, status: int, b: int | None, error: str | None, n: int = 1) -> None:
        """``n`` entries of step ``i`` with ``status``, latency bucket ``b`` (None: a stream) and ``error``."""
        if not 0 <= i < len(self.steps):
            return
        self.steps[i].add(status, b, n)
        if status >= 400:
            self.errors[(status, error or "")] += n

    def shape(self) -> dict[str, Any]:
        w, whole = self.w, _Step()
        for s in self.steps:
            whole.merge(s)
        return {
            "from": _date(w.start),
            "to": _date(w.end),
            "step": w.step // 1000,
            "total": whole.shape(),
            "series": [{"date": _date(w.start + i * w.step), **s.shape()} for i, s in enumerate(self.steps)],
            "topErrors": [{"status": st, "error": e, "count": n} for (st, e), n in self.errors.most_common(TOP_ERRORS)],
        }


async def _count_sqlite(db: Reads, t: _Tally) -> None:
    """The batches that may hold entries of the window (by their last entry's time, indexed), a
    few at a time: each chunk holds the event loop for a few milliseconds."""
    start, end, step = t.w.start, t.w.end, t.w.step
    async for text in store.window_batches(db, start, end, CHUNK_BATCHES):
        for e in store.decode_batch(text):
            if e is not None and start <= e[0] < end:
                t.add((e[0] - start) // step, e[3], None if is_stream(e[1], e[2]) else bucket(e[4]), e[11])


# PostgreSQL groups the window's entries itself: a row per (step, status, latency bucket, error).
# (chr(63): a question mark in the text would be read as a placeholder.)
_US = "round((\"data\"->>'execTime')::float8 * 1000)"
_PG_GROUPS = (
    "SELECT floor((extract(epoch FROM CAST(replace(\"created\", 'Z', '') AS timestamp)) * 1000 - CAST(? AS bigint)) "
    "/ CAST(? AS bigint))::int, "
    "(\"data\"->>'status')::int, "
    f"CASE WHEN \"data\"->>'method' = 'GET' "
    f"AND (\"data\"->>'url' = '{STREAM}' OR \"data\"->>'url' LIKE '{STREAM}' || chr(63) || '%') "
    f"THEN NULL WHEN {_US} > 1 THEN floor(log(2, {_US}::numeric) * {BUCKETS_PER_DOUBLING})::int ELSE 0 END, "
    "CASE WHEN (\"data\"->>'status')::int >= 400 THEN coalesce(\"data\"->>'error', '') END, "
    f'count(*) FROM "{store.TABLE}" WHERE "id" >= ? AND "id" < ? GROUP BY 1, 2, 3, 4'
)


async def _count_postgres(db: Reads, t: _Tally) -> None:
    # The ids start with the entry's millisecond (base 36): the window is a range of the key.
    w = t.w
    rows = await db.fetch(_PG_GROUPS, [w.start, w.step, store.id_prefix(w.start), store.id_prefix(w.end)])
    for i, status, b, error, n in rows:
        t.add(int(i), int(status or 0), b, error, int(n))


async def summary(db: Reads, w: Window) -> dict[str, Any]:
    """The dashboard's figures for window ``w`` (module doc)."""
    t = _Tally(w)
    async with _ONE_AT_A_TIME:  # several dashboards open: one pass over the log at a time
        if db.dialect == "postgresql":
            await _count_postgres(db, t)
        else:
            await _count_sqlite(db, t)
    return {**t.shape(), "startedAt": _date(int(STARTED * 1000)), "uptime": round(time.time() - STARTED, 3)}


def _date(ms: int) -> str:
    return format_dt(datetime.fromtimestamp(ms / 1000, UTC))
