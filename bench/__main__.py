"""Command line: ``python -m bench run [options]`` (see bench/README.md)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from bench.report import markdown, to_json
from bench.runner import Config, run
from bench.seed import SetupError
from bench.servers import ServerFailed, ServerSpec, ServerUnavailable
from bench.workloads import BY_NAME, WORKLOADS
from bench.wrk import WrkMissing

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "benchmarks.md"


def parser() -> argparse.ArgumentParser:
    """The `bench` argument parser."""
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run the side-by-side benchmark")
    r.add_argument("--rows", type=int, default=None, help="posts to seed (default 40000)")
    r.add_argument("--users", type=int, default=None, help="users to seed (default 100)")
    r.add_argument("--duration", type=float, default=None, help="seconds per wrk run (default 10)")
    r.add_argument("--rounds", type=int, default=None, help="A/B rounds (default 3)")
    r.add_argument("--warmup", type=float, default=None, help="warm-up seconds per workload per server (default 2)")
    r.add_argument("--pause", type=float, default=None, help="seconds of rest after each wrk run (default 1)")
    r.add_argument("--threads", type=int, default=2, help="wrk -t (default 2)")
    r.add_argument("--connections", type=int, default=32, help="wrk -c (default 32)")
    r.add_argument(
        "--timeout", type=float, default=30, help="wrk --timeout seconds; slower responses count as errors (default 30)"
    )
    r.add_argument(
        "--rt-subscribers", type=int, default=None, help="realtime workload: SSE subscribers (default 1000; smoke 50)"
    )
    r.add_argument(
        "--rt-events",
        type=int,
        default=None,
        help="realtime workload: creates each subscriber must receive (default 20; smoke 5)",
    )
    r.add_argument(
        "--servers",
        default="pocketbase,baas",
        help="comma list of pocketbase,baas,baas_nolog,baas_nocache,baas_other (default pocketbase,baas); "
        "baas_nolog: baas, request log off; baas_nocache: the query cache off; baas_other: --other-exe",
    )
    r.add_argument(
        "--workloads",
        default=",".join(w.name for w in WORKLOADS),
        help="comma list (default all): " + ",".join(BY_NAME),
    )
    r.add_argument("--pocketbase-exe", default="pocketbase")
    r.add_argument("--baas-exe", default="baas")
    r.add_argument("--other-exe", default="", help="baas_other: another build of baas (say, before a change)")
    r.add_argument("--baas-args", default="", help='extra args for `baas serve`, e.g. "--workers 2"')
    r.add_argument(
        "--smoke",
        action="store_true",
        help="tiny run (1000 rows, 1 s, 1 round) on the servers that are available; "
        "does not write docs/benchmarks.md unless --out is given",
    )
    r.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"Markdown report (default {DEFAULT_OUT.relative_to(ROOT)}; none in --smoke)",
    )
    r.add_argument("--json", type=Path, default=None, help="also write results as JSON")
    r.add_argument("--keep", action="store_true", help="keep the temp data dirs and logs")
    r.add_argument("--no-install", action="store_true", help="do not apt-get install wrk when it is missing")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    argv = sys.argv[1:] if argv is None else argv
    a = parser().parse_args(argv)
    smoke = a.smoke

    def pick(value: float | int | None, full: float | int, tiny: float | int) -> float | int:
        return value if value is not None else (tiny if smoke else full)

    unknown = [w for w in a.workloads.split(",") if w not in BY_NAME]
    if unknown:
        print(f"unknown workloads: {', '.join(unknown)}", file=sys.stderr)
        return 2
    specs = []
    for name in a.servers.split(","):
        if name == "pocketbase":
            specs.append(ServerSpec("pocketbase", a.pocketbase_exe))
        elif name == "baas":
            specs.append(ServerSpec("baas", a.baas_exe, shlex.split(a.baas_args)))
        elif name == "baas_nolog":  # what the request log costs: --servers baas_nolog,baas
            specs.append(ServerSpec(name, a.baas_exe, shlex.split(a.baas_args), {"logs": {"maxDays": 0}}))
        elif name == "baas_nocache":  # what the query cache gives: --servers baas_nocache,baas
            specs.append(ServerSpec(name, a.baas_exe, shlex.split(a.baas_args), env={"BAAS_CACHE_MB": "0"}))
        elif name == "baas_other" and a.other_exe:  # two builds side by side: --servers baas_other,baas
            specs.append(ServerSpec(name, a.other_exe, shlex.split(a.baas_args)))
        else:
            print(f"unknown server {name!r} (pocketbase, baas, baas_nolog, baas_nocache, baas_other)", file=sys.stderr)
            return 2
    cfg = Config(
        rows=int(pick(a.rows, 40_000, 1000)),
        users=int(pick(a.users, 100, 10)),
        duration=float(pick(a.duration, 10, 1)),
        rounds=int(pick(a.rounds, 3, 1)),
        warmup=float(pick(a.warmup, 2, 0)),
        pause=float(pick(a.pause, 1, 0.2)),
        threads=a.threads,
        connections=a.connections,
        timeout=a.timeout,
        servers=specs,
        workloads=[BY_NAME[w] for w in a.workloads.split(",")],
        smoke=smoke,
        keep=a.keep,
        install_wrk=not a.no_install,
        rt_subscribers=int(pick(a.rt_subscribers, 1000, 50)),
        rt_events=int(pick(a.rt_events, 20, 5)),
    )
    command = "python -m bench " + shlex.join(argv)
    try:
        res = run(cfg)
    except (WrkMissing, ServerUnavailable, ServerFailed, SetupError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    md = markdown(res, command)
    out = a.out if a.out is not None else (None if smoke else DEFAULT_OUT)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(md)
        print(f"wrote {out}", file=sys.stderr)
    if a.json is not None:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(to_json(res, command), indent=2))
    print(md)
    return 1 if res.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
