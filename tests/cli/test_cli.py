"""The ``baas`` command as a user runs it: real processes, a real schema file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.harness import PG_URL
from tests.servers import free_port

SCHEMA = """collections:
  - name: posts
    listRule: ""
    viewRule: ""
    createRule: ""
    fields:
      - {name: title, type: text, required: true, max: 200}
      - {name: views, type: number, onlyInt: true}
"""


def baas(*args: str, cwd: Path, db_url: str = "") -> subprocess.CompletedProcess:
    extra = ["--db", db_url] if db_url and args[0] in ("schema", "superuser") and args[1] != "jsonschema" else []
    env = {**os.environ, "BAAS_FAST_HASH": "1"}
    return subprocess.run(
        [sys.executable, "-m", "baas.cli.main", *args, *extra],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


@pytest.fixture
def pg_or_sqlite(db_url) -> str:
    """A database URL for the CLI: a fresh PostgreSQL database, or '' for SQLite in --dir."""
    return db_url if PG_URL else ""


def test_schema_file_errors_name_file_and_line(tmp_path: Path, pg_or_sqlite: str) -> None:
    (tmp_path / "bad.yaml").write_text(SCHEMA.replace("onlyInt: true", "onlyInt: maybe"))
    r = baas("schema", "plan", "bad.yaml", cwd=tmp_path, db_url=pg_or_sqlite)
    assert r.returncode == 1
    assert "bad.yaml:8" in r.stderr and "onlyInt" in r.stderr, r.stderr
    (tmp_path / "broken.yaml").write_text("collections:\n  - name: posts\n    fields: [\n")
    r = baas("schema", "apply", "broken.yaml", cwd=tmp_path, db_url=pg_or_sqlite)
    assert r.returncode == 1 and "broken.yaml:" in r.stderr and "invalid YAML" in r.stderr, r.stderr
    (tmp_path / "rel.yaml").write_text(SCHEMA + "      - {name: author, type: relation, collection: nowhere}\n")
    r = baas("schema", "apply", "rel.yaml", cwd=tmp_path, db_url=pg_or_sqlite)
    assert r.returncode == 1 and "rel.yaml:2:" in r.stderr and "collectionId" in r.stderr and "nowhere" in r.stderr, (
        r.stderr
    )
    r = baas("schema", "apply", "missing.yaml", cwd=tmp_path, db_url=pg_or_sqlite)
    assert r.returncode == 1 and "missing.yaml" in r.stderr


def test_plan_apply_export_roundtrip(tmp_path: Path, pg_or_sqlite: str) -> None:
    (tmp_path / "baas.yaml").write_text(SCHEMA)
    r = baas("schema", "plan", "baas.yaml", cwd=tmp_path, db_url=pg_or_sqlite)
    assert r.returncode == 0 and "+ posts: create" in r.stdout, r.stdout + r.stderr
    r = baas("schema", "apply", "baas.yaml", cwd=tmp_path, db_url=pg_or_sqlite)
    assert r.returncode == 0 and "Applied." in r.stdout, r.stderr
    r = baas("schema", "export", "-o", "exported.yaml", cwd=tmp_path, db_url=pg_or_sqlite)
    assert r.returncode == 0, r.stderr
    r = baas("schema", "plan", "exported.yaml", cwd=tmp_path, db_url=pg_or_sqlite)
    assert r.returncode == 0 and "No changes." in r.stdout, r.stdout + r.stderr


def test_jsonschema_is_valid_json(tmp_path: Path) -> None:
    r = baas("schema", "jsonschema", cwd=tmp_path)
    doc = json.loads(r.stdout)
    assert "collections" in json.dumps(doc) and "relation" in json.dumps(doc)


def test_serve_with_schema_answers_crud(tmp_path: Path, pg_or_sqlite: str) -> None:
    """The README's first minute: declare a collection, serve, create and list over HTTP."""
    (tmp_path / "baas.yaml").write_text(SCHEMA)
    port = free_port()
    cmd = [sys.executable, "-m", "baas.cli.main", "serve", "--http", f"127.0.0.1:{port}", "--schema", "baas.yaml"]
    if pg_or_sqlite:
        cmd += ["--db", pg_or_sqlite]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(base + "/api/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        r = httpx.post(base + "/api/collections/posts/records", json={"title": "Hello", "views": 3})
        assert r.status_code == 200, r.text
        r = httpx.get(base + "/api/collections/posts/records", params={"filter": "views>1", "sort": "-created"})
        assert [i["title"] for i in r.json()["items"]] == ["Hello"]
        r = httpx.post(base + "/api/collections/posts/records", content=b"{not json")
        assert r.status_code == 400
        assert httpx.get(base + "/api/health").status_code == 200
        assert (tmp_path / "baas_data").is_dir()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_refuses_a_destructive_schema(tmp_path: Path, pg_or_sqlite: str) -> None:
    (tmp_path / "baas.yaml").write_text(SCHEMA)
    assert baas("schema", "apply", "baas.yaml", cwd=tmp_path, db_url=pg_or_sqlite).returncode == 0
    import asyncio

    from baas.core import Engine
    from baas.records.write import create_record
    from baas.settings import Settings

    async def seed() -> None:
        eng = Engine(Settings(data_dir=str(tmp_path / "baas_data"), db_url=pg_or_sqlite))
        await eng.start()
        coll = eng.registry.get("posts")
        await eng.db.write(lambda c: create_record(c, eng.reader(), coll, {"title": "keep me"}))
        await eng.stop()

    asyncio.run(seed())
    (tmp_path / "smaller.yaml").write_text(
        SCHEMA.replace("      - {name: title, type: text, required: true, max: 200}\n", "")
    )
    cmd = [
        sys.executable,
        "-m",
        "baas.cli.main",
        "serve",
        "--http",
        f"127.0.0.1:{free_port()}",
        "--schema",
        "smaller.yaml",
    ]
    if pg_or_sqlite:
        cmd += ["--db", pg_or_sqlite]
    r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "lose data" in r.stderr and "--accept-data-loss" in r.stderr, r.stderr


def _serve(tmp_path: Path, port: int, db_url: str, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "baas.cli.main", "serve", "--http", f"127.0.0.1:{port}", *extra]
    if db_url:
        cmd += ["--db", db_url]
    proc = subprocess.Popen(
        cmd,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "BAAS_FAST_HASH": "1"},
    )
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.terminate()
    raise RuntimeError("server did not start")


def test_two_servers_share_one_database(tmp_path: Path, pg_or_sqlite: str) -> None:
    """Two processes on one database (SQLite file in WAL, or PostgreSQL): a collection created
    through one is served by the other, and writes from both are seen by both. On PostgreSQL they
    are two nodes, each with a data dir of its own and no BAAS_SECRET: a token one signed is good
    on the other (they share the install secret through the database)."""
    assert (
        baas("superuser", "upsert", "root@example.com", "root-password-1", cwd=tmp_path, db_url=pg_or_sqlite).returncode
        == 0
    )
    p1, p2 = free_port(), free_port()
    a = _serve(tmp_path, p1, pg_or_sqlite)
    b = _serve(tmp_path, p2, pg_or_sqlite, *(["--dir", str(tmp_path / "node-b")] if pg_or_sqlite else []))
    try:
        tok = httpx.post(
            f"http://127.0.0.1:{p1}/api/collections/_superusers/auth-with-password",
            json={"identity": "root@example.com", "password": "root-password-1"},
        ).json()["token"]
        r = httpx.post(
            f"http://127.0.0.1:{p2}/api/collections",
            headers={"Authorization": tok},
            json={"name": "shared", "listRule": "", "createRule": "", "fields": [{"name": "n", "type": "number"}]},
        )
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 10
        while httpx.get(f"http://127.0.0.1:{p2}/api/collections/shared/records").status_code == 404:
            assert time.monotonic() < deadline, "the second server never saw the new collection"
            time.sleep(0.1)
        for i in range(10):
            port = (p1, p2)[i % 2]
            r = httpx.post(f"http://127.0.0.1:{port}/api/collections/shared/records", json={"n": i})
            assert r.status_code == 200, r.text
        for port in (p1, p2):
            body = httpx.get(f"http://127.0.0.1:{port}/api/collections/shared/records?perPage=100").json()
            assert sorted(i["n"] for i in body["items"]) == list(range(10))
    finally:
        for proc in (a, b):
            proc.terminate()
            proc.wait(timeout=10)


def test_the_webhooks_consumer_name_is_reserved(tmp_path: Path) -> None:
    # Reading or dropping it from the CLI would move the webhook fan-out's position (docs/webhooks.md).
    for args in (("events", "tail", "--consumer", "webhooks"), ("events", "consumers", "--drop", "webhooks")):
        r = baas(*args, "--dir", str(tmp_path / "data"), cwd=tmp_path)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "reserved for outgoing webhooks" in r.stderr or "can't be dropped" in r.stderr


def test_schema_apply_builds_a_search_index_over_the_rows_with_progress(tmp_path: Path, pg_or_sqlite: str) -> None:
    """Search turned on for a collection that holds rows: every row indexed (in chunks on SQLite,
    with a progress line per step when stderr is not a terminal)."""
    import sqlite3

    import asyncpg

    (tmp_path / "baas.yaml").write_text(SCHEMA)
    assert baas("schema", "apply", "baas.yaml", cwd=tmp_path, db_url=pg_or_sqlite).returncode == 0
    rows = [(f"r{i:014d}", f"title {i} {'plover' if i % 1000 == 7 else 'x'}", i) for i in range(45_000)]
    if pg_or_sqlite:

        async def insert() -> None:
            conn = await asyncpg.connect(pg_or_sqlite)
            try:
                await conn.executemany('INSERT INTO "posts" ("id", "title", "views") VALUES ($1, $2, $3)', rows)
            finally:
                await conn.close()

        import asyncio

        asyncio.run(insert())
    else:
        with sqlite3.connect(tmp_path / "baas_data" / "data.db") as conn:
            conn.executemany('INSERT INTO "posts" ("id", "title", "views") VALUES (?, ?, ?)', rows)
            conn.execute('DELETE FROM "posts" WHERE "views" % 3 = 0')  # gaps in the rowids
    (tmp_path / "search.yaml").write_text(SCHEMA + "    search: {fields: [title]}\n")
    r = baas("schema", "apply", "search.yaml", cwd=tmp_path, db_url=pg_or_sqlite)
    assert r.returncode == 0 and "Applied." in r.stdout, r.stdout + r.stderr
    if not pg_or_sqlite:
        assert "search index of posts" in r.stderr, r.stderr
        with sqlite3.connect(tmp_path / "baas_data" / "data.db") as conn:
            coll_id = conn.execute("SELECT id FROM _collections WHERE name = 'posts'").fetchone()[0]
            assert conn.execute(f'SELECT count(*) FROM "_fts_{coll_id}"').fetchone()[0] == 30_000
            hits = conn.execute(f'SELECT count(*) FROM "_fts_{coll_id}" WHERE "_fts_{coll_id}" MATCH \'plover\'')
            assert hits.fetchone()[0] == len([i for i in range(45_000) if i % 1000 == 7 and i % 3])
