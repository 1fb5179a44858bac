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


async def test_an_api_job_is_made_run_edited_and_deleted_in_the_page(ctx: Ctx) -> None:
    from playwright.async_api import expect

    page = ctx.page
    await page.get_by_role("link", name="Jobs").click()
    await expect(page.get_by_role("heading", name="Scheduled jobs")).to_be_visible()
    # Jobs of baas.yaml are read-only: no edit or delete.
    tidy = page.locator('tr[data-job="tidy"]')
    await expect(tidy.locator(".job-source")).to_have_text("baas.yaml (read-only)")
    await expect(page.get_by_role("button", name="Edit tidy")).to_have_count(0)
    await expect(page.get_by_role("button", name="Delete tidy")).to_have_count(0)

    await page.get_by_role("button", name="New job").click()
    assert await page.evaluate(UNLABELLED) == []
    await page.get_by_label("Name", exact=True).fill("made-here")
    await page.get_by_label("Schedule", exact=True).fill("0 25 * * *")
    await page.get_by_label("Time zone", exact=True).fill("Mars/Base")
    await page.get_by_label("Function", exact=True).fill("echo")
    await page.get_by_label("Arguments (JSON, optional)").fill('{"n": 1}')
    await page.get_by_role("button", name="Create job").click()
    # The API's field errors, each under its field; nothing was stored.
    await expect(page.locator("#job-schedule-error")).to_contain_text("Invalid schedule '0 25 * * *'")
    await expect(page.locator("#job-timezone-error")).to_contain_text("Unknown time zone 'Mars/Base'")
    assert (await ctx.client.get("/api/jobs/made-here", headers=await ctx.su())).status_code == 404

    await page.get_by_label("Schedule", exact=True).fill("@every 1h")
    await page.get_by_label("Time zone", exact=True).fill("UTC")
    await page.get_by_label("Function", exact=True).fill("nope")
    await page.get_by_role("button", name="Create job").click()
    await expect(page.locator("#job-function-error")).to_contain_text("Unknown function 'nope'")
    await expect(page.locator("#job-schedule-error")).to_have_text("")
    await page.get_by_label("Function", exact=True).fill("echo")
    await page.get_by_role("button", name="Create job").click()
    await expect(page.locator("#jobs-status")).to_contain_text("Job made-here saved.")
    made = page.locator('tr[data-job="made-here"]')
    await expect(made.locator(".job-source")).to_have_text("api")
    await expect(made).to_contain_text("@every 1h")
    await expect(made).to_contain_text("function:echo")

    # It runs: run now, then its history.
    await page.get_by_role("button", name="Run made-here now").click()
    await expect(page.locator("#jobs-status")).to_contain_text("made-here started")
    assert (await ctx.finished("made-here"))["status"] == "success"
    await page.get_by_role("button", name="History of made-here").click()
    runs = page.get_by_role("table", name="Runs of made-here")
    await expect(runs.locator(".run-status").first).to_have_text("success")
    await expect(runs).to_contain_text('{"echo":{"n":1}}')

    # Edited: the form holds its options; a bad value shows on its field, then a good one saves.
    await page.get_by_role("button", name="Edit made-here").click()
    await expect(page.get_by_label("Schedule", exact=True)).to_have_value("@every 1h")
    await expect(page.get_by_label("Arguments (JSON, optional)")).to_have_value('{"n":1}')
    await page.get_by_label("Retries", exact=True).fill("500")
    await page.get_by_role("button", name="Save job").click()
    await expect(page.locator("#job-retries-error")).to_contain_text("between 0 and 100")
    await page.get_by_label("Retries", exact=True).fill("2")
    await page.get_by_label("Schedule", exact=True).fill("*/5 * * * *")
    await page.get_by_label("Target", exact=True).select_option("task")
    await page.get_by_label("Task", exact=True).select_option("events.prune")
    await page.get_by_role("button", name="Save job").click()
    await expect(page.locator("#jobs-status")).to_contain_text("Job made-here saved.")
    await expect(made).to_contain_text("*/5 * * * *")
    await expect(made).to_contain_text("task:events.prune")
    view = (await ctx.client.get("/api/jobs/made-here", headers=await ctx.su())).json()
    assert view["schedule"] == "*/5 * * * *" and view["retries"] == 2 and view["function"] == "", view

    # Deleted.
    await page.get_by_role("button", name="Delete made-here").click()
    await page.get_by_role("button", name="Yes, delete made-here").click()
    await expect(page.locator("#jobs-status")).to_contain_text("Job made-here deleted.")
    await expect(made).to_have_count(0)
    assert (await ctx.client.get("/api/jobs/made-here", headers=await ctx.su())).status_code == 404
    assert await page.evaluate("window.__xss") is None and ctx.dialogs == []
