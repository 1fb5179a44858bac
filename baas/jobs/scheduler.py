"""The scheduler: every server process computes the same ticks (APScheduler 3 triggers) and
races to claim each one in ``_job_runs``; the one that inserts the row runs it (baas/jobs/store.py).

Its jobs are those of ``baas.yaml`` (read at start, ``source`` yaml) and those created over the
API (the ``_jobs`` table, ``source`` api, reloaded about every second and at once after a change
made in this process), so a job created, changed or deleted through any worker or node is
scheduled by all of them without a restart. A yaml job shadows an API job of the same name.

So a tick runs once per cluster however many workers and nodes there are, and a process that dies
mid-run is noticed: its heartbeat stops, and the next claimer marks the run ``abandoned``.

Tunables (environment, read once per process): ``BAAS_JOBS_LEASE`` seconds without a heartbeat
before a run counts as abandoned (default 30; the heartbeat beats every third of it);
``BAAS_JOBS_HISTORY_DAYS`` how long finished runs are kept (default 30).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from apscheduler.triggers.base import BaseTrigger

from baas.errors import SchemaError
from baas.files import storage_for
from baas.files.sweep import sweep_orphans
from baas.functions.context import Context
from baas.hooks import LifecycleEvent
from baas.ids import format_dt, new_id
from baas.jobs import defs, http, store
from baas.rules.context import RequestInfo
from baas.schema.jobs import Job
from baas.schema.loader import load_schema

if TYPE_CHECKING:
    from baas.core import Engine

log = logging.getLogger("baas.jobs")
EXCERPT = 2000  # characters of output and error kept per run
JOB_REQUEST = RequestInfo(auth={"id": "", "collectionName": "_superusers", "collectionId": ""}, context="job")
_encode = msgspec.json.Encoder().encode
_decode_job = msgspec.json.Decoder(Job).decode


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


class Scheduler:
    """The engine's jobs: loaded from ``baas.yaml``, ticking while the server runs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.jobs: dict[str, Job] = {}  # every job by name: the declared ones and the API's
        self.sources: dict[str, str] = {}  # job name -> "yaml" | "api"
        self.declared: dict[str, Job] = {}  # the jobs of baas.yaml
        self.stored: dict[str, Job] = {}  # the jobs of the _jobs table (created over the API)
        self.builtin: dict[str, Job] = {}  # jobs the stored settings ask for (backups.cron)
        self.stamps: dict[str, tuple[str, str]] = {}  # API job -> (created, updated)
        self._stamp: tuple[tuple[str, str], ...] | None = None
        self._changed = asyncio.Event()
        self._watch_task: asyncio.Task[None] | None = None
        self.lease = _env_float("BAAS_JOBS_LEASE", 30.0)
        self.history_days = _env_float("BAAS_JOBS_HISTORY_DAYS", 30.0)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{new_id(6)}"
        self._tasks: set[asyncio.Task[object]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._beat_task: asyncio.Task[None] | None = None
        self._triggers: dict[str, BaseTrigger] = {}
        self._listening = False

    # -- configuration -------------------------------------------------------------------------
    def load(self) -> None:
        """Read the jobs of the project's ``baas.yaml`` and check their targets (functions load
        with the plugins, before this). An error names the job and its line; nothing is kept."""
        s = self.engine.settings
        path = s.project_file or s.schema_file
        jobs: dict[str, Job] = {}
        if path and Path(path).is_file():
            schema = load_schema(path)
            lines = schema.job_lines
            for job in schema.jobs:
                # Functions are known once plugins have loaded (the server; not plain CLI engines).
                if self.engine.functions.loaded and job.function and self.engine.functions.get(job.function) is None:
                    known = ", ".join(self.engine.functions.names()) or "none declared"
                    raise SchemaError(
                        f"job {job.name!r}: unknown function {job.function!r} (functions: {known})",
                        path=path,
                        line=lines.get(job.name),
                    )
                jobs[job.name] = job
        self.declared = jobs
        self._rebuild()

    def _rebuild(self) -> None:
        jobs = {**self.stored, **self.declared, **self.builtin}
        for name in self.stored.keys() & self.declared.keys():
            log.warning("job %s: declared in baas.yaml, which shadows the API job of that name", name)
        self.sources = {n: ("settings" if n in self.builtin else "yaml" if n in self.declared else "api") for n in jobs}
        self._triggers = {j.name: j.trigger() for j in jobs.values()}
        self.jobs = jobs

    async def refresh(self) -> None:
        """Reload the API jobs and the settings' jobs from the database (cheap when nothing changed)."""
        rows = await defs.rows(self.engine.db)
        builtin = settings_jobs(await self.engine.settings_store.load())
        stamp = (
            *((r["name"], r["updated"] + r["config"]) for r in rows),  # config too: same-ms edits
            *((name, _encode(job).decode()) for name, job in builtin.items()),
        )
        if stamp == self._stamp:
            return
        self.builtin = builtin
        stored: dict[str, Job] = {}
        for r in rows:
            try:
                job = _decode_job(r["config"])
                job.trigger()
            except (msgspec.ValidationError, ValueError, LookupError):
                log.warning("job %s: its stored options are not valid here; not scheduled", r["name"])
                continue
            stored[r["name"]] = job
        self.stored = stored
        self.stamps = {r["name"]: (r["created"], r["updated"]) for r in rows}
        self._stamp = stamp
        self._rebuild()
        self._changed.set()

    def attach(self) -> None:
        """Tick while the engine runs (``baas serve``); CLI engines never call this."""
        hooks = self.engine.hooks

        async def started(e: LifecycleEvent) -> None:
            await self.start()
            await e.next()

        async def stopping(e: LifecycleEvent) -> None:
            await self.stop()
            await e.next()

        hooks.on_start.bind(started, id="baas.jobs.start")
        hooks.on_stop.bind(stopping, id="baas.jobs.stop", priority=-100)  # before plugins close anything

    async def start(self) -> None:
        if self._loop_task is not None:
            return
        await self.refresh()
        if not self._listening:  # a settings change made in this process counts at once
            self.engine.settings_store.listen(self._settings_changed)
            self._listening = True
        self._beat_task = asyncio.create_task(self._beat(), name="jobs-heartbeat")
        self._loop_task = asyncio.create_task(self._loop(), name="jobs-scheduler")
        self._watch_task = asyncio.create_task(self._watch(), name="jobs-watch")

    def _settings_changed(self, _settings: dict[str, Any]) -> None:
        if self._loop_task is not None:
            self._spawn(self.refresh())

    async def stop(self) -> None:
        for t in (self._watch_task, self._loop_task, self._beat_task, *self._tasks):
            if t is not None:
                t.cancel()
        for t in (self._watch_task, self._loop_task, self._beat_task, *list(self._tasks)):
            if t is not None:
                try:
                    await t
                except (asyncio.CancelledError, Exception):
                    pass
        self._loop_task = self._beat_task = self._watch_task = None

    async def _watch(self) -> None:
        """Pick up API jobs changed by other processes or nodes within about a second."""
        while True:
            await asyncio.sleep(1.0)
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:  # a transient database error: try again on the next round
                log.warning("jobs: reloading the API jobs failed", exc_info=True)

    # -- ticking -------------------------------------------------------------------------------
    def next_fire(self, name: str, after: datetime) -> datetime | None:
        """The first tick of job ``name`` strictly after ``after`` (UTC), or None."""
        nxt = self._triggers[name].get_next_fire_time(None, after + timedelta(microseconds=1))
        return None if nxt is None else nxt.astimezone(store.now().tzinfo)

    async def _loop(self) -> None:
        # name -> (the job as scheduled, its next tick); a job that changes starts over from now.
        due: dict[str, tuple[Job, datetime | None]] = {}
        pruned_at: datetime | None = None
        while True:
            now = store.now()
            for name in [n for n, (job, _) in due.items() if self.jobs.get(n) != job]:
                del due[name]
            for name, job in self.jobs.items():
                if name not in due:
                    due[name] = (job, self.next_fire(name, now) if job.enabled else None)
            pending = {n: t for n, (_, t) in due.items() if t is not None}
            self._changed.clear()
            wait = (min(pending.values()) - store.now()).total_seconds() if pending else 3600.0
            try:
                async with asyncio.timeout(max(0.0, wait)):
                    await self._changed.wait()
                continue  # the jobs changed: look again
            except TimeoutError:
                pass
            now = store.now()
            for name, fire in pending.items():
                job = due[name][0]
                if fire > now or self.jobs.get(name) != job:
                    continue  # not yet; or changed as the wait ended (looked at again next round)
                if (now - fire).total_seconds() <= job.misfireGrace:
                    self._spawn(self._tick(job, fire))
                else:
                    log.warning(
                        "job %s: tick %s missed (noticed %.1fs late)",
                        name,
                        format_dt(fire),
                        (now - fire).total_seconds(),
                    )
                due[name] = (job, self.next_fire(name, fire))
            if pruned_at is None or now - pruned_at > timedelta(hours=1):
                pruned_at = now
                self._spawn(self._prune())

    def _spawn(self, coro: Coroutine[Any, Any, object]) -> asyncio.Task[object]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _prune(self) -> None:
        try:
            await store.prune(self.engine.db, self.history_days)
        except Exception:
            log.warning("job history prune failed", exc_info=True)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(max(self.lease / 3, 0.2))
            try:
                await store.heartbeat(self.engine.db, self.owner)
            except Exception:  # a transient database error: the lease allows a few misses
                log.warning("job heartbeat failed", exc_info=True)

    async def _tick(self, job: Job, fire: datetime) -> None:
        try:
            run = await store.claim(
                self.engine.db, job.name, format_dt(fire), self.owner, overlap=job.overlap, lease=self.lease
            )
        except Exception:
            log.warning("job %s: claiming tick %s failed", job.name, format_dt(fire), exc_info=True)
            return
        if run is None or run["status"] == "skipped":
            return  # another process has it, or the previous run still goes
        await self.execute(job, run)

    async def run_now(self, name: str, *, wait: bool = False) -> dict[str, Any]:
        """Run job ``name`` outside its schedule (``POST /api/crons/{id}``, ``baas jobs run``)."""
        job = self.jobs[name]
        run = await store.claim(
            self.engine.db,
            name,
            format_dt(store.now()),
            self.owner,
            overlap=job.overlap,
            lease=self.lease,
            trigger="manual",
        )
        if run is None:  # the same millisecond twice: try once more
            run = await store.claim(
                self.engine.db,
                name,
                format_dt(store.now() + timedelta(milliseconds=1)),
                self.owner,
                overlap=job.overlap,
                lease=self.lease,
                trigger="manual",
            )
        if run is None:
            raise RuntimeError(f"job {name}: could not record a manual run")
        if wait:
            beat = self._beat_task is None and asyncio.create_task(self._beat())
            try:
                return await self.execute(job, run)
            finally:
                if beat:
                    beat.cancel()
        self._spawn(self.execute(job, run))
        return run

    # -- running -------------------------------------------------------------------------------
    async def execute(self, job: Job, run: dict[str, Any]) -> dict[str, Any]:
        """Run a claimed run to its end: queue, attempts with backoff, timeout, outcome."""
        db = self.engine.db
        try:
            while run["status"] == "queued":
                if await store.start_queued(db, run["id"], job.name, run["scheduled"]):
                    run["status"] = "running"
                else:
                    await asyncio.sleep(min(1.0, self.lease / 3))
            status, output, error = "failed", "", ""
            for attempt in range(job.retries + 1):
                await store.set_attempt(db, run["id"], attempt + 1)
                run["attempt"] = attempt + 1
                try:
                    result = await asyncio.wait_for(self._target(job, run), job.timeout)
                    status, output, error = "success", _excerpt(result), ""
                    break
                except TimeoutError:
                    status, error = "timeout", f"timed out after {job.timeout:g}s"
                except Exception as exc:
                    status, error = "failed", _excerpt_text(f"{type(exc).__name__}: {getattr(exc, 'message', exc)}")
                log.warning("job %s attempt %d/%d: %s", job.name, attempt + 1, job.retries + 1, error)
                if attempt < job.retries:
                    await asyncio.sleep(job.backoff * 2**attempt)
        except asyncio.CancelledError:
            status, output, error = "abandoned", "", "the server stopped during the run"
            await asyncio.shield(self._finish(run, status, output, error))
            raise
        await self._finish(run, status, output, error)
        return run

    async def _finish(self, run: dict[str, Any], status: str, output: str, error: str) -> None:
        run.update(status=status, output=output, error=error)
        self.engine.metrics.job_runs.labels(run["job"], status).inc()
        try:
            if not await store.finish(self.engine.db, run["id"], status, output, error):
                log.warning("job %s: run %s was already marked %s elsewhere", run["job"], run["id"], "abandoned")
        except Exception:
            log.warning("job %s: could not record the outcome of run %s", run["job"], run["id"], exc_info=True)

    async def _target(self, job: Job, run: dict[str, Any]) -> object:
        eng = self.engine
        if job.function:
            spec = eng.functions.get(job.function)
            if spec is None:
                raise LookupError(f"no function {job.function!r}")
            return await eng.functions._run(spec, Context(eng, spec.name, JOB_REQUEST, dict(job.args), run=dict(run)))
        if job.http is not None:
            return await http.request(job.http, job.timeout)
        if job.task == "files.sweep":
            return {"removed": len(await sweep_orphans(eng, await storage_for(eng)))}
        if job.task == "events.prune":
            return {"pruned": await eng.events.prune()}
        task = TASKS.get(job.task)
        if task is not None:
            return await task(eng, job)
        raise LookupError(f"unknown task {job.task!r}")


# Built-in tasks that live above this package, registered by their own module when it is imported
# (baas.backups: ``backups.create``; the server and the CLI import it): name -> run(engine, job).
TASKS: dict[str, Callable[[Engine, Job], Awaitable[object]]] = {}


# The job the ``backups`` settings ask for (PocketBase's ``backups.cron`` / ``cronMaxKeep``).
BACKUPS_JOB = "baas.backups"
BACKUP_TIMEOUT = 6 * 3600.0  # a large install's backup takes long; a stuck one still ends


def settings_jobs(settings: dict[str, Any]) -> dict[str, Job]:
    """The jobs the stored settings ask for, by name: ``baas.backups`` when ``backups.cron`` is set."""
    section = settings.get("backups") or {}
    cron = str(section.get("cron") or "").strip()
    if not cron:
        return {}
    job = Job(
        name=BACKUPS_JOB,
        schedule=cron,
        task="backups.create",
        args={"keep": int(section.get("cronMaxKeep") or 0)},
        timeout=BACKUP_TIMEOUT,
        misfireGrace=600.0,
    )
    try:
        job.trigger()
    except (ValueError, LookupError):  # refused by PATCH /api/settings; stored by an older version?
        log.warning("backups.cron %r is not a valid schedule; no scheduled backups", cron)
        return {}
    return {BACKUPS_JOB: job}


def _excerpt(result: object) -> str:
    if result is None:
        return ""
    try:
        text = _encode(result).decode()
    except (TypeError, ValueError, OverflowError):
        text = repr(result)
    return _excerpt_text(text)


def _excerpt_text(text: str) -> str:
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"
