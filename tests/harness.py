"""The one test harness: every test package takes its helpers from here, never from another conftest.

    PG_URL, BACKEND                      # the backend under test (BAAS_TEST_POSTGRES_URL set: PostgreSQL)
    async with fresh_db_url(tmp_path) as url: ...      # a new, empty database of this test's own
    async with fresh_db_url(tmp_path, template="api") as url: ...   # a new copy of a template (TEMPLATES)
    async with in_process(tmp_path) as (client, eng):  # the real app over httpx's ASGI transport

The fixtures built on these live in the conftests (``api`` and ``database`` in tests/conftest.py,
``http``/``console``/``ctx`` in their packages); the shapes tests hold (`Api`, `Http`, `Running`,
`Console`, `Ctx`) are all an httpx client plus the started `Engine` behind it.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import textwrap
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from minio import Minio
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from baas import files
from baas.app import create_app
from baas.auth.superusers import upsert_superuser
from baas.core import Engine
from baas.db.tables import q
from baas.events import Event
from baas.files.storage import file_key, iter_bytes
from baas.jobs import store as job_store
from baas.records.write import create_record, delete_record, update_record
from baas.schema.ddl import create_table_sql, versions_table_sql
from baas.schema.loader import load_schema_text
from baas.settings import Settings
from tests.events.procs import Data, kill, superuser_token
from tests.pgpool import (  # owned there, taken from here
    PG_URL,
    PREPARED,
    copy_template,
    create_pg_database,
    define_template,
    drop_pg_database,
)
from tests.rules.dataset import COLLECTIONS, ROWS, record

os.environ["BAAS_FAST_HASH"] = "1"  # in-process apps and the servers they start hash passwords cheaply

# -- databases ----------------------------------------------------------------------------------
BACKEND = "postgresql" if PG_URL else "sqlite"


# Templates: databases set up once per test process and copied for each test that asks (a new copy
# each time: nothing written by one test is seen by another). A copy holds exactly what the same set-up
# would have left in a new database, so a test on it runs as it would on one set up for it alone; only
# the set-up's cost (a migration is most of a second, an engine start more) is paid once.
# PostgreSQL copies with CREATE DATABASE … TEMPLATE (tests/pgpool.py); SQLite copies the file.
async def _prepare_api(url: str) -> None:
    """The ``api`` fixture's database (tests/conftest.py): a real engine's first start (migration,
    the default collections), the superuser ``SU`` and API_SCHEMA applied through `Engine.apply`."""
    data_dir = tempfile.mkdtemp(prefix="baas-template-")  # the set-up engine's own; a test's engine makes its own
    try:
        setup = Engine(Settings(data_dir=data_dir, db_url=url))
        await setup.start()
        try:
            await upsert_superuser(setup, SU_EMAIL, SU_PASS)
            await setup.apply(load_schema_text(API_SCHEMA).collections + [c for c in setup.registry.all()])
        finally:
            await setup.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


define_template("api", _prepare_api)


@asynccontextmanager
async def fresh_db_url(
    tmp_path: Path, sqlite_file: str = "data.db", migrated: bool = False, template: str = ""
) -> AsyncIterator[str]:
    """A new database on the backend under test: its own PostgreSQL database (dropped after), or
    ``tmp_path / sqlite_file``. Empty; ``migrated``: a copy of one with the system tables at head, for
    tests that start an engine on it anyway; ``template``: a copy of that template (TEMPLATES)."""
    kind = template or (PREPARED if migrated else "")
    if not PG_URL:
        path = tmp_path / sqlite_file
        if kind and not path.exists():  # an existing file is this test's database "from before": kept, as ever
            await copy_template(kind, path)
        yield f"sqlite:///{path}"
        return
    url = await copy_template(kind) if kind else await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


async def eventually(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Wait until ``condition()`` holds (polled); fail naming ``what`` if it has not after ``timeout``
    seconds — a bound against hanging on a busy machine, not a timing assertion."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"gave up after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.02)


# -- the app in-process -------------------------------------------------------------------------
SU_EMAIL, SU_PASS = "root@example.com", "root-password-1"
SU = (SU_EMAIL, SU_PASS)

# The ``api`` fixture's schema (tests/conftest.py).
API_SCHEMA = """
collections:
  - name: posts
    listRule: "published = true || author = @request.auth.id"
    viewRule: "published = true || author = @request.auth.id"
    createRule: "@request.auth.id != '' && author = @request.auth.id"
    updateRule: "author = @request.auth.id"
    deleteRule: "author = @request.auth.id"
    fields:
      - {name: title, type: text, required: true, max: 100}
      - {name: slug, type: text, pattern: "^[a-z0-9-]+$"}
      - {name: body, type: editor}
      - {name: views, type: number, min: 0, max: 1000000, onlyInt: true}
      - {name: score, type: number}
      - {name: published, type: bool}
      - {name: tags, type: select, values: [a, b, c, d], maxSelect: 3}
      - {name: kind, type: select, values: [news, blog]}
      - {name: author, type: relation, collection: users}
      - {name: contact, type: email, onlyDomains: [example.com]}
      - {name: link, type: url}
      - {name: due, type: date, min: "2000-01-01 00:00:00.000Z"}
      - {name: meta, type: json, maxSize: 200}
    indexes:
      - {columns: [slug], unique: true, where: "slug != ''"}
  - name: comments
    listRule: ""
    viewRule: ""
    createRule: ""
    updateRule: ""
    deleteRule: ""
    fields:
      - {name: post, type: relation, collection: posts, cascadeDelete: true}
      - {name: message, type: text}
  - name: notes
    listRule: ""
    viewRule: ""
    createRule: ""
    deleteRule: ""
    fields:
      - {name: post, type: relation, collection: posts, required: true}
      - {name: text, type: text}
  - name: vault
    fields:
      - {name: secret, type: text}
"""


@asynccontextmanager
async def in_process(
    tmp_path: Path,
    *,
    data_dir: Path | None = None,
    db_url: str = "",
    schema_file: str = "",
    prepare: Callable[[Engine], Awaitable[None]] | None = None,
    template: str = PREPARED,
) -> AsyncIterator[tuple[httpx.AsyncClient, Engine]]:
    """The real app (as ``baas serve`` builds it, plugins included) on a started engine, reached through
    httpx's ASGI transport. ``db_url`` defaults to a fresh database (`fresh_db_url`, a copy of
    ``template``: by default one migrated to head); ``prepare`` runs on an engine of its own, stopped
    before the app's engine starts (a schema loaded "from before")."""
    async with fresh_db_url(tmp_path, template=template) if not db_url else _given(db_url) as url:
        settings = Settings(data_dir=str(data_dir or tmp_path), db_url=url, schema_file=schema_file)
        if prepare is not None:
            setup = Engine(settings)
            await setup.start()
            try:
                await prepare(setup)
            finally:
                await setup.stop()
        eng = Engine(settings)
        app = create_app(settings, eng)
        # Start the engine by hand: ASGITransport sends no lifespan events, and anyio's lifespan task
        # group cannot span a fixture's setup and teardown.
        await eng.start()
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
                yield c, eng
        finally:
            await eng.stop()


@asynccontextmanager
async def _given(url: str) -> AsyncIterator[str]:
    yield url


async def sign_in(
    client: httpx.AsyncClient, identity: str = SU_EMAIL, password: str = SU_PASS, collection: str = "_superusers"
) -> str:
    """A token for ``identity`` (asserting the sign-in succeeds)."""
    r = await client.post(
        f"/api/collections/{collection}/auth-with-password", json={"identity": identity, "password": password}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


@dataclass
class Api:
    """An httpx client on the app plus tokens for a superuser and two users (the ``api`` fixture)."""

    client: httpx.AsyncClient
    engine: Engine
    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str | None) -> dict[str, str]:
        return {"Authorization": self.tokens[who]} if who else {}

    async def call(self, method: str, url: str, who: str | None = None, **kw: Any) -> httpx.Response:
        return await self.client.request(method, url, headers={**self.headers(who), **kw.pop("headers", {})}, **kw)

    async def count(self, collection: str) -> int:
        r = await self.call("GET", f"/api/collections/{collection}/records?perPage=1", "su")
        assert r.status_code == 200, r.text
        return int(r.json()["totalItems"])


async def add_users(a: Api, *names: str, confirm: bool = False) -> None:
    """Users ``<name>@example.com`` (password ``password-123``) with their ids and tokens in ``a``."""
    for name in names:
        body = {"email": f"{name}@example.com", "password": "password-123", "name": name.title()}
        if confirm:
            body = {"email": body["email"], "password": body["password"], "passwordConfirm": body["password"]}
        r = await a.call("POST", "/api/collections/users/records", "su", json=body)
        assert r.status_code == 200, r.text
        a.users[name] = r.json()["id"]
        a.tokens[name] = await sign_in(a.client, f"{name}@example.com", "password-123", "users")


class Http:
    """An httpx client on the app, signed in as a superuser (``su=True``) or not."""

    def __init__(self, client: httpx.AsyncClient, engine: Engine, token: str) -> None:
        self.client, self.engine, self.token = client, engine, token

    async def call(self, method: str, url: str, su: bool = False, **kw: Any) -> httpx.Response:
        headers = {"Authorization": self.token} if su else {}
        return await self.client.request(method, url, headers=headers, **kw)


@dataclass
class Running:
    client: httpx.AsyncClient
    engine: Engine
    su: str  # a superuser token


@asynccontextmanager
async def app_for(tmp_path: Path, project_file: str = "") -> AsyncIterator[Running]:
    """The real app (plugins loaded as ``baas serve`` loads them) on a fresh database, in-process."""
    async with in_process(tmp_path, data_dir=tmp_path / "data", schema_file=project_file) as (client, eng):
        await upsert_superuser(eng, SU_EMAIL, SU_PASS)
        yield Running(client, eng, await sign_in(client))


async def user_token(run: Running, email: str = "ann@example.com", password: str = "password-123") -> tuple[str, str]:
    """Sign up a user in ``users`` through the API (no token: the public create rule) and sign it in:
    (token, record id)."""
    r = await run.client.post(
        "/api/collections/users/records", json={"email": email, "password": password, "passwordConfirm": password}
    )
    assert r.status_code == 200, r.text
    r = await run.client.post(
        "/api/collections/users/auth-with-password", json={"identity": email, "password": password}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["token"]), str(r.json()["record"]["id"])


@dataclass
class Console:
    client: httpx.AsyncClient
    engine: Engine

    async def sign_in(self, email: str = SU[0], password: str = SU[1], collection: str = "_superusers") -> str:
        return await sign_in(self.client, email, password, collection)

    async def superusers(self) -> int:
        return int(await self.engine.db.fetchval('SELECT COUNT(*) FROM "_superusers"'))

    async def call(self, method: str, url: str, token: str = "", **kw: Any) -> httpx.Response:
        return await self.client.request(method, url, headers={"Authorization": token} if token else {}, **kw)


def unique(prefix: str) -> str:
    """A module name no other test uses (modules stay imported for the whole test process)."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def install_dist(site: Path, module: str, source: str, ep_name: str, value: str | None = None) -> None:
    """An installed distribution in ``site``, laid out as pip installs one (module + ``.dist-info``
    with ``entry_points.txt``): put ``site`` on ``sys.path``/``PYTHONPATH`` and importlib finds it."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[baas.plugins]\n{ep_name} = {value or module}\n")


# -- files ----------------------------------------------------------------------------------------
def png(size: tuple[int, int] = (300, 200), color: tuple[int, int, int] = (200, 10, 10)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def s3_settings(endpoint: str, bucket: str) -> dict[str, Any]:
    """PocketBase's ``s3`` settings section for a moto bucket."""
    return {
        "enabled": True,
        "bucket": bucket,
        "region": "us-east-1",
        "endpoint": endpoint,
        "accessKey": "test",
        "secret": "test-secret",
        "forcePathStyle": True,
    }


def make_bucket(endpoint: str) -> str:
    bucket = "t-" + secrets.token_hex(6)
    Minio(
        endpoint.split("://", 1)[1], access_key="test", secret_key="test-secret", secure=False, region="us-east-1"
    ).make_bucket(bucket)
    return bucket


@dataclass
class Ctx:
    """The file tests' app: a client, the engine, tokens and ids of a superuser and two users."""

    client: httpx.AsyncClient
    eng: Engine
    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)

    def h(self, who: str | None) -> dict[str, str]:
        return {"Authorization": self.tokens[who]} if who else {}

    async def record(self, coll: str, who: str = "su", **values: Any) -> str:
        r = await self.client.post(f"/api/collections/{coll}/records", json=values, headers=self.h(who))
        assert r.status_code == 200, r.text
        return str(r.json()["id"])

    async def attach(self, coll: str, rec_id: str, fname: str, blobs: dict[str, bytes]) -> None:
        """Store the blobs and set the file field to their names (a list for multi fields)."""
        c = self.eng.registry.get(coll)
        st = await files.storage_for(self.eng)
        for name, data in blobs.items():
            await st.put(file_key(c.id, rec_id, name), iter_bytes(data))
        f = c.field(fname)
        value = f.prepare(list(blobs))
        stored = f.to_db(value, self.eng.db.dialect)

        async def run(conn: Any) -> None:
            await conn.execute(f"UPDATE {q(coll)} SET {q(fname)} = ? WHERE {q('id')} = ?", [stored, rec_id])

        await self.eng.db.write(run)

    async def get(self, url: str, who: str | None = None, **kw: Any) -> httpx.Response:
        return await self.client.get(url, headers={**self.h(who), **kw.pop("headers", {})}, **kw)


# -- the event stream -----------------------------------------------------------------------------
async def start_engine(tmp_path: Path, db_url: str, name: str = "eng") -> Engine:
    eng = Engine(Settings(data_dir=str(tmp_path / name), db_url=db_url))
    await eng.start()
    return eng


async def create(eng: Engine, body: dict[str, Any], coll: str = "notes") -> str:
    c = eng.registry.get(coll)
    return str(await eng.db.write(lambda conn: create_record(conn, eng.reader(), c, body)))


async def update(eng: Engine, record_id: str, body: dict[str, Any], coll: str = "notes") -> None:
    c = eng.registry.get(coll)
    await eng.db.write(lambda conn: update_record(conn, eng.reader(), c, record_id, body))


async def delete(eng: Engine, record_id: str, coll: str = "notes") -> None:
    c = eng.registry.get(coll)
    await eng.db.write(lambda conn: delete_record(conn, eng.reader(), c, record_id))


class Collector:
    """A bus listener that keeps what it got."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.batches = 0
        self._changed = asyncio.Event()

    def __call__(self, events: list[Event]) -> None:
        self.batches += 1
        self.events.extend(events)
        self._changed.set()

    async def wait_for(self, pred: Callable[[list[Event]], bool], timeout: float = 30.0) -> list[Event]:
        async with asyncio.timeout(timeout):
            while not pred(self.events):
                self._changed.clear()
                await self._changed.wait()
        return self.events

    async def wait_count(self, n: int, timeout: float = 30.0) -> list[Event]:
        return await self.wait_for(lambda evs: len(evs) >= n, timeout)


async def all_events(eng: Engine) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = await eng.db.fetch(
        'SELECT "id", "collection", "record_id", "action" FROM "_events" ORDER BY "id"'
    )
    return rows


# -- realtime: SSE clients on the ASGI app --------------------------------------------------------
# How long a wait for an event may take before the test gives up: a bound against hanging, never a
# timing assertion, so generous enough for a loaded machine (parallel workers, other jobs).
GIVE_UP = 30.0


class SSE:
    """One ``GET /api/realtime`` on the app (httpx's ASGITransport buffers whole responses, so it
    cannot read an SSE stream: the ASGI app is driven directly). Parsed events arrive on ``events``."""

    def __init__(self, app: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.app = app
        self.events: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self.client_id = ""
        self.ended = asyncio.Event()
        self._gone = asyncio.Event()
        self._buf = b""
        self._sent_request = False
        self.status = 0
        self.headers: dict[bytes, bytes] = {}
        self._headers = headers or []
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> SSE:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/api/realtime",
            "raw_path": b"/api/realtime",
            "query_string": b"",
            "headers": [(b"host", b"testserver"), *self._headers],
            "client": ("127.0.0.1", 5000),
            "server": ("testserver", 80),
            "root_path": "",
        }
        self.task = asyncio.create_task(self._run(scope))
        first = await self.next()
        assert first["event"] == "PB_CONNECT", first
        self.client_id = json.loads(first["data"])["clientId"]
        assert first["id"] == self.client_id
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        self._gone.set()
        if self.task is not None:
            try:
                await asyncio.wait_for(self.task, GIVE_UP)
            except TimeoutError:
                self.task.cancel()

    async def _run(self, scope: dict[str, Any]) -> None:
        try:
            await self.app(scope, self._receive, self._send)
        finally:
            self.ended.set()

    async def _receive(self) -> dict[str, Any]:
        if not self._sent_request:
            self._sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = dict(message["headers"])
            return
        self._buf += message.get("body", b"")
        while b"\n\n" in self._buf:
            raw, self._buf = self._buf.split(b"\n\n", 1)
            event: dict[str, str] = {}
            for line in raw.decode().split("\n"):
                key, _, value = line.partition(":")
                event[key] = value
            self.events.put_nowait(event)

    async def next(self, timeout: float = GIVE_UP) -> dict[str, str]:
        return await asyncio.wait_for(self.events.get(), timeout)

    async def message(self, timeout: float = GIVE_UP) -> tuple[str, dict[str, Any]]:
        """(topic, {"action", "record"}) of the next message."""
        event = await self.next(timeout)
        return event["event"], json.loads(event["data"])

    async def nothing(self, wait: float = 0.4) -> None:
        """Assert that no message arrives within ``wait`` seconds (after the bus had time to deliver)."""
        try:
            event = await asyncio.wait_for(self.events.get(), wait)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected message: {event}")


def app_of(api: Api) -> Any:
    return api.client._transport.app  # type: ignore[attr-defined]  # httpx's ASGITransport keeps the app


async def subscribe(api: Api, sse: SSE, topics: list[str], who: str | None = None, token: str | None = None) -> Any:
    headers = {"Authorization": token} if token else api.headers(who)
    return await api.client.post(
        "/api/realtime", json={"clientId": sse.client_id, "subscriptions": topics}, headers=headers
    )


# -- crash tests: a restartable server on one data dir --------------------------------------------
class Node:
    """A data dir plus the one ``baas serve`` running on it (restartable after a kill)."""

    def __init__(self, data: Data) -> None:
        self.data = data
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.starts = 0

    def start(self) -> str:
        self.starts += 1
        self.proc, self.url = self.data.serve(f"serve{self.starts}", "--workers", "1")
        return self.url

    def sigkill(self) -> None:
        """SIGKILL the server and its workers, and wait until they are gone."""
        assert self.proc is not None
        kill(self.proc, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def token(self) -> str:
        return superuser_token(self.url)

    def integrity(self) -> None:
        """``PRAGMA integrity_check`` on the SQLite file (PostgreSQL: nothing to check here)."""
        if self.data.db_args:
            return
        conn = sqlite3.connect(self.data.dir / "data.db")
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        finally:
            conn.close()


def create_collection(url: str, token: str, name: str, fields: list[dict[str, Any]]) -> dict[str, Any]:
    r = httpx.post(
        f"{url}/api/collections",
        headers={"Authorization": token},
        timeout=60,
        json={
            "name": name,
            "listRule": "",
            "viewRule": "",
            "createRule": "",
            "updateRule": "",
            "deleteRule": "",
            "fields": fields,
        },
    )
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def all_records(url: str, coll: str, token: str = "") -> list[dict[str, Any]]:
    """Every record of ``coll`` (paged through)."""
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        r = httpx.get(
            f"{url}/api/collections/{coll}/records",
            params={"page": page, "perPage": 1000},
            headers={"Authorization": token} if token else {},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        out += r.json()["items"]
        if page >= r.json()["totalPages"]:
            return out
        page += 1


# -- rule tests: the dataset (tests/rules/dataset.py) in a database -------------------------------
async def seed(database: Any) -> None:
    """Create the dataset's tables and insert its rows with plain SQL."""
    dialect = database.dialect

    async def run(conn: Any) -> None:
        for stmt in versions_table_sql(dialect):  # the tables' triggers count writes there (a bare database)
            await conn.execute(stmt)
        for coll in COLLECTIONS:
            for stmt in create_table_sql(coll, dialect):
                await conn.execute(stmt)
            for row in ROWS[coll.name]:
                rec = record(coll, row)
                cols = ["id"] + [f.name for f in coll.fields if f.name in rec]
                values = [rec["id"]] + [coll.field(c).to_db(coll.field(c).prepare(rec[c]), dialect) for c in cols[1:]]
                marks = ", ".join("?" for _ in cols)
                names = ", ".join(f'"{c}"' for c in cols)
                await conn.execute(f'INSERT INTO "{coll.name}" ({names}) VALUES ({marks})', values)

    await database.write(run)


async def db_indexes(eng: Engine, table: str) -> set[str]:
    """Names of the indexes on ``table`` as the database lists them."""
    if eng.db.dialect == "postgresql":
        rows = await eng.db.fetch("SELECT indexname FROM pg_indexes WHERE tablename = ?", [table])
    else:
        rows = await eng.db.fetch(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", [table]
        )
    return {r[0] for r in rows}


async def wait_runs(run: Any, job: str, n: int, *, done: bool = True, tries: int = 300) -> list[dict[str, Any]]:
    """The job's runs once at least ``n`` exist (finished, if ``done``) in `run.engine`; polled a bounded number of times."""
    for _ in range(tries):
        runs = await job_store.history(run.engine.db, job, 1000)
        if len([r for r in runs if not done or r["status"] not in job_store.ACTIVE]) >= n:
            return runs
        await asyncio.sleep(0.1)
    raise AssertionError(f"fewer than {n} runs of {job}: {await job_store.history(run.engine.db, job, 1000)}")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and labels (the process id label left out)."""
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "pid"))
            out[(s.name, labels)] = out.get((s.name, labels), 0) + s.value
    return out
