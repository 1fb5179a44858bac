"""Uploads through record writes: multipart create/update/delete, ``field+``/``field-``, limits and
bad input, and what storage holds afterwards — on local disk and on S3 (moto) where it matters."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from baas import files
from baas.files.storage import Storage
from baas.schema.loader import load_schema_text
from tests.harness import Ctx, make_bucket, png, s3_settings

SCHEMA = """
collections:
  - name: albums
    listRule: ""
    viewRule: ""
    createRule: "title != 'forbidden'"
    updateRule: "title != 'frozen'"
    deleteRule: ""
    fields:
      - {name: title, type: text, max: 50}
      - {name: code, type: text}
      - {name: count, type: number}
      - {name: cover, type: file, maxSize: 4000, mimeTypes: [image/png]}
      - {name: photos, type: file, maxSelect: 3}
      - {name: secret, type: file, hidden: true}
      - {name: big, type: file, maxSize: 300000}
    indexes: ["CREATE UNIQUE INDEX idx_albums_code ON albums (code) WHERE code != ''"]
  - name: tracks
    listRule: ""
    viewRule: ""
    createRule: ""
    deleteRule: ""
    fields:
      - {name: album, type: relation, collection: albums, cascadeDelete: true}
      - {name: audio, type: file}
  - name: album_titles
    type: view
    listRule: ""
    viewQuery: "SELECT id, title, cover FROM albums"
"""

URL = "/api/collections/albums/records"
_STORED = re.compile(r"^[a-z0-9_]+_[a-z0-9]{10}\.[A-Za-z0-9]+$")


@dataclass
class Up:
    ctx: Ctx
    st: Storage
    albums: str  # collection ids
    tracks: str

    @property
    def client(self) -> httpx.AsyncClient:
        return self.ctx.client

    async def keys(self, coll_id: str | None = None) -> list[str]:
        prefix = f"{coll_id or self.albums}/"
        return sorted(i.key for i in [x async for x in self.st.list(prefix)])

    async def post(
        self, data: dict[str, Any] | None = None, files: list | None = None, who: str | None = "su", url: str = URL
    ) -> httpx.Response:
        return await self.client.post(url, data=data or {}, files=files or [], headers=self.ctx.h(who))

    async def patch(
        self, rec_id: str, data: dict[str, Any] | None = None, files: list | None = None, who: str | None = "su"
    ) -> httpx.Response:
        return await self.client.patch(f"{URL}/{rec_id}", data=data or {}, files=files or [], headers=self.ctx.h(who))

    async def fetch(self, rec: dict[str, Any], name: str) -> bytes:
        r = await self.client.get(f"/api/files/{rec['collectionId']}/{rec['id']}/{name}")
        assert r.status_code == 200, r.text
        return r.content


async def _setup(ctx: Ctx, backend: str, request: pytest.FixtureRequest) -> Up:
    tables = [c for c in load_schema_text(SCHEMA).collections if c.type != "view"]
    await ctx.eng.apply(lambda: [*ctx.eng.registry.all(), *tables])  # views after the tables they read
    await ctx.eng.apply(lambda: [*ctx.eng.registry.all(), *load_schema_text(SCHEMA).collections[len(tables) :]])
    if backend == "s3":
        endpoint = request.getfixturevalue("moto_endpoint")
        r = await ctx.client.patch(
            "/api/settings", json={"s3": s3_settings(endpoint, make_bucket(endpoint))}, headers=ctx.h("su")
        )
        assert r.status_code == 200, r.text
    st = await files.storage_for(ctx.eng)
    return Up(ctx, st, ctx.eng.registry.get("albums").id, ctx.eng.registry.get("tracks").id)


@pytest.fixture(params=["local", "s3"])
async def up(request, ctx: Ctx) -> Up:
    """Both storage backends: for the tests that check what storage holds."""
    return await _setup(ctx, request.param, request)


@pytest.fixture
async def upl(request, ctx: Ctx) -> Up:
    """Local storage only: for input checks that never reach a backend-specific path."""
    return await _setup(ctx, "local", request)


PNG = png((20, 20))
PNG2 = png((30, 30), (0, 200, 0))


def f(field: str, name: str, data: bytes, ctype: str = "application/octet-stream") -> tuple:
    return (field, (name, data, ctype))


# -- create, update, delete ------------------------------------------------------------------
async def test_create_with_files(up: Up) -> None:
    r = await up.post(
        {"title": "Trip", "count": "3"},
        [
            f("cover", "Cover Photo.PNG", PNG, "image/png"),
            f("photos", "a.txt", b"first"),
            f("photos", "notes.md", b"# second"),
        ],
    )
    assert r.status_code == 200, r.text
    rec = r.json()
    assert rec["title"] == "Trip" and rec["count"] == 3
    assert _STORED.match(rec["cover"]) and rec["cover"].startswith("cover_photo_") and rec["cover"].endswith(".PNG")
    assert len(rec["photos"]) == 2 and rec["photos"][1].startswith("notes_") and rec["photos"][1].endswith(".md")
    assert await up.keys() == sorted(f"{up.albums}/{rec['id']}/{n}" for n in [rec["cover"], *rec["photos"]])
    assert await up.fetch(rec, rec["cover"]) == PNG
    assert await up.fetch(rec, rec["photos"][0]) == b"first"
    listed = (await up.client.get(URL)).json()["items"]
    assert [i["photos"] for i in listed] == [rec["photos"]]


async def test_json_payload_as_the_sdk_sends_it(up: Up) -> None:
    r = await up.client.post(
        URL,
        headers=up.ctx.h("su"),
        data={"@jsonPayload": json.dumps({"count": 7, "title": "J"})},
        files=[f("photos", "x.txt", b"x")],
    )
    assert r.status_code == 200, r.text
    assert (r.json()["count"], r.json()["title"], len(r.json()["photos"])) == (7, "J", 1)


async def test_replace_single_file(up: Up) -> None:
    rec = (await up.post({}, [f("cover", "one.png", PNG)])).json()
    old = rec["cover"]
    r = await up.patch(rec["id"], {}, [f("cover", "two.png", PNG2)])
    assert r.status_code == 200, r.text
    new = r.json()["cover"]
    assert new != old and new.startswith("two_")
    assert await up.keys() == [f"{up.albums}/{rec['id']}/{new}"]  # the replaced file is gone
    assert await up.fetch(rec, new) == PNG2


async def test_add_remove_and_keep(up: Up) -> None:
    rec = (await up.post({}, [f("photos", "aaa.txt", b"1")])).json()
    rid, (a,) = rec["id"], rec["photos"]
    r = await up.patch(rid, {}, [f("photos+", "bbb.txt", b"2")])  # append
    assert r.status_code == 200, r.text
    a2, b = r.json()["photos"]
    assert a2 == a and b.startswith("bbb_")
    r = await up.patch(rid, {}, [f("+photos", "ccc.txt", b"3")])  # prepend
    c, a3, b2 = r.json()["photos"]
    assert c.startswith("ccc_") and (a3, b2) == (a, b)
    r = await up.patch(rid, {"photos-": a})  # remove by name (a form value)
    assert r.json()["photos"] == [c, b]
    assert await up.keys() == sorted(f"{up.albums}/{rid}/{n}" for n in (b, c))
    # keep the names sent and add the files sent under the same key; the others go
    r = await up.patch(rid, {"photos": b}, [f("photos", "ddd.txt", b"4")])
    assert r.status_code == 200, r.text
    b3, d = r.json()["photos"]
    assert b3 == b and d.startswith("ddd_")
    assert await up.keys() == sorted(f"{up.albums}/{rid}/{n}" for n in (b, d))
    # JSON clears the field: every file goes
    r = await up.client.patch(f"{URL}/{rid}", json={"photos": []}, headers=up.ctx.h("su"))
    assert r.status_code == 200 and r.json()["photos"] == []
    assert await up.keys() == []


async def test_json_remove_modifier_deletes_the_blob(up: Up) -> None:
    rec = (await up.post({}, [f("photos", "one.txt", b"1"), f("photos", "two.txt", b"2")])).json()
    one, two = rec["photos"]
    r = await up.client.patch(f"{URL}/{rec['id']}", json={"photos-": [one]}, headers=up.ctx.h("su"))
    assert r.status_code == 200 and r.json()["photos"] == [two]
    assert await up.keys() == [f"{up.albums}/{rec['id']}/{two}"]


async def test_thumbnails_go_with_their_file(up: Up) -> None:
    rec = (await up.post({}, [f("cover", "pic.png", png((200, 100)), "image/png")])).json()
    r = await up.client.get(f"/api/files/albums/{rec['id']}/{rec['cover']}?thumb=100x100")
    assert r.status_code == 200
    assert len(await up.keys()) == 2  # the original and its thumbnail
    new = (await up.patch(rec["id"], {}, [f("cover", "other.png", PNG)])).json()["cover"]
    assert await up.keys() == [f"{up.albums}/{rec['id']}/{new}"]  # the old file and its thumbnail went


async def test_delete_removes_files(up: Up) -> None:
    rec = (await up.post({}, [f("cover", "c.png", PNG), f("photos", "p.txt", b"p")])).json()
    other = (await up.post({}, [f("photos", "keep.txt", b"k")])).json()
    r = await up.client.delete(f"{URL}/{rec['id']}", headers=up.ctx.h("su"))
    assert r.status_code == 204
    assert await up.keys() == [f"{up.albums}/{other['id']}/{other['photos'][0]}"]


async def test_cascade_delete_removes_files(up: Up) -> None:
    album = (await up.post({}, [f("cover", "c.png", PNG)])).json()
    mp3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\x00" * 64
    track = await up.post({"album": album["id"]}, [f("audio", "song.mp3", mp3)], url="/api/collections/tracks/records")
    assert track.status_code == 200, track.text
    assert len(await up.keys(up.tracks)) == 1
    r = await up.client.delete(f"{URL}/{album['id']}", headers=up.ctx.h("su"))
    assert r.status_code == 204
    assert await up.keys() == [] and await up.keys(up.tracks) == []


async def test_single_file_field_keeps_the_last_of_several(up: Up) -> None:
    """As PocketBase: a single-file field set to several files keeps the last; the others are not kept."""
    r = await up.post({}, [f("cover", "first.png", PNG), f("cover", "second.png", PNG2)])
    assert r.status_code == 200, r.text
    rec = r.json()
    assert rec["cover"].startswith("second_")
    assert await up.keys() == [f"{up.albums}/{rec['id']}/{rec['cover']}"]


async def test_id_sent_after_the_files(up: Up) -> None:
    r = await up.client.post(
        URL, headers=up.ctx.h("su"), files=[f("photos", "x.txt", b"x"), ("id", (None, "myownid12345678"))]
    )
    assert r.status_code == 200, r.text
    rec = r.json()
    assert rec["id"] == "myownid12345678"
    assert await up.keys() == [f"{up.albums}/myownid12345678/{rec['photos'][0]}"]
    assert await up.fetch(rec, rec["photos"][0]) == b"x"


# -- a failed write leaves no blob -----------------------------------------------------------
async def test_failed_writes_leave_no_blob(up: Up) -> None:
    # field validation
    r = await up.post({"title": "x" * 60}, [f("photos", "p.txt", b"p")])
    assert r.status_code == 400 and "title" in r.json()["data"]
    # the create rule (evaluated after the row is written, inside the transaction)
    r = await up.post({"title": "forbidden"}, [f("photos", "p.txt", b"p")], who="alice")
    assert r.status_code == 400
    # a unique constraint
    assert (await up.post({"code": "dup"})).status_code == 200
    r = await up.post({"code": "dup"}, [f("photos", "p.txt", b"p")])
    assert r.status_code == 400 and r.json()["data"]["code"]["code"] == "validation_not_unique"
    # an update the rule refuses, and one of a missing record
    rec = (await up.post({"title": "frozen"}, [f("photos", "keep.txt", b"k")])).json()
    r = await up.patch(rec["id"], {"title": "frozen"}, [f("photos+", "p.txt", b"p")], who="alice")
    assert r.status_code == 404
    r = await up.patch("missingmissingx", {}, [f("photos", "p.txt", b"p")])
    assert r.status_code == 404
    assert await up.keys() == [f"{up.albums}/{rec['id']}/{rec['photos'][0]}"]
    assert (await up.client.get(URL)).json()["totalItems"] == 2


# -- bad input: a clear 400 (413) and nothing stored -----------------------------------------
BAD = [
    (
        "over maxSize",
        [f("cover", "c.png", png((400, 400), (1, 2, 3)) + b"\0" * 5000)],
        "cover",
        "validation_file_size_limit",
    ),
    (
        "mime sniffed, not the client's type",
        [f("cover", "evil.png", b"<html><script>x</script>", "image/png")],
        "cover",
        "validation_invalid_mime_type",
    ),
    ("path traversal name", [f("photos", "../../etc/passwd", b"x")], "photos", "validation_invalid_file_name"),
    ("backslash path name", [f("photos", "..\\x.txt", b"x")], "photos", "validation_invalid_file_name"),
    ("too many files", [f("photos", f"p{i}.txt", b"x") for i in range(4)], "photos", "validation_too_many_files"),
    ("file for a non-file field", [f("title", "t.txt", b"x")], "title", "validation_invalid_value"),
    ("file for an unknown field", [f("nope", "t.txt", b"x")], "nope", "validation_unknown_field"),
    ("file under a remove modifier", [f("photos-", "t.txt", b"x")], "photos-", "validation_invalid_value"),
]


@pytest.mark.parametrize("case,parts,key,code", BAD, ids=[b[0] for b in BAD])
async def test_bad_uploads_are_refused(upl: Up, case: str, parts: list, key: str, code: str) -> None:
    # A good file first: it is stored before the bad part arrives, and must be removed again.
    r = await upl.post({"title": "t"}, [f("big", "good.bin", b"good")] + parts)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["message"] == "Failed to create record."
    assert body["data"][key]["code"] == code, body
    assert await upl.keys() == []  # the good file went too
    assert (await upl.client.get(URL)).json()["totalItems"] == 0


async def test_bad_upload_on_update_changes_nothing(up: Up) -> None:
    rec = (await up.post({"title": "before"}, [f("photos", "keep.txt", b"k")])).json()
    r = await up.patch(rec["id"], {"title": "after"}, [f("photos+", "ok.txt", b"ok"), f("cover", "x.png", b"not png")])
    assert r.status_code == 400 and r.json()["data"]["cover"]["code"] == "validation_invalid_mime_type"
    assert r.json()["message"] == "Failed to update record."
    assert (await up.client.get(f"{URL}/{rec['id']}")).json()["title"] == "before"
    assert await up.keys() == [f"{up.albums}/{rec['id']}/{rec['photos'][0]}"]


async def test_names_not_uploaded_are_refused(upl: Up) -> None:
    r = await upl.post({"cover": "someone_elses_abcdefghij.png"})
    assert r.status_code == 400
    assert r.json()["data"]["cover"] == {
        "code": "validation_invalid_file",
        "message": "Invalid new files: [someone_elses_abcdefghij.png].",
        "params": {"invalidFiles": ["someone_elses_abcdefghij.png"]},
    }
    r = await upl.client.post(URL, json={"photos": ["a_abcdefghij.txt"]}, headers=upl.ctx.h("su"))
    assert r.status_code == 400 and r.json()["data"]["photos"]["code"] == "validation_invalid_file"


async def test_hidden_file_field_is_for_superusers(upl: Up) -> None:
    r = await upl.post({}, [f("secret", "s.txt", b"s")], who="alice")
    assert r.status_code == 400 and r.json()["data"]["secret"]["code"] == "validation_forbidden"
    assert await upl.keys() == []
    r = await upl.post({}, [f("secret", "s.txt", b"s")])
    assert r.status_code == 200 and len(await upl.keys()) == 1


async def test_view_collection_takes_no_files(upl: Up) -> None:
    r = await upl.post({}, [f("cover", "c.png", PNG)], url="/api/collections/album_titles/records")
    assert r.status_code == 400 and r.json()["message"] == "View collections are read-only."
    assert await upl.keys() == []


async def test_locked_rule_refuses_before_storing(upl: Up) -> None:
    r = await upl.post({}, [f("doc", "d.txt", b"d")], who="alice", url="/api/collections/locked/records")
    assert r.status_code == 403
    locked = upl.ctx.eng.registry.get("locked").id
    assert await upl.keys(locked) == []


async def test_malformed_multipart_is_refused(upl: Up) -> None:
    headers = {**upl.ctx.h("su"), "Content-Type": "multipart/form-data; boundary=XyZ"}
    body = b'--XyZ\r\nContent-Disposition: form-data; name="photos"; filename="a.txt"\r\n\r\n' + b"a" * 1000
    r = await upl.client.post(URL, content=body, headers=headers)  # ends inside the file part
    assert r.status_code == 400 and "multipart" in r.json()["message"]
    r = await upl.client.post(
        URL, content=b"--XyZ--\r\n", headers={**upl.ctx.h("su"), "Content-Type": "multipart/form-data"}
    )
    assert r.status_code == 400 and "boundary" in r.json()["message"]
    assert await upl.keys() == []


# -- body limits -----------------------------------------------------------------------------
@pytest.fixture
def small_limit(upl: Up) -> Any:
    """A 20 kB global limit for one test (the app reads it per request)."""
    settings = upl.ctx.eng.settings
    old, settings.max_body_size = settings.max_body_size, 20_000
    yield settings.max_body_size
    settings.max_body_size = old


async def _chunked(parts: list[bytes]) -> AsyncIterator[bytes]:
    for p in parts:
        yield p


def _multipart(*parts: tuple[str, str | None, bytes], boundary: str = "b0und") -> list[bytes]:
    out = []
    for name, filename, data in parts:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += [f"--{boundary}\r\nContent-Disposition: {disp}\r\n\r\n".encode(), data, b"\r\n"]
    return out + [f"--{boundary}--\r\n".encode()]


async def test_body_past_the_limit_is_413_and_stores_nothing(upl: Up, small_limit: int) -> None:
    headers = {**upl.ctx.h("su"), "Content-Type": "multipart/form-data; boundary=b0und"}
    # JSON past the global limit
    r = await upl.client.post(URL, json={"title": "x" * 30_000}, headers=upl.ctx.h("su"))
    assert r.status_code == 413 and r.json()["status"] == 413
    # tracks' limit: 20 kB global + audio's 5 MiB (maxSize 0: PocketBase's default)
    tracks = "/api/collections/tracks/records"
    parts = _multipart(("audio", "a.bin", b"\1" * 5_000_000), ("audio", "b.bin", b"\2" * 300_000))
    # announced too large by Content-Length: refused before anything is read
    r = await upl.client.post(tracks, content=b"".join(parts), headers=headers)
    assert r.status_code == 413
    # chunked (no Content-Length): the first file is stored, then the body passes the limit
    r = await upl.client.post(tracks, content=_chunked(parts), headers=headers)
    assert r.status_code == 413, r.text
    assert await upl.keys(upl.tracks) == [] and await upl.keys() == []
    assert (await upl.client.get(tracks)).json()["totalItems"] == 0
    # plain values stay within the global limit even where files may be bigger
    parts = _multipart(("title", None, b"t" * 25_000))
    r = await upl.client.post(URL, content=_chunked(parts), headers=headers)
    assert r.status_code == 413


async def test_a_file_may_exceed_the_global_limit_up_to_its_max_size(upl: Up, small_limit: int) -> None:
    """Decided as PocketBase: a multipart record write may carry its file fields' maxSize on top
    of the global limit; the file's own maxSize still applies."""
    data = bytes(range(256)) * 1000  # 256 kB, past the 20 kB global limit, within big's 300 kB
    r = await upl.post({}, [f("big", "big.bin", data)])
    assert r.status_code == 200, r.text
    assert await upl.fetch(r.json(), r.json()["big"]) == data
    r = await upl.post({}, [f("big", "big.bin", data + data)])
    assert r.status_code in (400, 413)  # past maxSize (400) or past the body limit (413)
    assert len(await upl.keys()) == 1


# -- the client going away --------------------------------------------------------------------
async def test_client_disconnect_mid_upload_leaves_nothing(upl: Up) -> None:
    app = upl.client._transport.app  # type: ignore[attr-defined]
    chunks = _multipart(("title", None, b"gone"), ("photos", "p.txt", b"\3" * 200_000))[:-2]  # cut inside the file
    messages = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    messages.append({"type": "http.disconnect"})
    sent: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": URL,
        "raw_path": URL.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"content-type", b"multipart/form-data; boundary=b0und"),
            (b"host", b"testserver"),
            (b"authorization", upl.ctx.tokens["su"].encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    assert await upl.keys() == []
    assert (await upl.client.get(URL)).json()["totalItems"] == 0


# -- batch -------------------------------------------------------------------------------------
async def test_batch_with_files(up: Up) -> None:
    r = await up.client.patch("/api/settings", json={"batch": {"enabled": True}}, headers=up.ctx.h("su"))
    assert r.status_code == 200
    old = (await up.post({"title": "old"}, [f("photos", "old.txt", b"o")])).json()
    payload = {
        "requests": [
            {"method": "POST", "url": URL, "body": {"title": "new"}},
            {"method": "PATCH", "url": f"{URL}/{old['id']}", "body": {"title": "changed"}},
            {"method": "PUT", "url": URL, "body": {"id": "upsertedrecord1", "title": "up"}},
        ]
    }
    r = await up.client.post(
        "/api/batch",
        headers=up.ctx.h("su"),
        files=[
            f("requests.0.cover", "cover.png", PNG),
            f("requests.0.photos", "aaa.txt", b"a"),
            f("requests.1.photos", "bbb.txt", b"b"),
            f("requests.2.photos+", "uuu.txt", b"u"),
            ("@jsonPayload", (None, json.dumps(payload))),
        ],
    )
    assert r.status_code == 200, r.text
    created, changed, upserted = (x["body"] for x in r.json())
    assert created["cover"].startswith("cover_") and created["photos"][0].startswith("aaa_")
    assert len(changed["photos"]) == 1 and changed["photos"][0].startswith("bbb_")  # replaced old.txt
    assert upserted["id"] == "upsertedrecord1" and upserted["photos"][0].startswith("uuu_")
    assert await up.fetch(created, created["cover"]) == PNG
    expected = [f"{up.albums}/{created['id']}/{n}" for n in (created["cover"], created["photos"][0])]
    expected += [
        f"{up.albums}/{old['id']}/{changed['photos'][0]}",
        f"{up.albums}/upsertedrecord1/{upserted['photos'][0]}",
    ]
    assert await up.keys() == sorted(expected)

    # a failing request fails the batch: its uploads are removed, nothing changes
    before = await up.keys()
    payload = {
        "requests": [
            {"method": "POST", "url": URL, "body": {"title": "ok"}},
            {"method": "POST", "url": URL, "body": {"title": "x" * 60}},
        ]
    }
    r = await up.client.post(
        "/api/batch",
        headers=up.ctx.h("su"),
        files=[
            f("requests.0.photos", "a.txt", b"a"),
            f("requests.1.photos", "b.txt", b"b"),
            ("@jsonPayload", (None, json.dumps(payload))),
        ],
    )
    assert r.status_code == 400 and r.json()["data"]["requests"]["1"]["code"] == "batch_request_failed"
    assert await up.keys() == before
    # a bad file names its request
    payload = {"requests": [{"method": "POST", "url": URL, "body": {}}]}
    r = await up.client.post(
        "/api/batch",
        headers=up.ctx.h("su"),
        files=[f("requests.0.cover", "x.png", b"text"), ("@jsonPayload", (None, json.dumps(payload)))],
    )
    assert r.status_code == 400
    assert r.json()["data"]["requests"]["0"]["response"]["data"]["cover"]["code"] == "validation_invalid_mime_type"
    assert await up.keys() == before
