"""The ``_job_runs`` table: claiming ticks, heartbeats, reaping dead runs, history, retention.

Every statement is one short transaction with bound parameters; the unique (job, scheduled)
row is the lock: ``INSERT … ON CONFLICT DO NOTHING`` changes one row for exactly one claimer
(SQLite serialises writers; PostgreSQL makes the loser wait for the winner's commit)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from baas.db import Conn, Database
from baas.events import emit
from baas.ids import format_dt, new_id

ACTIVE = ("queued", "running")
EVENT_EXCERPT = 500  # characters of error and output a job event carries
COLUMNS = (
    "id",
    "job",
    "scheduled",
    "trigger",
    "status",
    "attempt",
    "owner",
    "started",
    "finished",
    "heartbeat",
    "output",
    "error",
)
_SELECT = "SELECT " + ", ".join(f'"{c}"' for c in COLUMNS) + ' FROM "_job_runs"'


def now() -> datetime:
    return datetime.now(UTC)


def as_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(COLUMNS, row))


async def reap(conn: Conn, lease: float) -> int:
    """Mark runs whose owner stopped heart-beating ``abandoned`` (each with its ``job.abandoned``
    event, in this transaction); how many."""
    cutoff = format_dt(now() - timedelta(seconds=lease))
    dead = await conn.fetch(
        'SELECT "id" FROM "_job_runs" WHERE "status" IN (\'queued\', \'running\') AND "heartbeat" < ?', [cutoff]
    )
    n = 0
    for (run_id,) in dead:
        # The status is checked again: the owner may have finished it since the select.
        changed = await conn.execute(
            'UPDATE "_job_runs" SET "status" = \'abandoned\', "finished" = ?, '
            "\"error\" = 'the process running it stopped (no heartbeat within the lease)' "
            "WHERE \"id\" = ? AND \"status\" IN ('queued', 'running')",
            [format_dt(now()), run_id],
        )
        if changed:  # another claimer may have reaped it first: one event per run
            await run_event(conn, run_id)
        n += changed
    return n


async def run_event(conn: Conn, run_id: str) -> None:
    """Append the ``job.<status>`` event of a finished run (baas/events/emit.py) in ``conn``'s transaction."""
    row = await conn.fetchone(_SELECT + ' WHERE "id" = ?', [run_id])
    if row is None:
        return
    run = as_dict(row)
    if run["status"] in ACTIVE:
        return
    data = {k: run[k] for k in ("id", "job", "scheduled", "trigger", "status", "attempt", "started", "finished")}
    data["error"] = _cut(run["error"], EVENT_EXCERPT)
    data["output"] = _cut(run["output"], EVENT_EXCERPT)
    await emit.append(conn, f"job.{run['status']}", subject_id=run_id, data=data)


def _cut(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


async def claim(
    db: Database, job: str, scheduled: str, owner: str, *, overlap: str, lease: float, trigger: str = "schedule"
) -> dict[str, Any] | None:
    """Insert the run row of (``job``, ``scheduled``); None if another process holds it. Its status:
    ``running``; or ``skipped``/``queued`` when a run of the job is still active (``overlap``)."""

    async def tx(conn: Conn) -> dict[str, Any] | None:
        await reap(conn, lease)
        status = "running"
        if trigger == "schedule":
            active = await conn.fetchval(
                'SELECT count(*) FROM "_job_runs" WHERE "job" = ? AND "status" IN (\'queued\', \'running\')', [job]
            )
            if active:
                status = "skipped" if overlap == "skip" else "queued"
        stamp = format_dt(now())
        run = {
            "id": new_id(),
            "job": job,
            "scheduled": scheduled,
            "trigger": trigger,
            "status": status,
            "attempt": 0,
            "owner": owner,
            "started": stamp if status == "running" else "",
            "finished": stamp if status == "skipped" else "",
            "heartbeat": stamp,
            "output": "",
            "error": "the previous run was still going (overlap: skip)" if status == "skipped" else "",
        }
        n = await conn.execute(
            'INSERT INTO "_job_runs" ('
            + ", ".join(f'"{c}"' for c in COLUMNS)
            + ") VALUES ("
            + ", ".join("?" for _ in COLUMNS)
            + ') ON CONFLICT ("job", "scheduled") DO NOTHING',
            [run[c] for c in COLUMNS],
        )
        if n == 1 and status == "skipped":
            await run_event(conn, str(run["id"]))
        return run if n == 1 else None

    return await db.write(tx)


async def start_queued(db: Database, run_id: str, job: str, scheduled: str) -> bool:
    """Turn a queued run into a running one once no earlier run of its job is active."""

    async def tx(conn: Conn) -> bool:
        ahead = await conn.fetchval(
            'SELECT count(*) FROM "_job_runs" WHERE "job" = ? AND "scheduled" < ? AND '
            "\"status\" IN ('queued', 'running') AND \"id\" <> ?",
            [job, scheduled, run_id],
        )
        if ahead:
            return False
        return (
            await conn.execute(
                'UPDATE "_job_runs" SET "status" = \'running\', "started" = ? WHERE "id" = ? AND "status" = \'queued\'',
                [format_dt(now()), run_id],
            )
            == 1
        )

    return await db.write(tx)


async def heartbeat(db: Database, owner: str) -> None:
    await db.write(
        lambda conn: conn.execute(
            'UPDATE "_job_runs" SET "heartbeat" = ? WHERE "owner" = ? AND "status" IN (\'queued\', \'running\')',
            [format_dt(now()), owner],
        )
    )


async def set_attempt(db: Database, run_id: str, attempt: int) -> None:
    await db.write(lambda conn: conn.execute('UPDATE "_job_runs" SET "attempt" = ? WHERE "id" = ?', [attempt, run_id]))


async def finish(db: Database, run_id: str, status: str, output: str, error: str) -> bool:
    """Record the outcome and its ``job.<status>`` event; False if the run was no longer active
    (reaped meanwhile)."""

    async def tx(conn: Conn) -> bool:
        n = await conn.execute(
            'UPDATE "_job_runs" SET "status" = ?, "finished" = ?, "output" = ?, "error" = ? '
            "WHERE \"id\" = ? AND \"status\" IN ('queued', 'running')",
            [status, format_dt(now()), output, error, run_id],
        )
        if n == 1:
            await run_event(conn, run_id)
        return n == 1

    return await db.write(tx)


async def history(db: Database, job: str = "", limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Runs, newest tick first (of ``job``, or of every job)."""
    where, params = (' WHERE "job" = ?', [job]) if job else ("", [])
    rows = await db.fetch(
        _SELECT + where + ' ORDER BY "scheduled" DESC, "id" LIMIT ? OFFSET ?', [*params, limit, offset]
    )
    return [as_dict(r) for r in rows]


async def last_runs(db: Database) -> dict[str, dict[str, Any]]:
    """The latest run of each job."""
    rows = await db.fetch(
        _SELECT + ' AS "r" WHERE "scheduled" = (SELECT max("scheduled") FROM "_job_runs" '
        'AS "o" WHERE "o"."job" = "r"."job")'
    )
    return {r[1]: as_dict(r) for r in rows}


async def prune(db: Database, days: float) -> int:
    """Delete finished runs older than ``days``."""
    cutoff = format_dt(now() - timedelta(days=days))
    return await db.write(
        lambda conn: conn.execute(
            'DELETE FROM "_job_runs" WHERE "status" NOT IN (\'queued\', \'running\') AND "scheduled" < ?', [cutoff]
        )
    )
