"""Multipart bodies as real clients send them: browsers' mixed-case boundaries, quoted boundaries
and extra Content-Type parameters, Content-Disposition file names with upper case, quotes and
``filename*=`` (RFC 8187) — each through the records API into storage and back; and the header
parser underneath, table by table."""

from __future__ import annotations

import re
from typing import Any

import pytest

from baas.files.headers import parse_header
from tests.harness import Ctx

URL = "/api/collections/docs/records"
WEBKIT = "----WebKitFormBoundaryX7pQzA9bC3dE1fGh"  # Chrome, Safari, Edge FormData
FIREFOX = "---------------------------26436452761386930483614089213"
HTTPX_STYLE = "a3f8b2c1d4e5f60718293a4b5c6d7e8f"


def multipart(boundary: str, disposition: str, content: bytes, owner: str = "Ünïcode owner") -> bytes:
    """A form as browsers lay it out: one text field, one file part."""
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="owner"\r\n\r\n'.encode()
        + owner.encode()
        + f"\r\n--{boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: text/plain\r\n\r\n".encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )


async def upload(ctx: Ctx, content_type: str, body: bytes) -> Any:
    return await ctx.client.post(URL, content=body, headers={**ctx.h("su"), "Content-Type": content_type})


async def stored_content(ctx: Ctx, record: dict[str, Any]) -> bytes:
    (name,) = record["pub"]
    r = await ctx.get(f"/api/files/docs/{record['id']}/{name}")
    assert r.status_code == 200, r.text
    return r.content


BOUNDARIES = [
    ("webkit boundary (Chrome/Safari/Edge)", f"multipart/form-data; boundary={WEBKIT}", WEBKIT),
    ("firefox boundary", f"multipart/form-data; boundary={FIREFOX}", FIREFOX),
    ("lower-case hex boundary", f"multipart/form-data; boundary={HTTPX_STYLE}", HTTPX_STYLE),
    ("quoted boundary", f'multipart/form-data; boundary="{WEBKIT}"', WEBKIT),
    ("boundary after a charset", f"multipart/form-data; charset=UTF-8; boundary={WEBKIT}", WEBKIT),
    ("boundary before a charset", f"multipart/form-data; boundary={WEBKIT}; charset=utf-8", WEBKIT),
    ("no space after the semicolon", f"multipart/form-data;boundary={WEBKIT}", WEBKIT),
    ("upper-case media type and parameter name", f"Multipart/Form-Data; BOUNDARY={WEBKIT}", WEBKIT),
    ("quoted boundary with characters a token cannot hold", 'multipart/form-data; boundary="Ab:c=D e,F"', "Ab:c=D e,F"),
]


@pytest.mark.parametrize("content_type,boundary", [b[1:] for b in BOUNDARIES], ids=[b[0] for b in BOUNDARIES])
async def test_browser_boundaries_are_read_as_sent(ctx: Ctx, content_type: str, boundary: str):
    disposition = 'form-data; name="pub"; filename="Notes.txt"'
    r = await upload(ctx, content_type, multipart(boundary, disposition, b"hello from a browser"))
    assert r.status_code == 200, r.text
    record = r.json()
    assert record["owner"] == "Ünïcode owner"
    assert re.fullmatch(r"notes_[a-z0-9]{10}\.txt", record["pub"][0]), record["pub"]
    assert await stored_content(ctx, record) == b"hello from a browser"


FILENAMES = [
    (
        "upper-case name keeps its extension's case",
        'form-data; name="pub"; filename="REPORT.TXT"',
        r"report_\w{10}\.TXT",
    ),
    ("upper-case parameter names", 'FORM-DATA; NAME="pub"; FILENAME="Up.txt"', r"up\w*\.txt"),
    ("quote escaped with a backslash", r'form-data; name="pub"; filename="say \"hi\".txt"', r"say_hi_\w{10}\.txt"),
    (
        "quote percent-encoded as browsers do",
        'form-data; name="pub"; filename="say %22hi%22.txt"',
        r"say_hi_\w{10}\.txt",
    ),
    ("unquoted file name", "form-data; name=pub; filename=plain.txt", r"plain_\w{10}\.txt"),
    (
        "filename* alone (RFC 8187)",
        "form-data; name=\"pub\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt",
        r"r_sum_\w{10}\.txt",
    ),
    (
        "filename* wins over filename",
        'form-data; name="pub"; filename="fallback.txt"; filename*=UTF-8\'\'chosen.txt',
        r"chosen_\w{10}\.txt",
    ),
    (
        "filename* before filename still wins",
        'form-data; name="pub"; filename*=utf-8\'en\'chosen.txt; filename="fallback.txt"',
        r"chosen_\w{10}\.txt",
    ),
    (
        "malformed filename* leaves filename",
        'form-data; name="pub"; filename="fallback.txt"; filename*=no-charset-here.txt',
        r"fallback_\w{10}\.txt",
    ),
    ("latin-1 filename*", "form-data; name=\"pub\"; filename*=ISO-8859-1''caf%E9.txt", r"caf_\w{10}\.txt"),
]


@pytest.mark.parametrize("disposition,stored", [f[1:] for f in FILENAMES], ids=[f[0] for f in FILENAMES])
async def test_file_names_from_content_disposition(ctx: Ctx, disposition: str, stored: str):
    # A lower-case boundary, so each row tests the file name alone.
    r = await upload(
        ctx, f"multipart/form-data; boundary={HTTPX_STYLE}", multipart(HTTPX_STYLE, disposition, b"file body")
    )
    assert r.status_code == 200, r.text
    record = r.json()
    assert len(record["pub"]) == 1 and re.fullmatch(stored, record["pub"][0]), record["pub"]
    assert await stored_content(ctx, record) == b"file body"


async def test_boundary_differing_only_in_case_is_malformed_and_nothing_is_stored(ctx: Ctx):
    # The boundary is case-sensitive: a body framed by another case is not this form.
    body = multipart(WEBKIT.lower(), 'form-data; name="pub"; filename="a.txt"', b"x")
    r = await upload(ctx, f"multipart/form-data; boundary={WEBKIT}", body)
    assert r.status_code == 400 and "malformed multipart" in r.json()["message"], r.text
    r = await ctx.get(f"{URL}?perPage=1", "su")
    assert r.json()["totalItems"] == 0


async def test_missing_boundary_is_a_clear_400(ctx: Ctx):
    r = await upload(ctx, "multipart/form-data; charset=utf-8", multipart(WEBKIT, 'form-data; name="pub"', b"x"))
    assert r.status_code == 400 and r.json()["message"].endswith("the multipart boundary is missing."), r.text


async def test_urlencoded_and_json_with_parameters_in_any_case(ctx: Ctx):
    r = await ctx.client.post(
        URL,
        content=b"owner=Form%20Owner",
        headers={**ctx.h("su"), "Content-Type": "Application/X-WWW-Form-Urlencoded; Charset=UTF-8"},
    )
    assert r.status_code == 200 and r.json()["owner"] == "Form Owner", r.text
    r = await ctx.client.post(
        URL,
        content=b'{"owner":"Json Owner"}',
        headers={**ctx.h("su"), "Content-Type": "APPLICATION/JSON; charset=UTF-8"},
    )
    assert r.status_code == 200 and r.json()["owner"] == "Json Owner", r.text


HEADERS = [
    (
        "media type lower-cased, parameter value kept",
        f"Multipart/Form-Data; boundary={WEBKIT}",
        ("multipart/form-data", {"boundary": WEBKIT}),
    ),
    ("parameter names lower-cased", "text/plain; CharSet=UTF-8", ("text/plain", {"charset": "UTF-8"})),
    (
        "quoted value with a semicolon and escapes",
        r'a/b; x="1;2 \"q\" \\"; y=3',
        ("a/b", {"x": '1;2 "q" \\', "y": "3"}),
    ),
    ("blanks around the equals sign", "a/b; k = v ; ", ("a/b", {"k": "v"})),
    ("a name without a value is skipped", "form-data; novalue; name=f", ("form-data", {"name": "f"})),
    ("the first of a repeated parameter counts", "a/b; k=1; K=2", ("a/b", {"k": "1"})),
    (
        "extended value decoded and preferred",
        "attachment; filename=a.txt; filename*=UTF-8''%E2%82%AC.txt",
        ("attachment", {"filename": "€.txt", "filename*": "€.txt"}),
    ),
    (
        "extended value with a language tag",
        "attachment; filename*=utf-8'de'%C3%BC.txt",
        ("attachment", {"filename": "ü.txt", "filename*": "ü.txt"}),
    ),
    (
        "extended value in an unknown charset dropped",
        "attachment; filename=a.txt; filename*=koi8-r''%C1.txt",
        ("attachment", {"filename": "a.txt"}),
    ),
    ("extended value that is not UTF-8 dropped", "attachment; filename*=UTF-8''%FF.txt", ("attachment", {})),
    ("unterminated quoted value read to the end", 'a/b; k="open', ("a/b", {"k": "open"})),
    ("no parameters", "application/json", ("application/json", {})),
]


@pytest.mark.parametrize("value,expected", [h[1:] for h in HEADERS], ids=[h[0] for h in HEADERS])
def test_parse_header(value: str, expected: tuple[str, dict[str, str]]):
    assert parse_header(value) == expected
