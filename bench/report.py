"""Render results as Markdown (docs/benchmarks.md) and JSON."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.runner import Results
from bench.workloads import BY_NAME

DISPLAY = {"pocketbase": "PocketBase", "baas": "baas", "baas_nolog": "baas (request log off)"}


def machine_info() -> dict[str, str]:
    """nproc, memory, CPU model, kernel and Python of this machine."""
    info = {"nproc": str(os.cpu_count() or "?")}
    try:
        info["nproc"] = (
            subprocess.run(["nproc"], capture_output=True, text=True, timeout=5).stdout.strip() or info["nproc"]
        )
    except OSError:
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory"] = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info["kernel"] = f"{platform.system()} {platform.release()}"
    info["python"] = platform.python_version()
    return info


def git_rev() -> str:
    """Short commit of the working tree (read-only), or "?"."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip() or "?"
    except OSError:
        return "?"


def _n(x: float) -> str:
    return f"{x:,.0f}"


def _ms(x: float) -> str:
    return f"{x:.2f}" if x < 100 else f"{x:,.0f}"


def table(res: Results) -> str:
    """The results table: medians per workload, one column group per server."""
    names = res.servers
    heads = ["workload"]
    heads += [f"{DISPLAY.get(s, s)} req/s" for s in names]
    if len(names) == 2:
        heads.append(f"{DISPLAY.get(names[1], names[1])}/{DISPLAY.get(names[0], names[0])}")
    heads += [f"{DISPLAY.get(s, s)} p50 ms" for s in names]
    heads += [f"{DISPLAY.get(s, s)} p99 ms" for s in names]
    heads += [f"{DISPLAY.get(s, s)} errors" for s in names]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for w in res.config.workloads:
        sums = [res.summary(w.name, s) for s in names]
        row = [w.name]
        row += [_n(x.rps) if x else "failed" for x in sums]
        if len(names) == 2:
            a, b = sums
            row.append(f"{b.rps / a.rps:.2f}" if a and b and a.rps else "—")
        row += [_ms(x.p50_ms) if x else "—" for x in sums]
        row += [_ms(x.p99_ms) if x else "—" for x in sums]
        row += [str(x.errors) if x else "—" for x in sums]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def memory_table(res: Results) -> str:
    """Peak RSS (process tree) and seeding time per server."""
    lines = ["| server | peak RSS (MiB) | seed time (s) | seeded via |", "|---|---|---|---|"]
    for s in res.servers:
        rss = res.peak_rss_kib.get(s)
        seeded = res.seeded.get(s)
        lines.append(
            f"| {DISPLAY.get(s, s)} | {rss / 1024:,.0f} | "
            f"{seeded.seed_seconds:.1f} | {'batch' if seeded.used_batch else 'single creates'} |"
            if rss is not None and seeded
            else f"| {DISPLAY.get(s, s)} | — | — | — |"
        )
    return "\n".join(lines)


def markdown(res: Results, command: str) -> str:
    """The whole docs/benchmarks.md page."""
    cfg = res.config
    m = machine_info()
    out: list[str] = ["# Benchmarks: baas vs PocketBase", ""]
    if cfg.smoke:
        out += [
            "> **Smoke run** — tiny data, 1-second loads: these numbers only show that the "
            "harness works. They are not a measurement.",
            "",
        ]
    out += [
        "Side-by-side HTTP benchmark of the same REST API served by baas and by PocketBase, "
        "produced by the harness in `bench/` (see `bench/README.md`). Each workload alternates "
        "between the servers for every round; the table shows the median over the rounds "
        "(errors are summed). Every claim about speed in this project comes from this page.",
        "",
        "## Command",
        "",
        "<!-- docs-test: skip runs the full benchmark (about 13 minutes) -->",
        "```sh",
        command,
        "```",
        "",
        f"Rows: {cfg.rows:,} posts (twice: `posts` and `posts_private`), {cfg.users} users; "
        f"wrk `-t{cfg.threads} -c{cfg.connections} -d{cfg.duration:g}s --latency`, "
        f"{cfg.rounds} round(s), {cfg.warmup:g}s warm-up per workload; "
        f"total run time {res.seconds / 60:.1f} min.",
        "",
        "## Machine",
        "",
        f"- CPU: {m.get('cpu', '?')}, `nproc` = {m['nproc']}",
        f"- Memory: {m.get('memory', '?')}",
        f"- OS: {m['kernel']}, Python {m['python']}",
        f"- wrk: {res.wrk}",
    ]
    for s in res.servers:
        extra = next((sp.extra_args for sp in cfg.servers if sp.name == s), [])
        out.append(
            f"- {DISPLAY.get(s, s)}: {res.versions.get(s, '?')}"
            + (f" (commit {git_rev()})" if s.startswith("baas") else "")
            + (f", serve args `{' '.join(extra)}`" if extra else "")
        )
    for s, why in res.skipped.items():
        out.append(f"- {DISPLAY.get(s, s)}: not run ({why.splitlines()[0].rstrip(':')})")
    out += [
        "- Client and servers share the machine (loopback); the server under load is the "
        "only busy one, the other idles.",
        "",
        "## Results",
        "",
        table(res),
        "",
        memory_table(res),
        "",
        "Peak RSS is sampled every 0.25 s from `/proc/PID/status` (VmRSS summed over the "
        "server's whole process tree, workers included) across the whole run, seeding "
        "included.",
        "",
    ]
    if res.failures:
        out += ["## Failures", ""]
        for w, per in res.failures.items():
            for s, why in per.items():
                out.append(f"- {w} on {DISPLAY.get(s, s)}: {why.splitlines()[0] if why else ''}")
        out.append("")
    out += ["## Workloads", "", "| workload | request |", "|---|---|"]
    for w in cfg.workloads:
        out.append(f"| {w.name} | `{BY_NAME[w.name].request}` |")
    out += [
        "",
        "Data: `posts` and `posts_private` hold the same deterministic rows (title, body, "
        "views = i % 1000, published = i even, author = one of the users, 15-char ids). "
        "`posts` and `posts_new` have public rules; `posts_private` lists/views only for "
        '`@request.auth.id != ""`. Creates go to the initially empty `posts_new` so the read '
        "workloads always see the same row count. No extra indexes are defined. Random ids "
        "come from the seeded set with a fixed per-thread seed, so both servers get the same "
        "request sequence.",
        "",
    ]
    if any(w.name == "realtime" for w in cfg.workloads):
        out += [
            f"Realtime: {cfg.rt_subscribers:,} SSE subscribers on `posts_rt/*` (one node), "
            f"{cfg.rt_events} creates 0.1 s apart, per round (`bench/realtime.py`). Its row reads "
            "differently: req/s = messages delivered per second, p50/p99 = create-to-receive "
            "latency over every (subscriber, event) pair, errors = messages lost plus messages "
            "of subscribers that could not connect or subscribe.",
            "",
        ]
    return "\n".join(out)


def to_json(res: Results, command: str) -> dict[str, Any]:
    """A machine-readable form of the results (medians and raw runs)."""
    return {
        "command": command,
        "smoke": res.config.smoke,
        "servers": res.servers,
        "skipped": res.skipped,
        "versions": res.versions,
        "machine": machine_info(),
        "peak_rss_kib": res.peak_rss_kib,
        "failures": res.failures,
        "workloads": {
            w.name: {
                s: {
                    "summary": asdict(sm) if (sm := res.summary(w.name, s)) else None,
                    "runs": [{**asdict(r), "errors": r.errors} for r in res.runs.get(w.name, {}).get(s, [])],
                }
                for s in res.servers
            }
            for w in res.config.workloads
        },
    }
