"""``baas``: serve, superuser, schema. Every command takes ``--dir`` and ``--db`` like ``serve``."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

import msgspec
import typer
from granian import Granian
from granian.constants import Interfaces, Loops
from granian.log import LogLevels

from baas import __version__
from baas.admin import advice
from baas.admin.installer import issue_installer_token
from baas.auth.superusers import upsert_superuser
from baas.cli.backup import backup_app
from baas.cli.common import DbOpt, DirOpt, fail, with_engine
from baas.cli.events import events_app
from baas.cli.gen import gen_app
from baas.cli.jobs import jobs_app
from baas.cli.progress import ProgressBar
from baas.cli.serve import (
    DEV_ACCESS_LOG_FORMAT,
    SHUTDOWN_GRACE_SECONDS,
    AddressInUse,
    browser_url,
    check_address,
    log_migrations_here,
)
from baas.core import Engine
from baas.errors import ApiError
from baas.files import storage_for
from baas.files.sweep import sweep_orphans
from baas.metrics import MULTIPROC_ENV, fresh_metrics_dir
from baas.planner import Plan, apply_plan
from baas.plugin_loader import add_cli_commands
from baas.schema.loader import SchemaFile, dump_schema
from baas.settings import Settings

# Plain (click) help: typer's rich help renders every flag as `--dev <bool>`, as if it took a value.
PLAIN_HELP: dict[str, Any] = {"rich_markup_mode": None, "no_args_is_help": True}
app = typer.Typer(
    help="baas: a self-hostable backend, wire-compatible with PocketBase.", add_completion=False, **PLAIN_HELP
)
schema_app = typer.Typer(help="Plan, apply and export the declarative schema (baas.yaml).", **PLAIN_HELP)
superuser_app = typer.Typer(help="Manage superusers.", **PLAIN_HELP)
app.add_typer(schema_app, name="schema")
app.add_typer(superuser_app, name="superuser")
app.add_typer(events_app, name="events")
files_app = typer.Typer(help="File storage maintenance.", **PLAIN_HELP)
app.add_typer(files_app, name="files")
app.add_typer(jobs_app, name="jobs")
app.add_typer(gen_app, name="gen")
app.add_typer(backup_app, name="backup")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"baas {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """baas: a self-hostable backend, wire-compatible with PocketBase."""


def _cpus() -> int:
    """CPUs this process may run on (a container's cpuset, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@app.command()
def serve(
    http: str = typer.Option("127.0.0.1:8090", "--http", envvar="BAAS_HTTP", help="HOST:PORT to listen on."),
    data_dir: str = DirOpt,
    db: str = DbOpt,
    schema: str = typer.Option(
        "", "--schema", envvar="BAAS_SCHEMA", help="A baas.yaml applied at start (refused if it would lose data)."
    ),
    accept_data_loss: bool = typer.Option(
        False, "--accept-data-loss", envvar="BAAS_ACCEPT_DATA_LOSS", help="Apply a destructive --schema anyway."
    ),
    workers: int = typer.Option(
        0,
        "--workers",
        envvar="BAAS_WORKERS",
        help="Server processes; 0 (default): one per CPU core. SQLite in WAL mode and PostgreSQL both serve several.",
    ),
    dev: bool = typer.Option(
        False, "--dev", envvar="BAAS_DEV", help="Development mode: verbose logs and a request log."
    ),
    max_body_size: int = typer.Option(
        0,
        "--max-body-size",
        envvar="BAAS_MAX_BODY_SIZE",
        help="Request body limit in bytes (default 32 MiB; record writes add their file fields' maxSize).",
    ),
) -> None:
    """Serve the API (granian, uvloop)."""
    host, _, port = http.rpartition(":")
    if not host or not port.isdigit():
        fail(f"--http must be HOST:PORT, got {http!r}")
    try:  # before anything is written: a second server must not start at all
        check_address(host, int(port))
    except AddressInUse as exc:
        fail(str(exc))
    settings = Settings(
        data_dir=data_dir, db_url=db, http=http, schema_file=schema, dev=dev, accept_data_loss=accept_data_loss
    )
    log_migrations_here()

    async def prepare(eng: Engine) -> tuple[int, str]:
        if eng.schema_plan is not None:  # say what --schema changed (a dropped field included)
            changes = eng.schema_plan.changes
            typer.echo(f"Schema {schema}: " + (f"applied\n{eng.schema_plan.describe()}" if changes else "no changes."))
        count = int(await eng.db.fetchval('SELECT COUNT(*) FROM "_superusers"') or 0)
        return count, "" if count else issue_installer_token(eng.secret)  # the console's first-run link

    # Prepare once in this process (schema, secret, system tables) so workers never race on DDL.
    superusers, installer = with_engine(settings, prepare, plugins=True)
    os.environ.update(
        {
            "BAAS_DIR": data_dir,
            "BAAS_DB": db,
            "BAAS_HTTP": http,
            "BAAS_DEV": "1" if dev else "",
            "BAAS_PROJECT": str(Path(schema).resolve()) if schema else "",
        }
    )  # workers load its plugins
    # Each worker keeps its metrics in files here; a scrape of any worker adds them all up (baas/metrics.py).
    os.environ[MULTIPROC_ENV] = fresh_metrics_dir(data_dir)
    # Applied once, above: a worker that found it in its environment would apply it again, racing the others.
    os.environ.pop("BAAS_SCHEMA", None)
    if max_body_size > 0:
        os.environ["BAAS_MAX_BODY_SIZE"] = str(max_body_size)
    try:  # again: preparing took a while, and someone may have taken the port meanwhile
        check_address(host, int(port))
    except AddressInUse as exc:
        fail(str(exc))
    typer.echo(
        f"baas serving on http://{http} (data: {Path(data_dir).resolve()}, db: {'postgresql' if db else 'sqlite'})"
    )
    if not superusers:  # the URL may hold a password: never echo it
        where = f" --dir {shlex.quote(data_dir)}" if data_dir != "baas_data" else ""
        typer.echo(
            f"No superuser yet. Create one with: baas superuser upsert EMAIL PASSWORD{where}"
            + (" --db <database URL>" if db else "")
        )
        url, note = browser_url(host, int(port))
        typer.echo(f"or open the one-time installer link (valid 30 minutes): {url}/_/#/install/{installer}{note}")
    Granian(
        target="baas.cli.serve:make_app",
        factory=True,
        address=host,
        port=int(port),
        interface=Interfaces.ASGI,
        workers=workers if workers > 0 else _cpus(),
        loop=Loops.uvloop if sys.platform != "win32" else Loops.asyncio,
        log_level=LogLevels.info if dev else LogLevels.warning,
        log_access=dev,
        log_access_format=DEV_ACCESS_LOG_FORMAT,
        # Shutdown is bounded: a worker that has not stopped after the grace period is killed.
        workers_kill_timeout=SHUTDOWN_GRACE_SECONDS,
        # Concurrent requests per worker (granian's default: 1024 / workers). Every open realtime
        # (SSE) stream holds one for its whole life, so the default would cap subscribers at ~1,000
        # per server and stall other requests behind them.
        backpressure=int(os.environ.get("BAAS_BACKPRESSURE") or 16384),
    ).serve()


@superuser_app.command("upsert")
def superuser_upsert(email: str, password: str, data_dir: str = DirOpt, db: str = DbOpt) -> None:
    """Create a superuser, or set the password of an existing one."""
    # The plugins (installed ones, and those of $BAAS_PROJECT or ./baas.yaml) load as for `serve`,
    # so their `_superusers` record hooks fire for this write as for any other.
    project = os.environ.get("BAAS_PROJECT") or ("baas.yaml" if Path("baas.yaml").is_file() else "")
    settings = Settings(data_dir=data_dir, db_url=db, project_file=str(Path(project).resolve()) if project else "")
    with_engine(settings, lambda eng: upsert_superuser(eng, email, password), plugins=True)
    typer.echo(f"Superuser {email} saved.")


@schema_app.command("plan")
def schema_plan(file: Path = typer.Argument(Path("baas.yaml")), data_dir: str = DirOpt, db: str = DbOpt) -> None:
    """Show what applying FILE would change."""
    plan = with_engine(Settings(data_dir=data_dir, db_url=db), lambda eng: eng.plan_file(str(file)))
    typer.echo(plan.describe())
    if plan.destructive:
        typer.echo("This plan loses data: apply it with --accept-data-loss.")


@schema_app.command("advise")
def schema_advise(
    since: str = typer.Option(
        advice.DEFAULT_SINCE, "--since", help="How far back to read the request log: 30m, 24h, 7d."
    ),
    min_ms: float = typer.Option(
        advice.DEFAULT_MIN_MS, "--min-ms", help="From how many milliseconds a request is slow."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the advice as JSON (as GET /api/schema/advise)."),
    data_dir: str = DirOpt,
    db: str = DbOpt,
) -> None:
    """Name the indexes that would serve the slow record lists in the request log."""
    try:
        window = advice.parse_since(since)
        threshold = advice.parse_min_ms(f"{min_ms:.3f}" if min_ms >= 0 else str(min_ms))
    except ApiError as exc:
        fail(exc.message)
    if not db and not (Path(data_dir) / "data.db").is_file():  # advising must not create a data dir
        fail(f"no data directory with a database at {data_dir!r} (pass --dir DATA, or --db for PostgreSQL)")

    async def run(eng: Engine) -> dict[str, Any]:
        return await eng.request_log.read(lambda log: advice.advise(log, eng.registry.get, window, threshold))

    out = with_engine(Settings(data_dir=data_dir, db_url=db), run)
    typer.echo(json.dumps(out, indent=2) if as_json else advice.describe(out))


@schema_app.command("apply")
def schema_apply(
    file: Path = typer.Argument(Path("baas.yaml")),
    data_dir: str = DirOpt,
    db: str = DbOpt,
    accept_data_loss: bool = typer.Option(False, "--accept-data-loss", help="Apply even if the plan drops data."),
) -> None:
    """Apply FILE in one transaction."""

    progress = ProgressBar()  # building a search index over many rows takes a while

    async def run(eng: Engine) -> Plan:
        plan = await eng.plan_file(str(file))
        await apply_plan(eng.db, plan, accept_data_loss=accept_data_loss, source=str(file), progress=progress)
        return plan

    try:
        plan = with_engine(Settings(data_dir=data_dir, db_url=db), run)
    finally:
        progress.close()
    typer.echo(plan.describe())
    typer.echo("Applied." if plan.changes else "Nothing to apply.")


@schema_app.command("export")
def schema_export(
    out: Path | None = typer.Option(None, "--out", "-o", help="Write here instead of stdout."),
    data_dir: str = DirOpt,
    db: str = DbOpt,
) -> None:
    """Write the applied schema as baas.yaml."""
    settings = Settings(data_dir=data_dir, db_url=db)
    if not db and not (Path(data_dir) / "data.db").is_file():  # exporting must not create a data dir
        fail(
            f"no data directory with a database at {data_dir!r}: nothing to export "
            "(pass --dir DATA, or --db for PostgreSQL)"
        )

    async def run(eng: Engine) -> str:
        return dump_schema(eng.registry.all())

    text = with_engine(settings, run)
    if out:
        out.write_text(text)
        typer.echo(f"Wrote {out}.")
    else:
        typer.echo(text, nl=False)


@schema_app.command("jsonschema")
def schema_jsonschema() -> None:
    """Print a JSON Schema of the baas.yaml format (for editor autocompletion)."""
    typer.echo(json.dumps(msgspec.json.schema(SchemaFile), indent=2))


@files_app.command("sweep")
def files_sweep(
    dry_run: bool = typer.Option(False, "--dry-run", help="List the orphans without removing them."),
    older_than: float = typer.Option(
        3600.0, "--older-than", help="Grace period in seconds: newer blobs may be uploads in flight."
    ),
    data_dir: str = DirOpt,
    db: str = DbOpt,
) -> None:
    """Find (and remove) stored files that no record names any more."""

    async def run(eng: Engine) -> list[str]:
        return await sweep_orphans(eng, await storage_for(eng), older_than, dry_run=dry_run)

    found = with_engine(Settings(data_dir=data_dir, db_url=db), run)
    for key in found:
        typer.echo(key)
    verb = "Would remove" if dry_run else "Removed"
    typer.echo(f"{verb} {len(found)} orphan file{'s' if len(found) != 1 else ''}.")


def _plugin_commands() -> None:
    """Plugins' commands (docs/plugins.md): installed ones, and those of $BAAS_PROJECT or ./baas.yaml."""
    project = os.environ.get("BAAS_PROJECT") or ("baas.yaml" if Path("baas.yaml").is_file() else "")
    add_cli_commands(app, project, engine_factory=Engine)


_plugin_commands()

if __name__ == "__main__":
    app()
