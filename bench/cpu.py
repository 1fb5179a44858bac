"""CPU time per request of one server: a profiling aid, not the side-by-side benchmark.

    python -m bench.cpu [--exe baas] [--args "--workers 1"] [--rows 5000] [--dur 4] [WORKLOAD ...]

Starts the server, seeds it like the benchmark, runs each workload with wrk and divides the CPU
time the server's processes used (from /proc) by the requests served. ``--ab-logs N`` measures
each workload N times with the request log on and off, alternated on the same server, and prints
the medians: what the log costs a request, in CPU. Unlike req/s, this figure
barely moves when other programs load the machine, so it shows whether a change made a request
cheaper. Extra workloads: ``health`` (a Litestar route) and ``notfound`` (the record fast path
answering 404) show the fixed cost of a request.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.seed import seed
from bench.servers import Server, ServerSpec
from bench.workloads import WORKLOADS, Workload
from bench.wrk import run_wrk

PROBES = [
    Workload("health", "get.lua", "GET /api/health", path="/api/health"),
    Workload("notfound", "get.lua", "GET a missing collection", path="/api/collections/nope/records"),
]


def cpu_seconds(match: Callable[[str, list[str]], bool]) -> float:
    """User + system CPU time of every process for which ``match(comm, fields)`` holds (``fields``:
    those of /proc/PID/stat after "(comm)": state ppid pgrp session ... utime stime)."""
    ticks = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as fh:
                head, rest = fh.read().rsplit(")", 1)
        except OSError:
            continue
        fields = rest.split()
        if match(head.partition("(")[2], fields):
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy (user, nice, system, irq, softirq: /proc/stat), which
    also counts the kernel's work for the server (writeback of its files) and the load generator."""
    with open("/proc/stat") as fh:
        f = [int(x) for x in fh.readline().split()[1:8]]
    return (f[0] + f[1] + f[2] + f[5] + f[6]) / os.sysconf("SC_CLK_TCK")


def session_cpu_seconds(sid: int) -> float:
    """User + system CPU time of every process in session ``sid`` (a server and its workers)."""
    return cpu_seconds(lambda _, fields: int(fields[3]) == sid)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exe", default="baas")
    ap.add_argument("--args", default="", help='extra `serve` args, e.g. "--workers 1"')
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--dur", type=float, default=4.0)
    ap.add_argument("-c", "--connections", type=int, default=32)
    ap.add_argument("--ab-logs", type=int, default=0, help="N rounds of request log on / off per workload")
    ap.add_argument("names", nargs="*", help="workloads (default: view create list_skiptotal list_expand list_authed)")
    a = ap.parse_args()
    names = a.names or ["view", "create", "list_skiptotal", "list_expand", "list_authed"]
    workdir = Path(tempfile.mkdtemp(prefix="bench-cpu-"))
    srv = Server(ServerSpec(Path(a.exe).name, a.exe, a.args.split()), workdir)
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
            if a.ab_logs:
                _ab_logs(srv, w, args, a)
                continue
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


def _ab_logs(srv: Server, w: Workload, args: list[str], a: argparse.Namespace) -> None:
    """CPU per request of workload ``w`` with the request log on and off, alternated ``a.ab_logs``
    times; the medians and their ratio."""
    assert srv.proc is not None
    got: dict[str, list[float]] = {"on": [], "off": []}
    machine: dict[str, list[float]] = {"on": [], "off": []}
    rates: dict[str, list[float]] = {"on": [], "off": []}
    for i in range(a.ab_logs):
        for state in ("off", "on") if i % 2 else ("on", "off"):
            srv.spec.settings = {"logs": {"maxDays": 5 if state == "on" else 0}}
            srv._apply_settings()
            time.sleep(2.5)  # every worker picks the change up (docs/logs.md)
            run_wrk(srv.url, w.script, args, duration=1, connections=a.connections)  # warm-up
            before, busy = session_cpu_seconds(srv.proc.pid), machine_busy_seconds()
            r = run_wrk(srv.url, w.script, args, duration=a.dur, connections=a.connections)
            used = session_cpu_seconds(srv.proc.pid) - before
            busy = machine_busy_seconds() - busy
            got[state].append(1e6 * used / max(1, r.requests))
            machine[state].append(1e6 * busy / max(1, r.requests))
            rates[state].append(r.requests / a.dur)
            print(
                f"  {w.name:12s} log {state:3s} {rates[state][-1]:9.0f} req/s {got[state][-1]:8.1f} us CPU/req"
                f" (machine {machine[state][-1]:.1f} us)",
                flush=True,
            )
    on, off = statistics.median(got["on"]), statistics.median(got["off"])
    # Each round's on/off pair ran back to back: the median of the pairs' differences shrugs off
    # the machine's drift between rounds better than the difference of the medians.
    pairs = sorted(a - b for a, b in zip(got["on"], got["off"], strict=True))
    print(
        f"{w.name:15s} CPU/req log off {off:.1f} us, on {on:.1f} us: +{on - off:.1f} us ({100 * (on / off - 1):+.1f} %); "
        f"by pair median +{statistics.median(pairs):.1f} us (quartiles {pairs[len(pairs) // 4]:+.1f} .. "
        f"{pairs[(3 * len(pairs)) // 4]:+.1f}); "
        f"req/s median off {statistics.median(rates['off']):.0f}, on {statistics.median(rates['on']):.0f}; "
        f"machine CPU/req off {statistics.median(machine['off']):.1f} us, on {statistics.median(machine['on']):.1f} us; "
        # Periodic work (the log's checkpoints) lands in some runs only: the means count it in full.
        f"means: CPU/req off {statistics.mean(got['off']):.1f} us, on {statistics.mean(got['on']):.1f} us",
        flush=True,
    )


if __name__ == "__main__":
    main()
