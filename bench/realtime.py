"""The realtime workload: N SSE subscribers on one collection, E creates; every subscriber must
receive every event, and we time create-to-receive.

    result = run_realtime(url, subscribers=1000, events=20)   # a WrkResult-shaped summary

How it measures, identically for both servers:

1. Creates the public collection ``posts_rt`` (list/view/create rule ``""``) if missing.
2. Opens ``subscribers`` SSE connections to ``GET /api/realtime`` (raw asyncio protocols on
   uvloop: parsing a message costs a few microseconds, so 1,000 connections do not make the
   client the bottleneck), reads each ``PB_CONNECT`` client id, and subscribes each to
   ``posts_rt/*`` with ``POST /api/realtime`` (16 keep-alive connections).
3. Sends ``events`` creates one after another, ``spacing`` seconds apart, each titled
   ``rt-<n>``; ``t0[n]`` is taken just before the request is written.
4. Each subscriber stamps ``time.monotonic()`` when a message about ``rt-<n>`` is complete in
   its buffer; latency = stamp - t0[n], over every (subscriber, event) pair.
5. Waits until all arrived or ``timeout`` seconds passed after the last create.

Reported in the table like the wrk workloads: "req/s" = messages delivered per second over the
delivery window, p50/p99 = create-to-receive latency, errors = messages lost + subscribers that
failed to connect or subscribe.
"""

from __future__ import annotations

import asyncio
import re
import resource
import statistics
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.servers import SUPERUSER_EMAIL, SUPERUSER_PASSWORD
from bench.wrk import WrkResult

COLLECTION = "posts_rt"
_TITLE = re.compile(rb'"title":"rt-(\d+)"')
_CLIENT_ID = re.compile(rb'"clientId":"([A-Za-z0-9]+)"')


def raise_fd_limit(want: int = 65536) -> None:
    """Let this process (and the servers it starts) hold thousands of sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


class _Subscriber(asyncio.Protocol):
    """One SSE connection: the client id, then a receive stamp per ``rt-<n>`` message."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.connected: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.received: dict[int, float] = {}
        self.transport: asyncio.Transport | None = None
        self._buf = b""
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(  # type: ignore[union-attr]
            f"GET /api/realtime HTTP/1.1\r\nHost: {self.host}\r\nAccept: text/event-stream\r\n"
            "Cache-Control: no-store\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        buf = self._buf + data
        end = buf.rfind(b"\n\n")
        if end < 0:
            self._buf = buf
            return
        done, self._buf = buf[:end], buf[end + 2 :]
        if not self.connected.done():
            m = _CLIENT_ID.search(done)
            if m:
                self.connected.set_result(m.group(1).decode())
        for m in _TITLE.finditer(done):
            self.received.setdefault(int(m.group(1)), now)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.connected.done():
            self.connected.set_exception(ConnectionError(f"closed before PB_CONNECT: {exc}"))


async def _ensure_collection(http: httpx.AsyncClient) -> None:
    r = await http.post(
        "/api/collections/_superusers/auth-with-password",
        json={"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD},
    )
    r.raise_for_status()
    headers = {"Authorization": r.json()["token"]}
    if (await http.get(f"/api/collections/{COLLECTION}", headers=headers)).status_code == 200:
        return
    r = await http.post(
        "/api/collections",
        headers=headers,
        json={
            "name": COLLECTION,
            "type": "base",
            "listRule": "",
            "viewRule": "",
            "createRule": "",
            "fields": [{"name": "title", "type": "text"}, {"name": "body", "type": "text"}],
        },
    )
    if r.status_code != 200:
        raise RuntimeError(f"creating {COLLECTION}: HTTP {r.status_code} {r.text[:300]}")


async def measure(
    url: str, subscribers: int, events: int, *, spacing: float = 0.1, timeout: float = 10.0
) -> dict[str, Any]:
    """Run the workload once; raw numbers (latencies in ms)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    subs: list[_Subscriber] = []
    failed = 0
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:
        await _ensure_collection(http)

        async def open_one() -> _Subscriber | None:
            try:
                _, proto = await loop.create_connection(lambda: _Subscriber(f"{host}:{port}"), host, port)
                await asyncio.wait_for(proto.connected, 30)
                return proto
            except (TimeoutError, OSError, ConnectionError):
                return None

        for i in range(0, subscribers, 100):  # in waves: no SYN flood against the listen backlog
            opened = await asyncio.gather(*(open_one() for _ in range(min(100, subscribers - i))))
            subs += [p for p in opened if p is not None]
            failed += sum(p is None for p in opened)

        async def subscribe(proto: _Subscriber) -> bool:
            r = await http.post(
                "/api/realtime", json={"clientId": proto.connected.result(), "subscriptions": [f"{COLLECTION}/*"]}
            )
            return r.status_code == 204

        oks = await asyncio.gather(*(subscribe(p) for p in subs))
        failed += sum(not ok for ok in oks)
        live = [p for p, ok in zip(subs, oks) if ok]

        t0: dict[int, float] = {}
        stamp = str(time.time_ns())
        for n in range(events):
            if n:
                await asyncio.sleep(spacing)
            t0[n] = time.monotonic()
            r = await http.post(f"/api/collections/{COLLECTION}/records", json={"title": f"rt-{n}", "body": stamp})
            if r.status_code != 200:
                raise RuntimeError(f"create: HTTP {r.status_code} {r.text[:300]}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(len(p.received) < events for p in live):
            await asyncio.sleep(0.02)
    latencies = [(stamp_ - t0[n]) * 1000 for p in live for n, stamp_ in p.received.items() if n in t0]
    last = max((s for p in live for s in p.received.values()), default=t0.get(0, 0.0))
    for p in subs:
        if p.transport is not None:
            p.transport.close()
    expected = len(live) * events
    return {
        "subscribers": subscribers,
        "events": events,
        "connected": len(live),
        "failed": failed,
        "expected": expected,
        "received": len(latencies),
        "lost": expected - len(latencies),
        "latencies_ms": latencies,
        "window_s": max(1e-6, last - t0.get(0, last)),
    }


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s)) - 1))]


def run_realtime(url: str, subscribers: int, events: int, *, spacing: float = 0.1) -> WrkResult:
    """One measured run as a `WrkResult` (see the module docstring for the mapping)."""
    import uvloop

    raise_fd_limit(subscribers * 2 + 1024)
    raw = uvloop.run(measure(url, subscribers, events, spacing=spacing))
    lat = raw["latencies_ms"]
    return WrkResult(
        requests=raw["received"],
        seconds=raw["window_s"],
        rps=raw["received"] / raw["window_s"],
        p50_ms=statistics.median(lat) if lat else 0.0,
        p90_ms=_pct(lat, 90),
        p99_ms=_pct(lat, 99),
        max_ms=max(lat, default=0.0),
        non_2xx=raw["lost"],
        socket_errors=raw["failed"] * events,
    )


def check_realtime(url: str) -> None:
    """The workload's response check: 3 subscribers, 2 events, nothing lost."""
    import uvloop

    raw = uvloop.run(measure(url, 3, 2, spacing=0.02))
    if raw["lost"] or raw["failed"]:
        raise AssertionError(f"realtime check: {raw['lost']} message(s) lost, {raw['failed']} subscriber(s) failed")
