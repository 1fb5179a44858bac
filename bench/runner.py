"""Orchestrate a benchmark run: start servers, seed, alternate wrk runs, collect results."""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.checks import CheckFailed, check
from bench.realtime import raise_fd_limit, run_realtime
from bench.seed import Seeded, SetupError, seed
from bench.servers import RssSampler, Server, ServerSpec, ServerUnavailable
from bench.workloads import Workload
from bench.wrk import WrkFailed, WrkResult, ensure_wrk, run_wrk, wrk_version


@dataclass
class Config:
    """Everything that shapes one run."""

    rows: int
    users: int
    duration: float
    rounds: int
    threads: int
    connections: int
    warmup: float
    pause: float
    servers: list[ServerSpec]
    workloads: list[Workload]
    smoke: bool
    timeout: float = 30.0
    keep: bool = False
    install_wrk: bool = True
    rt_subscribers: int = 1000  # realtime workload (bench/realtime.py)
    rt_events: int = 20


@dataclass
class Summary:
    """Medians over the rounds of one workload on one server."""

    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # summed over rounds
    requests: int  # summed over rounds
    runs: int


@dataclass
class Results:
    """The outcome of a run."""

    config: Config
    servers: list[str]
    versions: dict[str, str]
    wrk: str
    skipped: dict[str, str] = field(default_factory=dict)
    seeded: dict[str, Seeded] = field(default_factory=dict)
    runs: dict[str, dict[str, list[WrkResult]]] = field(default_factory=dict)
    failures: dict[str, dict[str, str]] = field(default_factory=dict)
    peak_rss_kib: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self, workload: str, server: str) -> Summary | None:
        """Medians of `workload` on `server`, or None if it never ran."""
        runs = self.runs.get(workload, {}).get(server, [])
        if not runs:
            return None
        return Summary(
            rps=statistics.median(r.rps for r in runs),
            p50_ms=statistics.median(r.p50_ms for r in runs),
            p99_ms=statistics.median(r.p99_ms for r in runs),
            errors=sum(r.errors for r in runs),
            requests=sum(r.requests for r in runs),
            runs=len(runs),
        )


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _available(cfg: Config) -> tuple[list[ServerSpec], dict[str, str]]:
    """The servers that can run; in smoke mode unavailable ones are skipped, else fatal."""
    ok: list[ServerSpec] = []
    skipped: dict[str, str] = {}
    for spec in cfg.servers:
        try:
            spec.check()
            ok.append(spec)
        except ServerUnavailable as exc:
            if not cfg.smoke:
                others = ",".join(o.name for o in cfg.servers if o.name != spec.name)
                hint = f" (to run without it: --servers {others})" if others else ""
                raise ServerUnavailable(f"{spec.name} is not runnable{hint}: {exc}") from exc
            skipped[spec.name] = str(exc)
            log(f"skipping {spec.name}: {exc}")
    if not ok:
        raise ServerUnavailable("no server to benchmark:\n" + "\n".join(skipped.values()))
    return ok, skipped


def run(cfg: Config) -> Results:
    """Run the whole benchmark and return its results (servers are always stopped)."""
    t0 = time.monotonic()
    raise_fd_limit()  # before the servers start: they inherit it (1,000+ SSE connections)
    wrk_exe = ensure_wrk(cfg.install_wrk)
    specs, skipped = _available(cfg)
    res = Results(
        config=cfg,
        servers=[s.name for s in specs],
        versions={s.name: s.version() for s in specs},
        wrk=wrk_version(wrk_exe),
        skipped=skipped,
    )
    workdir = Path(tempfile.mkdtemp(prefix="baas-bench-"))
    sampler = RssSampler()
    sampler.start()
    servers: list[Server] = []
    try:
        for spec in specs:
            srv = Server(spec, workdir)
            log(f"[{spec.name}] starting ({' '.join([spec.exe, 'serve', *spec.extra_args])})")
            srv.start()
            servers.append(srv)
            sampler.add(srv)
            log(f"[{spec.name}] up on {srv.url}; seeding {cfg.users} users, 2 x {cfg.rows} posts ...")
            try:
                res.seeded[spec.name] = seed(srv.url, cfg.rows, cfg.users, log=log)
            except (SetupError, httpx.HTTPError) as exc:
                raise SetupError(
                    f"{spec.name}: setup failed: {exc}\n--- server log tail ---\n" + srv.log_tail()
                ) from exc
            log(
                f"[{spec.name}] seeded in {res.seeded[spec.name].seed_seconds:.1f}s "
                f"({'batch' if res.seeded[spec.name].used_batch else 'single creates'})"
            )
        for srv in servers:
            with httpx.Client(base_url=srv.url, timeout=60) as client:
                for w in cfg.workloads:
                    try:
                        check(w.name, client, res.seeded[srv.name], cfg.rows)
                    except (CheckFailed, httpx.HTTPError, KeyError, ValueError) as exc:
                        msg = f"response check failed: {type(exc).__name__}: {exc}"
                        res.failures.setdefault(w.name, {})[srv.name] = msg
                        log(f"  {w.name:15} {srv.name:10} {msg}")
        first = res.seeded[specs[0].name]
        (workdir / "post_ids.txt").write_text("\n".join(first.post_ids) + "\n")
        (workdir / "user_ids.txt").write_text("\n".join(first.user_ids) + "\n")

        def one(srv: Server, w: Workload, duration: float) -> WrkResult | None:
            if srv.name in res.failures.get(w.name, {}):
                return None  # its response check failed, or the server died
            if srv.proc is None or srv.proc.poll() is not None:
                rc = srv.proc.returncode if srv.proc else None
                res.failures.setdefault(w.name, {})[srv.name] = (
                    f"server not running (exit {rc}); log tail:\n{srv.log_tail(10)}"
                )
                return None
            args = w.args(workdir, res.seeded[srv.name].user_token)
            try:
                if w.name == "realtime":  # SSE subscribers, not wrk (bench/realtime.py)
                    r = run_realtime(srv.url, cfg.rt_subscribers, cfg.rt_events)
                    sampler.sample()
                    time.sleep(cfg.pause)
                    return r
                r = run_wrk(
                    srv.url,
                    w.script,
                    args,
                    duration=duration,
                    threads=cfg.threads,
                    connections=cfg.connections,
                    timeout=cfg.timeout,
                    exe=wrk_exe,
                )
            except (WrkFailed, RuntimeError, OSError) as exc:
                res.failures.setdefault(w.name, {})[srv.name] = str(exc)[:500]
                log(f"  {w.name:15} {srv.name:10} FAILED: {exc}")
                return None
            sampler.sample()
            time.sleep(cfg.pause)
            return r

        if cfg.warmup > 0:
            log(f"warm-up: {cfg.warmup:g}s per workload per server")
            for w in cfg.workloads:
                if w.name == "realtime":
                    continue  # nothing to warm: its connections are new every run
                for srv in servers:
                    one(srv, w, cfg.warmup)

        for rnd in range(cfg.rounds):
            log(f"round {rnd + 1}/{cfg.rounds}")
            for i, w in enumerate(cfg.workloads):
                # Alternate which server goes first, per workload and per round.
                order = servers if (rnd + i) % 2 == 0 else servers[::-1]
                for srv in order:
                    r = one(srv, w, cfg.duration)
                    if r is None:
                        continue
                    res.runs.setdefault(w.name, {}).setdefault(srv.name, []).append(r)
                    log(
                        f"  {w.name:15} {srv.name:10} {r.rps:9.0f} req/s  "
                        f"p50 {r.p50_ms:7.2f} ms  p99 {r.p99_ms:8.2f} ms  errors {r.errors}"
                    )
    finally:
        sampler.sample()
        for srv in servers:
            srv.stop()
        sampler.stop()
        res.peak_rss_kib = dict(sampler.peak_kib)
        if cfg.keep:
            log(f"kept data dirs and logs in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    res.seconds = time.monotonic() - t0
    return res
