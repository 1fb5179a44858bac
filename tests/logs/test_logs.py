"""The request log (baas/logs, docs/logs.md): what each entry holds, the PocketBase-compatible
``/api/logs`` reads (filter, sort, paging, view, hourly stats), the ``logs`` settings (retention,
level, sampling, IP and auth id), secrets kept out, a full queue or a failing database counted as
drops while the server keeps answering, and JSON lines on standard output for ``baas serve``."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

import baas.logs
from baas.auth.superusers import upsert_superuser
from baas.ids import format_dt
from baas.logs import store
from baas.logs.store import IdMaker
from tests.harness import PG_URL, SU_EMAIL, SU_PASS, Api, in_process, sign_in
from tests.servers import require_node, run_js, running_server

UA = "log-test-agent/1.0"


async def entries(api: Api, filter: str = "", **params: Any) -> dict[str, Any]:
    r = await api.call("GET", "/api/logs", "su", params={"filter": filter, **params})
    assert r.status_code == 200, r.text
    return r.json()


async def set_logs(api: Api, **logs: Any) -> None:
    r = await api.call("PATCH", "/api/settings", "su", json={"logs": logs})
    assert r.status_code == 200, r.text
    await api.engine.request_log.settle()  # the settings reach the log at its next write
    api.engine.request_log.apply((await api.engine.settings_store.load())["logs"])


async def new_post(api: Api, title: str = "logged") -> str:
    r = await api.call("POST", "/api/collections/posts/records", "su", json={"title": title, "published": True})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


@pytest.mark.parametrize("path", ["/api/logs", "/api/logs/stats", "/api/logs/abc"])
@pytest.mark.parametrize(("who", "status"), [(None, 401), ("alice", 403)])
async def test_only_superusers_read_the_log(api: Api, path: str, who: str | None, status: int) -> None:
    r = await api.call("GET", path, who)
    assert r.status_code == status, r.text
    assert set(r.json()) == {"status", "message", "data"}


async def test_an_entry_in_pocketbase_shape(api: Api) -> None:
    rid = await new_post(api)
    r = await api.call(
        "GET",
        f"/api/collections/posts/records/{rid}?fields=id,title",
        "alice",
        headers={"User-Agent": UA, "Referer": "http://app.example/page"},
    )
    assert r.status_code == 200, r.text
    page = await entries(api, f'data.userAgent = "{UA}"')
    assert page["totalItems"] == 1, page
    item = page["items"][0]
    assert set(item) == {"id", "created", "level", "message", "data"}
    assert len(item["id"]) == 15 and item["level"] == 0
    url = f"/api/collections/posts/records/{rid}?fields=id,title"
    assert item["message"] == f"GET {url}"
    d = item["data"]
    assert d["type"] == "request" and d["method"] == "GET" and d["url"] == url and d["status"] == 200
    assert d["auth"] == "users" and d["referer"] == "http://app.example/page" and d["userAgent"] == UA
    assert isinstance(d["execTime"], float) and d["execTime"] > 0
    assert d["remoteIP"] == d["userIP"] == "127.0.0.1"
    assert "authId" not in d  # logs.logAuthId is off by default, as in PocketBase
    created = datetime.strptime(item["created"], "%Y-%m-%d %H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=5)
    one = await api.call("GET", f"/api/logs/{item['id']}", "su")
    assert one.status_code == 200 and one.json() == item
    missing = await api.call("GET", "/api/logs/nosuchlog000000", "su")
    assert missing.status_code == 404 and missing.json()["status"] == 404


async def test_auth_id_and_ip_follow_the_settings(api: Api) -> None:
    await set_logs(api, logAuthId=True, logIP=False)
    assert (
        await api.call("GET", "/api/collections/posts/records", "alice", headers={"User-Agent": UA})
    ).status_code == 200
    d = (await entries(api, f'data.userAgent = "{UA}"'))["items"][0]["data"]
    assert d["authId"] == api.users["alice"] and d["auth"] == "users"
    assert "remoteIP" not in d and "userIP" not in d


async def test_guests_errors_and_levels(api: Api) -> None:
    assert (await api.call("GET", "/api/collections/posts/records/nosuchrecord123")).status_code == 404
    assert (await api.call("GET", "/api/collections/posts/records?filter=(((", "su")).status_code == 400
    page = await entries(api, "level > 0", sort="created")
    got = {(i["data"]["status"], i["level"], i["data"]["auth"]) for i in page["items"]}
    assert (404, 4, "guest") in got and (400, 4, "_superusers") in got
    errors = {i["data"]["status"]: i["data"]["error"] for i in page["items"]}
    assert errors[404] == "The requested resource wasn't found."
    assert errors[400].startswith("Something went wrong while processing your request. Invalid filter")
    assert all(i["data"]["status"] < 400 for i in (await entries(api, "level = 0"))["items"])


async def test_secrets_in_the_query_string_are_masked(api: Api) -> None:
    url = "/api/files/posts/x/y.png?token=s3cr3t-file-token&thumb=100x100&apiKey=k3y-value&code=oauth-c0de"
    await api.call("GET", url, headers={"Referer": "https://app.example/reset?t=1&token=r3set-t0ken"})
    await api.call("GET", "/api/files/posts/x/z.png?%74oken=enc0ded-t0ken")
    page = await entries(api, 'data.url ~ "/api/files/posts/x/"', sort="id")
    assert page["totalItems"] == 2
    first = page["items"][0]["data"]
    assert first["url"] == "/api/files/posts/x/y.png?token=***&thumb=100x100&apiKey=***&code=***"
    assert first["referer"] == "https://app.example/reset?t=1&token=***"
    assert page["items"][1]["data"]["url"] == "/api/files/posts/x/z.png?token=***"
    text = json.dumps(page)
    for secret in ("s3cr3t-file-token", "k3y-value", "oauth-c0de", "r3set-t0ken", "enc0ded-t0ken"):
        assert secret not in text
    # nor do bearer tokens, passwords or bodies
    assert api.tokens["su"] not in json.dumps(await entries(api, perPage=500))


async def test_a_nul_in_the_url_is_logged_without_it(api: Api) -> None:
    """PostgreSQL's JSONB holds no NUL: one such request must not cost the batch its entries."""
    await api.call("GET", "/api/nul%00here", headers={"User-Agent": UA})
    await api.call("GET", "/api/health", headers={"User-Agent": UA})
    page = await entries(api, f'data.userAgent = "{UA}"', sort="id")
    assert [i["data"]["url"] for i in page["items"]] == ["/api/nulhere", "/api/health"]
    assert api.engine.request_log.dropped == 0


async def test_filter_sort_paging_and_bad_input(api: Api) -> None:
    for i in range(5):
        await api.call("GET", f"/api/collections/posts/records?perPage={i + 1}", "su", headers={"User-Agent": UA})
    p1 = await entries(api, f'data.userAgent = "{UA}"', perPage=2, sort="data.url")
    assert (p1["page"], p1["perPage"], p1["totalItems"], p1["totalPages"]) == (1, 2, 5, 3)
    p3 = await entries(api, f'data.userAgent = "{UA}"', perPage=2, page=3, sort="data.url")
    assert [i["data"]["url"] for i in p1["items"] + p3["items"]] == [
        "/api/collections/posts/records?perPage=1",
        "/api/collections/posts/records?perPage=2",
        "/api/collections/posts/records?perPage=5",
    ]
    newest = await entries(api, f'data.userAgent = "{UA}"', perPage=1)  # default: newest first
    assert newest["items"][0]["data"]["url"].endswith("perPage=5")
    skip = await entries(api, f'data.userAgent = "{UA}"', skipTotal=1)
    assert skip["totalItems"] == -1 and len(skip["items"]) == 5
    assert (await entries(api, 'data.status = 200 && data.method = "GET" && message ~ "perPage=3"'))["totalItems"] == 1
    for params in ({"filter": "data.status >"}, {"filter": "nosuchfield = 1"}, {"sort": "-nosuch"}, {"page": "x"}):
        r = await api.call("GET", "/api/logs", "su", params=params)
        assert r.status_code == 400, (params, r.text)
        assert set(r.json()) == {"status", "message", "data"}
    r = await api.call("GET", "/api/logs/stats", "su", params={"filter": "(("})
    assert r.status_code == 400


def _entry(ms: int, url: str) -> store.Entry:
    """A stored entry made at ``ms`` (backdated entries for stats and retention)."""
    return (ms, "GET", url, 200, 1500, None, None, "test", "", "127.0.0.1", "127.0.0.1", None)


async def test_hourly_stats(api: Api) -> None:
    then = datetime.now(UTC) - timedelta(hours=3)
    old = format_dt(then)
    rows = [_entry(int(then.timestamp() * 1000), "/old") for _ in range(3)]
    await api.engine.request_log.db.write(lambda conn: store.insert(conn, rows))
    await api.call("GET", "/api/health")
    r = await api.call("GET", "/api/logs/stats", "su")
    assert r.status_code == 200, r.text
    stats = r.json()
    assert stats == sorted(stats, key=lambda s: s["date"]) and all(set(s) == {"total", "date"} for s in stats)
    assert {"total": 3, "date": old[:13] + ":00:00.000"} in stats
    assert sum(s["total"] for s in stats) == (await entries(api))["totalItems"] - 1  # the list call is logged too
    only_old = (await api.call("GET", "/api/logs/stats", "su", params={"filter": 'data.url = "/old"'})).json()
    assert only_old == [{"total": 3, "date": old[:13] + ":00:00.000"}]


async def test_retention_deletes_entries_past_max_days(api: Api) -> None:
    await set_logs(api, maxDays=2)
    now = datetime.now(UTC)
    day, three = now - timedelta(days=1), now - timedelta(days=3)
    for t, url in ((three, "/drop"), (day, "/keep")):  # written a day apart: two batches
        row = [_entry(int(t.timestamp() * 1000), url)]
        await api.engine.request_log.db.write(lambda conn, row=row: store.insert(conn, row))
    ids = {
        item["data"]["url"]: item["id"]
        for item in (await entries(api, 'data.url ~ "/keep" || data.url ~ "/drop"'))["items"]
    }
    keep, drop = ids["/keep"], ids["/drop"]
    assert await api.engine.request_log.prune() == 1
    assert (await api.call("GET", f"/api/logs/{keep}", "su")).status_code == 200
    assert (await api.call("GET", f"/api/logs/{drop}", "su")).status_code == 404


async def test_level_sampling_and_off(api: Api) -> None:
    await set_logs(api, sampling=0)  # successes sampled away, errors always kept
    before = (await entries(api))["totalItems"]
    for _ in range(4):
        await api.call("GET", "/api/health")
    await api.call("GET", "/api/collections/posts/records/nosuchrecord123")
    after = await entries(api, perPage=5)
    assert after["totalItems"] == before + 1 and after["items"][0]["data"]["status"] == 404
    await set_logs(api, sampling=1, minLevel=8)
    await api.call("GET", "/api/collections/posts/records/nosuchrecord123")
    assert (await entries(api))["totalItems"] == after["totalItems"]
    await set_logs(api, minLevel=0, maxDays=0)  # no log at all
    count = (await entries(api))["totalItems"]
    await api.call("GET", "/api/health")
    await api.call("GET", "/api/collections/posts/records/nosuchrecord123")
    assert (await entries(api))["totalItems"] == count


@pytest.mark.parametrize("bad", [{"sampling": 1.5}, {"sampling": -1}, {"maxDays": "x"}, {"logIP": 1}])
async def test_bad_log_settings_are_refused(api: Api, bad: dict[str, Any]) -> None:
    r = await api.call("PATCH", "/api/settings", "su", json={"logs": bad})
    assert r.status_code == 400, r.text
    assert set(r.json()["data"]["logs"]) == set(bad)
    assert (await api.call("GET", "/api/settings", "su")).json()["logs"]["sampling"] == 1.0


async def test_a_full_queue_drops_and_counts(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    rlog = api.engine.request_log
    await rlog.settle()
    monkeypatch.setattr(baas.logs, "PENDING_MAX", 3)
    # The queue fills within one tick: the fourth and fifth requests' entries are dropped.
    for _ in range(5):
        assert (await api.call("GET", "/api/health", headers={"User-Agent": UA})).status_code == 200
    assert rlog.dropped == 2
    monkeypatch.setattr(baas.logs, "PENDING_MAX", 50_000)
    assert (await entries(api, f'data.userAgent = "{UA}"'))["totalItems"] == 3
    assert "baas_request_log_dropped_total 2.0" in (await api.call("GET", "/metrics", "su")).text


async def test_a_failing_log_write_never_fails_a_request(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    rlog = api.engine.request_log
    await rlog.settle()

    async def refuse(conn: Any, rows: Any) -> None:
        raise RuntimeError("disk full")

    def refuse_inline(self: Any, rows: Any) -> bool:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "insert", refuse)  # PostgreSQL
    monkeypatch.setattr(store.SqliteSink, "insert", refuse_inline)  # SQLite
    for _ in range(3):
        assert (await api.call("GET", "/api/health", headers={"User-Agent": UA})).status_code == 200
    await rlog.settle()
    assert rlog.dropped == 3
    monkeypatch.undo()
    rid = await new_post(api)
    assert (await api.call("GET", f"/api/collections/posts/records/{rid}", "su")).status_code == 200
    assert (await entries(api, f'data.userAgent = "{UA}"'))["totalItems"] == 0


async def test_serve_writes_json_lines_and_every_worker_logs(tmp_path: Path) -> None:
    su = ("logs-su@example.com", "logs-password-1")
    env = {"BAAS_LOG_JSON": "1"}
    async with running_server(tmp_path, "--workers", "2", superuser=su, env=env) as srv:
        async with httpx.AsyncClient(base_url=srv.url, timeout=30) as client:
            auth = await client.post(
                "/api/collections/_superusers/auth-with-password", json={"identity": su[0], "password": su[1]}
            )
            token = auth.json()["token"]
            for i in range(20):  # spread over both workers by the kernel
                assert (await client.get(f"/api/health?n={i}", headers={"User-Agent": UA})).status_code == 200
            headers = {"Authorization": token}
            for _ in range(200):  # each worker writes its batch within a second of its last request
                page = (
                    await client.get("/api/logs", params={"filter": f'data.userAgent = "{UA}"'}, headers=headers)
                ).json()
                if page["totalItems"] == 20:
                    break
                await asyncio.sleep(0.05)
            assert page["totalItems"] == 20, page
            sign_in = (
                await client.get("/api/logs", params={"filter": 'data.url ~ "auth-with-password"'}, headers=headers)
            ).json()
            assert sign_in["items"][0]["data"]["status"] == 200
    lines = [json.loads(line) for line in srv.log.read_text().splitlines() if line.startswith("{")]
    health = [ln for ln in lines if ln["data"].get("userAgent") == UA]
    assert len(health) == 20
    assert {ln["data"]["url"] for ln in health} == {f"/api/health?n={i}" for i in range(20)}
    assert all(set(ln) == {"time", "level", "data"} for ln in health)
    assert su[1] not in srv.log.read_text() and token not in srv.log.read_text()


async def test_js_sdk_logs(tmp_path: Path) -> None:
    require_node()
    su = ("logs-sdk@example.com", "logs-password-1")
    async with running_server(tmp_path, superuser=su) as srv:
        run_js("logs.mjs", srv.url, *su, srv=srv)


@pytest.mark.skipif(bool(PG_URL), reason="the SQLite log file's own upgrade (PostgreSQL keeps _logs)")
async def test_a_log_file_of_the_first_format_is_carried_over(tmp_path: Path) -> None:
    """logs.db of the first design (one JSON document per entry) is moved into the column table."""
    data = tmp_path / "data"
    data.mkdir()
    old = sqlite3.connect(data / "logs.db")
    old.execute(
        'CREATE TABLE "_logs" ("id" TEXT PRIMARY KEY NOT NULL, "created" TEXT NOT NULL, '
        '"level" INTEGER NOT NULL DEFAULT 0, "data" JSON NOT NULL DEFAULT \'{}\') WITHOUT ROWID'
    )
    doc = {
        "type": "request",
        "method": "POST",
        "url": "/api/old",
        "status": 404,
        "execTime": 1.25,
        "auth": "users",
        "authId": "u1",
        "userAgent": "old-agent",
        "referer": "",
        "remoteIP": "10.0.0.1",
        "userIP": "10.0.0.2",
        "error": "Missing",
    }
    old.execute('INSERT INTO "_logs" VALUES (?, ?, ?, ?)', ["0abc", "2026-11-30 10:20:30.456Z", 4, json.dumps(doc)])
    old.commit()
    old.close()
    async with in_process(tmp_path, data_dir=data) as (client, eng):
        await upsert_superuser(eng, SU_EMAIL, SU_PASS)
        token = await sign_in(client)
        r = await client.get("/api/logs", params={"filter": 'data.url = "/api/old"'}, headers={"Authorization": token})
        assert r.status_code == 200, r.text
        [item] = r.json()["items"]
        assert item["created"] == "2026-11-30 10:20:30.456Z" and item["level"] == 4
        assert item["message"] == "POST /api/old" and item["data"] == doc


@pytest.mark.skipif(bool(PG_URL), reason="the SQLite log file (PostgreSQL keeps _logs in its database)")
@pytest.mark.parametrize("damage", ["not a database", "a torn page"])
async def test_a_damaged_log_file_is_moved_aside(tmp_path: Path, damage: str) -> None:
    """The log file is never synced (docs/logs.md): one a power loss damaged is kept aside and a new
    log begins; the server starts and logs as usual."""
    data = tmp_path / "data"
    data.mkdir()
    path = data / "logs.db"
    if damage == "not a database":
        path.write_bytes(b"\x13garbage" * 1000)
    else:  # a real log whose table pages were overwritten
        conn = sqlite3.connect(path)
        conn.executescript(store.SQLITE_DDL)
        for i in range(300):
            conn.execute(store.SQLITE_INSERT, list(store.encode_batch([_entry(1_700_000_000_000 + i, f"/x{i}")] * 50)))
        conn.commit()
        conn.close()
        raw = bytearray(path.read_bytes())
        raw[4096 * 2 : 4096 * 6] = b"\xff" * (4096 * 4)
        path.write_bytes(bytes(raw))
    before = path.read_bytes()
    if damage == "a torn page":  # found when read: a 503 that says so, and the file is set aside at the next start
        async with in_process(tmp_path, data_dir=data) as (client, eng):
            await upsert_superuser(eng, SU_EMAIL, SU_PASS)
            token = await sign_in(client)
            r = await client.get("/api/logs", params={"filter": "level >= 0"}, headers={"Authorization": token})
            assert r.status_code == 503, r.text
            assert "damaged" in r.json()["message"] and set(r.json()) == {"status", "message", "data"}
            assert (await client.get("/api/health")).status_code == 200  # the server goes on
        assert (data / "logs.db.damaged").exists()
    async with in_process(tmp_path, data_dir=data) as (client, eng):
        await upsert_superuser(eng, SU_EMAIL, SU_PASS)
        token = await sign_in(client)
        assert (await client.get("/api/health")).status_code == 200
        r = await client.get(
            "/api/logs", params={"filter": 'data.url = "/api/health"'}, headers={"Authorization": token}
        )
        assert r.status_code == 200, r.text
        assert r.json()["totalItems"] == 1
    [aside] = list(data.glob("logs.db.damaged-*[0-9]"))
    kept = aside.read_bytes()  # the damaged file, kept for inspection
    assert kept == before if damage == "not a database" else kept[4096 * 2 : 4096 * 6] == before[4096 * 2 : 4096 * 6]
    assert not (data / "logs.db.damaged").exists()


@pytest.mark.skipif(bool(PG_URL), reason="the SQLite log file (PostgreSQL keeps _logs in its database)")
async def test_a_marked_log_file_is_left_alone_while_another_process_has_it_open(tmp_path: Path) -> None:
    """Only a process alone with the file sets it aside (a server's first process): a CLI command
    run next to a live server must not move the file the server's workers write into."""
    import fcntl

    data = tmp_path / "data"
    data.mkdir()
    async with in_process(tmp_path, data_dir=data):
        pass  # a healthy log file
    (data / "logs.db.damaged").write_text("database disk image is malformed")
    with open(data / "logs.db.lock", "a+b") as held:
        fcntl.flock(held, fcntl.LOCK_SH)  # a running server's process
        async with in_process(tmp_path, data_dir=data) as (client, _):
            assert (await client.get("/api/health")).status_code == 200
        assert not list(data.glob("logs.db.damaged-*")) and (data / "logs.db.damaged").exists()
    async with in_process(tmp_path, data_dir=data):  # alone now: set aside
        pass
    assert len(list(data.glob("logs.db.damaged-*[0-9]"))) == 1 and not (data / "logs.db.damaged").exists()


def test_what_counts_as_damage() -> None:
    def error(cls: type[sqlite3.Error], code: int, text: str) -> sqlite3.Error:
        exc = cls(text)
        exc.sqlite_errorcode = code  # type: ignore[attr-defined]
        return exc

    assert baas.logs.damaged(error(sqlite3.DatabaseError, 11, "database disk image is malformed"))
    assert baas.logs.damaged(error(sqlite3.DatabaseError, 26, "file is not a database"))
    assert baas.logs.damaged(sqlite3.OperationalError("malformed JSON"))
    assert not baas.logs.damaged(error(sqlite3.OperationalError, 5, "database is locked"))
    assert not baas.logs.damaged(error(sqlite3.OperationalError, 13, "database or disk is full"))
    assert not baas.logs.damaged(sqlite3.ProgrammingError("Cannot operate on a closed database."))
    assert not baas.logs.damaged(sqlite3.IntegrityError("UNIQUE constraint failed"))


async def test_ids_and_orders_follow_the_requests(api: Api) -> None:
    """Newest first by default (and by -id, -rowid), oldest first by id: across the batches written
    and within each; every id finds its entry."""
    for i in range(5):
        await api.call("GET", f"/api/health?order={i}")
        if i == 2:
            await api.engine.request_log.settle()  # a batch boundary between the 3rd and 4th
    want = [f"/api/health?order={i}" for i in range(5)]
    expr = 'data.url ~ "/api/health?order="'
    for sort, expected in (("", want[::-1]), ("-id", want[::-1]), ("-rowid", want[::-1]), ("id", want)):
        page = await entries(api, expr, **({"sort": sort} if sort else {}))
        assert [item["data"]["url"] for item in page["items"]] == expected, sort
    ids = [item["id"] for item in (await entries(api, expr, sort="id"))["items"]]
    assert ids == sorted(ids) and len(set(ids)) == 5
    for log_id, url in zip(ids, want, strict=True):
        r = await api.call("GET", f"/api/logs/{log_id}", "su")
        assert r.status_code == 200 and r.json()["data"]["url"] == url
    for bad in ("nope", "0" * 15, "1" * 16):
        assert (await api.call("GET", f"/api/logs/{bad}", "su")).status_code == 404


async def test_an_erasure_scrubs_every_case_and_leaves_no_copy_on_disk(api: Api) -> None:
    """The GDPR scrub matches as LIKE does (an email in any case) and leaves no copy of an erased
    entry in the log's files (SQLite: the write-ahead log is emptied, deleted bytes overwritten)."""
    for email in ("Zed.Erase@Example.com", "ZED.ERASE@EXAMPLE.COM", "zed.erase@example.com"):
        await api.call("GET", f"/api/health?who={email}")
    await api.call("GET", "/api/health?who=somebody-else")
    gone = await api.engine.request_log.scrub(["zed.erase@example.com"])
    assert gone == 3
    left = await entries(api, 'data.url ~ "/api/health?who="')
    assert [i["data"]["url"] for i in left["items"]] == ["/api/health?who=somebody-else"]
    if not PG_URL:
        data_dir = Path(api.engine.settings.data_dir)
        for path in data_dir.glob("logs.db*"):
            assert b"zed.erase@example.com" not in path.read_bytes().lower(), path.name


def test_ids_stay_unique_when_entries_come_out_of_time_order() -> None:
    """Requests are logged by when they started, and a slow one ends after a later one: a
    millisecond that comes back must not restart its ranks (a repeated id loses the entry)."""
    ids = IdMaker("abcd")
    made = [ids.next(ms) for ms in (5, 6, 5, 5, 7, 6, 5)]
    assert len(set(made)) == len(made)
    assert made[0][:9] == made[2][:9]  # the time part is still the entry's own millisecond
