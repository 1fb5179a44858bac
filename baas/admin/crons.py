"""The scheduled jobs as the crons API shows them: each job with its next and last run, its run
history, and running one now. The scheduler (`Engine.jobs`) and its run table
(`baas.jobs.store`) do the work; this is the superuser's view of them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from baas.errors import NotFound
from baas.ids import format_dt
from baas.jobs import store

if TYPE_CHECKING:
    from baas.core import Engine


def require_job(eng: Engine, job_id: str) -> None:
    """404 unless ``job_id`` names a declared job."""
    if job_id not in eng.jobs.jobs:
        raise NotFound("Missing or invalid cron job")


async def overview(eng: Engine) -> list[dict[str, Any]]:
    """Every job by name: ``id``, ``expression``, ``timezone``, ``target``, ``nextRun`` ("" when
    disabled) and ``lastRun`` (its latest run, or None)."""
    sched = eng.jobs
    last = await store.last_runs(eng.db)
    now = store.now()
    out = []
    for name in sorted(sched.jobs):
        job = sched.jobs[name]
        nxt = sched.next_fire(name, now) if job.enabled else None
        out.append(
            {
                "id": name,
                "expression": job.schedule,
                "timezone": job.timezone,
                "target": job.target,
                "nextRun": format_dt(nxt) if nxt else "",
                "lastRun": last.get(name),
            }
        )
    return out


async def run_now(eng: Engine, job_id: str) -> None:
    """Start a run of ``job_id`` now, in the background."""
    require_job(eng, job_id)
    await eng.jobs.run_now(job_id)


async def runs(eng: Engine, job_id: str, page: int, per_page: int) -> list[dict[str, Any]]:
    """One page of ``job_id``'s runs, newest first."""
    require_job(eng, job_id)
    return await store.history(eng.db, job_id, per_page, (page - 1) * per_page)
