"""The console's second part, in Debian's chromium against a real ``baas serve``: a rule checked
as it is typed (the server's error beside it, completion from the draft's fields), the rule
playground as a guest, as a user and with a tried rule, sortable columns with expanded
relations, the relation picker's search, an image uploaded with its preview and thumbnail, and
the schema exported as the CLI exports it. Every step is checked through the API too.

One server and one browser page for the module; the tests run in file order, each building on
the one before."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml

from tests.console.browser import UNLABELLED
from tests.servers import require_chromium, running_server

pytestmark = pytest.mark.browser

SU = ("owner@example.com", "owner-password-1")
USERS = [("ann@example.com", "ann-password-1"), ("bob@example.com", "bob-password-1")]
POSTS = {
    "name": "posts",
    "type": "base",
    "listRule": "",
    "viewRule": "published = true || author = @request.auth.id",
    "fields": [
        {"name": "title", "type": "text", "required": True},
        {"name": "published", "type": "bool"},
        {"name": "author", "type": "relation", "collectionId": "users", "maxSelect": 1},
        {"name": "cover", "type": "file", "maxSelect": 1, "thumbs": ["100x100"], "mimeTypes": ["image/png"]},
    ],
}


class Steps:
    def __init__(self, srv: Any, page: Any, client: httpx.AsyncClient) -> None:
        self.srv, self.page, self.client = srv, page, client
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.ids: dict[str, str] = {}

    async def call(self, method: str, path: str, token: str = "", **kw: Any) -> Any:
        if token == "":
            token = await self.token(*SU, "_superusers")
        r = await self.client.request(method, path, headers={"Authorization": token} if token else {}, **kw)
        assert r.status_code < 300, r.text
        return r.json() if "json" in r.headers.get("content-type", "") else r.text

    async def token(self, email: str, password: str, coll: str = "users") -> str:
        r = await self.client.post(
            f"/api/collections/{coll}/auth-with-password", json={"identity": email, "password": password}
        )
        assert r.status_code == 200, r.text
        return r.json()["token"]


@pytest_asyncio.fixture(scope="module")
async def steps(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Steps]:
    from playwright.async_api import async_playwright, expect

    async with (
        running_server(tmp_path_factory.mktemp("console2"), superuser=SU) as srv,
        httpx.AsyncClient(base_url=srv.url) as client,
        async_playwright() as pw,
    ):
        browser = await pw.chromium.launch(executable_path=require_chromium(), args=["--no-sandbox"])
        try:
            page = await browser.new_page(accept_downloads=True)
            page.set_default_timeout(30_000)
            expect.set_options(timeout=30_000)
            s = Steps(srv, page, client)
            page.on("dialog", lambda d: (s.dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: s.errors.append(str(e)))
            page.on("console", lambda m: s.errors.append(m.text) if m.type == "error" else None)
            await s.call("POST", "/api/collections", json=POSTS)
            for email, password in USERS:
                made = await s.call(
                    "POST",
                    "/api/collections/users/records",
                    json={"email": email, "password": password, "passwordConfirm": password},
                )
                s.ids[email] = made["id"]
            for title, published, author in [
                ("b public", True, USERS[1][0]),
                ("a ann's draft", False, USERS[0][0]),
                ("c bob's draft", False, USERS[1][0]),
            ]:
                made = await s.call(
                    "POST",
                    "/api/collections/posts/records",
                    json={"title": title, "published": published, "author": s.ids[author]},
                )
                s.ids[title] = made["id"]
            yield s
        finally:
            await browser.close()


async def test_sign_in(steps: Steps) -> None:
    from playwright.async_api import expect

    page = steps.page
    await page.goto(f"{steps.srv.url}/_/#/login")
    await page.get_by_label("Email").fill(SU[0])
    await page.get_by_label("Password").fill(SU[1])
    await page.keyboard.press("Enter")
    await expect(page.locator("#signed-in-as")).to_have_text(SU[0])


async def test_rule_is_checked_as_you_type_and_completed(steps: Steps) -> None:
    from playwright.async_api import expect

    page = steps.page
    await page.goto(f"{steps.srv.url}/_/#/collections/posts/edit")
    rule = page.get_by_label("List rule", exact=True)
    error = page.locator("#" + await rule.get_attribute("id") + "-error")
    await rule.fill("titel = 'x'")
    await expect(error).to_contain_text("unknown field 'titel'")
    await expect(error).to_contain_text("at character 1")
    await expect(rule).to_have_attribute("aria-invalid", "true")
    # the same answer from the API
    out = await steps.call("POST", "/api/collections/rules/check", json={"collection": "posts", "rule": "titel = 'x'"})
    assert out["ok"] is False and out["message"] in await error.text_content()
    # completion from the draft's fields: type a prefix, pick with the keyboard
    await rule.fill("")
    await rule.press_sequentially("publ")
    await expect(page.get_by_role("button", name="published", exact=True)).to_be_visible()
    await rule.press("ArrowDown")
    await page.keyboard.press("Enter")
    await expect(rule).to_have_value("published")
    await rule.press_sequentially(" = true && @request.a")
    await expect(page.get_by_role("button", name="@request.auth.id", exact=True)).to_be_visible()
    await rule.fill("published = true")
    await expect(error).to_be_empty()
    # a field added to the draft (not saved) is known to the check at once
    await page.get_by_label("New field type").select_option("number")
    await page.get_by_role("button", name="Add field").click()
    await page.locator("[data-field-index]").last.get_by_label("Field name").fill("score")
    await rule.fill("score > 2")
    await rule.blur()
    await expect(rule).to_have_attribute("data-checked", "ok")
    await expect(error).to_be_empty()
    assert await page.evaluate(UNLABELLED) == []
    # nothing was saved by checking
    assert (await steps.call("GET", "/api/collections/posts"))["listRule"] == ""


async def test_playground_as_guest_and_as_user(steps: Steps) -> None:
    from playwright.async_api import expect

    page = steps.page
    await page.get_by_role("link", name="Rule playground").click()
    await page.get_by_label("Action").select_option("view")
    await expect(page.get_by_label("Rule", exact=True)).to_have_value(POSTS["viewRule"])
    await page.get_by_role("button", name="Run").click()
    await expect(page.locator("#verdict")).to_have_text("Allowed")
    rows = page.locator("#playground-records tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("b public")
    # as the API answers a guest
    guest = await steps.call("GET", "/api/collections/posts/records", token=None)
    assert [i["title"] for i in guest["items"]] == ["b public", "a ann's draft", "c bob's draft"]  # list rule ""
    for title, status in [("b public", 200), ("a ann's draft", 404)]:
        r = await steps.client.get(f"/api/collections/posts/records/{steps.ids[title]}")
        assert r.status_code == status

    # as Ann: found by the search, her draft too
    await page.get_by_label("Requester").select_option("record")
    await page.get_by_label("Find a user").fill("ann@")
    await expect(page.get_by_label("User", exact=True).locator("option")).to_have_count(1)
    await page.get_by_role("button", name="Run").click()
    await expect(rows).to_have_count(2)
    await expect(page.locator("#playground-records")).to_contain_text("a ann's draft")
    ann = await steps.token(*USERS[0])
    r = await steps.client.get(
        f"/api/collections/posts/records/{steps.ids['a ann' + chr(39) + 's draft']}", headers={"Authorization": ann}
    )
    assert r.status_code == 200

    # a rule tried before saving: denied, and each part says what it lets through
    await page.get_by_label("Rule", exact=True).fill("author = @request.auth.id && published = true")
    await page.get_by_role("button", name="Run").click()
    await expect(page.locator("#verdict")).to_have_text("Denied")
    clauses = page.locator("#clauses li")
    await expect(clauses).to_have_count(2)
    await expect(clauses.nth(0)).to_contain_text("author = @request.auth.id — 1 record(s) pass")
    await expect(clauses.nth(1)).to_contain_text("published = true — 1 record(s) pass")
    assert (await steps.call("GET", "/api/collections/posts"))["viewRule"] == POSTS["viewRule"]  # not saved
    # a broken rule: the server's message beside the rule
    await page.get_by_label("Rule", exact=True).fill("author =")
    await page.get_by_role("button", name="Run").click()
    await expect(page.locator("#playground .notice")).to_contain_text("Failed to run the rule playground")
    assert await page.evaluate(UNLABELLED) == []


async def test_sortable_columns_show_expanded_relations(steps: Steps) -> None:
    from playwright.async_api import expect

    page = steps.page
    await page.goto(f"{steps.srv.url}/_/#/collections/posts/records")
    rows = page.locator("#records tbody tr")
    await expect(rows).to_have_count(3)
    await page.get_by_role("button", name="title", exact=True).click()
    await expect(page.locator("th[aria-sort=ascending]")).to_contain_text("title")
    await expect(rows.first).to_contain_text("a ann's draft")
    await expect(page.get_by_label("Sort")).to_have_value("title")
    await page.get_by_role("button", name="title ▲").click()
    await expect(page.locator("th[aria-sort=descending]")).to_contain_text("title")
    await expect(rows.first).to_contain_text("c bob's draft")
    # the author column names the related user (expand), not only its id
    await expect(rows.first).to_contain_text(USERS[1][0])
    out = await steps.call("GET", "/api/collections/posts/records?sort=-title&expand=author")
    assert out["items"][0]["expand"]["author"]["email"] == USERS[1][0]


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (300, 200), (200, 40, 40)).save(buf, "PNG")
    return buf.getvalue()


async def test_relation_picker_and_image_thumbnail(steps: Steps) -> None:
    from playwright.async_api import expect

    page = steps.page
    await page.get_by_role("link", name="New record").click()
    await page.get_by_label("title (required)").fill("d with a cover")
    await page.get_by_label("author", exact=True).fill("bob@")
    await page.get_by_role("button", name=f"Choose {USERS[1][0]}").click()
    await expect(page.locator(".picker.chosen li")).to_contain_text(USERS[1][0])
    await page.get_by_label("cover", exact=True).set_input_files(
        {"name": "cover.png", "mimeType": "image/png", "buffer": _png()}
    )
    preview = page.locator(".previews img")
    await expect(preview).to_have_count(1)
    assert (await preview.get_attribute("src")).startswith("blob:")
    assert await page.evaluate(UNLABELLED) == []
    await page.get_by_role("button", name="Create").click()
    await expect(page.locator("#records tbody tr")).to_have_count(4)

    rec = (await steps.call("GET", "/api/collections/posts/records?filter=" + "title%3D'd%20with%20a%20cover'"))[
        "items"
    ][0]
    assert rec["author"] == steps.ids[USERS[1][0]] and rec["cover"].startswith("cover")
    thumb = page.locator(f'tr[data-id="{rec["id"]}"] img.thumb')
    await expect(thumb).to_have_count(1)
    # the browser really loaded it (under the page's CSP): wait for the image, not for a clock
    await page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=await thumb.element_handle())
    src = await thumb.get_attribute("src")
    r = await steps.client.get(src)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    # the edit form shows the stored image and the chosen relation by name
    await page.locator(f'tr[data-id="{rec["id"]}"]').get_by_role("link").click()
    await expect(page.locator("img.preview")).to_have_count(1)
    await expect(page.locator(".picker.chosen li")).to_contain_text(USERS[1][0])


async def test_export_is_the_cli_export(steps: Steps) -> None:
    from playwright.async_api import expect

    page = steps.page
    await page.get_by_role("link", name="Export schema").click()
    pre = page.locator("#schema-yaml")
    await expect(pre).to_contain_text("name: posts")
    cli = steps.srv.cli("schema", "export").stdout
    assert yaml.safe_load(await pre.text_content()) == yaml.safe_load(cli)
    async with page.expect_download() as dl:
        await page.get_by_role("link", name="Download baas.yaml").click()
    download = await dl.value
    assert download.suggested_filename == "baas.yaml"
    assert yaml.safe_load(open(await download.path()).read()) == yaml.safe_load(cli)
    assert cli == await steps.call("GET", "/api/schema/export")


HOSTILE = ['<img src=x onerror="window.__xss=1">', "<script>window.__xss = 1</script>", "javascript:alert(1)"]


async def test_hostile_values_stay_text_in_the_new_pages(steps: Steps) -> None:
    from playwright.async_api import expect

    page = steps.page
    fields = (await steps.call("GET", "/api/collections/posts"))["fields"]
    fields.append({"name": "kind", "type": "select", "values": HOSTILE, "maxSelect": 1})
    await steps.call("PATCH", "/api/collections/posts", json={"fields": fields})
    bob = steps.ids[USERS[1][0]]
    await steps.call("PATCH", f"/api/collections/users/records/{bob}", json={"name": HOSTILE[0]})
    await steps.call(
        "POST",
        "/api/collections/posts/records",
        json={"title": HOSTILE[0], "published": True, "kind": HOSTILE[1], "author": bob},
    )
    # export: select values are text in the page
    await page.reload()
    await expect(page.locator("#schema-yaml")).to_contain_text("onerror")
    # playground: records as text
    await page.goto(f"{steps.srv.url}/_/#/collections/posts/playground")
    await page.get_by_role("button", name="Run").click()
    await expect(page.locator("#playground-records").get_by_role("cell", name=HOSTILE[0], exact=True)).to_have_count(1)
    # records table (relation labels from expand) and the relation picker
    await page.goto(f"{steps.srv.url}/_/#/collections/posts/records")
    await expect(page.locator("#records").get_by_role("cell", name=HOSTILE[0], exact=True)).to_have_count(1)
    await page.get_by_role("link", name="New record").click()
    await page.get_by_label("author", exact=True).fill("bob@")
    await expect(page.get_by_role("button", name="Choose")).to_have_count(1)
    await expect(page.locator("main img")).to_have_count(0)
    assert await page.locator("main script, main a[href^='javascript']").count() == 0
    assert await page.evaluate("window.__xss") is None and steps.dialogs == []


async def test_auth_rules_of_an_auth_collection_are_checked_and_saved(steps: Steps) -> None:
    from playwright.async_api import expect

    page = steps.page
    await page.goto(f"{steps.srv.url}/_/#/collections/users/edit")
    rule = page.get_by_label("Auth rule", exact=True)
    await expect(rule).to_be_visible()
    error = page.locator("#" + await rule.get_attribute("id") + "-error")
    await rule.fill("verified = tru")
    await expect(error).to_contain_text("unknown field 'tru'")
    await rule.fill("verified = true")
    await expect(error).to_be_empty()
    await page.get_by_role("button", name="Review changes").click()
    await expect(page.locator("#plan")).to_contain_text("users")
    await page.get_by_role("button", name="Apply changes").click()
    await expect(page.get_by_role("heading", name="users", exact=True)).to_be_visible()
    assert (await steps.call("GET", "/api/collections/users"))["authRule"] == "verified = true"
    # the rule now works: an unverified user may not sign in
    r = await steps.client.post(
        "/api/collections/users/auth-with-password", json={"identity": USERS[0][0], "password": USERS[0][1]}
    )
    assert r.status_code in (400, 403), r.text


async def test_no_script_errors_or_dialogs(steps: Steps) -> None:
    # 4xx answers provoked on purpose (a broken rule) show up as failed loads; anything else is a bug.
    assert [e for e in steps.errors if "Failed to load resource" not in e] == []
    assert steps.dialogs == []
