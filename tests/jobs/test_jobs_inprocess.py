"""Jobs in one server process: ticks recorded in the run history, retries, timeouts, overlap,
run-now and the crons API (PocketBase's shape), on SQLite and PostgreSQL."""

from __future__ import annotations

import sys
from pathlib import Path

from baas.jobs import store
from tests.harness import app_for, unique, wait_runs

FUNCTIONS = """
import asyncio

from baas.functions import function

CALLS = []


@function()
async def count(ctx):
    CALLS.append(ctx.body)
    return {"n": len(CALLS), "superuser": ctx.request.is_superuser, "context": ctx.request.context}


@function()
async def flaky(ctx):
    CALLS.append("flaky")
    raise RuntimeError("boom " + str(len(CALLS)))


ENTERED = asyncio.Event()


@function()
async def waits(ctx):
    ENTERED.set()
    await asyncio.Event().wait()


@function()
async def sleepy(ctx):
    await asyncio.Event().wait()   # never set: only the job timeout ends it
"""

PKG = [""]
JOBS = """
functions: {pkg}
jobs:
  - name: counter
    schedule: "@every 1s"
    function: count
    args: {{from: job}}
  - name: flaky
    schedule: "0 0 1 1 *"
    function: flaky
    retries: 2
    backoff: 0
  - name: sleepy
    schedule: "0 0 1 1 *"
    function: sleepy
    timeout: 0.2
  - name: waits
    schedule: "0 0 1 1 *"
    function: waits
    timeout: 3600
  - name: prune
    schedule: "0 0 1 1 *"
    timezone: Europe/Paris
    task: events.prune
"""


def project(tmp_path: Path) -> str:
    pkg = PKG[0] = unique("jobfns")
    root = tmp_path / "proj"
    (root / pkg).mkdir(parents=True)
    (root / pkg / "__init__.py").write_text(FUNCTIONS)
    (root / "baas.yaml").write_text(JOBS.format(pkg=pkg))
    return str(root / "baas.yaml")


async def test_an_interval_job_runs_each_tick_once_with_its_args_as_the_system(tmp_path):
    async with app_for(tmp_path, project(tmp_path)) as run:
        runs = await wait_runs(run, "counter", 3)
        finished = [r for r in runs if r["status"] not in store.ACTIVE]
        assert all(r["status"] == "success" and r["trigger"] == "schedule" for r in finished), finished
        assert '"superuser":true' in finished[0]["output"] and '"context":"job"' in finished[0]["output"]
        ticks = [r["scheduled"] for r in runs]
        assert len(ticks) == len(set(ticks))


async def test_retries_then_failed_with_the_error_and_attempt_count(tmp_path):
    async with app_for(tmp_path, project(tmp_path)) as run:
        r = await run.client.post("/api/crons/flaky", headers={"Authorization": run.su})
        assert r.status_code == 204, r.text
        runs = await wait_runs(run, "flaky", 1)
        assert runs[0]["status"] == "failed" and runs[0]["attempt"] == 3 and runs[0]["trigger"] == "manual"
        assert runs[0]["error"].startswith("RuntimeError: boom")


async def test_a_run_past_its_timeout_is_marked_timeout(tmp_path):
    async with app_for(tmp_path, project(tmp_path)) as run:
        result = await run.engine.jobs.run_now("sleepy", wait=True)
        assert result["status"] == "timeout" and "timed out" in result["error"]
        runs = await store.history(run.engine.db, "sleepy")
        assert runs[0]["status"] == "timeout"


async def test_a_builtin_task_runs_and_reports_its_output(tmp_path):
    async with app_for(tmp_path, project(tmp_path)) as run:
        result = await run.engine.jobs.run_now("prune", wait=True)
        assert result["status"] == "success" and result["output"].startswith('{"pruned":')


async def test_crons_api_lists_jobs_as_pocketbase_and_guards_superusers(tmp_path):
    async with app_for(tmp_path, project(tmp_path)) as run:
        su = {"Authorization": run.su}
        assert (await run.client.get("/api/crons")).status_code == 401
        r = await run.client.get("/api/crons", headers=su)
        assert r.status_code == 200
        jobs = {j["id"]: j for j in r.json()}
        assert sorted(jobs) == ["counter", "flaky", "prune", "sleepy", "waits"]
        assert jobs["prune"]["expression"] == "0 0 1 1 *" and jobs["prune"]["timezone"] == "Europe/Paris"
        assert jobs["prune"]["target"] == "task:events.prune" and jobs["prune"]["nextRun"].endswith("Z")
        r = await run.client.post("/api/crons/missing", headers=su)
        assert r.status_code == 404 and r.json()["message"] == "Missing or invalid cron job"
        assert (await run.client.post("/api/crons/prune")).status_code == 401
        await wait_runs(run, "counter", 1)
        r = await run.client.get("/api/crons/counter/runs", headers=su)
        assert r.status_code == 200 and r.json()["items"][0]["job"] == "counter"


async def test_overlap_skip_records_the_tick_as_skipped_while_a_run_is_active(tmp_path):
    async with app_for(tmp_path, project(tmp_path)) as run:
        db, sched = run.engine.db, run.engine.jobs
        first = await store.claim(
            db, "sleepy", "2030-01-01 00:00:00.000Z", sched.owner, overlap="skip", lease=sched.lease
        )
        assert first is not None and first["status"] == "running"
        again = await store.claim(db, "sleepy", "2030-01-01 00:00:00.000Z", "other", overlap="skip", lease=sched.lease)
        assert again is None  # the same tick is claimed once
        second = await store.claim(db, "sleepy", "2030-01-01 00:01:00.000Z", "other", overlap="skip", lease=sched.lease)
        assert second is not None and second["status"] == "skipped"
        queued = await store.claim(
            db, "sleepy", "2030-01-01 00:02:00.000Z", "other", overlap="queue", lease=sched.lease
        )
        assert queued["status"] == "queued"
        assert not await store.start_queued(db, queued["id"], "sleepy", queued["scheduled"])
        await store.finish(db, first["id"], "success", "", "")
        assert await store.start_queued(db, queued["id"], "sleepy", queued["scheduled"])


async def test_a_run_without_heartbeat_is_reaped_as_abandoned(tmp_path):
    async with app_for(tmp_path, project(tmp_path)) as run:
        db = run.engine.db
        dead = await store.claim(db, "flaky", "2030-01-01 00:00:00.000Z", "dead-process", overlap="skip", lease=30)
        await db.write(
            lambda c: c.execute(
                'UPDATE "_job_runs" SET "heartbeat" = ? WHERE "id" = ?', ["2000-01-01 00:00:00.000Z", dead["id"]]
            )
        )
        nxt = await store.claim(db, "flaky", "2030-01-01 00:01:00.000Z", "alive", overlap="skip", lease=30)
        assert nxt["status"] == "running"  # not skipped: the dead run no longer counts
        rows = {r["id"]: r for r in await store.history(db, "flaky")}
        assert rows[dead["id"]]["status"] == "abandoned" and "heartbeat" in rows[dead["id"]]["error"]


async def test_retention_deletes_old_finished_runs_only(tmp_path):
    async with app_for(tmp_path, project(tmp_path)) as run:
        db = run.engine.db
        await run.engine.jobs.stop()  # its own prune (first round, then hourly) would race this one
        old = await store.claim(db, "flaky", "2001-01-01 00:00:00.000Z", "x", overlap="queue", lease=30)
        await store.finish(db, old["id"], "success", "", "")
        stuck = await store.claim(
            db, "prune", "2001-01-01 00:00:00.000Z", run.engine.jobs.owner, overlap="queue", lease=1e9
        )  # still running: never pruned
        recent = await store.claim(db, "flaky", "2999-01-01 00:00:00.000Z", "x", overlap="queue", lease=1e9)
        assert await store.prune(db, 30) == 1
        left = {r["id"] for r in await store.history(db, "", 1000)}
        assert old["id"] not in left and {stuck["id"], recent["id"]} <= left


async def test_a_run_cut_by_a_server_stop_is_marked_abandoned(tmp_path):
    async with app_for(tmp_path, project(tmp_path)) as run:
        mod = sys.modules[PKG[0]]
        started = await run.engine.jobs.run_now("waits")
        await mod.ENTERED.wait()
        await run.engine.jobs.stop()  # what the engine's on_stop does
        row = {r["id"]: r for r in await store.history(run.engine.db, "waits")}[started["id"]]
        assert row["status"] == "abandoned" and row["error"] == "the server stopped during the run", row
