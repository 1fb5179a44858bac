"""Throughput of baas nodes sharing one PostgreSQL database: the figures of docs/scaling.md.

    python -m bench.nodes [--db URL] [--nodes 1,2] [--workers N] [--rows 5000] [--dur 8] [--rounds 3] [WORKLOAD ...]

For each node count it creates an empty database on the PostgreSQL server of ``--db``, starts that
many ``baas serve`` processes on it (each with a data dir of its own, as separate machines would
have), seeds them through the first, and runs each workload with one wrk per node at once (the
connections split between them, as a load balancer would), summing their requests. Printed per
workload: total req/s (median over the rounds), the worst p99, the machine's CPU use during the
run, and the PostgreSQL connections the nodes held. Client, nodes and database share this
machine, so past its cores the figures show what saturates first rather than what more machines
would add.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench.cpu import cpu_seconds
from bench.seed import seed
from bench.servers import Server, ServerSpec
from bench.workloads import WORKLOADS
from bench.wrk import WrkResult, run_wrk


def _machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _postgres_cpu() -> float:
    """User + system CPU seconds of every PostgreSQL process on this machine (its backends included)."""
    return cpu_seconds(lambda comm, _: comm == "postgres")


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _connections(url: str, name: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", name))
    finally:
        await conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--db", default=os.environ.get("BAAS_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    ap.add_argument("--nodes", default="1,2", help="comma list of node counts")
    ap.add_argument("--workers", type=int, default=0, help="`serve --workers` per node (default: one per core)")
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--dur", type=float, default=8.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("-c", "--connections", type=int, default=32, help="wrk connections in all, split between nodes")
    ap.add_argument("names", nargs="*", help="workloads (default: view list create)")
    a = ap.parse_args()
    names = a.names or ["view", "list", "create"]
    workloads = [w for w in WORKLOADS if w.name in names]
    for n in [int(x) for x in a.nodes.split(",")]:
        _run(a, n, workloads)


def _run(a: argparse.Namespace, n: int, workloads: list) -> None:  # type: ignore[type-arg]
    name = f"bench_nodes_{secrets.token_hex(4)}"
    asyncio.run(_admin(a.db, f'CREATE DATABASE "{name}"'))
    url = _with_db(a.db, name)
    workdir = Path(tempfile.mkdtemp(prefix="bench-nodes-"))
    extra = ["--workers", str(a.workers)] if a.workers else []
    os.environ["BAAS_DB"] = url  # `superuser upsert` and `serve` both read it
    nodes = [Server(ServerSpec(f"node{i + 1}", "baas", extra), workdir) for i in range(n)]
    try:
        for node in nodes:
            node.start()
        seeded = seed(nodes[0].url, a.rows, 50, log=lambda *_: None)
        (workdir / "post_ids.txt").write_text("\n".join(seeded.post_ids) + "\n")
        (workdir / "user_ids.txt").write_text("\n".join(seeded.user_ids) + "\n")
        time.sleep(3)  # every node has picked up the seeded collections (within about a second)
        per_node = max(2, a.connections // n)
        print(f"{n} node(s), {per_node} connections each, workers per node: {a.workers or 'one per core'}", flush=True)
        with ThreadPoolExecutor(n) as pool:
            for w in workloads:
                args = w.args(workdir, seeded.user_token)

                def one(node: Server, seconds: float, w=w, args=args) -> WrkResult:  # type: ignore[no-untyped-def]
                    return run_wrk(node.url, w.script, args, duration=seconds, connections=per_node)

                list(pool.map(lambda node: one(node, 1), nodes))  # warm-up
                totals, p99s, busy, pg_share = [], [], [], []
                conns = 0
                cores = os.cpu_count() or 1
                for _ in range(a.rounds):
                    b0, t0 = _machine_busy()
                    pg0 = _postgres_cpu()
                    results = list(pool.map(lambda node: one(node, a.dur), nodes))
                    pg1 = _postgres_cpu()
                    b1, t1 = _machine_busy()
                    busy_seconds = (b1 - b0) / os.sysconf("SC_CLK_TCK")
                    pg_share.append(100 * (pg1 - pg0) / max(1e-9, busy_seconds))
                    conns = max(conns, asyncio.run(_connections(a.db, name)))
                    totals.append(sum(r.rps for r in results))
                    p99s.append(max(r.p99_ms for r in results))
                    busy.append(100 * (b1 - b0) / max(1, t1 - t0))
                    errors = sum(r.errors for r in results)
                    if errors:
                        print(f"  {w.name}: {errors} errors", flush=True)
                print(
                    f"  {w.name:8s} {statistics.median(totals):9.0f} req/s  p99 {statistics.median(p99s):7.1f} ms  "
                    f"CPU {statistics.median(busy):5.1f} % of {cores} cores (PostgreSQL "
                    f"{statistics.median(pg_share):.0f} % of that)  PostgreSQL connections {conns}",
                    flush=True,
                )
    finally:
        for node in nodes:
            node.stop()
        os.environ.pop("BAAS_DB", None)
        asyncio.run(_admin(a.db, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
