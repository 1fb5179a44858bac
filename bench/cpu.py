"""CPU time per request of one server: a profiling aid, not the side-by-side benchmark.

    python -m bench.cpu [--exe baas] [--args "--workers 1"] [--rows 5000] [--dur 4] [WORKLOAD ...]

Starts the server, seeds it like the benchmark, runs each workload with wrk and divides the CPU
time the server's processes used (from /proc) by the requests served. Unlike req/s, this figure
barely moves when other programs load the machine, so it shows whether a change made a request
cheaper. Extra workloads: ``health`` (a Litestar route) and ``notfound`` (the record fast path
answering 404) show the fixed cost of a request.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bench.seed import seed
from bench.servers import Server, ServerSpec
from bench.workloads import WORKLOADS, Workload
from bench.wrk import run_wrk

PROBES = [
    Workload("health", "get.lua", "GET /api/health", path="/api/health"),
    Workload("notfound", "get.lua", "GET a missing collection", path="/api/collections/nope/records"),
]


def session_cpu_seconds(sid: int) -> float:
    """User + system CPU time of every process in session ``sid`` (a server and its workers)."""
    ticks = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # fields after "(comm)": state ppid pgrp session ... utime stime
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exe", default="baas")
    ap.add_argument("--args", default="", help='extra `serve` args, e.g. "--workers 1"')
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--dur", type=float, default=4.0)
    ap.add_argument("-c", "--connections", type=int, default=32)
    ap.add_argument("names", nargs="*", help="workloads (default: view create list_skiptotal list_expand list_authed)")
    a = ap.parse_args()
    names = a.names or ["view", "create", "list_skiptotal", "list_expand", "list_authed"]
    workdir = Path(tempfile.mkdtemp(prefix="bench-cpu-"))
    srv = Server(ServerSpec(a.exe, a.exe, a.args.split()), workdir)
    srv.start()
    try:
        seeded = seed(srv.url, a.rows, 50, log=lambda *_: None)
        (workdir / "post_ids.txt").write_text("\n".join(seeded.post_ids) + "\n")
        (workdir / "user_ids.txt").write_text("\n".join(seeded.user_ids) + "\n")
        assert srv.proc is not None
        for w in [*WORKLOADS, *PROBES]:
            if w.name not in names:
                continue
            args = w.args(workdir, seeded.user_token)
            run_wrk(srv.url, w.script, args, duration=1, connections=a.connections)  # warm-up
            before = session_cpu_seconds(srv.proc.pid)
            r = run_wrk(srv.url, w.script, args, duration=a.dur, connections=a.connections)
            used = session_cpu_seconds(srv.proc.pid) - before
            print(
                f"{w.name:15s} {r.requests / a.dur:9.0f} req/s {1e6 * used / max(1, r.requests):8.1f} us CPU/req"
                f"  p99 {r.p99_ms:.1f} ms  errors {r.errors}",
                flush=True,
            )
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
