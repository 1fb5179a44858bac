"""``ctx.files`` / ``ctx.system.files`` and ``ctx.mail``: record files read and written through the
engine's storage (local disk and moto S3) with the records API's rules for the caller and none for
the system, and email through the engine's mailer (a real aiosmtpd server, the dev mailbox)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from baas.files.storage import file_key
from tests.auth.mailkit import smtp_server, smtp_settings
from tests.functions.kit import moto_endpoint
from tests.harness import Running, app_for, make_bucket, s3_settings, unique, user_token

__all__ = ["moto_endpoint", "smtp_server"]  # fixtures, used by name

SCHEMA = """
collections:
  - name: docs
    listRule: "owner = @request.auth.id"
    viewRule: "owner = @request.auth.id"
    createRule: "@request.auth.id != '' && owner = @request.auth.id"
    updateRule: "owner = @request.auth.id"
    fields:
      - {name: owner, type: text}
      - {name: title, type: text}
      - {name: attachments, type: file, maxSelect: 2, maxSize: 1000, mimeTypes: [text/plain]}
      - {name: cover, type: file, maxSelect: 1}
      - {name: secret, type: file, maxSelect: 1, protected: true}
functions: %s
"""

FUNCTIONS = '''
import base64

from baas.functions import function


def _files(ctx):
    return ctx.system.files if ctx.body.get("as") == "system" else ctx.files


@function(rule="")
async def attach(ctx):
    b = ctx.body
    return await _files(ctx).attach(b["collection"], b["id"], b["field"], b["name"], b["content"].encode(),
                                    replace=b.get("replace", False))


@function(rule="")
async def remove(ctx):
    b = ctx.body
    return await _files(ctx).remove(b["collection"], b["id"], b["field"], *b.get("names", []))


@function(rule="")
async def read(ctx):
    b = ctx.body
    return {"content": base64.b64encode(await _files(ctx).read(b["collection"], b["id"], b["name"])).decode()}


@function(rule="")
async def url(ctx):
    b = ctx.body
    token_for = await ctx.system.view("users", b["token_for"]) if b.get("token_for") else None
    return {"url": await _files(ctx).url(b["collection"], b["id"], b["name"], thumb=b.get("thumb", ""),
                                         download=b.get("download", False), token_for=token_for)}


@function(rule="")
async def create_with_file(ctx):
    """A record and its file in one write, as a multipart create."""
    service = ctx.system if ctx.body.get("as") == "system" else ctx.records
    body = {"owner": ctx.body["owner"], "title": "with a file"}
    return await service.create("docs", body, files={"attachments": [("a.txt", b"one"), ("b.txt", b"two")],
                                                     "secret": ("key.txt", b"s3cr3t")})


@function(rule="")
async def mail(ctx):
    b = ctx.body
    return {"id": await ctx.mail.send(b["to"], b["subject"], b.get("html", ""), text=b.get("text", ""))}
'''


async def call(run: Running, name: str, body: dict[str, Any], token: str = "") -> Any:
    return await run.client.post(f"/api/functions/{name}", json=body, headers={"Authorization": token} if token else {})


class App:
    """The app with two signed-in users (ann, bob) and ann's doc."""

    def __init__(self, run: Running, ann: tuple[str, str], bob: tuple[str, str], doc: str) -> None:
        self.run, self.ann, self.bob, self.doc = run, ann, bob, doc
        coll = run.engine.registry.get("docs")
        assert coll is not None
        self.coll_id = coll.id

    async def stored(self, record_id: str, name: str) -> bool:
        storage = await self.run.engine.files.storage()
        return await storage.exists(file_key(self.coll_id, record_id, name))

    async def get(self, url: str) -> Any:
        parts = urlsplit(url)
        return await self.run.client.get(parts.path + (f"?{parts.query}" if parts.query else ""))


def _app(tmp_path: Path) -> Any:
    pkg = unique("filefns")
    root = tmp_path / "proj"
    (root / pkg).mkdir(parents=True)
    (root / pkg / "__init__.py").write_text(FUNCTIONS)
    (root / "baas.yaml").write_text(SCHEMA % pkg)
    return app_for(tmp_path, str(root / "baas.yaml"))


async def _setup(run: Running) -> App:
    ann = await user_token(run, "ann@example.com")
    bob = await user_token(run, "bob@example.com")
    r = await run.client.post(
        "/api/collections/docs/records", json={"owner": ann[1], "title": "t"}, headers={"Authorization": ann[0]}
    )
    assert r.status_code == 200, r.text
    return App(run, ann, bob, r.json()["id"])


@pytest.fixture(params=["local", "s3"])
async def app(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    async with _app(tmp_path) as run:
        if request.param == "s3":
            endpoint = request.getfixturevalue("moto_endpoint")
            s3 = s3_settings(endpoint, await asyncio.to_thread(make_bucket, endpoint))
            r = await run.client.patch("/api/settings", json={"s3": s3}, headers={"Authorization": run.su})
            assert r.status_code == 200, r.text
        yield await _setup(run)


async def test_the_caller_attaches_reads_replaces_and_removes_files_with_the_records_rules(app: App):
    run, doc, (ann, _) = app.run, app.doc, app.ann
    base = {"collection": "docs", "id": doc, "field": "attachments", "content": "hello"}
    r = await call(run, "attach", {**base, "name": "notes.txt"}, ann)
    assert r.status_code == 200, r.text
    first = r.json()["attachments"]
    assert len(first) == 1 and first[0].startswith("notes_") and await app.stored(doc, first[0])
    # as the records API answers the file: the same bytes over /api/files
    r = await call(run, "url", {"collection": "docs", "id": doc, "name": first[0]}, ann)
    assert "token=" not in r.json()["url"] and r.json()["url"].startswith("http://127.0.0.1:8090/api/files/")
    got = await app.get(r.json()["url"])
    assert got.status_code == 200 and got.content == b"hello"
    r = await call(run, "read", {"collection": "docs", "id": doc, "name": first[0]}, ann)
    assert r.status_code == 200 and r.json() == {"content": "aGVsbG8="}
    # a multi-file field adds; the event stream has each update
    r = await call(run, "attach", {**base, "name": "more.txt"}, ann)
    assert r.status_code == 200 and len(r.json()["attachments"]) == 2
    second = r.json()["attachments"][1]
    # replace=True: the field's old files go once the update commits
    r = await call(run, "attach", {**base, "name": "only.txt", "replace": True}, ann)
    assert r.status_code == 200, r.text
    (only,) = r.json()["attachments"]
    assert await app.stored(doc, only) and not await app.stored(doc, first[0]) and not await app.stored(doc, second)
    # a single-file field: the new file replaces the old one
    cover = {"collection": "docs", "id": doc, "field": "cover", "content": "c1"}
    old = (await call(run, "attach", {**cover, "name": "c.txt"}, ann)).json()["cover"]
    new = (await call(run, "attach", {**cover, "name": "d.txt"}, ann)).json()["cover"]
    assert isinstance(new, str) and new != old and await app.stored(doc, new) and not await app.stored(doc, old)
    # remove: the name leaves the record, the blob leaves storage
    r = await call(run, "remove", {"collection": "docs", "id": doc, "field": "attachments", "names": [only]}, ann)
    assert r.status_code == 200 and r.json()["attachments"] == [] and not await app.stored(doc, only)
    events = await run.engine.db.fetch(
        'SELECT "action" FROM "_events" WHERE "collection" = ? AND "record_id" = ? ORDER BY "id"', ["docs", doc]
    )
    assert [e[0] for e in events] == ["create"] + ["update"] * 6


async def test_protected_files_need_the_view_rule_and_their_urls_carry_a_file_token(app: App):
    run, doc, (ann, ann_id), (bob, bob_id) = app.run, app.doc, app.ann, app.bob
    r = await call(
        run, "attach", {"collection": "docs", "id": doc, "field": "secret", "name": "k.txt", "content": "key"}, ann
    )
    assert r.status_code == 200, r.text
    name = r.json()["secret"]
    where = {"collection": "docs", "id": doc, "name": name}
    assert (await call(run, "read", where, ann)).json() == {"content": "a2V5"}
    for who in (bob, ""):  # the view rule hides ann's doc: as the files API, not found
        r = await call(run, "read", where, who)
        assert r.status_code == 404, r.text
        assert (await call(run, "url", where, who)).status_code == 404
    assert (await call(run, "read", {**where, "as": "system"}, bob)).json() == {"content": "a2V5"}
    # the caller's URL carries ann's file token, and it works
    url = (await call(run, "url", {**where, "thumb": "10x10", "download": True}, ann)).json()["url"]
    assert "token=" in url and "download=1" in url and "thumb=10x10" in url
    got = await app.get(url)
    assert got.status_code == 200 and got.content == b"key"
    # the system has no record: no token (the URL is refused), unless it names one
    bare = (await call(run, "url", {**where, "as": "system"}, bob)).json()["url"]
    assert "token=" not in bare and (await app.get(bare)).status_code == 404
    for holder, status in ((ann_id, 200), (bob_id, 404)):
        url = (await call(run, "url", {**where, "as": "system", "token_for": holder}, bob)).json()["url"]
        assert "token=" in url and (await app.get(url)).status_code == status


async def test_a_record_is_created_with_its_files_in_one_write(app: App):
    run, (ann, ann_id), (bob, _) = app.run, app.ann, app.bob
    r = await call(run, "create_with_file", {"owner": ann_id}, ann)
    assert r.status_code == 200, r.text
    rec = r.json()
    assert len(rec["attachments"]) == 2 and rec["secret"].startswith("key_")
    for name in [*rec["attachments"], rec["secret"]]:
        assert await app.stored(rec["id"], name)
    got = await call(run, "read", {"collection": "docs", "id": rec["id"], "name": rec["attachments"][1]}, ann)
    assert got.json() == {"content": "dHdv"}
    # bob may not create a doc owned by ann: nothing is kept of the files
    before = await run.engine.db.fetchval('SELECT COUNT(*) FROM "docs"')
    r = await call(run, "create_with_file", {"owner": ann_id}, bob)
    assert r.status_code == 400 and r.json()["message"] == "Failed to create record."
    assert await run.engine.db.fetchval('SELECT COUNT(*) FROM "docs"') == before
    r = await call(run, "create_with_file", {"owner": ann_id, "as": "system"}, bob)
    assert r.status_code == 200 and len(r.json()["attachments"]) == 2


@pytest.fixture
async def local(tmp_path: Path) -> Any:
    async with _app(tmp_path) as run:
        yield await _setup(run)


@pytest.mark.parametrize(
    ("change", "status", "field", "code"),
    [
        ({"name": "../../etc/x.txt"}, 400, "attachments", "validation_invalid_file_name"),
        ({"content": "x" * 1001}, 400, "attachments", "validation_file_size_limit"),
        ({"content": "%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"}, 400, "attachments", "validation_invalid_mime_type"),
        ({"field": "title"}, 400, "title", "validation_invalid_value"),
        ({"field": "nope"}, 400, "nope", "validation_unknown_field"),
        ({"id": "missing000000000"}, 404, None, None),
        ({"collection": "nope"}, 404, None, None),
    ],
    ids=["path-in-name", "too-large", "wrong-type", "not-a-file-field", "unknown-field", "no-record", "no-collection"],
)
async def test_bad_attachments_are_refused_in_the_api_error_shape_and_store_nothing(
    local: App, change: dict[str, Any], status: int, field: str | None, code: str | None
):
    run, doc, (ann, _) = local.run, local.doc, local.ann
    body = {"collection": "docs", "id": doc, "field": "attachments", "name": "a.txt", "content": "ok", **change}
    r = await call(run, "attach", body, ann)
    assert r.status_code == status, r.text
    if code:
        assert r.json()["data"][field]["code"] == code, r.json()
    storage = await run.engine.files.storage()
    assert [k async for k in storage.list(f"{local.coll_id}/")] == []


async def test_other_callers_are_refused_as_the_records_api_refuses_them(local: App):
    run, doc, (bob, _) = local.run, local.doc, local.bob
    body = {"collection": "docs", "id": doc, "field": "attachments", "name": "a.txt", "content": "x"}
    for who in (bob, ""):  # the update rule hides ann's doc from bob and from guests
        r = await call(run, "attach", body, who)
        assert r.status_code == 404, r.text
    # too many files for maxSelect 2
    for _ in range(2):
        assert (await call(run, "attach", body, local.ann[0])).status_code == 200
    r = await call(run, "attach", body, local.ann[0])
    assert r.status_code == 400 and r.json()["data"]["attachments"]["code"] == "validation_too_many_files"
    storage = await run.engine.files.storage()
    assert len([k async for k in storage.list(f"{local.coll_id}/{doc}/")]) == 2
    # the system bypasses the update rule
    r = await call(run, "attach", {**body, "field": "cover", "as": "system"}, bob)
    assert r.status_code == 200 and await local.stored(doc, r.json()["cover"])


async def test_mail_goes_through_the_engines_smtp_settings(local: App, smtp_server: Any):
    inbox, port = smtp_server
    run = local.run
    r = await run.client.patch(
        "/api/settings",
        json={"smtp": smtp_settings(port)["smtp"], "meta": smtp_settings(port)["meta"]},
        headers={"Authorization": run.su},
    )
    assert r.status_code == 200, r.text
    body = {"to": ["ann@example.com", "bob@example.com"], "subject": "Your invoice", "html": "<p>Paid: <b>12</b></p>"}
    r = await call(run, "mail", body)
    assert r.status_code == 200, r.text
    assert len(inbox.messages) == 1
    sender, rcpts, msg = inbox.messages[0]
    assert sender == "support@acme.test" and rcpts == ["ann@example.com", "bob@example.com"]
    assert msg["Subject"] == "Your invoice" and "Acme Support" in msg["From"]
    assert "Paid: 12" in msg.get_body(("plain",)).get_content()
    assert "<b>12</b>" in msg.get_body(("html",)).get_content()
    # a refusing server (wrong password): 502, and the password is not in the answer
    r = await run.client.patch(
        "/api/settings",
        json={"smtp": smtp_settings(port, password="wrong-pass")["smtp"]},
        headers={"Authorization": run.su},
    )
    assert r.status_code == 200
    r = await call(run, "mail", body)
    assert r.status_code == 502 and r.json()["message"] == "Failed to send the email." and "wrong" not in r.text
    assert len(inbox.messages) == 1


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"to": "not an address"}, "to", "validation_is_email"),
        ({"to": []}, "to", "validation_required"),
        ({"to": [f"u{i}@example.com" for i in range(51)]}, "to", "validation_too_many_values"),
        ({"subject": ""}, "subject", "validation_required"),
        ({"subject": "Hi\r\nBcc: victim@example.com"}, "subject", "validation_invalid_value"),
        ({"html": "", "text": ""}, "html", "validation_required"),
    ],
    ids=["bad-address", "no-recipient", "too-many", "no-subject", "header-injection", "no-body"],
)
async def test_bad_mail_is_refused_before_sending(local: App, change: dict[str, Any], field: str, code: str):
    body = {"to": "ann@example.com", "subject": "Hi", "html": "<p>x</p>", **change}
    r = await call(local.run, "mail", body)
    assert r.status_code == 400 and r.json()["data"][field]["code"] == code, r.text
    assert not (Path(local.run.engine.settings.data_dir) / "mailbox").exists()


async def test_without_smtp_the_mail_lands_in_the_dev_mailbox(local: App):
    from baas.auth.mail import read_mailbox

    r = await call(local.run, "mail", {"to": "ann@example.com", "subject": "Hello", "text": "plain only"})
    assert r.status_code == 200, r.text
    (msg,) = read_mailbox(local.run.engine.settings.data_dir)
    assert msg.id == r.json()["id"] and msg.to == ["ann@example.com"] and msg.text == "plain only"
    assert msg.kind.startswith("function:")
