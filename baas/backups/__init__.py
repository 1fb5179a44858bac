"""Backups: one zip holding the database, the stored files and the install secret, taken online
while writes go on, and restored into an empty data dir or database (docs/backups.md).

    <name>.zip
      database/data.db              SQLite: the file, copied with SQLite's backup API
      database/tables/<t>.jsonl     PostgreSQL: each table's rows, all read in one snapshot
      files/<key>                   every stored file (local disk or S3; thumbnails are remade)
      secret                        <data dir>/.secret, when the install has one
      baas-backup.json              the manifest, written last: format, backend, migration
                                    revision, row counts, and a SHA-256 of every other member

A restore checks every member against the manifest before it writes anything, so a truncated or
altered archive is refused whole. The database part is read in one snapshot; the files are copied
after it, so a file deleted meanwhile is missing from the archive (counted in the manifest) and one
added meanwhile is an orphan that ``baas files sweep`` removes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import msgspec

from baas.backups.names import NAME, BackupError, BackupInfo, BackupNameError, check_name, default_name
from baas.backups.store import BackupStore, backups_dir, store_from_settings
from baas.core import Engine
from baas.db import dump
from baas.db.migrate import migrate
from baas.db.postgres import PgConn
from baas.files.blob import BlobNotFound
from baas.jobs.scheduler import TASKS
from baas.planner import create_collections
from baas.schema.jobs import Job
from baas.schema.model import Collection
from baas.settings import Settings

__all__ = [
    "BUSY",
    "MANIFEST",
    "NAME",
    "Archive",
    "BackupError",
    "BackupInfo",
    "BackupNameError",
    "BackupStore",
    "Restored",
    "backup_store",
    "backups_dir",
    "check_name",
    "create_backup",
    "default_name",
    "list_backups",
    "open_archive",
    "partial_file",
    "prune_backups",
    "restore_backup",
    "scheduled_backup",
    "sweep_partials",
]

MANIFEST = "baas-backup.json"
FORMAT = "baas-backup/1"
CHUNK = 1 << 20

# Told how a long step goes: (step, done, total or None when unknown), e.g. ("files", 120, None).
Progress = Callable[[str, int, int | None], None]


def _quiet(step: str, done: int, total: int | None) -> None:
    del step, done, total


# One backup at a time per process (PocketBase: "another backup/restore operation is in progress");
# across processes and nodes, a name already taken is refused when the finished file is kept.
BUSY = asyncio.Lock()


async def backup_store(eng: Engine) -> BackupStore:
    """Where ``eng``'s backups are kept now (``backups.s3`` in the stored settings, else the data dir)."""
    return store_from_settings(await eng.settings_store.load(), eng.settings.data_dir)


async def list_backups(eng: Engine) -> list[BackupInfo]:
    """The finished backups in ``eng``'s backup store, newest first."""
    return await (await backup_store(eng)).list()


# -- create ---------------------------------------------------------------------------------------
class _Writer:
    """The zip being written, with the SHA-256 of every member for the manifest. Compressing runs
    in a worker thread, in chunks of about `CHUNK` bytes, so a server's event loop keeps serving."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.sums: dict[str, str] = {}
        self.current: _Member | None = None

    async def member(self, name: str) -> _Member:
        self.current = _Member(self, name, await asyncio.to_thread(self.zf.open, name, "w", force_zip64=True))
        return self.current

    def abort(self) -> None:
        """Close a member an error left open, so that closing the zip reports nothing of its own
        (zipfile refuses to close with a member open, which would hide the real error)."""
        if self.current is not None:
            try:
                self.current.out.close()
            except Exception:  # the error being raised is the one to report
                pass
            self.current = None


class _Member:
    def __init__(self, writer: _Writer, name: str, out: IO[bytes]) -> None:
        self.writer, self.name, self.out, self.hash = writer, name, out, hashlib.sha256()
        self.buffer = bytearray()

    async def write(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) >= CHUNK:
            await self._flush()

    async def _flush(self) -> None:
        data, self.buffer = bytes(self.buffer), bytearray()
        await asyncio.to_thread(self._write, data)

    def _write(self, data: bytes) -> None:  # in a worker thread: hashing and compressing
        self.hash.update(data)
        self.out.write(data)

    async def close(self) -> None:
        await self._flush()
        await asyncio.to_thread(self.out.close)
        self.writer.sums[self.name] = self.hash.hexdigest()
        self.writer.current = None


async def create_backup(eng: Engine, name: str = "", progress: Progress | None = None) -> BackupInfo:
    """Back up the running ``eng`` as ``name`` (default: a timestamped name) into its backup store:
    written to ``<data dir>/backups/.<name>.partial``, then moved there or uploaded to S3."""
    say = progress or _quiet
    name = check_name(name or default_name())
    store = await backup_store(eng)
    if await store.exists(name):
        raise BackupNameError(f"a backup named {name} already exists")
    folder = backups_dir(eng.settings.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    sweep_partials(folder)
    # Not listed until complete (a crash leaves no half backup); a file of its own per writer, so
    # two processes writing one name never share it (the second is refused when it keeps it).
    tmp = Path(partial_file(folder, name))
    manifest: dict[str, Any] = {"format": FORMAT, "created": datetime.now(UTC).isoformat()}
    try:
        zf = zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        w = _Writer(zf)
        try:
            manifest["database"] = await _write_database(eng, w, say)
            secret = Path(eng.settings.data_dir) / ".secret"
            if secret.exists():
                m = await w.member("secret")
                await m.write(secret.read_bytes())
                await m.close()
            manifest["files"] = await _write_files(eng, w, say)
            manifest["sha256"] = w.sums
            await asyncio.to_thread(zf.writestr, MANIFEST, json.dumps(manifest, indent=1))
        finally:
            w.abort()
            await asyncio.to_thread(zf.close)
        if store.where != str(folder):
            say(f"uploading to {store.where}", 0, None)
        size = tmp.stat().st_size
        await store.keep(name, tmp)
    finally:
        tmp.unlink(missing_ok=True)
    found = [b for b in await store.list() if b.key == name]
    return found[0] if found else BackupInfo(name, size, "")  # (deleted already by someone else)


async def scheduled_backup(eng: Engine, job: Job) -> dict[str, Any]:
    """One run of a ``backups.create`` job: a backup named ``auto_<job>_<UTC time to the ms>.zip``
    in the backup store, then the job's older backups past ``args.keep`` deleted (other backups are
    never touched). Waits for a backup already running in this process rather than skip."""
    prefix = f"auto_{job.name}_"
    async with BUSY:
        info = await create_backup(eng, default_name(prefix, ms=True))
        pruned = await prune_backups(eng, prefix, int(job.args.get("keep") or 0))
    return {"backup": info.key, "size": info.size, "pruned": pruned}


TASKS["backups.create"] = scheduled_backup  # what the scheduler runs for the task (baas/jobs)

STALE_SECONDS = 24 * 3600.0  # a partial file untouched this long was left by a crash


def partial_file(folder: Path, name: str) -> str:
    """A new, empty ``.<name>.<random>.partial`` in ``folder`` (its path)."""
    fd, path = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".partial")
    os.close(fd)
    return path


def sweep_partials(folder: Path) -> None:
    """Remove what crashed backups and uploads left in ``folder``: partial files and scratch
    directories untouched for a day (one being written now is touched as it grows)."""
    cutoff = time.time() - STALE_SECONDS
    for path in folder.iterdir() if folder.is_dir() else []:
        try:
            if path.stat().st_mtime >= cutoff:
                continue
            if path.is_file() and path.name.startswith(".") and path.name.endswith(".partial"):
                path.unlink()
            elif path.is_dir() and path.name.startswith("tmp"):
                shutil.rmtree(path, ignore_errors=True)
        except OSError:  # gone meanwhile
            continue


async def prune_backups(eng: Engine, prefix: str, keep: int) -> list[str]:
    """Delete the oldest backups named ``<prefix><UTC time to the ms>.zip`` past the newest ``keep``
    (a scheduled backup's retention: its names sort by time). No other backup is touched, not even
    one whose name merely starts with ``prefix`` (another job's, or one named by hand). The
    deleted keys."""
    store = await backup_store(eng)
    own = re.compile(re.escape(prefix) + r"\d{17}\.zip")
    mine = sorted((b.key for b in await store.list() if own.fullmatch(b.key)), reverse=True)
    gone = mine[keep:] if keep > 0 else []
    for key in gone:
        try:
            await store.delete(key)
        except BlobNotFound:  # deleted meanwhile (by hand, or another node's run)
            pass
    return gone


async def _write_database(eng: Engine, w: _Writer, say: Progress) -> dict[str, Any]:
    url = eng.settings.database_url
    say("database", 0, None)
    if eng.db.dialect == "sqlite":
        with tempfile.TemporaryDirectory(dir=backups_dir(eng.settings.data_dir)) as scratch:
            copy = os.path.join(scratch, "data.db")
            await dump.sqlite_copy(url.removeprefix("sqlite:///"), copy)
            m = await w.member("database/data.db")
            with open(copy, "rb") as fh:
                while chunk := await asyncio.to_thread(fh.read, CHUNK):
                    await m.write(chunk)
            await m.close()
        return {"backend": "sqlite"}
    rows: dict[str, int] = {}
    async with dump.pg_snapshot(url) as snap:
        revision = await snap.revision()
        tables = await snap.tables()
        for i, table in enumerate(tables):
            say("database", i, len(tables))
            m = await w.member(f"database/tables/{table}.jsonl")
            n = 0
            async for line in snap.rows(table):
                await m.write(line.encode() + b"\n")
                n += 1
            await m.close()
            rows[table] = n
    return {"backend": "postgresql", "revision": revision, "rows": rows}


async def _write_files(eng: Engine, w: _Writer, say: Progress) -> dict[str, int]:
    storage = await eng.files.storage()
    count = size = missing = 0
    async for info in storage.list():
        if "/thumbs_" in info.key:  # made again on demand from the original
            continue
        if "/" not in info.key:  # not a record's file (backups kept in the same bucket, for one)
            continue
        try:
            blob = await storage.open(info.key)
        except BlobNotFound:  # deleted since it was listed (its record is gone from the snapshot too)
            missing += 1
            continue
        m = await w.member(f"files/{info.key}")
        try:
            async for chunk in blob:
                await m.write(chunk)
                size += len(chunk)
        finally:
            await blob.aclose()
        await m.close()
        count += 1
        say("files", count, None)
    return {"count": count, "bytes": size, "missing": missing}


# -- read and check -------------------------------------------------------------------------------
@dataclass
class Archive:
    """An opened backup whose every member matched the manifest."""

    zf: zipfile.ZipFile
    manifest: dict[str, Any]
    members: list[str] = field(default_factory=list)

    def lines(self, name: str) -> Iterator[str]:
        with self.zf.open(name) as fh:
            for raw in fh:
                yield raw.decode().rstrip("\n")


def open_archive(path: Path) -> Archive:
    """Open and check ``path`` (every member's SHA-256 against the manifest); `BackupError` if it is
    not a backup, or truncated, or altered."""
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise BackupError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise BackupError(f"{path}: not a baas backup, or truncated ({exc})") from None
    try:
        try:
            manifest = json.loads(zf.read(MANIFEST))
        except KeyError:
            raise BackupError(f"{path}: not a baas backup (no {MANIFEST})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise BackupError(f"{path}: unknown backup format {manifest.get('format')!r}, expected {FORMAT}")
        sums: dict[str, str] = manifest.get("sha256") or {}
        names = [n for n in zf.namelist() if n != MANIFEST]
        if sorted(names) != sorted(sums):
            raise BackupError(f"{path}: its members do not match its manifest (altered or incomplete)")
        for name in names:
            digest = hashlib.sha256()
            with zf.open(name) as fh:
                while chunk := fh.read(CHUNK):
                    digest.update(chunk)
            if digest.hexdigest() != sums[name]:
                raise BackupError(f"{path}: {name} does not match its checksum (corrupted)")
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        zf.close()
        if isinstance(exc, BackupError):
            raise
        raise BackupError(f"{path}: corrupted ({exc})") from None
    return Archive(zf, manifest, names)


# -- restore --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Restored:
    backend: str
    rows: dict[str, int]  # PostgreSQL: rows loaded per table (SQLite: the file is restored whole)
    files: int


async def restore_backup(path: Path, settings: Settings, progress: Progress | None = None) -> Restored:
    """Restore the backup at ``path`` into the empty data dir / database of ``settings``."""
    say = progress or _quiet
    say("checking the archive", 0, None)
    archive = open_archive(path)
    try:
        backend = archive.manifest["database"]["backend"]
        target = "postgresql" if settings.db_url else "sqlite"
        if backend != target:
            raise BackupError(f"this is a {backend} backup: restore it into a {backend} database")
        data_dir = Path(settings.data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        say("database", 0, None)
        rows = await (
            _restore_pg(archive, settings, say) if backend == "postgresql" else _restore_sqlite(archive, settings)
        )
        if "secret" in archive.members and not (data_dir / ".secret").exists():
            fd = os.open(data_dir / ".secret", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(archive.zf.read("secret"))
        await migrate(settings.database_url)  # an older backup's system tables go on to head
        files = await _restore_files(archive, settings, say)
        return Restored(backend, rows, files)
    finally:
        archive.zf.close()


async def _restore_sqlite(archive: Archive, settings: Settings) -> dict[str, int]:
    target = Path(settings.database_url.removeprefix("sqlite:///"))
    if target.exists():
        raise BackupError(f"{target} exists: restore into an empty data dir (or move the old one aside)")
    partial = target.with_name(target.name + ".restoring")
    with archive.zf.open("database/data.db") as src, open(partial, "wb") as dst:
        shutil.copyfileobj(src, dst, CHUNK)
    found = dump.sqlite_check(str(partial))
    if found != "ok":
        partial.unlink()
        raise BackupError(f"the backup's database fails SQLite's integrity check: {found}")
    os.replace(partial, target)
    return {}


async def _restore_pg(archive: Archive, settings: Settings, say: Progress) -> dict[str, int]:
    url = settings.database_url
    if await dump.pg_tables(url):
        raise BackupError("the database is not empty: restore into a new, empty database")
    db = archive.manifest["database"]
    expected: dict[str, int] = db["rows"]
    decoder = msgspec.json.Decoder(Collection)
    collections = [
        decoder.decode(json.loads(line)["data"]) for line in archive.lines("database/tables/_collections.jsonl")
    ]
    try:
        await migrate(url, db["revision"])  # the system tables as the backup knew them

        async def fill(conn: PgConn, loader: dump.PgLoader) -> dict[str, int]:
            system = set(await _current_tables(conn))
            await create_collections(conn, collections)
            tables = sorted(expected, key=lambda t: t not in system)  # system tables, then collections
            for i, table in enumerate(tables):
                say("database", i, len(tables))
                batch: list[str] = []
                for line in archive.lines(f"database/tables/{table}.jsonl"):
                    batch.append(line)
                    if len(batch) >= dump.BATCH:
                        await loader.load(table, batch)
                        batch = []
                await loader.load(table, batch)
                if (n := await loader.count(table)) != expected[table]:
                    raise BackupError(f"{table}: {n} rows restored, the backup holds {expected[table]}")
            await loader.reset_sequences()
            return dict(expected)

        return await dump.pg_load(url, fill)
    except BaseException:
        await _empty_pg(url)  # nothing half-restored: the database is left as empty as it was
        raise


async def _current_tables(conn: PgConn) -> list[str]:
    rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    return [r[0] for r in rows]


async def _empty_pg(url: str) -> None:
    async def drop(conn: PgConn, _: dump.PgLoader) -> None:
        for v in await conn.fetch("SELECT viewname FROM pg_views WHERE schemaname = current_schema()"):
            await conn.execute(f'DROP VIEW IF EXISTS "{v[0]}" CASCADE')
        for t in await _current_tables(conn):
            await conn.execute(f'DROP TABLE IF EXISTS "{t}" CASCADE')

    await dump.pg_load(url, drop)


async def _restore_files(archive: Archive, settings: Settings, say: Progress) -> int:
    """Every ``files/`` member into the restored install's storage (its own settings: local or S3)."""
    names = [n for n in archive.members if n.startswith("files/")]
    if not names:
        return 0
    eng = Engine(settings)
    await eng.start()
    try:
        storage = await eng.files.storage()
        for i, name in enumerate(names):
            say("files", i, len(names))

            async def chunks(name: str = name) -> Any:
                with archive.zf.open(name) as fh:
                    while chunk := fh.read(CHUNK):
                        yield chunk

            await storage.put(name.removeprefix("files/"), chunks())
        say("files", len(names), len(names))
    finally:
        await eng.stop()
    return len(names)
