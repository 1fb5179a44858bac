"""Jobs under real ``baas serve`` processes (1-second intervals): one run per tick across the
workers of a server and across two nodes on one PostgreSQL database, and a run whose process is
SIGKILLed is marked abandoned while the next tick runs elsewhere. Every wait polls for rows a
bounded number of times; nothing asserts a duration."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from tests.harness import PG_URL, create_pg_database, drop_pg_database
from tests.servers import Server, baas_cmd, free_port, running_server, stop_server, wait_healthy

SU = ("root@example.com", "root-password-1")

SCHEMA = """
collections:
  - name: ticks
    fields:
      - {{name: job, type: text}}
      - {{name: scheduled, type: text}}
      - {{name: pid, type: number}}
functions: {pkg}
jobs:
  - name: every_second
    schedule: "@every 1s"
    function: tick
"""

FUNCTIONS = '''
import asyncio
import os
from pathlib import Path

from baas.functions import function


@function()
async def tick(ctx):
    """Writes one row per call: the test counts calls per scheduled tick."""
    await ctx.system.create("ticks", {"job": ctx.run["job"], "scheduled": ctx.run["scheduled"], "pid": os.getpid()})
    return {"pid": os.getpid()}


@function()
async def hold(ctx):
    """The first call anywhere holds its run forever (until its process is killed); later ones return."""
    flag = Path(os.environ["HOLD_FLAG"])
    try:
        fd = os.open(flag, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return {"pid": os.getpid()}
    os.write(fd, f"{os.getpid()} {ctx.run['id']}".encode())
    os.close(fd)
    await asyncio.Event().wait()
'''

HOLD_JOB = """
  - name: holder
    schedule: "@every 1s"
    function: hold
"""


def project(tmp_path: Path, extra: str = "", *, yaml_jobs: bool = True) -> Path:
    root = tmp_path / "proj"
    (root / "jobfns").mkdir(parents=True, exist_ok=True)
    (root / "jobfns" / "__init__.py").write_text(FUNCTIONS)
    text = SCHEMA.format(pkg="jobfns") + extra
    (root / "baas.yaml").write_text(text if yaml_jobs else text[: text.index("jobs:")])
    return root / "baas.yaml"


def su_token(url: str) -> str:
    r = httpx.post(
        f"{url}/api/collections/_superusers/auth-with-password", json={"identity": SU[0], "password": SU[1]}, timeout=30
    )
    assert r.status_code == 200, r.text
    return r.json()["token"]


def runs(url: str, token: str, job: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{url}/api/crons/{job}/runs?perPage=500", headers={"Authorization": token}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def ticks(url: str, token: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{url}/api/collections/ticks/records?perPage=1000", headers={"Authorization": token}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def wait_for(check: Any, what: str, tries: int = 600) -> Any:
    """Poll ``check()`` until it returns something truthy (bounded tries, not a deadline)."""
    for _ in range(tries):
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


def assert_once_per_tick(
    url: str, token: str, n: int, job: str = "every_second", after: str = ""
) -> list[dict[str, Any]]:
    """At least ``n`` successful ticks of ``job`` (scheduled after ``after``), each run once."""
    done = wait_for(
        lambda: (lambda rs: rs if len(rs) >= n else None)(
            [r for r in runs(url, token, job) if r["status"] == "success" and r["scheduled"] > after]
        ),
        f"{n} successful runs",
    )
    history = runs(url, token, job)
    per_tick = Counter(r["scheduled"] for r in history)
    assert max(per_tick.values()) == 1, per_tick
    calls = Counter(t["scheduled"] for t in ticks(url, token) if t["job"] == job)
    for r in done:  # the function ran exactly once for each recorded tick
        assert calls[r["scheduled"]] == 1, (r, calls)
    assert all(c == 1 for c in calls.values()), calls
    # Every process computes the same grid of ticks (interval ticks count from a fixed epoch).
    stamps = sorted(datetime.strptime(r["scheduled"], "%Y-%m-%d %H:%M:%S.%fZ") for r in history)
    assert all((b - a).total_seconds() >= 1 for a, b in zip(stamps, stamps[1:])), stamps
    return done


async def test_serve_with_four_workers_runs_each_tick_once(tmp_path):
    path = project(tmp_path)
    async with running_server(tmp_path, "--schema", str(path), "--workers", "4", superuser=SU) as srv:
        token = su_token(srv.url)
        done = assert_once_per_tick(srv.url, token, 6)
        owners = {r["owner"] for r in done}
        assert owners, done  # which worker wins a tick is the race's business; each tick has one winner


@asynccontextmanager
async def nodes(tmp_path: Path, path: Path, n: int, env: dict[str, str] | None = None) -> AsyncIterator[list[Server]]:
    """``n`` ``baas serve`` nodes (one worker each) sharing one database: a PostgreSQL database
    when ``BAAS_TEST_POSTGRES_URL`` is set, else one SQLite data directory; the same BAAS_SECRET."""
    db_url = await create_pg_database() if PG_URL else ""
    data = tmp_path / "shared"
    db_args = ["--db", db_url] if db_url else []
    full_env = {
        **os.environ,
        "BAAS_FAST_HASH": "1",
        "BAAS_SECRET": "shared-secret-for-every-node-0123456789",
        **(env or {}),
    }
    started: list[Server] = []
    try:
        for i in range(n):
            srv = Server(
                url=f"http://127.0.0.1:{free_port()}",
                data_dir=data,
                db_args=db_args,
                log=tmp_path / f"node{i}.log",
                env=full_env,
            )
            if i == 0:
                srv.cli("superuser", "upsert", *SU)
            with srv.log.open("wb") as out:
                srv.proc = subprocess.Popen(
                    baas_cmd(
                        "serve",
                        "--http",
                        srv.url[7:],
                        "--dir",
                        str(data),
                        *db_args,
                        "--schema",
                        str(path),
                        "--workers",
                        "1",
                    ),
                    env=full_env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            wait_healthy(srv)  # one after the other: the first prepares the database
            started.append(srv)
        yield started
    finally:
        for srv in started:
            stop_server(srv.proc)
        if db_url:
            await drop_pg_database(db_url)


async def test_two_nodes_on_one_database_run_each_tick_once(tmp_path):
    async with nodes(tmp_path, project(tmp_path), 2) as (a, b):
        token = su_token(a.url)  # the same secret: node a's token is good on node b
        assert_once_per_tick(b.url, token, 6)


async def test_a_killed_run_is_marked_abandoned_and_the_next_tick_runs_on_another_node(tmp_path):
    flag = tmp_path / "hold.flag"
    env = {"HOLD_FLAG": str(flag), "BAAS_JOBS_LEASE": "2"}
    async with nodes(tmp_path, project(tmp_path, HOLD_JOB), 2, env) as servers:
        token = su_token(servers[0].url)
        text = wait_for(lambda: flag.exists() and flag.read_text(), "the holding run to start")
        pid_text, run_id = text.split()
        pid = int(pid_text)
        held = [r for r in runs(servers[0].url, token, "holder") if r["id"] == run_id]
        assert held and held[0]["status"] == "running" and f":{pid}:" in held[0]["owner"], held
        victim = next(s for s in servers if _holds(s, pid))
        os.kill(pid, signal.SIGKILL)  # the worker holding the run; its node goes down with it
        victim.proc.wait(timeout=30)
        alive = next(s for s in servers if s is not victim)

        def abandoned_then_ran() -> Any:
            rs = runs(alive.url, token, "holder")
            dead = [r for r in rs if r["id"] == run_id and r["status"] == "abandoned"]
            later = [r for r in rs if r["status"] == "success" and r["scheduled"] > held[0]["scheduled"]]
            return (dead, later) if dead and later else None

        dead, later = wait_for(abandoned_then_ran, "the killed run to be abandoned and a later tick to succeed")
        assert "heartbeat" in dead[0]["error"]
        assert all(f":{pid}:" not in r["owner"] for r in later)


def _holds(srv: Server, pid: int) -> bool:
    """Whether ``pid`` is a worker (child) of this node's serve process."""
    try:
        children = Path(f"/proc/{srv.proc.pid}/task/{srv.proc.pid}/children").read_text().split()
    except OSError:
        return False
    return str(pid) in children


def api(method: str, url: str, token: str, body: Any = None) -> httpx.Response:
    return httpx.request(method, url, json=body, headers={"Authorization": token}, timeout=30)


async def test_serve_with_two_workers_runs_each_tick_of_an_api_job_once(tmp_path):
    path = project(tmp_path, yaml_jobs=False)
    async with running_server(tmp_path, "--schema", str(path), "--workers", "2", superuser=SU) as srv:
        token = su_token(srv.url)
        r = api(
            "POST", f"{srv.url}/api/jobs", token, {"name": "api_second", "schedule": "@every 1s", "function": "tick"}
        )
        assert r.status_code == 200, r.text
        assert_once_per_tick(srv.url, token, 6, "api_second")


async def test_an_api_job_made_on_one_node_runs_once_per_tick_and_changes_reach_every_node(tmp_path):
    async with nodes(tmp_path, project(tmp_path, yaml_jobs=False), 2) as (a, b):
        token = su_token(a.url)
        r = api("POST", f"{a.url}/api/jobs", token, {"name": "api_second", "schedule": "@every 1s", "function": "tick"})
        assert r.status_code == 200, r.text
        assert api("GET", f"{b.url}/api/jobs/api_second", token).json()["source"] == "api"
        assert_once_per_tick(b.url, token, 6, "api_second")

        # Changed on node b: a later tick runs with the new target, wherever it runs.
        r = api("PATCH", f"{b.url}/api/jobs/api_second", token, {"function": "", "task": "events.prune"})
        assert r.status_code == 200, r.text
        changed_at = r.json()["updated"]
        pruned = wait_for(
            lambda: [
                x
                for x in runs(a.url, token, "api_second")
                if x["scheduled"] > changed_at and x["status"] == "success" and x["output"].startswith('{"pruned":')
            ],
            "a tick of the changed job",
        )
        assert pruned
        # Deleted on node a: gone from node b's API at once.
        assert api("DELETE", f"{a.url}/api/jobs/api_second", token).status_code == 204
        assert api("GET", f"{b.url}/api/jobs/api_second", token).status_code == 404
        assert "api_second" not in {c["id"] for c in api("GET", f"{b.url}/api/crons", token).json()}
