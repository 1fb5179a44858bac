"""A user's personal data (baas/gdpr, docs/gdpr.md): the export holds the user's record, every
record referring to them in three collections and all their files, and nothing of another user;
the erase follows each collection's policy (delete, anonymize, or what deleting the user does),
and afterwards no table, stored file, request log entry, stored event, webhook delivery or dev mail
holds the user's id or email — a grep over all of them — while the other user's data is whole.
Both are audited under an HMAC of the id. Who may ask, and bad policies refused."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from baas.gdpr import subject_of
from tests.harness import Running, app_for
from tests.webhooks.common import SECRET
from tests.webhooks.receiver import Receiver, await_until

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def schema(hook_url: str) -> str:
    return f"""collections:
  - name: posts
    listRule: ""
    viewRule: ""
    gdpr: {{erase: anonymize, fields: [body, cover]}}
    fields:
      - {{name: title, type: text}}
      - {{name: body, type: text}}
      - {{name: author, type: relation, collection: users, maxSelect: 1}}
      - {{name: cover, type: file, maxSelect: 1}}
  - name: comments
    viewRule: "author = @request.auth.id"
    gdpr: {{erase: delete}}
    fields:
      - {{name: text, type: text}}
      - {{name: author, type: relation, collection: users, maxSelect: 1}}
  - name: notes
    viewRule: "owner = @request.auth.id"
    fields:
      - {{name: text, type: text}}
      - {{name: owner, type: relation, collection: users, maxSelect: 1, cascadeDelete: true}}
      - {{name: attachments, type: file, maxSelect: 5}}
  - name: teams  # superusers only: not in a user's own export
    fields:
      - {{name: name, type: text}}
      - {{name: members, type: relation, collection: users, maxSelect: 10}}
webhooks:
  - name: everything
    url: {hook_url}
    events: [posts.*, comments.*, notes.*, teams.*, users.*]
    secret: {SECRET}
"""


@pytest.fixture
async def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Running]:
    monkeypatch.setenv("BAAS_WEBHOOKS_ALLOW_PRIVATE", "1")
    with Receiver([SECRET]) as rx:
        path = tmp_path / "baas.yaml"
        path.write_text(schema(rx.url + "/hook"))
        async with app_for(tmp_path, str(path)) as running:
            running.rx = rx  # type: ignore[attr-defined]
            yield running


async def call(app: Running, method: str, url: str, token: str | None = None, **kw: Any) -> Any:
    return await app.client.request(method, url, headers={"Authorization": token} if token else {}, **kw)


async def make_user(app: Running, name: str) -> dict[str, Any]:
    email, password = f"{name}@example.com", "password-123"
    r = await call(
        app,
        "POST",
        "/api/collections/users/records",
        data={"email": email, "password": password, "passwordConfirm": password, "name": name.title()},
        files={"avatar": (f"{name}-face.png", PNG, "image/png")},
    )
    assert r.status_code == 200, r.text
    user = r.json()
    auth = await call(
        app, "POST", "/api/collections/users/auth-with-password", json={"identity": email, "password": password}
    )
    assert auth.status_code == 200, auth.text
    return {**user, "email": email, "token": auth.json()["token"]}


async def create(app: Running, coll: str, data: dict[str, Any], files: Any = None) -> dict[str, Any]:
    r = await call(app, "POST", f"/api/collections/{coll}/records", app.su, data=data, files=files)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def data_of(app: Running, user: dict[str, Any]) -> dict[str, Any]:
    """A post, a comment, a note (two files) and a team membership of ``user``."""
    uid, name = user["id"], user["name"].lower()
    return {
        "post": await create(
            app,
            "posts",
            {"title": f"{name} writes", "body": f"by {user['email']}", "author": uid},
            {"cover": (f"{name}-cover.png", PNG, "image/png")},
        ),
        "comment": await create(app, "comments", {"text": f"{name} says hi", "author": uid}),
        "note": await create(
            app,
            "notes",
            {"text": f"{name}'s note", "owner": uid},
            [
                ("attachments", (f"{name}-a.png", PNG, "image/png")),
                ("attachments", (f"{name}-b.png", PNG, "image/png")),
            ],
        ),
    }


async def setup(app: Running) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    r = await call(app, "PATCH", "/api/settings", app.su, json={"logs": {"logAuthId": True}})
    assert r.status_code == 200, r.text
    alice, bob = await make_user(app, "alice"), await make_user(app, "bob")
    a, b = await data_of(app, alice), await data_of(app, bob)
    await create(app, "teams", {"name": "both", "members": [alice["id"], bob["id"]]})
    # traces elsewhere: her requests in the log, a mail to her, webhook deliveries of her records
    for _ in range(3):
        r = await call(app, "GET", f"/api/collections/users/records/{alice['id']}", alice["token"])
        assert r.status_code == 200
    r = await call(app, "POST", "/api/collections/users/request-verification", json={"email": alice["email"]})
    assert r.status_code == 204, r.text
    await await_until(
        lambda: len([g for g in app.rx.snapshot() if alice["id"] in json.dumps(g.payload)]) >= 5,  # type: ignore[attr-defined]
        "deliveries of alice's records",
    )
    return alice, bob, a, b


async def test_export_holds_all_of_the_user_and_nothing_of_another(app: Running) -> None:
    alice, bob, a, b = await setup(app)
    r = await call(app, "GET", f"/api/collections/users/records/{alice['id']}/export", alice["token"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert "attachment" in r.headers["content-disposition"]
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    names = set(zf.namelist())
    records = {n.split("/")[1][: -len(".json")]: json.loads(zf.read(n)) for n in names if n.startswith("records/")}
    assert [u["email"] for u in records["users"]] == [alice["email"]]
    assert "password" not in records["users"][0] and "tokenKey" not in records["users"][0]
    assert [p["id"] for p in records["posts"]] == [a["post"]["id"]]
    assert [c["id"] for c in records["comments"]] == [a["comment"]["id"]]
    assert [n["id"] for n in records["notes"]] == [a["note"]["id"]]
    assert "teams" not in records  # it names her, but its rules show it to superusers only
    files = {n for n in names if n.startswith("files/")}
    assert files == {
        f"files/users/{alice['id']}/{alice['avatar']}",
        f"files/posts/{a['post']['id']}/{a['post']['cover']}",
        *(f"files/notes/{a['note']['id']}/{n}" for n in a["note"]["attachments"]),
    }
    assert all(zf.read(n) == PNG for n in files)
    manifest = json.loads(zf.read("manifest.json"))
    assert manifest["id"] == alice["id"] and manifest["files"] == 4
    everything = b"".join(zf.read(n) for n in names) + "".join(names).encode()
    for theirs in (bob["email"], b["post"]["id"], b["comment"]["id"], b["note"]["id"], bob["avatar"], "bob_"):
        assert theirs.encode() not in everything, theirs
    assert bob["id"].encode() not in everything
    # a superuser's export of her holds every record that names her, whole; audited under an HMAC
    r = await call(app, "GET", f"/api/collections/users/records/{alice['id']}/export", app.su)
    assert r.status_code == 200
    su_zip = zipfile.ZipFile(io.BytesIO(r.content))
    assert [t["members"] for t in json.loads(su_zip.read("records/teams.json"))] == [[alice["id"], bob["id"]]]
    rows = await app.engine.db.fetch('SELECT "action", "subject", "actor" FROM "_audit" ORDER BY "created"')
    subject = subject_of(app.engine.secret, app.engine.registry.get("users"), alice["id"])  # type: ignore[arg-type]
    assert [(x[0], x[1]) for x in rows] == [("gdpr.export", subject)] * 2
    assert rows[0][2] == "self" and rows[1][2].startswith("_superusers:")


async def everything_stored(app: Running) -> str:
    """Every row of every table (the request log's too), and every file name and content in the data
    dir other than the databases, as one text to grep."""
    eng, db = app.engine, app.engine.db
    if db.dialect == "sqlite":
        tables = [r[0] for r in await db.fetch("SELECT name FROM sqlite_master WHERE type = 'table'")]
    else:
        tables = [r[0] for r in await db.fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
    out = [f"{t}: {row}" for t in tables for row in await db.fetch(f'SELECT * FROM "{t}"')]
    await eng.request_log.settle()
    table = "_logs" if eng.db.dialect == "postgresql" else "batches"  # SQLite: logs.db, entries in batches
    out += [f"{table}: {row}" for row in await eng.request_log.db.fetch(f'SELECT * FROM "{table}"')]
    for path in Path(eng.settings.data_dir).rglob("*"):
        if path.is_file() and ".db" not in path.name and ".metrics" not in path.parts:
            out.append(f"{path}: {path.read_bytes().decode('latin-1')}")
    return "\n".join(out)


async def test_erase_leaves_no_trace_and_keeps_the_rest(app: Running) -> None:
    alice, bob, a, b = await setup(app)
    await call(app, "GET", f"/api/collections/users/records/{alice['id']}/export", app.su)  # logged with her id
    before = await everything_stored(app)
    for trace in (alice["id"], alice["email"]):
        assert trace in before  # the grep below can find them
    r = await call(app, "POST", f"/api/collections/users/records/{alice['id']}/erase", app.su)
    assert r.status_code == 200, r.text
    counts = r.json()
    assert counts["deleted"] == {"comments": 1, "notes": 1, "users": 1}
    assert counts["anonymized"] == {"posts": 1} and counts["unlinked"] == {"teams": 1}
    assert counts["events"] > 0 and counts["webhookDeliveries"] > 0 and counts["logs"] > 0 and counts["mails"] == 1
    after = await everything_stored(app)
    her_files = [alice["avatar"], a["post"]["cover"], *a["note"]["attachments"]]
    for trace in (alice["id"], alice["email"], *her_files):
        assert trace not in after, f"{trace!r} left: " + next(ln for ln in after.splitlines() if trace in ln)[:300]
    # the policies: her post stays, without her, its body and cover; the team keeps bob
    post = (await call(app, "GET", f"/api/collections/posts/records/{a['post']['id']}", app.su)).json()
    assert (post["title"], post["author"], post["body"], post["cover"]) == ("alice writes", "", "", "")
    for coll, rid in (("comments", a["comment"]["id"]), ("notes", a["note"]["id"]), ("users", alice["id"])):
        assert (await call(app, "GET", f"/api/collections/{coll}/records/{rid}", app.su)).status_code == 404
    team = (await call(app, "GET", "/api/collections/teams/records", app.su)).json()["items"][0]
    assert team["members"] == [bob["id"]]
    # bob is whole: records, files, sign-in
    for coll, rec in (("posts", b["post"]), ("comments", b["comment"]), ("notes", b["note"])):
        assert (await call(app, "GET", f"/api/collections/{coll}/records/{rec['id']}", app.su)).json() == rec
    for coll, rec, name in (("posts", b["post"], b["post"]["cover"]), ("users", bob, bob["avatar"])):
        got = await call(app, "GET", f"/api/files/{coll}/{rec['id']}/{name}")
        assert got.status_code == 200 and got.content == PNG
    assert (await call(app, "GET", f"/api/collections/users/records/{bob['id']}", bob["token"])).status_code == 200
    assert (await call(app, "GET", f"/api/collections/users/records/{alice['id']}", alice["token"])).status_code in (
        401,
        404,
    )
    # audited, under the HMAC
    rows = await app.engine.db.fetch('SELECT "action", "subject", "data" FROM "_audit" WHERE "action" = \'gdpr.erase\'')
    subject = subject_of(app.engine.secret, app.engine.registry.get("users"), alice["id"])  # type: ignore[arg-type]
    assert [(x[0], x[1]) for x in rows] == [("gdpr.erase", subject)]
    # the server goes on: new records and events flow
    await create(app, "comments", {"text": "after", "author": bob["id"]})


async def test_who_may_export_and_erase(app: Running) -> None:
    alice, bob = await make_user(app, "alice"), await make_user(app, "bob")
    base = f"/api/collections/users/records/{alice['id']}"
    for method, url in (("GET", base + "/export"), ("POST", base + "/erase")):
        assert (await call(app, method, url)).status_code == 401
        r = await call(app, method, url, bob["token"])
        assert r.status_code == 403 and set(r.json()) == {"status", "message", "data"}
        missing = await call(app, method, "/api/collections/users/records/nosuchuser00000" + url[len(base) :], app.su)
        assert missing.status_code == 404
        assert (
            await call(app, method, "/api/collections/nosuch/records/x" + url[len(base) :], app.su)
        ).status_code == 404
    note = await create(app, "notes", {"text": "x"})
    for method, tail in (("GET", "/export"), ("POST", "/erase")):
        r = await call(app, method, f"/api/collections/notes/records/{note['id']}{tail}", app.su)
        assert r.status_code == 400, r.text
    # a locked delete rule keeps her from erasing herself; the default (id = @request.auth.id) lets her
    users = (await call(app, "GET", "/api/collections/users", app.su)).json()
    r = await call(app, "PATCH", "/api/collections/users", app.su, json={"deleteRule": None})
    assert r.status_code == 200, r.text
    assert (await call(app, "POST", base + "/erase", alice["token"])).status_code == 403
    r = await call(app, "PATCH", "/api/collections/users", app.su, json={"deleteRule": users["deleteRule"]})
    assert r.status_code == 200, r.text
    r = await call(app, "POST", base + "/erase", alice["token"])
    assert r.status_code == 200, r.text
    assert (await call(app, "GET", base, app.su)).status_code == 404
    assert (await app.engine.db.fetchval('SELECT "actor" FROM "_audit"')) == "self"
    # the only superuser can't be erased (nobody could sign in to the console again)
    su_id = await app.engine.db.fetchval('SELECT "id" FROM "_superusers"')
    r = await call(app, "POST", f"/api/collections/_superusers/records/{su_id}/erase", app.su)
    assert r.status_code == 400, r.text


@pytest.mark.parametrize(
    ("gdpr", "message"),
    [
        ({"erase": "explode"}, "explode"),
        ({"erase": "anonymize", "fields": ["nosuch"]}, "Unknown field"),
        ({"erase": "delete", "fields": ["text"]}, "anonymize"),
        ({"erase": "anonymize", "fields": ["id"]}, "system field"),
        ({"erase": "delete", "extra": 1}, "extra"),
    ],
)
async def test_bad_policies_are_refused(app: Running, gdpr: dict[str, Any], message: str) -> None:
    body = {"name": "bad", "type": "base", "gdpr": gdpr, "fields": [{"name": "text", "type": "text"}]}
    r = await call(app, "POST", "/api/collections", app.su, json=body)
    assert r.status_code == 400, r.text
    assert message in json.dumps(r.json())
    assert (await call(app, "GET", "/api/collections/bad", app.su)).status_code == 404


async def test_a_policy_round_trips_and_is_optional(app: Running) -> None:
    body = {"name": "kept", "type": "base", "gdpr": {"erase": "delete"}, "fields": [{"name": "text", "type": "text"}]}
    r = await call(app, "POST", "/api/collections", app.su, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["gdpr"] == {"erase": "delete"}
    assert "gdpr" not in (await call(app, "GET", "/api/collections/teams", app.su)).json()
