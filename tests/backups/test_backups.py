"""Backups (baas/backups, docs/backups.md) on the backend under test: taken while writes go on,
restored into an empty install that then serves every record acknowledged before the backup
started, with its files (local disk or S3); a corrupted or truncated archive is refused whole."""

from __future__ import annotations

import asyncio
import subprocess
import zipfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from minio import Minio

from baas.auth.superusers import upsert_superuser
from baas.backups import MANIFEST, BackupError, create_backup, list_backups, restore_backup
from baas.core import Engine
from baas.db import dump
from baas.settings import Settings
from tests.harness import (
    PG_URL,
    SU_EMAIL,
    SU_PASS,
    create_pg_database,
    drop_pg_database,
    in_process,
    make_bucket,
    s3_settings,
    sign_in,
)
from tests.servers import baas_cmd, running_moto, running_server

NOTES = {
    "name": "notes",
    "listRule": "",
    "viewRule": "",
    "createRule": "",
    "fields": [
        {"name": "title", "type": "text", "required": True},
        {"name": "n", "type": "number"},
        {"name": "done", "type": "bool"},
        {"name": "meta", "type": "json"},
        {"name": "doc", "type": "file", "maxSelect": 1},
    ],
    "search": {"fields": ["title"]},  # PostgreSQL: a generated column, computed again on restore
}
RECENT = {"name": "recent", "type": "view", "listRule": "", "viewQuery": "SELECT id, title FROM notes WHERE n < 5"}


async def _superuser(eng: Engine) -> None:
    await upsert_superuser(eng, SU_EMAIL, SU_PASS)


@asynccontextmanager
async def _target(tmp_path: Path) -> AsyncIterator[Settings]:
    """An empty install to restore into: a new data dir (and, on PostgreSQL, a new empty database)."""
    url = await create_pg_database() if PG_URL else ""
    try:
        yield Settings(data_dir=str(tmp_path / "restored"), db_url=url)
    finally:
        if url:
            await drop_pg_database(url)


@contextmanager
def _storage(kind: str) -> Iterator[dict[str, Any] | None]:
    """The ``s3`` settings of a new moto bucket, or None for the local disk."""
    if kind == "local":
        yield None
        return
    with running_moto() as endpoint:
        yield s3_settings(endpoint, make_bucket(endpoint))


def _minio(endpoint: str) -> Minio:
    return Minio(endpoint.split("://")[1], access_key="test", secret_key="test-secret", secure=False)


@pytest.mark.parametrize("storage", ["local", "s3"])
async def test_a_backup_taken_under_writes_restores_everything_acknowledged_before_it(
    tmp_path: Path, storage: str
) -> None:
    with _storage(storage) as s3:
        async with in_process(tmp_path / "source", prepare=_superuser) as (client, eng):
            su = {"Authorization": await sign_in(client)}
            if s3:
                r = await client.patch("/api/settings", headers=su, json={"s3": s3})
                assert r.status_code == 200, r.text
            for coll in (NOTES, RECENT):
                r = await client.post("/api/collections", headers=su, json=coll)
                assert r.status_code == 200, r.text

            async def write(i: int) -> dict[str, Any]:
                r = await client.post(
                    "/api/collections/notes/records",
                    data={"title": f"note {i}", "n": str(i), "done": str(i % 2 == 0).lower(), "meta": f'{{"i": {i}}}'},
                    files={"doc": (f"d{i}.txt", f"body of {i}".encode(), "text/plain")},
                )
                assert r.status_code == 200, r.text
                out: dict[str, Any] = r.json()
                return out

            before = [await write(i) for i in range(20)]  # acknowledged before the backup starts
            stop = asyncio.Event()

            async def load() -> int:
                i = 1000
                while not stop.is_set():
                    await write(i)
                    i += 1
                return i - 1000

            writers = [asyncio.create_task(load()) for _ in range(3)]
            await asyncio.sleep(0)  # the writers are under way when the backup starts
            info = await create_backup(eng, "under-load.zip")
            stop.set()
            during = sum(await asyncio.gather(*writers))
            assert during > 0, "no write ran while the backup was taken"
            assert [b.key for b in await list_backups(eng)] == ["under-load.zip"]
            archive = Path(eng.settings.data_dir) / "backups" / info.key
        if s3:  # the bucket is lost: the files must come back from the backup
            m = _minio(s3["endpoint"])
            for obj in list(m.list_objects(s3["bucket"], recursive=True)):
                m.remove_object(s3["bucket"], obj.object_name)

        async with _target(tmp_path) as target:
            done = await restore_backup(archive, target)
            assert done.files >= len(before)
            if not PG_URL:
                assert dump.sqlite_check(str(Path(target.data_dir) / "data.db")) == "ok"
            async with in_process(tmp_path, data_dir=Path(target.data_dir), db_url=target.database_url) as (c2, _):
                await sign_in(c2)  # the superuser and the install secret came back
                for rec in before:
                    r = await c2.get(f"/api/collections/notes/records/{rec['id']}")
                    assert r.status_code == 200, r.text
                    assert r.json() == rec
                    f = await c2.get(f"/api/files/notes/{rec['id']}/{rec['doc']}")
                    assert f.status_code == 200 and f.content == f"body of {rec['n']}".encode()
                view = await c2.get("/api/collections/recent/records", params={"perPage": 100})
                assert view.status_code == 200, view.text
                assert {i["title"] for i in view.json()["items"]} == {f"note {i}" for i in range(5)}
                found = await c2.get("/api/collections/notes/records", params={"search": "7", "perPage": 100})
                assert {i["title"] for i in found.json()["items"]} >= {"note 7"}, found.text
                # The event stream goes on after the restored events (PostgreSQL: sequences reset).
                r = await c2.post("/api/collections/notes/records", json={"title": "after"})
                assert r.status_code == 200, r.text


async def _a_backup(tmp_path: Path) -> Path:
    async with in_process(tmp_path / "source", prepare=_superuser) as (client, eng):
        r = await client.post("/api/collections", headers={"Authorization": await sign_in(client)}, json=NOTES)
        assert r.status_code == 200, r.text
        for i in range(50):
            r = await client.post("/api/collections/notes/records", json={"title": f"note {i}" * 20, "n": i})
            assert r.status_code == 200, r.text
        info = await create_backup(eng)
        return Path(eng.settings.data_dir) / "backups" / info.key


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flipped(path: Path) -> None:
    """One byte of the database member changed, the zip's own checks kept consistent (a CRC
    recomputed): only the manifest's checksums can tell."""
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    name = max((n for n in members if n.startswith("database/")), key=lambda n: len(members[n]))
    body = bytearray(members[name])
    body[len(body) // 2] ^= 0x55
    members[name] = bytes(body)
    with zipfile.ZipFile(path, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)


def _no_manifest(path: Path) -> None:
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist() if n != MANIFEST}
    with zipfile.ZipFile(path, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)


def _not_a_zip(path: Path) -> None:
    path.write_bytes(b"PK\x03\x04 this is not a backup")


BROKEN = [
    ("truncated", _truncated, "truncated"),
    ("a byte changed", _flipped, "checksum"),
    ("no manifest", _no_manifest, "not a baas backup"),
    ("not a zip", _not_a_zip, "not a baas backup"),
]


@pytest.mark.parametrize(("what", "damage", "says"), BROKEN, ids=[b[0] for b in BROKEN])
async def test_a_damaged_backup_is_refused_and_nothing_is_written(
    tmp_path: Path, what: str, damage: Any, says: str
) -> None:
    path = await _a_backup(tmp_path)
    damage(path)
    async with _target(tmp_path) as target:
        with pytest.raises(BackupError, match=says):
            await restore_backup(path, target)
        assert not (Path(target.data_dir) / "data.db").exists()
        if PG_URL:
            assert await dump.pg_tables(target.database_url) == []


async def test_restore_refuses_an_install_that_has_data(tmp_path: Path) -> None:
    path = await _a_backup(tmp_path)
    async with _target(tmp_path) as target:
        await restore_backup(path, target)
        with pytest.raises(BackupError, match="empty"):
            await restore_backup(path, target)


@pytest.mark.parametrize("name", ["../evil.zip", "no-suffix", ".hidden.zip", "a b.zip", "x" * 200 + ".zip"])
async def test_backup_names_are_checked(tmp_path: Path, name: str) -> None:
    async with in_process(tmp_path) as (_, eng):
        with pytest.raises(BackupError, match="invalid backup name"):
            await create_backup(eng, name)
        assert not (tmp_path / "backups").exists() or not any((tmp_path / "backups").iterdir())


async def test_the_cli_backs_up_a_running_server_and_restores_it(tmp_path: Path) -> None:
    (tmp_path / "live").mkdir()
    async with running_server(tmp_path / "live", superuser=(SU_EMAIL, SU_PASS)) as srv:
        with httpx.Client(base_url=srv.url, timeout=30) as http:
            token = http.post(
                "/api/collections/_superusers/auth-with-password", json={"identity": SU_EMAIL, "password": SU_PASS}
            ).json()["token"]
            assert http.post("/api/collections", headers={"Authorization": token}, json=NOTES).status_code == 200
            ids = [http.post("/api/collections/notes/records", json={"title": f"t{i}"}).json()["id"] for i in range(5)]
            made = srv.cli("backup", "create", "nightly.zip")
            assert "Backup nightly.zip saved" in made.stdout, made.stdout + made.stderr
            listed = srv.cli("backup", "list")
            assert listed.stdout.startswith("nightly.zip"), listed.stdout
            again = srv.cli("backup", "create", "nightly.zip", check=False)
            assert again.returncode == 1 and "already exists" in again.stderr
    archive = srv.data_dir / "backups" / "nightly.zip"
    async with _target(tmp_path) as target:
        # Into another install than srv's: its own data dir and database.
        args = ["--dir", target.data_dir, *(["--db", target.db_url] if target.db_url else [])]
        done = subprocess.run(baas_cmd("backup", "restore", str(archive), *args), capture_output=True, text=True)
        assert done.returncode == 0 and "Restored nightly.zip" in done.stdout, done.stdout + done.stderr
        refused = subprocess.run(baas_cmd("backup", "restore", str(archive), *args), capture_output=True, text=True)
        assert refused.returncode == 1 and "error:" in refused.stderr and "empty" in refused.stderr
        async with in_process(tmp_path, data_dir=Path(target.data_dir), db_url=target.database_url) as (c2, _):
            r = await c2.get("/api/collections/notes/records", params={"perPage": 50})
            assert sorted(i["id"] for i in r.json()["items"]) == sorted(ids)
