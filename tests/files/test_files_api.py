"""``GET /api/files/…`` and ``POST /api/files/token`` on an in-process app.

Uploads come later, so these tests put blobs into the engine's storage and write the file field
values with SQL, as an upload will once it has stored its blobs."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from baas import files
from baas.auth import tokens
from baas.db.tables import q
from baas.files.storage import file_key, iter_bytes, thumb_key
from tests.harness import Ctx, make_bucket, png, s3_settings


@pytest.fixture
async def rec(ctx: Ctx) -> dict[str, Any]:
    """A docs record of alice's with a protected PNG and public files: PNG, text, HTML, SVG."""
    rid = await ctx.record("docs", owner=ctx.users["alice"])
    blobs = {
        "pic_abc.png": png(),
        "notes_abc.txt": b"plain text notes",
        "page_abc.html": b"<html><body>hi</body>",
        "draw_abc.svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "fake_abc.png": b"not really a png",
    }
    await ctx.attach("docs", rid, "pub", blobs)
    await ctx.attach("docs", rid, "doc", {"secret_abc.png": png((50, 50))})
    return {"id": rid, "base": f"/api/files/docs/{rid}", "blobs": blobs}


async def test_public_file_with_pocketbase_headers(ctx: Ctx, rec) -> None:
    r = await ctx.get(f"{rec['base']}/pic_abc.png")
    assert r.status_code == 200 and r.content == rec["blobs"]["pic_abc.png"]
    h = r.headers
    assert h["content-type"] == "image/png"
    assert h["content-disposition"] == 'inline; filename="pic_abc.png"'
    assert h["content-length"] == str(len(r.content))
    assert h["x-content-type-options"] == "nosniff"
    assert h["content-security-policy"].startswith("default-src 'none'") and "sandbox" in h["content-security-policy"]
    assert h["cache-control"] == "max-age=2592000, stale-while-revalidate=86400"
    assert h["etag"].startswith('"') and h["last-modified"].endswith("GMT") and h["accept-ranges"] == "bytes"
    coll_id = ctx.eng.registry.get("docs").id
    by_id = await ctx.get(f"/api/files/{coll_id}/{rec['id']}/pic_abc.png")
    assert by_id.status_code == 200 and by_id.content == r.content


async def test_types_and_dispositions(ctx: Ctx, rec) -> None:
    text = await ctx.get(f"{rec['base']}/notes_abc.txt")
    assert text.headers["content-type"].startswith("text/plain")
    assert text.headers["content-disposition"].startswith("attachment")
    for name, ctype in [("page_abc.html", "text/html"), ("draw_abc.svg", "image/svg+xml")]:
        r = await ctx.get(f"{rec['base']}/{name}")  # script-capable types: attachment + sandbox CSP
        assert r.status_code == 200 and r.headers["content-type"].startswith(ctype)
        assert r.headers["content-disposition"] == f'attachment; filename="{name}"'
        assert "sandbox" in r.headers["content-security-policy"]
    dl = await ctx.get(f"{rec['base']}/pic_abc.png?download=1")
    assert dl.headers["content-disposition"] == 'attachment; filename="pic_abc.png"'
    fake = await ctx.get(f"{rec['base']}/fake_abc.png")  # the type comes from the content, not the name
    assert fake.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    "path",
    [
        "/api/files/docs/{id}/nope_abc.png",
        "/api/files/docs/nosuchrecord123/pic_abc.png",
        "/api/files/nosuch/{id}/pic_abc.png",
        "/api/files/docs/{id}/..%2F..%2Fdata.db",
        "/api/files/docs/{id}/.secret",
        "/api/files/docs/{id}/a%5Cb.png",
        "/api/files/docs/{id}/a%00b.png",
    ],
)
async def test_not_found(ctx: Ctx, rec, path: str) -> None:
    r = await ctx.get(path.format(id=rec["id"]))
    assert r.status_code == 404
    assert r.json() == {"status": 404, "message": "The requested resource wasn't found.", "data": {}}


async def test_blob_outside_the_record_is_not_served(ctx: Ctx, rec) -> None:
    """A stored blob that no file field names (an orphan) stays private."""
    st = await files.storage_for(ctx.eng)
    await st.put(file_key(ctx.eng.registry.get("docs").id, rec["id"], "orphan_abc.png"), iter_bytes(png()))
    assert (await ctx.get(f"{rec['base']}/orphan_abc.png")).status_code == 404
    # …and a name in the record whose blob is gone answers 404 too
    await st.delete(file_key(ctx.eng.registry.get("docs").id, rec["id"], "notes_abc.txt"))
    assert (await ctx.get(f"{rec['base']}/notes_abc.txt")).status_code == 404


async def test_ranges(ctx: Ctx, rec) -> None:
    data = rec["blobs"]["pic_abc.png"]
    url = f"{rec['base']}/pic_abc.png"
    r = await ctx.get(url, headers={"Range": "bytes=0-9"})
    assert r.status_code == 206 and r.content == data[:10]
    assert r.headers["content-range"] == f"bytes 0-9/{len(data)}" and r.headers["content-length"] == "10"
    r = await ctx.get(url, headers={"Range": "bytes=-5"})
    assert r.status_code == 206 and r.content == data[-5:]
    r = await ctx.get(url, headers={"Range": "bytes=100-"})
    assert r.status_code == 206 and r.content == data[100:]
    r = await ctx.get(url, headers={"Range": f"bytes=10-{len(data) + 100}"})
    assert r.status_code == 206 and r.content == data[10:]
    r = await ctx.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{len(data)}"
    r = await ctx.get(url, headers={"Range": "bytes=0-1,5-6"})  # several ranges: the whole file
    assert r.status_code == 200 and r.content == data
    r = await ctx.get(url, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert r.status_code == 200 and r.content == data
    etag = r.headers["etag"]
    r = await ctx.get(url, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert r.status_code == 206 and r.content == data[:10]


async def test_conditional_requests(ctx: Ctx, rec) -> None:
    url = f"{rec['base']}/pic_abc.png"
    first = await ctx.get(url)
    r = await ctx.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == first.headers["etag"]
    r = await ctx.get(url, headers={"If-None-Match": '"other", ' + first.headers["etag"]})
    assert r.status_code == 304
    r = await ctx.get(url, headers={"If-None-Match": '"other"'})
    assert r.status_code == 200
    r = await ctx.get(url, headers={"If-Modified-Since": first.headers["last-modified"]})
    assert r.status_code == 304
    r = await ctx.get(url, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert r.status_code == 200


async def test_head(ctx: Ctx, rec) -> None:
    r = await ctx.client.head(f"{rec['base']}/pic_abc.png")
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-length"] == str(len(rec["blobs"]["pic_abc.png"]))
    assert r.headers["content-type"] == "image/png"


async def test_thumbs(ctx: Ctx, rec) -> None:
    coll_id = ctx.eng.registry.get("docs").id
    st = await files.storage_for(ctx.eng)
    for spec, size in [("50x50", (50, 50)), ("0x40", (60, 40)), ("40x40f", (40, 27)), ("100x100", (100, 100))]:
        r = await ctx.get(f"{rec['base']}/pic_abc.png?thumb={spec}")
        assert r.status_code == 200, spec
        with Image.open(io.BytesIO(r.content)) as im:
            assert im.size == size, spec
        assert r.headers["content-disposition"] == f'inline; filename="{spec}_pic_abc.png"'
        assert await st.exists(thumb_key(coll_id, rec["id"], "pic_abc.png", spec))  # cached in storage
    # a size the field does not list, or a malformed one: the original
    for spec in ["70x70", "0x0", "abc", "50x50x"]:
        r = await ctx.get(f"{rec['base']}/pic_abc.png", params={"thumb": spec})
        assert r.status_code == 200 and r.content == rec["blobs"]["pic_abc.png"], spec
    # not an image (whatever its name says): the original, no thumb stored
    r = await ctx.get(f"{rec['base']}/fake_abc.png?thumb=50x50")
    assert r.status_code == 200 and r.content == rec["blobs"]["fake_abc.png"]
    assert not await st.exists(thumb_key(coll_id, rec["id"], "fake_abc.png", "50x50"))
    r = await ctx.get(f"{rec['base']}/notes_abc.txt?thumb=50x50")
    assert r.status_code == 200 and r.content == b"plain text notes"


async def test_file_token(ctx: Ctx) -> None:
    r = await ctx.client.post("/api/files/token")
    assert r.status_code == 401 and r.json()["status"] == 401
    r = await ctx.client.post("/api/files/token", headers=ctx.h("alice"))
    assert r.status_code == 200 and set(r.json()) == {"token"}
    claims = tokens.peek(r.json()["token"])
    assert claims["type"] == "file" and claims["id"] == ctx.users["alice"]
    assert claims["exp"] - claims["iat"] == 180  # PocketBase's default fileToken.duration
    su = await ctx.client.post("/api/files/token", headers=ctx.h("su"))
    assert su.status_code == 200


async def test_protected_files(ctx: Ctx, rec) -> None:
    url = f"{rec['base']}/secret_abc.png"

    async def token(who: str) -> str:
        return (await ctx.client.post("/api/files/token", headers=ctx.h(who))).json()["token"]

    assert (await ctx.get(url)).status_code == 404  # no token
    assert (await ctx.get(url, "alice")).status_code == 404  # an auth header is not a file token
    assert (await ctx.get(url, params={"token": "garbage"})).status_code == 404
    assert (await ctx.get(url, params={"token": ctx.tokens["alice"]})).status_code == 404  # auth token, not file
    assert (await ctx.get(url, params={"token": await token("bob")})).status_code == 404  # fails the view rule
    ok = await ctx.get(url, params={"token": await token("alice")})
    assert ok.status_code == 200 and ok.headers["content-type"] == "image/png"
    assert (await ctx.get(url, params={"token": await token("su")})).status_code == 200
    thumb = await ctx.get(url, params={"token": await token("alice"), "thumb": "100x100"})
    assert thumb.status_code == 200 and thumb.headers["content-disposition"].startswith('inline; filename="100x100_')
    # expired: a file token that ran out a minute ago
    users = ctx.eng.registry.get("users")
    key = await ctx.eng.db.fetchval(
        f"SELECT {q('tokenKey')} FROM {q('users')} WHERE {q('id')} = ?", [ctx.users["alice"]]
    )
    expired = tokens.issue(
        ctx.eng.secret, {"id": ctx.users["alice"]}, users.id, key, -60, kind="file", refreshable=False
    )
    assert (await ctx.get(url, params={"token": expired})).status_code == 404
    # public files of the same record need no token
    assert (await ctx.get(f"{rec['base']}/pic_abc.png")).status_code == 200


async def test_protected_file_of_superuser_only_collection(ctx: Ctx) -> None:
    rid = await ctx.record("locked")
    await ctx.attach("locked", rid, "doc", {"x_abc.txt": b"top secret"})
    url = f"/api/files/locked/{rid}/x_abc.txt"
    alice = (await ctx.client.post("/api/files/token", headers=ctx.h("alice"))).json()["token"]
    su = (await ctx.client.post("/api/files/token", headers=ctx.h("su"))).json()["token"]
    assert (await ctx.get(url, params={"token": alice})).status_code == 404
    r = await ctx.get(url, params={"token": su})
    assert r.status_code == 200 and r.content == b"top secret"


async def test_settings_s3_secret_is_write_only_and_switches_storage(ctx: Ctx, rec, moto_endpoint) -> None:
    r = await ctx.get("/api/settings", "su")
    assert r.json()["s3"] == {
        "enabled": False,
        "bucket": "",
        "region": "",
        "endpoint": "",
        "accessKey": "",
        "forcePathStyle": False,
    }
    bad = await ctx.client.patch("/api/settings", json={"s3": {"enabled": True}}, headers=ctx.h("su"))
    assert bad.status_code == 400 and set(bad.json()["data"]["s3"]) == {
        "bucket",
        "region",
        "endpoint",
        "accessKey",
        "secret",
    }
    bad = await ctx.client.patch("/api/settings", json={"s3": {**s3_settings("ftp://x/y", "b")}}, headers=ctx.h("su"))
    assert bad.status_code == 400 and "endpoint" in bad.json()["data"]["s3"]
    assert (await ctx.get("/api/settings", "alice")).status_code == 403

    bucket = make_bucket(moto_endpoint)
    r = await ctx.client.patch("/api/settings", json={"s3": s3_settings(moto_endpoint, bucket)}, headers=ctx.h("su"))
    assert r.status_code == 200 and "secret" not in r.json()["s3"] and r.json()["s3"]["enabled"] is True
    assert "secret" not in (await ctx.get("/api/settings", "su")).json()["s3"]
    # a later PATCH without the secret (as a form that never saw it sends) keeps it
    r = await ctx.client.patch("/api/settings", json={"s3": {"bucket": bucket, "secret": ""}}, headers=ctx.h("su"))
    assert r.status_code == 200
    st = await files.storage_for(ctx.eng)
    assert type(st).__name__ == "S3Storage"
    # files now come from the bucket (the local blob of the fixture is not there)
    assert (await ctx.get(f"{rec['base']}/pic_abc.png")).status_code == 404
    await ctx.attach("docs", rec["id"], "pub", {"pic_abc.png": png((120, 80))})
    r = await ctx.get(f"{rec['base']}/pic_abc.png?thumb=50x50")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(r.content)) as im:
        assert im.size == (50, 50)
    r = await ctx.get(f"{rec['base']}/pic_abc.png", headers={"Range": "bytes=1-3"})
    assert r.status_code == 206 and r.content == png((120, 80))[1:4]
    # and back to the local disk
    r = await ctx.client.patch("/api/settings", json={"s3": {"enabled": False}}, headers=ctx.h("su"))
    assert r.status_code == 200
    assert type(await files.storage_for(ctx.eng)).__name__ == "LocalStorage"
