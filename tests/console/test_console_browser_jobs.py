"""The console's jobs and functions pages (#/jobs, #/functions) in Debian's chromium against a
real ``baas serve --schema`` with a functions package and jobs: next/last run, run now and the
history; the function list and the try-it form. Hostile text (a job's error, a function's
docstring and answer) is shown as text and never runs. Results are checked through the API too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.console.browser import UNLABELLED
from tests.servers import require_chromium, running_server

pytestmark = pytest.mark.browser

SU = ("jobs-admin@example.com", "jobs-password-1")
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>'

FUNCTIONS = f'''
from baas.errors import BadRequest
from baas.functions import function


@function(rule="")
async def echo(ctx):
    """Answers its body. {XSS}"""
    return {{"echo": ctx.body}}


@function()
async def picky(ctx):
    raise BadRequest("Nope: javascript:alert(1)", {{"x": {{"code": "validation_bad", "message": "bad x"}}}})


@function()
async def explode(ctx):
    raise RuntimeError({XSS!r})
'''

YAML = """
collections: []
functions: consolefns
jobs:
  - name: tidy
    schedule: "0 3 * * *"
    timezone: Europe/Paris
    function: echo
    args: {from: job}
  - name: boom
    schedule: "@every 1h"
    function: explode
"""


class Ctx:
    def __init__(self, srv: Any, page: Any, client: httpx.AsyncClient) -> None:
        self.srv, self.page, self.client = srv, page, client
        self.dialogs: list[str] = []

    async def su(self) -> dict[str, str]:
        r = await self.client.post(
            "/api/collections/_superusers/auth-with-password", json={"identity": SU[0], "password": SU[1]}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": r.json()["token"]}

    async def finished(self, job: str) -> dict[str, Any]:
        """The latest run of ``job`` once it has finished (runs go in the background; bounded poll)."""
        headers = await self.su()
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            items = (await self.client.get(f"/api/crons/{job}/runs", headers=headers)).json()["items"]
            if items and items[0]["status"] not in ("running", "queued"):
                return items[0]
            assert asyncio.get_running_loop().time() < deadline, items
            await asyncio.sleep(0.05)


@pytest_asyncio.fixture(scope="module")
async def ctx(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Ctx]:
    from playwright.async_api import async_playwright, expect

    root: Path = tmp_path_factory.mktemp("jobsconsole")
    (root / "consolefns").mkdir()
    (root / "consolefns" / "__init__.py").write_text(FUNCTIONS)
    (root / "baas.yaml").write_text(YAML)
    async with (
        running_server(root, "--schema", str(root / "baas.yaml"), superuser=SU, env={"PYTHONPATH": str(root)}) as srv,
        httpx.AsyncClient(base_url=srv.url) as client,
        async_playwright() as pw,
    ):
        browser = await pw.chromium.launch(executable_path=require_chromium(), args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            page.set_default_timeout(30_000)
            expect.set_options(timeout=30_000)
            c = Ctx(srv, page, client)
            page.on("dialog", lambda d: (c.dialogs.append(d.message), d.dismiss()))
            await page.goto(f"{srv.url}/_/#/login")
            await page.get_by_label("Email").fill(SU[0])
            await page.get_by_label("Password").fill(SU[1])
            await page.keyboard.press("Enter")
            await expect(page.locator("#signed-in-as")).to_have_text(SU[0])
            yield c
        finally:
            await browser.close()


async def test_jobs_page_lists_runs_now_and_shows_history(ctx: Ctx) -> None:
    from playwright.async_api import expect

    page = ctx.page
    await page.get_by_role("link", name="Jobs").click()
    await expect(page.get_by_role("heading", name="Scheduled jobs")).to_be_visible()
    tidy = page.locator('tr[data-job="tidy"]')
    await expect(tidy).to_contain_text("0 3 * * * (Europe/Paris)")
    await expect(tidy).to_contain_text("function:echo")
    await expect(tidy.locator(".last-run")).to_have_text("never")
    assert await page.evaluate(UNLABELLED) == []

    await page.get_by_role("button", name="Run tidy now").click()
    await expect(page.locator("#jobs-status")).to_contain_text("tidy started")
    await ctx.finished("tidy")
    history = page.get_by_role("table", name="Runs of tidy")
    await page.get_by_role("button", name="History of tidy").click()
    await expect(history.locator(".run-status").first).to_have_text("success")
    await expect(history).to_contain_text('{"echo":{"from":"job"}}')

    await page.get_by_role("button", name="Run boom now").click()
    await ctx.finished("boom")
    boom = page.get_by_role("table", name="Runs of boom")
    await page.get_by_role("button", name="History of boom").click()
    await expect(boom.locator(".run-detail").first).to_contain_text("RuntimeError: <img src=x onerror=")
    assert await page.evaluate("window.__xss") is None and ctx.dialogs == []

    # The same through the API.
    r = await ctx.client.get("/api/crons/boom/runs", headers=await ctx.su())
    assert r.json()["items"][0]["status"] == "failed"
    await page.reload()
    await expect(page.locator('tr[data-job="boom"] .last-run')).to_contain_text("failed")


async def test_functions_page_lists_and_tries_a_function(ctx: Ctx) -> None:
    from playwright.async_api import expect

    page = ctx.page
    await page.get_by_role("link", name="Functions").click()
    await expect(page.get_by_role("heading", name="Functions", exact=True)).to_be_visible()
    echo = page.locator('tr[data-function="echo"]')
    await expect(echo).to_contain_text("anyone")
    await expect(echo).to_contain_text("Answers its body. <img src=x")  # the docstring, as text
    await expect(page.locator('tr[data-function="picky"]')).to_contain_text("superusers only")
    assert await page.evaluate(UNLABELLED) == []

    await page.get_by_label("Function", exact=True).select_option("echo")
    await page.get_by_label("JSON body").fill('{"say": "<script>window.__xss=1</script>"}')
    await page.get_by_role("button", name="Call").click()
    await expect(page.locator("#function-answer")).to_contain_text('"say": "<script>window.__xss=1</script>"')

    await page.get_by_label("JSON body").fill("{not json")
    await page.get_by_role("button", name="Call").click()
    await expect(page.locator("#function-body-error")).to_contain_text("Not valid JSON")
    await page.get_by_label("JSON body").fill("[1, 2]")
    await page.get_by_role("button", name="Call").click()
    await expect(page.locator("#function-body-error")).to_have_text("The body must be a JSON object.")

    await page.get_by_label("Function", exact=True).select_option("picky")
    await page.get_by_label("JSON body").fill("{}")
    await page.get_by_role("button", name="Call").click()
    answer = page.locator("#function-answer")
    await expect(answer).to_contain_text("400: Nope: javascript:alert(1)")
    await expect(answer).to_contain_text("validation_bad")
    assert await page.evaluate("window.__xss") is None and ctx.dialogs == []
