"""The records pages in Debian's chromium against a real ``baas serve``: the table (paging without
counts, search, column picker, expanded relations, bulk delete with and without the batch API),
the record form's widgets with hostile values in every field type, the account actions of an
auth record, and the API preview whose snippets are run (curl) or parsed (node, Python).

Every action's result is checked through the API. The tests share one server and one page and
run in file order."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
import pytest_asyncio

from baas.auth.mail import read_mailbox
from baas.ids import new_id, now_str
from tests.console.browser import UNLABELLED
from tests.harness import png
from tests.servers import require_chromium, running_server

pytestmark = pytest.mark.browser

SU = ("records@example.com", "records-password-1")
HOSTILE = ["<script>window.__xss = 1</script>", '<img src=x onerror="window.__xss=1">', "javascript:window.__xss=1"]
HOSTILE_HTML = (
    '<p>kept <b>bold</b></p><img src=x onerror="window.__xss=1"><script>window.__xss=1</script>'
    '<a href="javascript:window.__xss=1">bad link</a><a href="https://example.com/">good link</a>'
    '<iframe src="javascript:window.__xss=1"></iframe><p onclick="window.__xss=1" style="color:red">para</p>'
)


class Ctx:
    def __init__(self, srv: Any, page: Any, client: httpx.AsyncClient, tmp: Path) -> None:
        self.srv, self.page, self.client, self.tmp = srv, page, client, tmp
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.token = ""
        self.ids: dict[str, Any] = {}

    @property
    def h(self) -> dict[str, str]:
        return {"Authorization": self.token}

    async def call(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        r = await self.client.request(method, path, headers=self.h, **kw)
        assert r.status_code == status, r.text
        return r.json() if r.content else None

    async def goto(self, route: str) -> None:
        """A full load of the console at ``route`` (never a hash change: no stale page to match)."""
        from playwright.async_api import expect

        await self.page.goto("about:blank")
        await self.page.goto(f"{self.srv.url}/_/#{route}")
        await expect(self.page.locator("body[data-ready='1']")).to_have_count(1)

    async def safe(self) -> None:
        """Nothing hostile ran: no dialog, no flag, no page error."""
        assert await self.page.evaluate("window.__xss") is None
        assert self.dialogs == [] and self.errors == [], (self.dialogs, self.errors)
        assert await self.page.evaluate(UNLABELLED) == []

    async def insert_link(self, record_id: str, provider: str, provider_id: str) -> None:
        """An OAuth2 link as a sign-in leaves it (no OAuth2 provider runs here), in the server's database."""
        now = now_str()
        row = [new_id(), "_pb_users_auth_", record_id, provider, provider_id, now, now]
        sql = (
            'INSERT INTO "_externalAuths" ("id", "collectionRef", "recordRef", "provider", "providerId", "created", '
            '"updated") VALUES '
        )
        if self.srv.db_args:
            import asyncpg  # import here: only the PostgreSQL run needs it

            conn = await asyncpg.connect(self.srv.db_args[1])
            try:
                await conn.execute(sql + "($1, $2, $3, $4, $5, $6, $7)", *row)
            finally:
                await conn.close()
        else:
            with sqlite3.connect(self.srv.data_dir / "data.db", timeout=30) as conn:
                conn.execute(sql + "(?, ?, ?, ?, ?, ?, ?)", row)


@pytest_asyncio.fixture(scope="module")
async def ctx(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Ctx]:
    from playwright.async_api import async_playwright, expect

    tmp = tmp_path_factory.mktemp("records")
    async with (
        running_server(tmp, superuser=SU) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=60) as client,
        async_playwright() as pw,
    ):
        browser = await pw.chromium.launch(executable_path=require_chromium(), args=["--no-sandbox"])
        try:
            context = await browser.new_context()
            await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=srv.url)
            page = await context.new_page()
            page.set_default_timeout(30_000)
            expect.set_options(timeout=30_000)
            c = Ctx(srv, page, client, tmp)
            page.on("dialog", lambda d: (c.dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: c.errors.append(str(e)))
            r = await client.post(
                "/api/collections/_superusers/auth-with-password", json={"identity": SU[0], "password": SU[1]}
            )
            assert r.status_code == 200, r.text
            c.token, c.ids["su"] = r.json()["token"], r.json()["record"]["id"]
            await _schema(c)
            # The console's session as its sign-in page saves it.
            await page.goto(f"{srv.url}/_/#/login")
            await page.evaluate(
                "([t, r]) => localStorage.setItem('baas_console_auth', JSON.stringify({token: t, record: r}))",
                [c.token, r.json()["record"]],
            )
            yield c
        finally:
            await browser.close()


async def _schema(c: Ctx) -> None:
    people = await c.call(
        "POST",
        "/api/collections",
        json={"name": "people", "type": "base", "fields": [{"name": "name", "type": "text", "presentable": True}]},
    )
    c.ids["people"] = people["id"]
    await c.call(
        "POST",
        "/api/collections",
        json={
            "name": "things",
            "type": "base",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "count", "type": "number"},
                {"name": "active", "type": "bool"},
                {"name": "tags", "type": "select", "maxSelect": 3, "values": ["a", "b", HOSTILE[1]]},
                {"name": "when", "type": "date"},
                {"name": "meta", "type": "json"},
                {"name": "body", "type": "editor"},
                {"name": "site", "type": "url"},
                {"name": "owner", "type": "relation", "collectionId": people["id"], "maxSelect": 1},
                {"name": "pics", "type": "file", "maxSelect": 2, "thumbs": ["100x100"]},
                {"name": "created", "type": "autodate", "onCreate": True},
            ],
        },
    )
    await c.call(
        "POST",
        "/api/collections",
        json={
            "name": "notes",
            "type": "base",
            "createRule": '@request.auth.id != ""',
            "listRule": "",
            "fields": [
                {"name": "text", "type": "text", "required": True},
                {"name": "n", "type": "number"},
                {"name": "flag", "type": "bool"},
                {"name": "kind", "type": "select", "values": ["x", "y"], "maxSelect": 2},
                {"name": "data", "type": "json"},
                {"name": "html", "type": "editor"},
                {"name": "at", "type": "date"},
                {"name": "mail", "type": "email"},
                {"name": "link", "type": "url"},
            ],
        },
    )


async def _batch(c: Ctx, enabled: bool) -> None:
    await c.call("PATCH", "/api/settings", json={"batch": {"enabled": enabled, "maxRequests": 100}})


async def _list_requests(c: Ctx, action: Any) -> list[httpx.URL]:
    seen: list[httpx.URL] = []

    def on(req: Any) -> None:
        if "/api/collections/things/records" in req.url and req.method == "GET":
            seen.append(httpx.URL(req.url))

    c.page.on("request", on)
    try:
        await action()
    finally:
        c.page.remove_listener("request", on)
    return seen


async def test_table_pages_without_counting_every_page(ctx: Ctx) -> None:
    from playwright.async_api import expect

    page = ctx.page
    # Empty first: the page says so; the sort example is newest first as the collection has "created".
    await ctx.goto("/collections/things/records")
    await expect(page.locator("#records-empty")).to_contain_text("No records yet.")
    await expect(page.get_by_role("link", name="Create the first record")).to_be_visible()
    await expect(page.get_by_label("Sort")).to_have_attribute("placeholder", "-created,title")
    await expect(page.get_by_label("Filter")).to_have_attribute("placeholder", "title ~ 'abc' && count > 10")
    person = await ctx.call("POST", "/api/collections/people/records", json={"name": HOSTILE[1]})
    ctx.ids["person"] = person["id"]
    await _batch(ctx, True)
    for start in range(0, 300, 100):
        requests = [
            {
                "method": "POST",
                "url": "/api/collections/things/records",
                "body": {"title": f"needle {i}" if i % 10 == 0 else f"item {i}", "count": i, "owner": person["id"]},
            }
            for i in range(start, start + 100)
        ]
        await ctx.call("POST", "/api/batch", json={"requests": requests})

    async def open_page() -> None:
        await ctx.goto("/collections/things/records")
        await expect(page.locator("#records tbody tr")).to_have_count(30)
        await expect(page.locator("#records-count")).to_have_text("300 records")

    seen = await _list_requests(ctx, open_page)
    main = [u for u in seen if u.params.get("perPage") == "30"]
    assert main and all(u.params.get("skipTotal") == "1" for u in main), seen
    counts = [u for u in seen if u.params.get("perPage") == "1"]
    assert len(counts) == 1 and counts[0].params.get("fields") == "id", seen
    await expect(page.locator("#page-info")).to_have_text("Page 1 of 10")
    # The relation names its record by the related collection's presentable field, as text.
    first = page.locator("#records tbody tr").first
    await expect(first.get_by_role("cell", name=HOSTILE[1], exact=True)).to_have_count(1)

    async def next_page() -> None:
        await page.get_by_role("button", name="Next page").click()
        await expect(page.locator("#page-info")).to_have_text("Page 2 of 10")

    seen = await _list_requests(ctx, next_page)
    assert [u.params.get("perPage") for u in seen] == ["30"]  # no count again for a page change
    await expect(page.locator("#records tbody tr")).to_have_count(30)
    await ctx.safe()


async def test_search_is_combined_with_the_filter(ctx: Ctx) -> None:
    from playwright.async_api import expect

    page = ctx.page
    await page.get_by_label("Search", exact=True).fill("needle")
    await page.get_by_label("Filter").fill("count >= 100")
    await page.get_by_role("button", name="Search", exact=True).click()
    want = await ctx.call(
        "GET", "/api/collections/things/records", params={"filter": 'title ~ "needle" && count >= 100', "perPage": 1}
    )
    assert want["totalItems"] == 20
    await expect(page.locator("#records-count")).to_have_text("20 records")
    await expect(page.locator("#records tbody tr")).to_have_count(20)
    await expect(page.locator("#page-info")).to_have_text("Page 1 of 1")
    await expect(page.get_by_role("button", name="Next page")).to_be_disabled()
    # A search term with quotes and backslashes stays one literal.
    await page.get_by_label("Search", exact=True).fill('ne"edle\\')
    await page.get_by_role("button", name="Search", exact=True).click()
    await expect(page.locator("#records-count")).to_have_text("0 records")
    await expect(page.locator("#records-message")).to_be_empty()
    await page.get_by_label("Search", exact=True).fill("")
    await page.get_by_label("Filter").fill("")
    await page.get_by_role("button", name="Search", exact=True).click()
    await expect(page.locator("#records-count")).to_have_text("300 records")


async def test_summary_groups_under_the_tables_filter(ctx: Ctx) -> None:
    """The Summary panel asks the aggregate API with the table's filter and search; a field the
    API refuses shows its 400."""
    from playwright.async_api import expect

    page = ctx.page
    await page.get_by_label("Filter").fill("count >= 100")
    await page.get_by_role("button", name="Search", exact=True).click()
    await expect(page.locator("#records-count")).to_have_text("200 records")
    await page.locator("#summary-panel summary").click()
    await page.get_by_label("Group by").select_option("active")
    await page.get_by_label("Add up").select_option("count")
    await page.get_by_role("button", name="Summarize").click()
    rows = page.locator("#summary tbody tr")
    await expect(rows).to_have_count(1)
    # 100..299: sum 39,900, average 199.5
    await expect(rows.first.locator("th, td")).to_have_text(["false", "200", "39900", "199.50", "100", "299"])
    await page.get_by_label("Search", exact=True).fill("needle")
    await page.get_by_role("button", name="Search", exact=True).click()
    await expect(page.locator("#records-count")).to_have_text("20 records")
    await page.get_by_label("Group by").select_option("title")
    await page.get_by_label("Add up").select_option("")
    await page.get_by_role("button", name="Summarize").click()
    await expect(rows).to_have_count(20)
    await expect(rows.first.locator("td")).to_have_text(["1"])
    want = await ctx.call(
        "GET",
        "/api/collections/things/aggregate",
        params={"groupBy": "title", "filter": 'count >= 100 && title ~ "needle"', "perPage": 100},
    )
    assert want["totalItems"] == 20
    # A field the server refuses (JSON): its message, not a table.
    await page.evaluate("""() => { const s = document.querySelector('select[name="summary-by"]');
      s.append(new Option('meta', 'meta')); s.value = 'meta'; }""")
    await page.get_by_role("button", name="Summarize").click()
    await expect(page.locator("#summary-result [role=alert]")).to_contain_text("JSON values")
    await expect(page.locator("#summary")).to_have_count(0)
    await page.get_by_label("Search", exact=True).fill("")
    await page.get_by_label("Filter").fill("")
    await page.get_by_role("button", name="Search", exact=True).click()
    await expect(page.locator("#records-count")).to_have_text("300 records")
    await ctx.safe()


async def test_column_picker_is_remembered_per_collection(ctx: Ctx) -> None:
    from playwright.async_api import expect

    page = ctx.page
    headers = page.locator("#records thead th")
    await expect(page.locator("#records thead button[data-column=meta]")).to_have_count(1)
    await page.locator("#column-picker summary").click()
    await page.locator("#column-picker").get_by_label("meta", exact=True).uncheck()
    await page.locator("#column-picker").get_by_label("count", exact=True).uncheck()
    await expect(page.locator("#records thead button[data-column=meta]")).to_have_count(0)
    await expect(page.locator("#records thead button[data-column=count]")).to_have_count(0)
    n = await headers.count()
    await page.reload()
    await expect(page.locator("body[data-ready='1']")).to_have_count(1)
    await expect(page.locator("#records thead button[data-column=count]")).to_have_count(0)
    await expect(headers).to_have_count(n)
    stored = await page.evaluate("Object.keys(localStorage).filter((k) => k.startsWith('baas_console_columns:'))")
    things = await ctx.call("GET", "/api/collections/things")
    assert stored == [f"baas_console_columns:{things['id']}"]
    # Another collection is not affected.
    await ctx.goto("/collections/notes/records")
    await expect(page.locator("#records thead button[data-column=n]")).to_have_count(1)
    await ctx.goto("/collections/things/records")
    await page.locator("#column-picker summary").click()
    await page.locator("#column-picker").get_by_label("count", exact=True).check()
    await expect(page.locator("#records thead button[data-column=count]")).to_have_count(1)


async def _bulk_delete(ctx: Ctx, gone_first: int) -> tuple[list[str], str]:
    """Select the first three rows, delete the ``gone_first``-th through the API meanwhile, then
    bulk-delete in the console; (the three ids, the id that was gone)."""
    from playwright.async_api import expect

    page = ctx.page
    await ctx.goto("/collections/things/records")
    rows = page.locator("#records tbody tr")
    await expect(rows).to_have_count(30)
    ids = [await rows.nth(i).get_attribute("data-id") for i in range(3)]
    for i in range(3):
        await page.get_by_label(f"Select record {ids[i]}").check()
    await expect(page.locator("#selected-count")).to_have_text("3 selected")
    gone = ids[gone_first]
    await ctx.call("DELETE", f"/api/collections/things/records/{gone}", status=204)
    await page.get_by_role("button", name="Delete selected").click()
    await expect(page.locator("#confirm-bulk-delete")).to_contain_text("Delete 3 records?")
    await page.get_by_role("button", name="Yes, delete 3").click()
    await expect(page.locator("#bulk-message")).to_contain_text("Deleted 2 of 3 records")
    await expect(page.locator("#bulk-failures li")).to_have_count(1)
    await expect(page.locator(f'#bulk-failures li[data-id="{gone}"]')).to_contain_text("wasn't found")
    for rid in ids:
        r = await ctx.client.get(f"/api/collections/things/records/{rid}", headers=ctx.h)
        assert r.status_code == 404, (rid, r.text)
    return [x for x in ids if x], gone


async def test_bulk_delete_through_the_batch_api_reports_each_failure(ctx: Ctx) -> None:
    await _batch(ctx, True)
    seen: list[str] = []
    ctx.page.on("request", lambda r: seen.append(f"{r.method} {r.url}"))
    await _bulk_delete(ctx, gone_first=1)
    assert any(s.startswith("POST ") and s.endswith("/api/batch") for s in seen)
    assert not any(s.startswith("DELETE ") for s in seen)
    assert (await ctx.call("GET", "/api/collections/things/records", params={"perPage": 1}))["totalItems"] == 297
    await ctx.safe()


async def test_bulk_delete_one_request_each_without_batch(ctx: Ctx) -> None:
    from playwright.async_api import expect

    await _batch(ctx, False)
    seen: list[str] = []
    ctx.page.on("request", lambda r: seen.append(f"{r.method} {r.url}"))
    await _bulk_delete(ctx, gone_first=0)
    assert not any(s.endswith("/api/batch") for s in seen)
    assert len([s for s in seen if s.startswith("DELETE ")]) == 3
    assert (await ctx.call("GET", "/api/collections/things/records", params={"perPage": 1}))["totalItems"] == 294
    await expect(ctx.page.locator("#selected-count")).to_have_text("1 selected")  # the failed one stays chosen


async def test_record_form_widgets_with_hostile_values(ctx: Ctx) -> None:
    from playwright.async_api import expect

    page = ctx.page
    await ctx.goto("/collections/things/records/new")
    await page.get_by_label("title", exact=True).fill(HOSTILE[0])
    await page.get_by_label("tags", exact=True).select_option(["a", HOSTILE[1]])
    await page.get_by_label("when", exact=True).fill("2024-05-06T07:08:09")
    await expect(page.locator('[data-field="when"]')).to_contain_text("UTC")
    # JSON is checked as you type; a bad one never reaches the server.
    meta = page.get_by_label("meta", exact=True)
    await meta.fill('{"a": ')
    await expect(page.locator('[data-field="meta"] .error')).to_contain_text("Invalid JSON")
    before = (await ctx.call("GET", "/api/collections/things/records", params={"perPage": 1}))["totalItems"]
    await page.get_by_role("button", name="Create").click()
    await expect(meta).to_be_focused()
    assert (await ctx.call("GET", "/api/collections/things/records", params={"perPage": 1}))["totalItems"] == before
    await meta.fill(json.dumps({"x": HOSTILE[1], "y": [HOSTILE[2]]}))
    await expect(page.locator('[data-field="meta"] .error')).to_be_empty()
    # Rich text: typed, made bold with the toolbar, hostile HTML pasted (sanitized on the way in).
    editor = page.get_by_label("body", exact=True)
    await editor.click()
    await page.keyboard.type("hello world")
    await page.keyboard.press("Control+A")
    await page.get_by_role("button", name="Bold", exact=True).click()
    await page.keyboard.press("End")
    await editor.evaluate(
        """(el, html) => { const dt = new DataTransfer(); dt.setData('text/html', html);
           el.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true})); }""",
        HOSTILE_HTML,
    )
    await expect(editor).to_contain_text("good link")
    assert await editor.locator("img, script, iframe, [onclick], [style]").count() == 0
    # A javascript: URL is refused by the server, its error beside the field; nothing is stored.
    await page.get_by_label("site", exact=True).fill(HOSTILE[2])
    await page.get_by_role("button", name="Create").click()
    await expect(page.locator('[data-field="site"] .error')).not_to_be_empty()
    assert (await ctx.call("GET", "/api/collections/things/records", params={"perPage": 1}))["totalItems"] == before
    await page.get_by_label("site", exact=True).fill("https://example.com/x")
    await page.get_by_label("pics", exact=True).set_input_files(
        [{"name": f"{HOSTILE[1]}.png", "mimeType": "image/png", "buffer": png((20, 20))}]
    )
    await expect(page.locator('[data-field="pics"] img.preview')).to_have_count(1)
    assert (await page.locator('[data-field="pics"] img.preview').get_attribute("src") or "").startswith("blob:")
    await ctx.safe()
    await page.get_by_role("button", name="Create").click()
    await expect(page.locator("#records")).to_be_visible()

    by_title = f"title = {json.dumps(HOSTILE[0])}"
    rec = (await ctx.call("GET", "/api/collections/things/records", params={"filter": by_title}))["items"]
    assert len(rec) == 1
    rec = rec[0]
    ctx.ids["thing"] = rec["id"]
    assert rec["title"] == HOSTILE[0] and sorted(rec["tags"]) == sorted(["a", HOSTILE[1]])
    assert rec["when"] == "2024-05-06 07:08:09.000Z"
    assert rec["meta"] == {"x": HOSTILE[1], "y": [HOSTILE[2]]}
    body = rec["body"]
    assert body.startswith("<b>hello world"), body  # made bold; the paste went in at the caret (inside it)
    assert '<a href="https://example.com/">good link</a>' in body and "<p>para</p>" in body, body
    for bad in ("<img", "<script", "javascript:", "onerror", "onclick", "<iframe", "style="):
        assert bad not in body, (bad, body)
    assert len(rec["pics"]) == 1 and rec["pics"][0].endswith(".png") and "<" not in rec["pics"][0]
    # The table shows the values as text (the editor's HTML as its source), the image as a thumbnail.
    await page.get_by_label("Filter").fill(by_title)
    await page.get_by_role("button", name="Search", exact=True).click()
    row = page.locator(f'tr[data-id="{rec["id"]}"]')
    await expect(row.get_by_role("cell", name=HOSTILE[0], exact=True)).to_have_count(1)
    await expect(row.locator("img.thumb")).to_have_count(1)
    assert "thumb=100x100" in (await row.locator("img.thumb").get_attribute("src") or "")
    await ctx.safe()


async def test_editor_html_from_the_api_is_sanitized_and_files_removed(ctx: Ctx) -> None:
    from playwright.async_api import expect

    page = ctx.page
    rid = ctx.ids["thing"]
    await ctx.call("PATCH", f"/api/collections/things/records/{rid}", json={"body": HOSTILE_HTML})
    await ctx.goto(f"/collections/things/records/{rid}")
    editor = page.get_by_label("body", exact=True)
    await expect(editor).to_contain_text("kept bold")
    assert await editor.locator("img, script, iframe, [onclick], [style], a[href^='javascript']").count() == 0
    await expect(editor.locator("a[href='https://example.com/']")).to_have_count(1)
    await expect(editor.locator("a", has_text="bad link")).not_to_have_attribute("href", "javascript:window.__xss=1")
    # The date shows in UTC, the tags chosen, JSON as typed.
    await expect(page.get_by_label("when", exact=True)).to_have_value("2024-05-06T07:08:09")
    pics = (await ctx.call("GET", f"/api/collections/things/records/{rid}"))["pics"]
    await page.get_by_label(f"Remove {pics[0]}").check()
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#records")).to_be_visible()
    rec = await ctx.call("GET", f"/api/collections/things/records/{rid}")
    assert rec["pics"] == []
    for bad in ("<img", "<script", "javascript:", "onerror", "<iframe"):
        assert bad not in rec["body"], rec["body"]
    assert "kept" in rec["body"]
    await ctx.safe()


async def test_account_actions_on_an_auth_record(ctx: Ctx) -> None:
    from playwright.async_api import expect

    page = ctx.page
    pw = "alice-password-1"
    alice = await ctx.call(
        "POST",
        "/api/collections/users/records",
        json={"email": "alice@example.com", "password": pw, "passwordConfirm": pw, "name": HOSTILE[0]},
    )
    await ctx.insert_link(alice["id"], "google", HOSTILE[1])
    await ctx.insert_link(alice["id"], "github", "gh-1")
    # TOTP enrolled by alice herself.
    r = await ctx.client.post(
        "/api/collections/users/auth-with-password", json={"identity": alice["email"], "password": pw}
    )
    own = {"Authorization": r.json()["token"]}
    secret = (await ctx.client.post("/api/collections/users/totp/enroll", headers=own)).json()["secret"]
    r = await ctx.client.post(
        "/api/collections/users/totp/confirm", headers=own, json={"code": pyotp.TOTP(secret).at(time.time())}
    )
    assert r.status_code == 200, r.text

    await ctx.goto(f"/collections/users/records/{alice['id']}")
    await expect(page.locator("#totp-status")).to_contain_text("TOTP enabled (10 recovery codes left)")
    await expect(page.locator("#oauth2-links li")).to_have_count(2)
    await expect(page.locator('#oauth2-links li[data-provider="google"]')).to_contain_text(HOSTILE[1])
    await expect(page.locator("#api-keys")).to_contain_text("No API keys")

    await page.get_by_role("button", name="Send verification email").click()
    await expect(page.locator("#auth-message")).to_contain_text("Verification email sent to alice@example.com")
    await page.get_by_role("button", name="Send password-reset email").click()
    await expect(page.locator("#auth-message")).to_contain_text("Password-reset email sent")
    subjects: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(subjects) < 2:  # the mails are sent in the background
        subjects = [m.subject for m in read_mailbox(ctx.srv.data_dir, "alice@example.com")]
        if len(subjects) < 2:
            await page.wait_for_timeout(100)
    assert (
        len(subjects) == 2 and any("Verify" in s for s in subjects) and any("password" in s.lower() for s in subjects)
    )

    # Impersonate for 120 s: the token is shown once, works, and lasts what was asked.
    await page.get_by_label("Token duration").fill("120")
    await page.get_by_role("button", name="Impersonate").click()
    token = await page.locator("#impersonation-token").input_value()
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["id"] == alice["id"] and claims["refreshable"] is False and 110 <= claims["exp"] - time.time() <= 125
    r = await ctx.client.get(f"/api/collections/users/records/{alice['id']}", headers={"Authorization": token})
    assert r.status_code == 200 and r.json()["email"] == alice["email"]
    await page.get_by_role("button", name="Copy token").click()
    assert await page.evaluate("navigator.clipboard.readText()") == token

    # Unlink google (with a confirmation step).
    await page.get_by_role("button", name="Unlink google").click()
    await page.get_by_role("button", name="Yes, unlink google").click()
    await expect(page.locator("#oauth2-links li")).to_have_count(1)
    links = await ctx.call("GET", f"/api/collections/users/records/{alice['id']}/external-auths")
    assert [x["provider"] for x in links] == ["github"]

    # Remove TOTP.
    await page.get_by_role("button", name="Remove TOTP").click()
    await page.get_by_role("button", name="Yes, remove TOTP").click()
    await expect(page.locator("#totp-status")).to_contain_text("No TOTP")
    assert (await ctx.call("GET", f"/api/collections/users/totp/{alice['id']}"))["enabled"] is False

    # verified / emailVisibility toggles and a new password with its confirmation.
    await page.get_by_label("verified", exact=True).check()
    await page.get_by_label("emailVisibility", exact=True).check()
    await page.locator('input[name="password"]').fill("new-password-123")
    await page.get_by_label("passwordConfirm", exact=True).fill("new-password-123")
    await ctx.safe()
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#records")).to_be_visible()
    rec = await ctx.call("GET", f"/api/collections/users/records/{alice['id']}")
    assert rec["verified"] is True and rec["emailVisibility"] is True
    r = await ctx.client.post(
        "/api/collections/users/auth-with-password", json={"identity": alice["email"], "password": "new-password-123"}
    )
    assert r.status_code == 200, r.text


async def test_a_superusers_api_keys_listed_and_revoked(ctx: Ctx) -> None:
    from playwright.async_api import expect

    page = ctx.page
    key = await ctx.call(
        "POST", "/api/apikeys", json={"name": HOSTILE[0], "scopes": [{"collection": "things", "actions": ["list"]}]}
    )
    await ctx.goto(f"/collections/_superusers/records/{ctx.ids['su']}")
    row = page.locator(f'#api-keys tr[data-id="{key["id"]}"]')
    await expect(row).to_contain_text("things: list")
    await expect(row.get_by_role("cell", name=HOSTILE[0], exact=True)).to_have_count(1)
    assert key["key"] not in await page.content()  # key material is never shown again
    await row.get_by_role("button", name=f"Revoke key {HOSTILE[0]}").click()
    await page.get_by_role("button", name="Yes, revoke").click()
    await expect(row).to_contain_text("revoked")
    assert (await ctx.call("GET", f"/api/apikeys/{key['id']}"))["revoked"] is True
    r = await ctx.client.get("/api/collections/things/records", headers={"Authorization": key["key"]})
    assert r.status_code == 401
    await ctx.safe()


async def test_api_preview_snippets_run(ctx: Ctx) -> None:
    from playwright.async_api import expect

    page = ctx.page
    await ctx.goto("/collections/notes/records")
    await page.get_by_role("link", name="API preview").click()
    await expect(page.get_by_role("heading", name="API preview: notes")).to_be_visible()
    await expect(page.locator('#api-rules li[data-rule="listRule"]')).to_contain_text("Anyone can list")
    await expect(page.locator('#api-rules li[data-rule="createRule"]')).to_contain_text('@request.auth.id != ""')
    await expect(page.locator('#api-rules li[data-rule="deleteRule"]')).to_contain_text("Only superusers")
    create = await page.locator("#snippet-curl-create").input_value()
    for name in ("text", "n", "flag", "kind", "data", "html", "at", "mail", "link"):
        assert f'"{name}"' in create, create
    assert ctx.srv.url in create
    before = (await ctx.call("GET", "/api/collections/notes/records"))["totalItems"]
    out = subprocess.run(
        ["bash", "-c", create + " --fail-with-body -sS"],
        env={**os.environ, "TOKEN": ctx.token},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, (out.stdout, out.stderr)
    made = json.loads(out.stdout)
    assert made["text"] == "example" and made["kind"] == ["x"] and made["data"] == {"key": "value"}
    assert (await ctx.call("GET", "/api/collections/notes/records"))["totalItems"] == before + 1
    # The list snippet runs too (its filter is built from the collection's first text field).
    listed = await page.locator("#snippet-curl-list").input_value()
    out = subprocess.run(
        ["bash", "-c", listed + " --fail-with-body -sS"],
        env={**os.environ, "TOKEN": ctx.token},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and json.loads(out.stdout)["totalItems"] >= 1, (out.stdout, out.stderr)
    # JavaScript: every snippet parses; Python: every snippet compiles.
    await page.get_by_label("JavaScript (SDK)", exact=True).check()
    for action in ("list", "view", "create", "update", "delete", "realtime"):
        code = await page.locator(f"#snippet-js-{action}").input_value()
        assert 'pb.collection("notes")' in code
        path = ctx.tmp / f"{action}.mjs"
        path.write_text(code)
        out = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, (action, out.stderr, code)
    await page.get_by_label("Python (httpx)", exact=True).check()
    for action in ("list", "view", "create", "update", "delete", "realtime"):
        code = await page.locator(f"#snippet-python-{action}").input_value()
        compile(code, f"{action}.py", "exec")
    # A collection with a relation and files names them in its snippets.
    await ctx.goto("/collections/things/api")
    await page.get_by_label("curl", exact=True).check()
    create = await page.locator("#snippet-curl-create").input_value()
    assert '"owner": "RELATION_RECORD_ID"' in create and '"tags": [' in create
    await expect(page.locator("#api-preview")).to_contain_text("File fields (pics)")
    await expect(page.locator("#json-payload-hint")).to_contain_text("@jsonPayload is a form part holding")
    # Only superusers may use "things": said so, and the "auth" example (the first) signs in as one.
    await expect(page.locator("#superusers-only")).to_be_visible()
    await expect(page.locator("section.snippet h2").first).to_have_text("auth")
    sign_in = await page.locator("#snippet-curl-auth").input_value()
    assert "/api/collections/_superusers/auth-with-password" in sign_in, sign_in
    # Run it with real credentials, then the multipart create with $TOKEN it set: a record with its file.
    create = await page.locator("#snippet-curl-create").input_value()
    assert "-F '@jsonPayload=" in create and "-F 'pics=@pics.png'" in create, create
    (ctx.tmp / "pics.png").write_bytes(png((8, 6)))
    script = (
        sign_in.replace("SUPERUSER_EMAIL", SU[0]).replace("SUPERUSER_PASSWORD", SU[1])
        + "\n"
        + create.replace("RELATION_RECORD_ID", ctx.ids["person"])
        + " --fail-with-body -sS"
    )
    out = subprocess.run(
        ["bash", "-c", script],
        env={k: v for k, v in os.environ.items() if k != "TOKEN"},
        cwd=ctx.tmp,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, (out.stdout, out.stderr)
    made = json.loads(out.stdout)
    assert made["title"] == "example" and made["owner"] == ctx.ids["person"] and len(made["pics"]) == 1, made
    await page.get_by_label("JavaScript (SDK)", exact=True).check()
    for action in ("view", "create", "update", "delete", "realtime"):
        code = await page.locator(f"#snippet-js-{action}").input_value()
        assert 'await pb.collection("_superusers").authWithPassword(' in code, (action, code)
    js_create = await page.locator("#snippet-js-create").input_value()
    assert 'new File([await readFile("pics.png")], "pics.png")' in js_create, js_create
    # "notes": anyone lists (no sign-in), a signed-in record creates, only superusers delete.
    await ctx.goto("/collections/notes/api")
    await expect(page.locator("#superusers-only")).to_have_count(0)
    await page.get_by_label("JavaScript (SDK)", exact=True).check()
    assert "authWithPassword" not in await page.locator("#snippet-js-list").input_value()
    assert 'pb.collection("users").authWithPassword(' in await page.locator("#snippet-js-create").input_value()
    assert 'pb.collection("_superusers").authWithPassword(' in await page.locator("#snippet-js-delete").input_value()
    for action in ("auth", "create", "delete"):
        path = ctx.tmp / f"notes-{action}.mjs"
        path.write_text(await page.locator(f"#snippet-js-{action}").input_value())
        check = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, (action, check.stderr)
    await page.get_by_label("curl", exact=True).check()
    assert "Authorization" not in await page.locator("#snippet-curl-list").input_value()
    await ctx.safe()


VECTORS = [
    ('<a href=" JaVaScRiPt:window.__xss=1">x</a>', "<a>x</a>"),
    ('<a href="jav&#x09;ascript:window.__xss=1">x</a>', "<a>x</a>"),
    ('<a href="data:text/html,<script>window.__xss=1</script>">x</a>', "<a>x</a>"),
    ('<a href="https://e.com/?a=1&b=&quot;2">x</a>', '<a href="https://e.com/?a=1&amp;b=&quot;2">x</a>'),
    ('<a href="mailto:me@example.com" onmouseover="window.__xss=1">m</a>', '<a href="mailto:me@example.com">m</a>'),
    ("<svg><script>window.__xss=1</script><circle onload=window.__xss=1 /></svg>ok", "ok"),
    ("<math><mi xlink:href=javascript:window.__xss=1>m</mi></math>ok", "ok"),
    ('<form action="javascript:window.__xss=1"><button>b</button><input value=v></form>ok', "ok"),
    ("<style>body{display:none}</style><p>t</p>", "<p>t</p>"),
    ("<noscript><img src=x onerror=window.__xss=1></noscript>n", "n"),
    ("<template><img src=x onerror=window.__xss=1></template>t", "t"),
    ("<!-- <img src=x onerror=window.__xss=1> -->c", "c"),
    ('<div><font color="red">f</font><custom-el x="1">c</custom-el></div>', "<div>fc</div>"),
    ("<p>a &lt;b&gt; &amp; c</p>", "<p>a &lt;b&gt; &amp; c</p>"),
    ("<ul><li>1</li><li>2<br>3</li></ul><hr>", "<ul><li>1</li><li>2<br>3</li></ul><hr>"),
    ('<img src="https://example.com/a.png" alt="a">', ""),
    ('<object data="x"></object><embed src="x"><iframe srcdoc="<script>window.__xss=1</script>"></iframe>z', "z"),
]


async def test_editor_allow_list_against_hostile_html(ctx: Ctx) -> None:
    """The sanitizer the editor and its views use, on known XSS vectors: what survives is exactly
    the allow-list, and nothing runs while it parses."""
    page = ctx.page
    await ctx.goto("/collections/things/records")
    got = await page.evaluate(
        """async (inputs) => {
             const m = await import('/_/js/widgets.js');
             return inputs.map((html) => m.serialize(m.sanitize(html)));
           }""",
        [v for v, _ in VECTORS],
    )
    assert got == [want for _, want in VECTORS]
    # Serialising again changes nothing (what is saved is what is shown).
    again = await page.evaluate(
        """async (inputs) => {
             const m = await import('/_/js/widgets.js');
             return inputs.map((html) => m.serialize(m.sanitize(html)));
           }""",
        got,
    )
    assert again == got
    await ctx.safe()
