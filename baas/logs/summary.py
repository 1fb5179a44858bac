"""The request log as a dashboard sees it (``GET /api/logs/summary``): for a window of time cut in
equal steps, how many requests each step answered, how many with a client error (4xx) or a server
error (5xx), the share answered without a server error, and the median and 99th percentile of the
time taken; the same over the whole window, and its most frequent errors.

Computed from the stored entries at each call (no second store to keep in step): the work is about
a second per million entries in the window. Realtime streams are counted as requests but left out
of the latencies: their "time taken" is a connection's whole life."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from baas.db import Reads
from baas.errors import BadRequest
from baas.ids import format_dt, parse_dt
from baas.logs import store

STARTED = time.time()  # this process's start, for the uptime the dashboard shows
MAX_WINDOW_MS = 31 * 86_400_000
MAX_STEPS = 1440
MIN_STEP_S = 10
TOP_ERRORS = 10
_STREAMS = "/api/realtime"
_decode_batch = msgspec.json.Decoder(list[list[Any] | None]).decode


@dataclass
class _Step:
    requests: int = 0
    client_errors: int = 0
    server_errors: int = 0
    micros: list[int] = field(default_factory=list)

    def add(self, status: int, us: int, url: str) -> None:
        self.requests += 1
        if status >= 500:
            self.server_errors += 1
        elif status >= 400:
            self.client_errors += 1
        if not url.startswith(_STREAMS):
            self.micros.append(us)

    def shape(self) -> dict[str, Any]:
        self.micros.sort()
        return {
            "requests": self.requests,
            "clientErrors": self.client_errors,
            "serverErrors": self.server_errors,
            "successRate": None if not self.requests else round(1 - self.server_errors / self.requests, 6),
            "p50": _percentile(self.micros, 0.50),
            "p99": _percentile(self.micros, 0.99),
        }


def _percentile(sorted_us: list[int], q: float) -> float | None:
    """The nearest-rank percentile, in milliseconds (None for no request)."""
    if not sorted_us:
        return None
    rank = max(1, -(-len(sorted_us) * q // 1))  # ceil(n * q), at least the first
    return sorted_us[int(rank) - 1] / 1000


@dataclass(frozen=True)
class Window:
    """``[start, end)`` in milliseconds since the epoch, cut in steps of ``step`` milliseconds."""

    start: int
    end: int
    step: int

    @classmethod
    def from_query(cls, query: dict[str, str], now_ms: int) -> Window:
        """``from``, ``to`` (dates as the filter language takes them, UTC; default the last hour)
        and ``step`` (seconds; default: the window in at most 60 steps, whole minutes)."""

        def date(name: str, default: int) -> int:
            raw = query.get(name, "")
            if not raw:
                return default
            dt = parse_dt(raw)
            if dt is None:
                raise BadRequest(f"Invalid {name} value: expected a date such as 2026-12-01 10:00:00Z.")
            return int(dt.timestamp() * 1000)

        end = date("to", now_ms)
        start = date("from", end - 3_600_000)
        if start >= end:
            raise BadRequest("Invalid from value: it must be before to.")
        if end - start > MAX_WINDOW_MS:
            raise BadRequest("Invalid from value: the window is 31 days at most.")
        raw_step = query.get("step", "")
        if raw_step:
            if not raw_step.isascii() or not raw_step.isdigit() or not MIN_STEP_S <= int(raw_step) <= MAX_WINDOW_MS:
                raise BadRequest(f"Invalid step value: a whole number of seconds, at least {MIN_STEP_S}.")
            step = int(raw_step) * 1000
        else:
            step = max(60_000, -(-(end - start) // 60 // 60_000) * 60_000)
        if -(-(end - start) // step) > MAX_STEPS:
            raise BadRequest(f"Invalid step value: the window would have more than {MAX_STEPS} steps.")
        return cls(start, end, step)


async def _rows(db: Reads, w: Window) -> list[tuple[Any, ...]]:
    """The stored rows that may hold entries of the window."""
    if db.dialect == "postgresql":
        # The ids start with the entry's millisecond (base 36): a range of the primary key.
        return await db.fetch(
            f'SELECT "id", "data"->>\'status\', "data"->>\'execTime\', "data"->>\'url\', "data"->>\'error\' '
            f'FROM "{store.TABLE}" WHERE "id" >= ? AND "id" < ?',
            [store.id_prefix(w.start), store.id_prefix(w.end)],
        )
    # SQLite: the batches whose entries (from its first to its last time) may fall in the window.
    return await db.fetch(
        f'SELECT "entries" FROM "{store.SQLITE_TABLE}" WHERE "last" >= ? AND "first" < ?', [w.start, w.end]
    )


def _entries(dialect: str, rows: list[tuple[Any, ...]], w: Window) -> Iterator[tuple[int, int, int, str, str | None]]:
    """(ms, status, microseconds, URL, error) of the entries made in the window."""
    if dialect == "postgresql":
        return ((int(i[:9], 36), int(s or 0), round(float(t or 0) * 1000), u or "", err) for i, s, t, u, err in rows)
    return (  # each batch decoded in one C call, rather than expanded by json_each
        (e[0], e[3], e[4], e[2], e[11])
        for (text,) in rows
        for e in _decode_batch(text)
        if e is not None and w.start <= e[0] < w.end
    )


def _figures(dialect: str, rows: list[tuple[Any, ...]], w: Window) -> dict[str, Any]:
    steps = [_Step() for _ in range(-(-(w.end - w.start) // w.step))]
    whole = _Step()
    errors: Counter[tuple[int, str]] = Counter()
    for ms, status, us, url, error in _entries(dialect, rows, w):
        steps[(ms - w.start) // w.step].add(status, us, url)
        whole.add(status, us, url)
        if status >= 400:
            errors[(status, error or "")] += 1
    return {
        "from": _date(w.start),
        "to": _date(w.end),
        "step": w.step // 1000,
        "total": whole.shape(),
        "series": [{"date": _date(w.start + i * w.step), **s.shape()} for i, s in enumerate(steps)],
        "topErrors": [{"status": st, "error": e, "count": n} for (st, e), n in errors.most_common(TOP_ERRORS)],
    }


async def summary(db: Reads, w: Window) -> dict[str, Any]:
    """The dashboard's figures for window ``w`` (module doc)."""
    rows = await _rows(db, w)
    # A million entries take about a second: in a thread, the event loop keeps answering meanwhile.
    out = await asyncio.to_thread(_figures, db.dialect, rows, w)
    return {**out, "startedAt": _date(int(STARTED * 1000)), "uptime": round(time.time() - STARTED, 3)}


def _date(ms: int) -> str:
    return format_dt(datetime.fromtimestamp(ms / 1000, UTC))
