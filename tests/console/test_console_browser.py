"""The founder's journey in the console, in Debian's chromium against a real ``baas serve``:
first superuser through the installer link, sign-out/in and token refresh, a collection made
in the field editor after the plan diff, records added, filtered, edited and deleted, hostile
values shown as text, a field renamed with its data kept and one dropped only with consent.
Every step's result is checked through the API too.

The tests share one server and one browser page and run in file order, each step building on
the one before (a journey); keep them in this order."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.console.browser import UNLABELLED
from tests.servers import require_chromium, running_server

pytestmark = pytest.mark.browser

SU = ("founder@example.com", "founder-password-1")
HOSTILE = ["<script>window.__xss = 1</script>", '<img src=x onerror="window.__xss=1">', "javascript:alert(1)"]


class Journey:
    def __init__(self, srv: Any, page: Any, client: httpx.AsyncClient) -> None:
        self.srv, self.page, self.client = srv, page, client
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.failed: list[tuple[int, str]] = []  # every 4xx/5xx answer the page got (status, URL)

    async def su(self) -> dict[str, str]:
        r = await self.client.post(
            "/api/collections/_superusers/auth-with-password", json={"identity": SU[0], "password": SU[1]}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": r.json()["token"]}

    async def get(self, path: str) -> Any:
        r = await self.client.get(path, headers=await self.su())
        assert r.status_code == 200, r.text
        return r.json()

    async def no_unlabelled_controls(self) -> None:
        assert await self.page.evaluate(UNLABELLED) == []


@pytest_asyncio.fixture(scope="module")
async def journey(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Journey]:
    from playwright.async_api import async_playwright, expect

    async with (
        running_server(tmp_path_factory.mktemp("console")) as srv,
        httpx.AsyncClient(base_url=srv.url) as client,
        async_playwright() as pw,
    ):
        browser = await pw.chromium.launch(executable_path=require_chromium(), args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            # A busy CI machine: generous bounds on Playwright's auto-waiting (never a sleep).
            page.set_default_timeout(30_000)
            expect.set_options(timeout=30_000)
            j = Journey(srv, page, client)
            page.on("dialog", lambda d: (j.dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: j.errors.append(str(e)))
            page.on("console", lambda m: j.errors.append(m.text) if m.type == "error" else None)
            page.on("response", lambda r: j.failed.append((r.status, r.url)) if r.status >= 400 else None)
            yield j
        finally:
            await browser.close()


async def test_first_run_page_says_how_to_create_a_superuser(journey: Journey) -> None:
    from playwright.async_api import expect

    await journey.page.goto(f"{journey.srv.url}/_/")
    await expect(journey.page.locator("#first-run")).to_contain_text("baas superuser upsert EMAIL PASSWORD")
    assert (await journey.client.get("/api/installer")).json() == {"superuserExists": False}


async def test_installer_link_creates_the_first_superuser(journey: Journey) -> None:
    from playwright.async_api import expect

    page = journey.page
    link = re.search(r"http://\S+/_/#/install/\S+", journey.srv.log_text())
    assert link, journey.srv.log_text()
    await page.goto(link.group(0))
    await page.get_by_label("Email").fill(SU[0])
    await page.get_by_label("Password", exact=True).fill(SU[1])
    # The minimum is said before the first submit.
    await expect(page.locator("#install")).to_contain_text("At least 8 characters.")
    await page.get_by_label("Password again").fill("not the same")
    await journey.no_unlabelled_controls()
    await page.get_by_role("button", name="Create superuser and sign in").click()
    await expect(page.locator("#install")).to_contain_text("don't match")  # the server's field error
    await expect(page.locator("#install .notice")).to_contain_text("Could not create the superuser")
    assert (await journey.client.get("/api/installer")).json() == {"superuserExists": False}
    await page.get_by_label("Password again").fill(SU[1])
    await page.get_by_role("button", name="Create superuser and sign in").click()
    await expect(page.locator("#signed-in-as")).to_have_text(SU[0])
    await expect(page.locator("#collection-list")).to_contain_text("users")
    assert (await journey.client.get("/api/installer")).json() == {"superuserExists": True}
    await journey.su()  # signs in through the API too
    # The link is spent.
    await page.goto(link.group(0))
    await expect(page.get_by_role("heading", name="Already installed")).to_be_visible()


async def test_sign_out_sign_in_with_the_keyboard_and_token_refresh(journey: Journey) -> None:
    from playwright.async_api import expect

    page = journey.page
    await page.goto(f"{journey.srv.url}/_/#/collections")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Superuser sign-in")).to_be_visible()
    assert await page.evaluate("localStorage.getItem('baas_console_auth')") is None
    # Keyboard only: the email field has focus; Tab to the password, Enter submits.
    await page.keyboard.type(SU[0])
    await page.keyboard.press("Tab")
    await page.keyboard.type("wrong-password")
    await page.keyboard.press("Enter")
    await expect(page.locator("#login .notice")).to_have_text("Wrong email or password.")
    await expect(page.locator("#reset-hint")).to_contain_text("baas superuser upsert EMAIL PASSWORD")
    await page.get_by_label("Password").fill(SU[1])
    await page.keyboard.press("Enter")
    await expect(page.locator("#signed-in-as")).to_have_text(SU[0])
    # A reload refreshes the stored token through the API before showing anything.
    async with page.expect_response(lambda r: r.url.endswith("/_superusers/auth-refresh")) as refreshed:
        await page.reload()
    assert (await refreshed.value).status == 200
    await expect(page.locator("#collection-list")).to_contain_text("users")


async def _add_field(page: Any, index: int, type_: str, name: str) -> Any:
    await page.get_by_label("New field type").select_option(type_)
    await page.get_by_role("button", name="Add field").click()
    row = page.locator(f'[data-field-index="{index}"]')
    await row.get_by_label("Field name").fill(name)
    return row


async def test_create_a_collection_in_the_field_editor_after_the_plan(journey: Journey) -> None:
    from playwright.async_api import expect

    page = journey.page
    users = await journey.get("/api/collections/users")
    await page.get_by_role("link", name="New collection").click()
    await page.get_by_label("Collection name").fill("posts")
    title = await _add_field(page, 0, "text", "title")
    await title.get_by_label("Required").check()
    await expect(page.locator("#type-hint")).to_contain_text("base: a table of records")
    # 0 ("no limit") shows as an empty box that says so; an untouched one is sent as 0.
    await expect(title.get_by_label("Min length")).to_have_value("")
    await expect(title.get_by_label("Min length")).to_have_attribute("placeholder", "no limit")
    await title.get_by_label("Max length").fill("200")
    views = await _add_field(page, 1, "number", "views")
    await views.get_by_label("Integers only").check()
    await _add_field(page, 2, "bool", "published")
    tags = await _add_field(page, 3, "select", "tags")
    await tags.get_by_label("Values (comma-separated)").fill(f"news, tips, {HOSTILE[1]}")
    await tags.get_by_label("Max selected").fill("2")
    await _add_field(page, 4, "date", "when")
    await _add_field(page, 5, "email", "contact")
    await _add_field(page, 6, "url", "site")
    await _add_field(page, 7, "json", "meta")
    await _add_field(page, 8, "editor", "body")
    author = await _add_field(page, 9, "relation", "author")
    await author.get_by_label("Related collection").select_option(users["id"])
    cover = await _add_field(page, 10, "file", "cover")
    await cover.get_by_label("Thumb sizes (e.g. 100x100)").fill("100x100")
    await expect(cover.get_by_label("MIME types (comma-separated; empty: any)")).to_have_attribute(
        "placeholder", "image/png, image/jpeg"
    )
    for rule in ("List rule", "View rule"):
        await page.get_by_label(f"{rule}: superusers only").uncheck()
    await page.get_by_label("Create rule: superusers only").uncheck()
    await page.get_by_label("Create rule", exact=True).fill('@request.auth.id != ""')
    await journey.no_unlabelled_controls()
    await page.get_by_role("button", name="Review changes").click()
    await expect(page.locator("#plan")).to_contain_text("+ posts: create (base, 11 fields + id)")
    assert (await journey.client.get("/api/collections/posts", headers=await journey.su())).status_code == 404
    await page.get_by_role("button", name="Apply changes").click()
    await expect(page.get_by_role("heading", name="posts", exact=True)).to_be_visible()

    posts = await journey.get("/api/collections/posts")
    by_name = {f["name"]: f for f in posts["fields"]}
    assert [f["name"] for f in posts["fields"] if not f.get("system")] == [
        "title",
        "views",
        "published",
        "tags",
        "when",
        "contact",
        "site",
        "meta",
        "body",
        "author",
        "cover",
    ]
    assert by_name["title"]["required"] is True and by_name["title"]["max"] == 200 and by_name["title"]["min"] == 0
    assert by_name["views"]["onlyInt"] is True
    assert by_name["tags"]["values"] == ["news", "tips", HOSTILE[1]] and by_name["tags"]["maxSelect"] == 2
    assert by_name["author"]["collectionId"] == users["id"] and by_name["cover"]["thumbs"] == ["100x100"]
    assert (posts["listRule"], posts["viewRule"], posts["createRule"]) == ("", "", '@request.auth.id != ""')
    assert posts["updateRule"] is None and posts["deleteRule"] is None


async def test_records_form_shows_field_errors_then_creates(journey: Journey) -> None:
    from playwright.async_api import expect

    page = journey.page
    # An empty collection says so, and the examples name its own fields (it has no "created").
    await expect(page.locator("#records-empty")).to_contain_text("No records yet.")
    await expect(page.locator("#empty-new-record")).to_have_attribute("href", "#/collections/posts/records/new")
    await expect(page.get_by_label("Sort")).to_have_attribute("placeholder", "-title,views")
    await expect(page.get_by_label("Filter")).to_have_attribute("placeholder", "title ~ 'abc' && views > 10")
    await page.get_by_role("link", name="New record").click()
    await page.get_by_label("views").fill("2.5")
    await journey.no_unlabelled_controls()
    await page.get_by_role("button", name="Create").click()
    # The server's per-field errors, beside their fields.
    await expect(page.locator('[data-field="title"] .error')).to_have_text("Cannot be blank.")
    await expect(page.locator('[data-field="views"] .error')).not_to_be_empty()
    assert (await journey.get("/api/collections/posts/records"))["totalItems"] == 0
    await page.get_by_label("title (required)").fill(HOSTILE[0])
    # Editing a field clears its own error at once; the other field keeps its error.
    await expect(page.locator('[data-field="title"] .error')).to_be_empty()
    await expect(page.locator('[data-field="views"] .error')).not_to_be_empty()
    await page.get_by_label("views").fill("7")
    await page.get_by_label("published").check()
    await page.get_by_label("tags").select_option(["news", HOSTILE[1]])
    await page.get_by_label("meta").fill('{"html": "<img src=x onerror=alert(1)>"}')
    await page.get_by_label("body").fill(HOSTILE[1])
    await page.get_by_label("contact").fill("a@example.com")
    await page.get_by_role("button", name="Create").click()
    await expect(page.locator("#records tbody tr")).to_have_count(1)
    items = (await journey.get("/api/collections/posts/records"))["items"]
    await expect(page.locator("#records-flash")).to_have_text(f"Record {items[0]['id']} created.")
    await expect(page.locator("#records-empty")).to_be_empty()
    assert items[0]["title"] == HOSTILE[0] and items[0]["views"] == 7 and items[0]["published"] is True
    assert sorted(items[0]["tags"]) == sorted(["news", HOSTILE[1]])
    assert items[0]["meta"] == {"html": "<img src=x onerror=alert(1)>"}


async def test_hostile_values_are_shown_as_text(journey: Journey) -> None:
    from playwright.async_api import expect

    page = journey.page
    r = await journey.client.post(
        "/api/collections/posts/records",
        headers=await journey.su(),
        json={"title": HOSTILE[2], "views": 1, "body": HOSTILE[0]},
    )
    assert r.status_code == 200, r.text
    await page.reload()
    await expect(page.locator("#records tbody tr")).to_have_count(2)
    table = page.locator("#records")
    for value, cells in ((HOSTILE[0], 2), (HOSTILE[2], 1)):  # HOSTILE[0]: a title and an editor body
        await expect(table.get_by_role("cell", name=value, exact=True)).to_have_count(cells)
    assert await table.locator("img, script, a[href^='javascript']").count() == 0
    # Edit form: the same values sit in inputs, never in markup.
    await page.locator(f'tr[data-id="{r.json()["id"]}"]').get_by_role("link").click()
    await expect(page.get_by_label("title (required)")).to_have_value(HOSTILE[2])
    assert await page.locator("main img, main script").count() == 0
    assert await page.evaluate("window.__xss") is None and journey.dialogs == []
    # A field name cannot carry markup at all: the API refuses it.
    r = await journey.client.post(
        "/api/collections/plan",
        headers=await journey.su(),
        json={
            "action": "create",
            "collection": {"name": "x", "type": "base", "fields": [{"name": HOSTILE[1], "type": "text"}]},
        },
    )
    assert r.status_code == 400, r.text
    await page.go_back()


async def test_filter_and_sort_use_the_api_syntax(journey: Journey) -> None:
    from playwright.async_api import expect

    page = journey.page
    await page.get_by_label("Filter").fill("views >")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("#records-message [role=alert]")).to_contain_text("filter")
    # Nothing of the previous answer stays: no rows, no count; the usable fields are listed.
    await expect(page.locator("#records tbody tr")).to_have_count(0)
    await expect(page.locator("#records-count")).to_be_empty()
    await expect(page.locator("#usable-fields")).to_contain_text("id, title, views, published")
    await page.get_by_label("Filter").fill("views > 3")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("#records-message")).to_be_empty()
    await expect(page.locator("#records tbody tr")).to_have_count(1)
    await page.get_by_label("Filter").fill("")
    await page.get_by_label("Sort").fill("views")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("#records tbody tr").first).to_contain_text(HOSTILE[2])


async def test_edit_and_delete_a_record(journey: Journey) -> None:
    from playwright.async_api import expect

    page = journey.page
    rec = (await journey.get("/api/collections/posts/records?filter=views%3D1"))["items"][0]
    await page.locator(f'tr[data-id="{rec["id"]}"]').get_by_role("link").click()
    await page.get_by_label("views").fill("11")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator(f'tr[data-id="{rec["id"]}"]')).to_contain_text("11")
    assert (await journey.get(f"/api/collections/posts/records/{rec['id']}"))["views"] == 11
    await page.locator(f'tr[data-id="{rec["id"]}"]').get_by_role("link").click()
    await page.get_by_role("button", name="Delete").click()
    await page.get_by_role("button", name="Yes, delete").click()
    await expect(page.locator("#records tbody tr")).to_have_count(1)
    r = await journey.client.get(f"/api/collections/posts/records/{rec['id']}", headers=await journey.su())
    assert r.status_code == 404


async def test_rename_keeps_data_and_drop_needs_consent(journey: Journey) -> None:
    from playwright.async_api import expect

    page = journey.page
    await page.get_by_role("link", name="Edit collection").click()
    await page.locator('[data-field-name="title"]').get_by_label("Field name").fill("headline")
    await page.get_by_role("button", name="Review changes").click()
    await expect(page.locator("#plan")).to_contain_text("rename field")
    await page.get_by_role("button", name="Apply changes").click()
    await expect(page.get_by_role("heading", name="posts", exact=True)).to_be_visible()
    items = (await journey.get("/api/collections/posts/records"))["items"]
    assert [i["headline"] for i in items] == [HOSTILE[0]]

    await page.get_by_role("link", name="Edit collection").click()
    await page.get_by_role("button", name="Remove field views").click()
    await page.get_by_role("button", name="Review changes").click()
    await expect(page.locator("#plan .destructive")).to_contain_text("views")
    apply = page.get_by_role("button", name="Apply changes")
    await expect(apply).to_be_disabled()
    assert "views" in (await journey.get("/api/collections/posts/records"))["items"][0]
    await page.get_by_label("I accept the data loss").check()
    await apply.click()
    await expect(page.get_by_role("heading", name="posts", exact=True)).to_be_visible()
    posts = await journey.get("/api/collections/posts")
    assert "views" not in {f["name"] for f in posts["fields"]}
    assert journey.dialogs == [] and await page.evaluate("window.__xss") is None


async def test_no_script_errors_or_csp_violations(journey: Journey) -> None:
    # 4xx answers the journey provoked on purpose show up as failed loads; anything else is a bug.
    assert [e for e in journey.errors if "Failed to load resource" not in e] == []
    # The favicon is served; a base collection's editor never asks for OAuth2 secrets.
    assert [u for _, u in journey.failed if "favicon" in u or "oauth2-secrets" in u] == [], journey.failed
    icon = await journey.page.evaluate("document.querySelector('link[rel=icon]').href")
    assert icon == f"{journey.srv.url}/_/favicon.svg"
    r = await journey.client.get("/_/favicon.svg")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml") and b"<svg" in r.content
