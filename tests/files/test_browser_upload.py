"""A real browser uploads files: Debian chromium (through Playwright) on a page of a running
``baas serve`` posts ``FormData`` — its own ``----WebKitFormBoundary…`` framing, mixed case — to
the records API, from a ``<input type=file>`` and from ``Blob``s; the stored files are read back
byte for byte over HTTP."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from tests.servers import require_chromium, running_server

pytestmark = pytest.mark.browser

SU = ("root@example.com", "root-password-1")
# Bytes that would trip a careless multipart reader: CR LF, dashes, a boundary look-alike, NUL, 0xFF.
BINARY = b"\x00\xff\r\n--\r\n------WebKitFormBoundaryNotReally\r\n" + bytes(range(256)) * 8
TEXT = "Grüße aus Chromium — ١٢ ✓\n".encode()

COLLECTION = {
    "name": "uploads",
    "type": "base",
    "listRule": "",
    "viewRule": "",
    "createRule": "",
    "fields": [{"name": "title", "type": "text"}, {"name": "docs", "type": "file", "maxSelect": 3}],
}

# Runs in the page: a form with a file input (filled by Playwright, as a user picking files would),
# plus one more file from a Blob; posted with fetch as FormData, as SPA code does.
POST_FORM = """async () => {
  const form = document.getElementById("f");
  const data = new FormData(form);
  data.append("docs", new Blob(["from a blob"], {type: "application/octet-stream"}), "Blob Part.BIN");
  const r = await fetch("/api/collections/uploads/records", {method: "POST", body: data});
  return {status: r.status, body: await r.json()};
}"""

MAKE_FORM = """() => {
  document.body.innerHTML = '<form id="f"><input name="title" value="Grüße ✓">' +
                            '<input id="docs" type="file" name="docs" multiple></form>';
}"""


async def _files(client: httpx.AsyncClient, record: dict[str, Any]) -> dict[str, bytes]:
    out = {}
    for name in record["docs"]:
        r = await client.get(f"/api/files/uploads/{record['id']}/{name}")
        assert r.status_code == 200, r.text
        out[name] = r.content
    return out


async def test_chromium_formdata_upload_is_stored_byte_for_byte(tmp_path):
    from playwright.async_api import async_playwright

    async with running_server(tmp_path, superuser=SU) as srv, httpx.AsyncClient(base_url=srv.url) as client:
        r = await client.post(
            "/api/collections/_superusers/auth-with-password", json={"identity": SU[0], "password": SU[1]}
        )
        r = await client.post("/api/collections", json=COLLECTION, headers={"Authorization": r.json()["token"]})
        assert r.status_code == 200, r.text

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=require_chromium(), args=["--no-sandbox"])
            try:
                page = await browser.new_page()
                sent: list[str] = []
                page.on(
                    "request",
                    lambda req: sent.append(req.headers.get("content-type", "")) if req.method == "POST" else None,
                )
                await page.goto(f"{srv.url}/api/health")  # the server's origin: fetch needs no CORS
                await page.evaluate(MAKE_FORM)
                await page.set_input_files(
                    "#docs",
                    files=[
                        {"name": "Browser Notes.txt", "mimeType": "text/plain", "buffer": TEXT},
                        {"name": "RAW-Data.bin", "mimeType": "application/octet-stream", "buffer": BINARY},
                    ],
                )
                answer = await page.evaluate(POST_FORM)
            finally:
                await browser.close()

        # The framing this test is about: chromium's own mixed-case boundary reached the server.
        assert len(sent) == 1 and sent[0].startswith("multipart/form-data; boundary=----WebKitFormBoundary"), sent
        assert sent[0] != sent[0].lower()
        assert answer["status"] == 200, (answer, srv.log_text())
        record = answer["body"]
        assert record["title"] == "Grüße ✓"
        assert len(record["docs"]) == 3, record
        stored = await _files(client, record)
        by_prefix = {name.split("_")[0]: data for name, data in stored.items()}
        assert by_prefix == {"browser": TEXT, "raw": BINARY, "blob": b"from a blob"}, {
            k: base64.b64encode(v[:40]) for k, v in by_prefix.items()
        }
        r = await client.get(f"/api/collections/uploads/records/{record['id']}")
        assert r.status_code == 200 and r.json()["docs"] == record["docs"]
