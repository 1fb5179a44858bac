"""Headers of served files. The ``Content-Type`` is the stored type, once, as PocketBase 0.40.6
sends it (values read off the real binary): the framework must not append a second ``charset``."""

from __future__ import annotations

import pytest

from tests.harness import Ctx, png

URL = "/api/collections/docs/records"

# (name, file name, content, Content-Type of GET and HEAD)
TYPES = [
    ("utf-8 text", "notes.txt", b"hello", "text/plain; charset=utf-8"),
    ("utf-16 text keeps its own charset", "wide.txt", b"\xff\xfeh\x00i\x00", "text/plain; charset=utf-16le"),
    ("html", "page.html", b"<html><body>x</body></html>", "text/html; charset=utf-8"),
    ("css by extension, no charset added", "site.css", b"body{color:red}", "text/css"),
    ("svg by extension", "logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "image/svg+xml"),
    ("json", "data.json", b'{"a":1}', "application/json"),
    ("png", "pic.png", png((4, 4)), "image/png"),
]


@pytest.mark.parametrize("filename,content,expected", [t[1:] for t in TYPES], ids=[t[0] for t in TYPES])
async def test_served_content_type_is_the_stored_type_once(ctx: Ctx, filename: str, content: bytes, expected: str):
    r = await ctx.client.post(URL, files={"pub": (filename, content)}, headers=ctx.h("su"))
    assert r.status_code == 200, r.text
    record = r.json()
    url = f"/api/files/docs/{record['id']}/{record['pub'][0]}"
    for method in ("GET", "HEAD"):
        r = await ctx.client.request(method, url)
        assert r.status_code == 200, r.text
        assert r.headers.get_list("content-type") == [expected], (method, r.headers)
    assert (await ctx.get(url)).content == content
