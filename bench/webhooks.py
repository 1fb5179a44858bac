"""Outgoing webhooks benchmark (``python -m bench.webhooks``; docs/benchmarks.md, "Webhooks").

1. **Create overhead**: the create workload (``POST /api/collections/posts_wh/records``,
   ``--concurrency`` keep-alive connections from an asyncio client) for ``--duration`` seconds
   without a webhook, then with one webhook registered for ``posts_wh.create`` (its receiver
   acknowledging every delivery), alternated ``--rounds`` times; req/s of each.
2. **Dispatch**: ``--events`` creates (16 in flight) with the webhook registered; the receiver
   stamps each arrival. Throughput = events / (last arrival - first request); latency = arrival -
   the moment its create was sent (write → receiver), p50/p99.

One ``baas serve`` (``--workers``, default 1) on SQLite in a temporary directory; the receiver is
a raw asyncio HTTP/1.1 server in this process (parsing costs microseconds, so it is not the
bottleneck). Client, server and receiver share the machine: compare the two create figures with
each other, not with the wrk figures of the main benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.servers import SUPERUSER_EMAIL, SUPERUSER_PASSWORD, free_port

SCHEMA = """collections:
  - name: posts_wh
    createRule: ""
    fields:
      - {name: title, type: text}
      - {name: body, type: text}
      - {name: views, type: number}
"""
SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()
_TITLE = re.compile(rb'"title":"lat-(\d+)"')


class _Receiver(asyncio.Protocol):
    """One keep-alive connection of the receiver: answers 204 to each request, stamps ``lat-<n>``."""

    def __init__(self, arrivals: dict[int, float], counter: list[int]) -> None:
        self.arrivals = arrivals
        self.counter = counter
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].lower()
            m = re.search(rb"content-length:\s*(\d+)", head)
            size = int(m.group(1)) if m else 0
            if len(self.buf) < end + 4 + size:
                return
            body = self.buf[end + 4 : end + 4 + size]
            self.buf = self.buf[end + 4 + size :]
            self.counter[0] += 1
            t = _TITLE.search(body)
            if t:
                self.arrivals.setdefault(int(t.group(1)), time.monotonic())
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")


def session_cpu(sid: int) -> float:
    """CPU seconds (user + system) used so far by every process of session ``sid`` (the server and
    its workers): on a shared machine a steadier measure of cost than requests per second."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                stat = f.read()
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[3]) == sid:
                total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
        except (OSError, ValueError, IndexError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def _baas(*args: str) -> list[str]:
    return [sys.executable, "-m", "baas.cli.main", *args]


async def _creates(url: str, token: str, seconds: float, concurrency: int) -> tuple[float, int]:
    """Creates for ``seconds`` from ``concurrency`` connections: (req/s, requests). Every answer
    must be 200."""
    stop = time.monotonic() + seconds
    done = [0]
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": token}, limits=httpx.Limits(max_connections=concurrency)
    ) as client:

        async def loop(i: int) -> None:
            n = 0
            while time.monotonic() < stop:
                n += 1
                r = await client.post(
                    "/api/collections/posts_wh/records",
                    json={"title": f"load {i}-{n}", "body": "created by bench.webhooks", "views": n},
                )
                if r.status_code != 200:
                    raise RuntimeError(f"create answered {r.status_code}: {r.text}")
                done[0] += 1

        start = time.monotonic()
        await asyncio.gather(*(loop(i) for i in range(concurrency)))
        return done[0] / (time.monotonic() - start), done[0]


async def _latency(url: str, token: str, events: int, arrivals: dict[int, float]) -> dict[str, float]:
    sent: dict[int, float] = {}
    gate = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": token}) as client:

        async def one(n: int) -> None:
            async with gate:
                sent[n] = time.monotonic()
                r = await client.post("/api/collections/posts_wh/records", json={"title": f"lat-{n}", "views": n})
                if r.status_code != 200:
                    raise RuntimeError(f"create answered {r.status_code}: {r.text}")

        await asyncio.gather(*(one(n) for n in range(events)))
    deadline = time.monotonic() + 120
    while len(arrivals) < events and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    lat = sorted((arrivals[n] - sent[n]) * 1000 for n in arrivals if n in sent)
    first = min(sent.values())
    return {
        "delivered": float(len(arrivals)),
        "throughput": len(arrivals) / (max(arrivals.values()) - first) if arrivals else 0.0,
        "p50_ms": statistics.median(lat) if lat else 0.0,
        "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else 0.0,
        "max_ms": lat[-1] if lat else 0.0,
    }


async def main(args: argparse.Namespace) -> None:
    arrivals: dict[int, float] = {}
    counter = [0]
    loop = asyncio.get_running_loop()
    rport = free_port()
    receiver = await loop.create_server(lambda: _Receiver(arrivals, counter), "127.0.0.1", rport)
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as tmp:
        home = Path(tmp)
        (home / "baas.yaml").write_text(SCHEMA)
        env = {**os.environ, "BAAS_WEBHOOKS_ALLOW_PRIVATE": "127.0.0.1/32"}
        data = str(home / "data")
        subprocess.run(
            _baas("superuser", "upsert", SUPERUSER_EMAIL, SUPERUSER_PASSWORD, "--dir", data), check=True, env=env
        )
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with (home / "serve.log").open("wb") as log:
            proc = subprocess.Popen(
                _baas(
                    "serve",
                    "--http",
                    f"127.0.0.1:{port}",
                    "--dir",
                    data,
                    "--schema",
                    str(home / "baas.yaml"),
                    "--workers",
                    str(args.workers),
                ),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            for _ in range(600):
                try:
                    if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            token = httpx.post(
                url + "/api/collections/_superusers/auth-with-password",
                json={"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD},
            ).json()["token"]
            auth = {"Authorization": token}
            hook = {"name": "bench", "url": f"http://127.0.0.1:{rport}/hook", "events": ["posts_wh.create"]}
            plain: list[float] = []
            hooked: list[float] = []
            cpu_plain: list[float] = []  # server CPU ms per create
            cpu_hooked: list[float] = []
            await _creates(url, token, 2.0, args.concurrency)  # warm-up

            async def measured(rps: list[float], cpu: list[float], drain: bool) -> None:
                before, seen = session_cpu(proc.pid), counter[0]
                rate, n = await _creates(url, token, args.duration, args.concurrency)
                while drain and counter[0] - seen < n:  # the deliveries of these creates are part of their cost
                    await asyncio.sleep(0.05)
                rps.append(rate)
                cpu.append((session_cpu(proc.pid) - before) * 1000 / n)

            for _ in range(args.rounds):
                await measured(plain, cpu_plain, False)
                r = httpx.post(url + "/api/webhooks", headers=auth, json={**hook, "secret": SECRET})
                r.raise_for_status()
                await asyncio.sleep(1.5)  # every process has loaded the webhook (the catalog reloads each second)
                await measured(hooked, cpu_hooked, True)
                httpx.delete(url + "/api/webhooks/bench", headers=auth).raise_for_status()
                await asyncio.sleep(1.5)
            r = httpx.post(url + "/api/webhooks", headers=auth, json={**hook, "secret": SECRET})
            r.raise_for_status()
            await asyncio.sleep(1.5)  # every process has loaded the webhook (the catalog reloads each second)
            lat = await _latency(url, token, args.events, arrivals)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    receiver.close()
    a, b = statistics.median(plain), statistics.median(hooked)
    print(f"create req/s without a webhook: {a:.0f} (rounds: {', '.join(f'{x:.0f}' for x in plain)})")
    print(f"create req/s with one webhook:  {b:.0f} (rounds: {', '.join(f'{x:.0f}' for x in hooked)})")
    print(f"overhead: {(a - b) / a * 100:.1f} % of req/s")
    ca, cb = statistics.median(cpu_plain), statistics.median(cpu_hooked)
    print(f"server CPU per create: {ca:.2f} ms without, {cb:.2f} ms with the webhook (delivery included)")
    print(
        f"dispatch: {lat['delivered']:.0f}/{args.events} delivered, {lat['throughput']:.0f} deliveries/s, "
        f"write->receiver p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms, max {lat['max_ms']:.1f} ms"
    )


def cli() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=1000, help="creates timed write -> receiver (default 1000)")
    p.add_argument("--duration", type=float, default=8.0, help="seconds per create run (default 8)")
    p.add_argument("--rounds", type=int, default=3, help="alternated without/with rounds (default 3)")
    p.add_argument("--concurrency", type=int, default=32, help="create connections (default 32)")
    p.add_argument("--workers", type=int, default=1, help="baas serve --workers (default 1)")
    asyncio.run(main(p.parse_args()))


if __name__ == "__main__":
    cli()
