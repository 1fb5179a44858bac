"""``baas backup``: create, list and restore backups (docs/backups.md)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from baas.backups import BackupError, create_backup, list_backups, restore_backup
from baas.cli.common import DbOpt, DirOpt, fail, with_engine
from baas.settings import Settings

backup_app = typer.Typer(
    help="Backups of the database, files and install secret (docs/backups.md).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _say(step: str) -> None:
    typer.echo(f"  {step}", err=True)


@backup_app.command("create")
def backup_create(
    name: str = typer.Argument("", help="File name ending in .zip (default: baas_backup_<UTC time>.zip)."),
    data_dir: str = DirOpt,
    db: str = DbOpt,
) -> None:
    """Back up the install, online: a server may keep serving (and writing) meanwhile."""
    info = with_engine(Settings(data_dir=data_dir, db_url=db), lambda eng: create_backup(eng, name, _say))
    typer.echo(f"Backup {info.key} saved ({info.size:,} bytes) in {Path(data_dir) / 'backups'}.")


@backup_app.command("list")
def backup_list(data_dir: str = DirOpt, db: str = DbOpt) -> None:
    """The backups in the data dir's backups/ folder, newest first (whatever the database: --db is
    accepted so that every backup command takes the same options)."""
    del db
    found = list_backups(data_dir)
    if not found:
        typer.echo("No backups.")
    for b in found:
        typer.echo(f"{b.key}  {b.size:>14,}  {b.modified}")


@backup_app.command("restore")
def backup_restore(
    file: Path = typer.Argument(..., help="The backup (.zip) to restore."),
    data_dir: str = DirOpt,
    db: str = DbOpt,
) -> None:
    """Restore FILE into an empty data dir (SQLite) or an empty database (--db postgresql://…)."""
    try:
        done = asyncio.run(restore_backup(file, Settings(data_dir=data_dir, db_url=db), _say))
    except (BackupError, OSError) as exc:
        fail(str(exc))
    rows = f", {sum(done.rows.values()):,} rows" if done.rows else ""
    typer.echo(f"Restored {file.name} ({done.backend}{rows}, {done.files} files) into {db or data_dir}.")
