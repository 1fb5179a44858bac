"""The console's index advice (#/advice) in Debian's chromium against a real ``baas serve``: record
lists of known filters and sorts are made first, then (every request counting as slow: minMs=0)
the page must show the index each needs, its baas.yaml line and SQL as text, a hostile URL stays
text; the dashboard links to it, a bad threshold shows the API's message, and once the advised
index is applied the advice is gone."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.console.browser import chromium_page
from tests.servers import running_server

pytestmark = pytest.mark.browser

SU = ("advice-admin@example.com", "advice-password-1")
HOSTILE = '<img src=x onerror="window.__xss=1">'
POSTS = {
    "name": "posts",
    "type": "base",
    "listRule": "",
    "fields": [
        {"name": "title", "type": "text"},
        {"name": "kind", "type": "select", "values": ["news", "blog"], "maxSelect": 1},
        {"name": "views", "type": "number"},
    ],
}


async def test_index_advice_page(tmp_path: Path) -> None:
    from playwright.async_api import expect

    async with (
        running_server(tmp_path, superuser=SU) as srv,
        httpx.AsyncClient(base_url=srv.url) as client,
        chromium_page() as b,
    ):
        r = await client.post(
            "/api/collections/_superusers/auth-with-password", json={"identity": SU[0], "password": SU[1]}
        )
        su = {"Authorization": r.json()["token"]}
        assert (await client.post("/api/collections", json=POSTS, headers=su)).status_code == 200
        lists = "/api/collections/posts/records"
        for _ in range(3):
            r = await client.get(lists, params={"filter": 'kind = "news"', "sort": "-views"})
            assert r.status_code == 200, r.text
        # (the server refuses a raw " or < in a request's target: the query holds the markup percent-encoded)
        hostile_filter = f"title = {json.dumps(HOSTILE)}"
        assert (await client.get(lists, params={"filter": hostile_filter})).status_code == 200
        r = await client.get(lists, params={"filter": 'title ~ "x"'})  # no index serves it
        assert r.status_code == 200, r.text

        page = b.page
        await page.goto(f"{srv.url}/_/#/login")
        await page.get_by_label("Email").fill(SU[0])
        await page.get_by_label("Password").fill(SU[1])
        await page.keyboard.press("Enter")
        await expect(page.locator("#signed-in-as")).to_have_text(SU[0])
        await page.get_by_role("link", name="Dashboard").click()
        await page.locator("#dashboard-advice").click()
        await expect(page).to_have_url(re.compile(r"#/advice\?since=24h&minMs=100"))
        await expect(page.locator("#advice-summary")).to_be_visible()

        # Every request slow: the lists above are all advised on.
        await page.get_by_label("Slow from (ms)").fill("0")
        await page.get_by_label("Window").select_option("1h")
        await expect(page).to_have_url(re.compile(r"#/advice\?since=1h&minMs=0"))
        rows = page.locator("#advice-table tbody tr")
        await expect(rows).to_have_count(2)
        cells = await rows.evaluate_all(
            "(trs) => trs.map((tr) => [...tr.cells].slice(0, 3).map((td) => td.textContent))"
        )
        # (ranked by their total time, which minMs=0 leaves to chance: the order is not checked)
        assert sorted(cells) == [["posts", "kind, views DESC", "3"], ["posts", "title", "1"]], cells
        first = page.locator("section.advice-item", has_text="kind, views DESC")
        hostile = page.locator("section.advice-item", has_text="(title)")
        await expect(page.locator("#advice-summary")).to_contain_text("1 no index would serve")
        await expect(first.locator(".advice-yaml")).to_have_text("- {columns: [kind, -views]}")
        await expect(first.locator(".advice-sql")).to_contain_text("CREATE INDEX IF NOT EXISTS")
        await expect(first.locator(".advice-sql")).to_contain_text("idx_posts_kind_views")
        await expect(hostile.locator(".advice-example")).to_have_text(
            f"GET {lists}?filter={quote(hostile_filter, safe='')}"
        )
        assert await page.locator("main img").count() == 0 and await page.evaluate("window.__xss") is None
        await b.no_unlabelled_controls()

        # "Slow requests of this list": its entries in Logs (each list with a query: five).
        await first.get_by_role("link", name="Slow requests of this list").click()
        await expect(page).to_have_url(re.compile(r"#/logs\?filter="))
        await expect(page.locator("#logs-count")).to_contain_text("5 entries")

        # A bad threshold: the API's message beside the field.
        await page.goto(f"{srv.url}/_/#/advice?since=1h&minMs=0")
        await expect(rows).to_have_count(2)
        await page.get_by_label("Slow from (ms)").fill("99999999")
        await page.get_by_role("button", name="Refresh").click()
        await expect(page.get_by_role("alert").filter(has_text="Invalid minMs value")).to_be_visible()
        await expect(page.locator("#advice-min-ms-error")).to_have_text("A number of milliseconds from 0 to 3600000.")
        await expect(page.locator("#advice-table")).to_have_count(0)

        # The advised index applied (its SQL as the collection's index): advised no more.
        coll = (await client.get("/api/collections/posts", headers=su)).json()
        advised = (await client.get("/api/schema/advise", params={"since": "1h", "minMs": "0"}, headers=su)).json()
        sql = next(i["sql"] for i in advised["items"] if i["columns"] == ["kind", "-views"])
        r = await client.patch("/api/collections/posts", json={"indexes": [*coll["indexes"], sql]}, headers=su)
        assert r.status_code == 200, r.text
        await page.get_by_label("Slow from (ms)").fill("0")
        await page.get_by_role("button", name="Refresh").click()
        await expect(rows).to_have_count(1)
        await expect(rows.first.locator("td").nth(1)).to_have_text("title")
        await expect(page.locator("section.advice-item")).to_have_count(1)
        await expect(page.locator("#advice-summary")).to_contain_text("3 served by an index already")
        assert b.real_errors() == []
