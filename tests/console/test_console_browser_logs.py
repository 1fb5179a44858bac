"""The console's dashboard (#/dashboard) and logs page (#/logs) in Debian's chromium against a real
``baas serve``: requests of known outcome are made first, then the dashboard's tiles, charts and
top errors must show exactly them; "Show entries" opens Logs filtered on one error; the filter,
its presets, a bad filter's 400, paging and an entry's detail work, and a hostile URL stays text."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.console.browser import chromium_page
from tests.servers import running_server

pytestmark = pytest.mark.browser

SU = ("logs-admin@example.com", "logs-password-1")
HOSTILE = '<img src=x onerror="window.__xss=1">'


async def test_dashboard_and_logs_pages(tmp_path: Path) -> None:
    from playwright.async_api import expect

    async with (
        running_server(tmp_path, superuser=SU) as srv,
        httpx.AsyncClient(base_url=srv.url) as client,
        chromium_page() as b,
    ):
        for _ in range(60):
            assert (await client.get("/api/health")).status_code == 200
        for _ in range(4):
            assert (await client.get("/api/collections/nope/records")).status_code == 404
        assert (await client.get(f"/api/collections/{HOSTILE}/records")).status_code == 404
        r = await client.post(
            "/api/collections/_superusers/auth-with-password", json={"identity": SU[0], "password": SU[1]}
        )
        su = {"Authorization": r.json()["token"]}
        assert (await client.get("/api/logs", params={"filter": "((("}, headers=su)).status_code == 400

        page = b.page
        await page.goto(f"{srv.url}/_/#/login")
        await page.get_by_label("Email").fill(SU[0])
        await page.get_by_label("Password").fill(SU[1])
        await page.keyboard.press("Enter")
        await expect(page.locator("#signed-in-as")).to_have_text(SU[0])
        await page.get_by_role("link", name="Dashboard").click()

        # 5 answers of 404 and 1 of 400 were made; nothing else the console does is refused.
        await expect(page.locator("#t-client-errors strong")).to_have_text("6")
        await expect(page.locator("#t-server-errors strong")).to_have_text("0")
        await expect(page.locator("#t-success strong")).to_have_text("100 %")
        await expect(page.locator("#t-ready strong")).to_have_text("ready")
        # Read in one go: an automatic refresh between two reads would change the figures.
        shown = await page.evaluate(
            """() => ({
              requests: +document.querySelector('#t-requests strong').textContent,
              clientBars: [...document.querySelectorAll('#chart-errors rect[data-series="client errors"]')]
                .map((e) => +e.dataset.value),
              requestBars: document.querySelectorAll('#chart-requests rect').length,
              latencyPoints: document.querySelectorAll('#chart-latency circle').length,
              top: [...document.querySelectorAll('#top-errors tbody tr')].map((tr) =>
                [...tr.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent)),
            })"""
        )
        assert shown["requests"] >= 60 + 5 + 2 and sum(shown["clientBars"]) == 6
        assert shown["requestBars"] >= 1 and shown["latencyPoints"] >= 1
        assert shown["top"] == [
            ["404", "Missing collection context.", "5"],
            ["400", shown["top"][1][1], "1"],
        ], shown["top"]
        await b.no_unlabelled_controls()
        top = page.locator("#top-errors tbody tr")

        # The top error's entries, in Logs.
        await top.first.get_by_role("link", name="Show entries").click()
        await expect(page).to_have_url(re.compile(r"#/logs\?filter="))
        shown_filter = await page.get_by_label("Filter").input_value()
        assert "data.status = 404" in shown_filter and "created >= " in shown_filter
        await expect(page.locator("#logs-count")).to_contain_text("5 entries")
        await expect(page.locator("table.logs tbody tr")).to_have_count(5)

        # Detail of the hostile one: shown as text.
        row = page.locator("table.logs tbody tr", has_text="onerror")
        await row.click()
        await expect(page.locator('#log-detail dd[data-field="URL"]')).to_have_text(
            f"/api/collections/{HOSTILE}/records"
        )
        await expect(page.locator('#log-detail dd[data-field="status"]')).to_have_text("404")
        assert await page.evaluate("window.__xss") is None

        # A bad filter: the API's message, no table.
        await page.get_by_label("Filter").fill("data.status >>> 1")
        await page.get_by_role("button", name="Apply").click()
        await expect(page.get_by_role("alert").filter(has_text="Invalid filter")).to_be_visible()
        await expect(page.locator("table.logs")).to_have_count(0)

        # Presets, and paging through everything (50 a page, newest first).
        await page.locator('button[data-preset="Server errors"]').click()
        await expect(page.locator("#no-logs")).to_be_visible()
        assert await page.get_by_label("Filter").input_value() == "level >= 8"
        await page.locator('button[data-preset="All"]').click()
        await expect(page.locator("#logs-count")).to_contain_text("page 1 of")
        await expect(page.locator("table.logs tbody tr")).to_have_count(50)
        await expect(page.locator("#logs-newer")).to_be_disabled()
        await page.locator("#logs-older").click()
        await expect(page.locator("#logs-count")).to_contain_text("page 2 of")
        await expect(page.locator("#logs-newer")).to_be_enabled()
        await b.no_unlabelled_controls()
        assert b.real_errors() == []
