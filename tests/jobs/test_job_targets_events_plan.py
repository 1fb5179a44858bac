"""Jobs with an HTTP-request target (against a real local receiver; a private target refused
unless allowed), ``job.*`` events on the durable stream for every finished run (abandoned ones
included), and ``baas schema plan`` showing job changes — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from baas.errors import SchemaError
from baas.ids import format_dt, new_id
from baas.jobs import store
from baas.schema.loader import load_schema_text
from tests.harness import app_for, unique


class Receiver:
    """A real HTTP server on 127.0.0.1 that records each request and answers ``self.status``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.away = ""  # where /away redirects to (another receiver: another origin)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                size = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(size) if size else b""
                outer.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    }
                )
                if self.path in ("/redirect", "/away"):
                    self.send_response(307)
                    self.send_header("location", outer.away if self.path == "/away" else "/hook")
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                data = json.dumps({"got": len(outer.requests)}).encode()
                self.send_response(outer.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


FUNCTIONS = """
from baas.functions import function


@function()
async def ok(ctx):
    return {"fine": True}


@function()
async def bad(ctx):
    raise RuntimeError("it broke: " + "x" * 2000)
"""

JOBS = """
functions: {pkg}
jobs:
  - name: ping
    schedule: "0 0 1 1 *"
    http:
      url: {url}/hook?x=1
      method: PUT
      headers: {{X-Token: abc}}
      body: {{ping: 1}}
      allowPrivate: true
  - name: via-redirect
    schedule: "0 0 1 1 *"
    http: {{url: "{url}/redirect", allowPrivate: true}}
  - name: cross-origin
    schedule: "0 0 1 1 *"
    http: {{url: "{url}/away", headers: {{Authorization: Bearer s3cr3t}}, allowPrivate: true}}
  - name: refused
    schedule: "0 0 1 1 *"
    http: {{url: "{url}/hook"}}
  - name: failing-http
    schedule: "0 0 1 1 *"
    retries: 1
    backoff: 0
    http: {{url: "{url}/hook", method: GET, allowPrivate: true}}
  - name: ok
    schedule: "0 0 1 1 *"
    function: ok
  - name: bad
    schedule: "0 0 1 1 *"
    function: bad
"""


def project(tmp_path: Path, url: str) -> str:
    pkg = unique("jobtargets")
    root = tmp_path / "proj"
    (root / pkg).mkdir(parents=True)
    (root / pkg / "__init__.py").write_text(FUNCTIONS)
    (root / "baas.yaml").write_text(JOBS.format(pkg=pkg, url=url))
    return str(root / "baas.yaml")


async def job_events(eng: Any) -> list[tuple[str, str, dict[str, Any]]]:
    rows = await eng.db.fetch(
        'SELECT "action", "record_id", "record" FROM "_events" WHERE "action" LIKE \'job.%\' ORDER BY "id"'
    )
    return [(r[0], r[1], json.loads(r[2])) for r in rows]


async def test_http_targets(tmp_path, receiver: Receiver, monkeypatch):
    monkeypatch.delenv("BAAS_WEBHOOKS_ALLOW_PRIVATE", raising=False)
    async with app_for(tmp_path, project(tmp_path, receiver.url)) as run:
        jobs = run.engine.jobs
        done = await jobs.run_now("ping", wait=True)
        assert done["status"] == "success", done
        req = receiver.requests[-1]
        assert req["method"] == "PUT" and req["path"] == "/hook?x=1"
        assert req["headers"]["x-token"] == "abc" and json.loads(req["body"]) == {"ping": 1}
        assert req["headers"]["content-type"] == "application/json"
        assert json.loads(done["output"]) == {"status": 200, "body": '{"got": 1}'}

        done = await jobs.run_now("via-redirect", wait=True)
        assert done["status"] == "success" and [r["path"] for r in receiver.requests[-2:]] == ["/redirect", "/hook"]

        seen = len(receiver.requests)
        done = await jobs.run_now("refused", wait=True)
        assert done["status"] == "failed" and "loopback" in done["error"] and "allowPrivate" in done["error"]
        assert len(receiver.requests) == seen  # nothing was sent

        receiver.status = 503
        done = await jobs.run_now("failing-http", wait=True)
        assert done["status"] == "failed" and "HTTP 503" in done["error"] and done["attempt"] == 2
        assert len(receiver.requests) == seen + 2  # the retry went out too

        # The crons API shows the target.
        listed = (await run.client.get("/api/crons", headers={"Authorization": run.su})).json()
        target = {j["id"]: j["target"] for j in listed}
        assert target["ping"] == f"http:PUT {receiver.url}/hook?x=1"


async def test_a_redirect_to_another_origin_is_refused(tmp_path, receiver: Receiver):
    with Receiver() as other:
        receiver.away = other.url + "/hook"
        async with app_for(tmp_path, project(tmp_path, receiver.url)) as run:
            done = await run.engine.jobs.run_now("cross-origin", wait=True)
        assert done["status"] == "failed", done
        assert f"redirect to another origin refused: {other.url}" in done["error"]
        assert [r["path"] for r in receiver.requests] == ["/away"] and other.requests == []


async def test_server_wide_allowance_lets_a_private_target_through(tmp_path, receiver: Receiver, monkeypatch):
    monkeypatch.setenv("BAAS_WEBHOOKS_ALLOW_PRIVATE", "127.0.0.1/32")
    async with app_for(tmp_path, project(tmp_path, receiver.url)) as run:
        done = await run.engine.jobs.run_now("refused", wait=True)
        assert done["status"] == "success", done


async def test_every_finished_run_is_a_job_event(tmp_path, receiver: Receiver):
    async with app_for(tmp_path, project(tmp_path, receiver.url)) as run:
        eng = run.engine
        ok = await eng.jobs.run_now("ok", wait=True)
        bad = await eng.jobs.run_now("bad", wait=True)
        events = await job_events(eng)
        assert [(t, rid) for t, rid, _ in events] == [("job.success", ok["id"]), ("job.failed", bad["id"])]
        data = events[1][2]
        assert data["job"] == "bad" and data["status"] == "failed" and data["trigger"] == "manual"
        assert data["scheduled"] == bad["scheduled"] and data["error"].startswith("RuntimeError: it broke")
        assert len(data["error"]) <= 500 and data["finished"]
        assert events[0][2]["output"] == '{"fine":true}'

        # A run whose process died: the next claim marks it abandoned, with its event.
        dead = new_id()
        old = format_dt(store.now() - timedelta(hours=1))
        await eng.db.write(
            lambda conn: conn.execute(
                'INSERT INTO "_job_runs" ("id", "job", "scheduled", "status", "owner", "started", "heartbeat") '
                "VALUES (?, 'ok', ?, 'running', 'gone', ?, ?)",
                [dead, old, old, old],
            )
        )
        await eng.jobs.run_now("ok", wait=True)
        events = await job_events(eng)
        assert ("job.abandoned", dead) in [(t, rid) for t, rid, _ in events]
        abandoned = next(d for t, rid, d in events if rid == dead)
        assert abandoned["job"] == "ok" and "no heartbeat" in abandoned["error"]
        # Job events are not record events: realtime never forwards them (baas/realtime/broker.py).
        assert all(not t.startswith(("create", "update", "delete")) for t, _, _ in events)


async def test_a_skipped_tick_is_an_event_too(tmp_path, receiver: Receiver):
    async with app_for(tmp_path, project(tmp_path, receiver.url)) as run:
        eng = run.engine
        first = await store.claim(eng.db, "ok", "2030-01-01 00:00:00.000Z", "someone", overlap="skip", lease=60)
        second = await store.claim(eng.db, "ok", "2030-01-01 00:01:00.000Z", "someone", overlap="skip", lease=60)
        assert first["status"] == "running" and second["status"] == "skipped"
        assert [(t, rid) for t, rid, _ in await job_events(eng)] == [("job.skipped", second["id"])]


BAD_HTTP = [
    ("URL without scheme", "http: {url: example.com/hook}", "must be an absolute http:// or https:// URL"),
    ("ftp URL", "http: {url: 'ftp://example.com/x'}", "must be an absolute http:// or https:// URL"),
    ("bad header name", "http: {url: 'https://example.com', headers: {'Bad Header': x}}", "not a valid header"),
    ("unknown method", "http: {url: 'https://example.com', method: TRACE}", "Invalid enum value 'TRACE'"),
    ("two targets", "task: files.sweep\n    http: {url: 'https://example.com'}", "give exactly one target"),
    ("unknown http option", "http: {url: 'https://example.com', verb: GET}", "verb"),
]


@pytest.mark.parametrize("desc,target,fragment", BAD_HTTP, ids=[b[0] for b in BAD_HTTP])
def test_bad_http_targets_name_the_job_and_line(desc, target, fragment):
    text = (
        'collections: []\njobs:\n  - name: j1\n    schedule: "@hourly"\n    task: files.sweep\n'
        f'  - name: j2\n    schedule: "@daily"\n    {target}\n'
    )
    with pytest.raises(SchemaError) as err:
        load_schema_text(text)
    assert fragment in err.value.message and "job 'j2'" in err.value.message, err.value.message
    assert err.value.line in (6, 8)  # the job's mapping, or the http mapping msgspec complained about


async def test_schema_plan_shows_job_changes(tmp_path, receiver: Receiver):
    path = Path(project(tmp_path, receiver.url))
    async with app_for(tmp_path, str(path)) as run:
        eng = run.engine
        # The server applied the file at start: its jobs are recorded, nothing to show.
        plan = await eng.plan_file(str(path))
        assert plan.job_changes == [] and plan.describe() == "No changes."
        text = path.read_text()
        text = text.replace('  - name: bad\n    schedule: "0 0 1 1 *"\n    function: bad\n', "")
        text = text.replace('  - name: ok\n    schedule: "0 0 1 1 *"', '  - name: ok\n    schedule: "@every 5m"')
        text += '  - name: sweep\n    schedule: "@hourly"\n    task: files.sweep\n'
        path.write_text(text)
        plan = await eng.plan_file(str(path))
        assert plan.job_changes == [
            "~ job ok: change schedule '0 0 1 1 *' -> '@every 5m'",
            "+ job sweep: add ('@hourly' -> task:files.sweep)",
            "- job bad: remove",
        ], plan.job_changes
        assert plan.describe() == "\n".join(plan.job_changes) and not plan.destructive
        from baas.planner import apply_plan  # import here: only this test applies a plan by hand

        await apply_plan(eng.db, plan, source="test")
        assert (await eng.plan_file(str(path))).job_changes == []
        await asyncio.sleep(0)
