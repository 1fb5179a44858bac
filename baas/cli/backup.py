"""``baas backup``: create, list, download and restore backups (docs/backups.md)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from tqdm import tqdm

from baas.backups import (
    BackupError,
    BackupNameError,
    backup_store,
    check_name,
    create_backup,
    list_backups,
    restore_backup,
)
from baas.cli.common import DbOpt, DirOpt, fail, with_engine
from baas.cli.progress import ProgressBar
from baas.core import Engine
from baas.files.blob import BlobNotFound
from baas.settings import Settings

backup_app = typer.Typer(
    help="Backups of the database, files and install secret (docs/backups.md).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@backup_app.command("create")
def backup_create(
    name: str = typer.Argument("", help="File name ending in .zip (default: baas_backup_<UTC time>.zip)."),
    data_dir: str = DirOpt,
    db: str = DbOpt,
) -> None:
    """Back up the install, online: a server may keep serving (and writing) meanwhile. The backup goes
    where the install keeps its backups: <data dir>/backups, or the S3 store of the backups.s3 settings."""
    progress = ProgressBar()

    async def run(eng: Engine) -> str:
        try:
            info = await create_backup(eng, name, progress)
        except BackupError as exc:
            fail(str(exc))
        finally:
            progress.close()
        where = (await backup_store(eng)).where
        return f"Backup {info.key} saved ({info.size:,} bytes) in {where}."

    typer.echo(with_engine(Settings(data_dir=data_dir, db_url=db), run))


@backup_app.command("list")
def backup_list(data_dir: str = DirOpt, db: str = DbOpt) -> None:
    """The install's backups (in <data dir>/backups, or its backups S3 store), newest first."""
    try:
        found = with_engine(Settings(data_dir=data_dir, db_url=db), list_backups)
    except BackupError as exc:
        fail(str(exc))
    if not found:
        typer.echo("No backups.")
    for b in found:
        typer.echo(f"{b.key}  {b.size:>14,}  {b.modified}")


@backup_app.command("download")
def backup_download(
    name: str = typer.Argument(..., help="The backup's name, as `baas backup list` shows it."),
    out: Path = typer.Argument(None, help="Where to write it (default: ./NAME)."),
    data_dir: str = DirOpt,
    db: str = DbOpt,
) -> None:
    """Copy a backup out of the install's backup store (e.g. from S3, to restore it elsewhere)."""
    target = out or Path(name)
    if target.exists():
        fail(f"{target} exists: choose another path")

    async def run(eng: Engine) -> int:
        try:
            blob = await (await backup_store(eng)).open(check_name(name))
        except (BlobNotFound, BackupNameError):
            fail(f"no backup named {name!r}")
        except BackupError as exc:  # the store: unreachable, or its settings refused
            fail(str(exc))
        partial = target.with_name(target.name + ".partial")
        bar = tqdm(desc=name, total=blob.info.size, unit="B", unit_scale=True, disable=None)
        try:
            with partial.open("wb") as fh:
                async for chunk in blob:
                    await asyncio.to_thread(fh.write, chunk)
                    bar.update(len(chunk))
            partial.replace(target)
        finally:
            bar.close()
            await blob.aclose()
            partial.unlink(missing_ok=True)
        return blob.info.size

    size = with_engine(Settings(data_dir=data_dir, db_url=db), run)
    typer.echo(f"Downloaded {name} ({size:,} bytes) to {target}.")


@backup_app.command("restore")
def backup_restore(
    file: Path = typer.Argument(..., help="The backup (.zip) to restore."),
    data_dir: str = DirOpt,
    db: str = DbOpt,
) -> None:
    """Restore FILE into an empty data dir (SQLite) or an empty database (--db postgresql://…)."""
    progress = ProgressBar()
    try:
        done = asyncio.run(restore_backup(file, Settings(data_dir=data_dir, db_url=db), progress))
    except (BackupError, OSError) as exc:
        fail(str(exc))
    finally:
        progress.close()
    rows = f", {sum(done.rows.values()):,} rows" if done.rows else ""
    typer.echo(f"Restored {file.name} ({done.backend}{rows}, {done.files} files) into {db or data_dir}.")
