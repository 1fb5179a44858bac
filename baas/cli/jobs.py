"""``baas jobs``: list the scheduled jobs (those of ``baas.yaml`` and those made over the API),
run one now, show the run history."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from baas.cli.common import DbOpt, DirOpt, with_engine
from baas.core import Engine
from baas.ids import format_dt
from baas.jobs import store
from baas.settings import Settings

jobs_app = typer.Typer(
    help="Scheduled jobs: declared in baas.yaml or made over the API (docs/jobs.md).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
ProjectOpt = typer.Option(
    None, "--project", help="The baas.yaml declaring the jobs (default: $BAAS_PROJECT, else ./baas.yaml)."
)


def _settings(data_dir: str, db: str, project: Path | None) -> Settings:
    """The project's baas.yaml if there is one (jobs made over the API need none)."""
    path = (
        str(project)
        if project
        else os.environ.get("BAAS_PROJECT") or ("baas.yaml" if Path("baas.yaml").is_file() else "")
    )
    if path and not Path(path).is_file():
        typer.echo(f"error: no such project file: {path}", err=True)
        raise typer.Exit(1)
    return Settings(data_dir=data_dir, db_url=db, project_file=str(Path(path).resolve()) if path else "")


def _line(run: dict[str, Any]) -> str:
    tail = run["error"] or run["output"]
    return (
        f"{run['scheduled']}  {run['job']:<20} {run['status']:<10} attempt {run['attempt']}  {run['trigger']:<8}"
        f" {tail[:80]}"
    )


@jobs_app.command("list")
def jobs_list(project: Path | None = ProjectOpt, data_dir: str = DirOpt, db: str = DbOpt) -> None:
    """Each job: source (yaml or api), schedule, time zone, target, next run and last outcome."""

    async def run(eng: Engine) -> list[str]:
        await eng.jobs.refresh()  # the jobs made over the API
        last = await store.last_runs(eng.db)
        now = store.now()
        out = []
        for name in sorted(eng.jobs.jobs):
            job = eng.jobs.jobs[name]
            nxt = eng.jobs.next_fire(name, now) if job.enabled else None
            prev = last.get(name)
            out.append(
                f"{name:<20} {eng.jobs.sources[name]:<4} {job.schedule:<14} {job.timezone:<16} {job.target:<24} "
                f"next {format_dt(nxt) if nxt else '-':<24} last {prev['status'] if prev else '-'}"
            )
        return out

    lines = with_engine(_settings(data_dir, db, project), run, plugins=True)
    typer.echo("\n".join(lines) if lines else "No jobs declared.")


@jobs_app.command("run")
def jobs_run(name: str, project: Path | None = ProjectOpt, data_dir: str = DirOpt, db: str = DbOpt) -> None:
    """Run a job now, here, and wait for its outcome (recorded in the history as a manual run)."""

    async def run(eng: Engine) -> dict[str, Any] | None:
        await eng.jobs.refresh()
        if name not in eng.jobs.jobs:
            return None
        return await eng.jobs.run_now(name, wait=True)

    result = with_engine(_settings(data_dir, db, project), run, plugins=True)
    if result is None:
        typer.echo(f"error: no job {name!r} (in baas.yaml or made over the API)", err=True)
        raise typer.Exit(1)
    typer.echo(_line(result))
    if result["status"] != "success":
        raise typer.Exit(1)


@jobs_app.command("history")
def jobs_history(
    name: str = typer.Argument("", help="One job (default: every job)."),
    limit: int = typer.Option(20, "--limit", help="How many runs, newest first."),
    data_dir: str = DirOpt,
    db: str = DbOpt,
) -> None:
    """The latest runs: tick, job, status, attempts, trigger, output or error."""
    runs = with_engine(Settings(data_dir=data_dir, db_url=db), lambda eng: store.history(eng.db, name, limit))
    typer.echo("\n".join(_line(r) for r in runs) if runs else "No runs yet.")
