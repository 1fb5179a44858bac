"""The console's schema pages, in Debian's chromium against a real ``baas serve``: a view
collection made from its query (derived fields shown read-only, list/view rules only), an auth
collection's options (OTP, MFA, OAuth2 with a write-only secret, token durations, an email
template with a sandboxed preview), the field editor (every type's options, drag to reorder, a
rename that keeps data) and a PocketBase export imported after its plan, with consent for what
``deleteMissing`` drops. Every step is checked through the API too.

One server and one browser page for the module; the tests run in file order, each building on
the one before."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.console.browser import UNLABELLED
from tests.servers import require_chromium, running_server

pytestmark = pytest.mark.browser

SU = ("schema@example.com", "schema-password-1")
HOSTILE = ["<script>window.__xss = 1</script>", '<img src=x onerror="window.__xss=1">', "javascript:alert(1)"]
POSTS = {
    "name": "posts",
    "type": "base",
    "listRule": "",
    "fields": [
        {"name": "title", "type": "text", "required": True},
        {"name": "views", "type": "number"},
        {"name": "published", "type": "bool"},
    ],
}
SECRET = "gh-client-secret-value-1"
# What chromium logs when the preview frame's script is refused (sandbox="" has no allow-scripts).
SANDBOXED = "Blocked script execution in 'about:srcdoc'"


class Steps:
    def __init__(self, srv: Any, page: Any, client: httpx.AsyncClient) -> None:
        self.srv, self.page, self.client = srv, page, client
        self.errors: list[str] = []
        self.dialogs: list[str] = []

    async def call(self, method: str, path: str, **kw: Any) -> Any:
        r = await self.client.post(
            "/api/collections/_superusers/auth-with-password", json={"identity": SU[0], "password": SU[1]}
        )
        token = r.json()["token"]
        r = await self.client.request(method, path, headers={"Authorization": token}, **kw)
        assert r.status_code < 300, r.text
        return r.json() if "json" in r.headers.get("content-type", "") else r.text

    async def status(self, path: str) -> int:
        r = await self.client.post(
            "/api/collections/_superusers/auth-with-password", json={"identity": SU[0], "password": SU[1]}
        )
        return (await self.client.get(path, headers={"Authorization": r.json()["token"]})).status_code

    async def labelled(self) -> None:
        assert await self.page.evaluate(UNLABELLED) == []

    async def safe(self) -> None:
        assert await self.page.evaluate("window.__xss") is None and self.dialogs == []


@pytest_asyncio.fixture(scope="module")
async def steps(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Steps]:
    from playwright.async_api import async_playwright, expect

    async with (
        running_server(tmp_path_factory.mktemp("console_schema"), superuser=SU) as srv,
        httpx.AsyncClient(base_url=srv.url) as client,
        async_playwright() as pw,
    ):
        browser = await pw.chromium.launch(executable_path=require_chromium(), args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            page.set_default_timeout(30_000)
            expect.set_options(timeout=30_000)
            s = Steps(srv, page, client)
            page.on("dialog", lambda d: (s.dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: s.errors.append(str(e)))
            page.on("console", lambda m: s.errors.append(m.text) if m.type == "error" else None)
            await s.call("POST", "/api/collections", json=POSTS)
            for title, views in [("first", 3), (HOSTILE[0], 7)]:
                body = {"title": title, "views": views, "published": views > 5}
                await s.call("POST", "/api/collections/posts/records", json=body)
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


async def test_view_collection_from_its_query(steps: Steps) -> None:
    from playwright.async_api import expect

    page = steps.page
    await page.get_by_role("link", name="New collection").click()
    await page.get_by_label("Collection name").fill("top_posts")
    await page.get_by_label("Collection type").select_option("view")
    # a view has no field editor, indexes nor create/update/delete rules
    for hidden in ("Add field", "Create rule", "Update rule", "Delete rule"):
        await expect(page.get_by_text(hidden, exact=True)).to_be_hidden()
    query = "SELECT id, title, views, views * 2 AS doubled FROM posts WHERE views > 5"
    await page.get_by_label("View query (one SELECT; it must select an id column)").fill(query)
    await page.get_by_label("List rule: superusers only").uncheck()
    await steps.labelled()
    await page.get_by_role("button", name="Review changes").click()
    await expect(page.locator("#plan")).to_contain_text("+ top_posts: create (view, 4 fields)")
    # the fields the server derived, before anything is applied
    fields = page.locator("#view-fields li")
    await expect(fields).to_have_text(["id text", "title text", "views number", "doubled json"])
    assert await steps.status("/api/collections/top_posts") == 404
    await page.get_by_role("button", name="Apply changes").click()
    await expect(page.get_by_role("heading", name="top_posts", exact=True)).to_be_visible()
    view = await steps.call("GET", "/api/collections/top_posts")
    assert view["type"] == "view" and view["viewQuery"] == query
    assert [(f["name"], f["type"]) for f in view["fields"]] == [
        ("id", "text"),
        ("title", "text"),
        ("views", "number"),
        ("doubled", "json"),
    ]
    assert (view["listRule"], view["viewRule"], view["createRule"]) == ("", None, None)
    items = (await steps.call("GET", "/api/collections/top_posts/records"))["items"]
    assert [(i["title"], i["doubled"]) for i in items] == [(HOSTILE[0], 14)]
    await expect(page.locator("#records")).to_contain_text(HOSTILE[0])  # shown as text
    await steps.safe()

    # a changed query: the derived fields follow it
    await page.goto(f"{steps.srv.url}/_/#/collections/top_posts/edit")
    await expect(page.locator("#view-fields li")).to_have_count(4)
    await page.get_by_label("View query (one SELECT; it must select an id column)").fill("SELECT id, title FROM posts")
    await page.get_by_role("button", name="Review changes").click()
    await expect(page.locator("#plan")).to_contain_text("alter view query")
    await expect(page.locator("#view-fields li")).to_have_text(["id text", "title text"])
    await page.get_by_role("button", name="Apply changes").click()
    await expect(page.get_by_role("heading", name="top_posts", exact=True)).to_be_visible()
    view = await steps.call("GET", "/api/collections/top_posts")
    assert [f["name"] for f in view["fields"]] == ["id", "title"]
    # a query the server refuses: its message beside the query
    await page.goto(f"{steps.srv.url}/_/#/collections/top_posts/edit")
    await page.get_by_label("View query (one SELECT; it must select an id column)").fill("DELETE FROM posts")
    await page.get_by_role("button", name="Review changes").click()
    await expect(page.locator("#collection-form")).to_contain_text("single SELECT")
    assert (await steps.call("GET", "/api/collections/top_posts"))["viewQuery"] == "SELECT id, title FROM posts"


async def test_auth_options_with_a_write_only_secret_and_an_email_preview(steps: Steps) -> None:
    from playwright.async_api import expect

    page = steps.page
    await page.goto(f"{steps.srv.url}/_/#/collections/users/edit")
    await page.get_by_label("OTP on").check()
    await page.get_by_label("OTP duration (seconds)").fill("300")
    await page.get_by_label("OTP length (digits)").fill("6")
    await page.get_by_label("MFA on").check()
    await page.get_by_label("MFA rule (empty: every record)").fill("verified = true")
    await page.get_by_label("Auth token duration").fill("3600")
    await page.get_by_label("File token duration").fill("120")
    await page.get_by_label("OAuth2 on").check()
    await page.get_by_label("New provider").select_option("github")
    await page.get_by_role("button", name="Add provider").click()
    await page.get_by_label("Client ID of provider 1").fill("gh-client")
    await page.get_by_label("Client secret of provider 1").fill(SECRET)
    await page.get_by_label("PKCE of provider 1").select_option("off")
    await page.get_by_label("Name into field", exact=True).fill("name")
    # a system field keeps its name and type, its options may change
    email = page.locator('[data-field-name="email"]')
    await email.get_by_text("Options of email").click()
    await email.get_by_label("Only these domains (comma-separated)").fill("example.com, example.org")
    # the verification email: a hostile subject and body, previewed by the server
    await page.get_by_label("Verification email subject").fill(f"Hi {HOSTILE[0]}")
    body = f"<p>Welcome {{RECORD:email}}</p>{HOSTILE[0]}{HOSTILE[1]}<a href='{HOSTILE[2]}'>x</a>"
    await page.get_by_label("Verification email body (HTML)").fill(body)
    await page.get_by_role("button", name="Preview the Verification email").click()
    preview = page.locator('[data-preview="verification"]')
    await expect(preview.locator(".preview-subject")).to_have_text(f"Subject: Hi {HOSTILE[0]}")
    frame = preview.locator("iframe")
    assert await frame.get_attribute("sandbox") == ""  # no scripts, no same origin
    await expect(page.frame_locator('[data-preview="verification"] iframe').locator("p")).to_have_text(
        "Welcome user@example.com"
    )
    await expect(preview.locator("pre.preview-text")).to_contain_text("Welcome user@example.com")
    # the template's own script was refused by the sandbox, and ran neither there nor in the console
    deadline = asyncio.get_running_loop().time() + 30
    while not any(e.startswith(SANDBOXED) for e in steps.errors):
        assert asyncio.get_running_loop().time() < deadline, steps.errors
        await asyncio.sleep(0.05)
    await steps.safe()
    await steps.labelled()
    # a bad value: the server's message beside its control, nothing saved
    await page.get_by_label("OTP length (digits)").fill("2")
    await page.get_by_role("button", name="Review changes").click()
    await expect(page.locator("#collection-form [name='otp.length'] ~ .error")).to_contain_text("between 4 and 64")
    assert (await steps.call("GET", "/api/collections/users"))["otp"] == {}
    await page.get_by_label("OTP length (digits)").fill("6")
    await page.get_by_role("button", name="Review changes").click()
    await expect(page.locator("#plan")).to_contain_text("users")
    await page.get_by_role("button", name="Apply changes").click()
    await expect(page.get_by_role("heading", name="users", exact=True)).to_be_visible()

    users = await steps.call("GET", "/api/collections/users")
    assert users["otp"]["enabled"] is True and (users["otp"]["duration"], users["otp"]["length"]) == (300, 6)
    assert users["mfa"]["enabled"] is True and users["mfa"]["rule"] == "verified = true"
    assert users["authToken"]["duration"] == 3600 and users["fileToken"]["duration"] == 120
    assert users["verificationTemplate"] == {"subject": f"Hi {HOSTILE[0]}", "body": body}
    assert users["oauth2"]["enabled"] is True
    assert [(p["name"], p["clientId"], p["pkce"]) for p in users["oauth2"]["providers"]] == [
        ("github", "gh-client", False)
    ]
    assert users["oauth2"]["mappedFields"]["name"] == "name"
    email_field = next(f for f in users["fields"] if f["name"] == "email")
    assert email_field["system"] is True and email_field["onlyDomains"] == ["example.com", "example.org"]
    raw = json.dumps(users)
    assert SECRET not in raw and "clientSecret" not in raw  # write-only
    assert await steps.call("GET", "/api/collections/users/oauth2-secrets") == {"providers": {"github": True}}

    # back in the editor: "set", never the value; an empty secret keeps it
    await page.goto(f"{steps.srv.url}/_/#/collections/users/edit")
    secret = page.get_by_label("Client secret of provider 1")
    await expect(page.locator("#oauth2-providers")).to_contain_text("Client secret: set")
    await expect(secret).to_have_value("")
    assert SECRET not in await page.content()
    await page.get_by_label("Client ID of provider 1").fill("gh-client-2")
    await page.get_by_role("button", name="Review changes").click()
    await page.get_by_role("button", name="Apply changes").click()
    await expect(page.get_by_role("heading", name="users", exact=True)).to_be_visible()
    users = await steps.call("GET", "/api/collections/users")
    assert users["oauth2"]["providers"][0]["clientId"] == "gh-client-2"
    assert await steps.call("GET", "/api/collections/users/oauth2-secrets") == {"providers": {"github": True}}
    methods = await steps.call("GET", "/api/collections/users/auth-methods")
    assert methods["otp"] == {"enabled": True, "duration": 300}
    await steps.safe()


async def test_a_new_auth_collection_with_its_options(steps: Steps) -> None:
    from playwright.async_api import expect

    page = steps.page
    await page.goto(f"{steps.srv.url}/_/#/collections/new")
    await page.get_by_label("Collection name").fill("members")
    await page.get_by_label("Collection type").select_option("auth")
    await expect(page.locator("#auth-options")).to_be_visible()
    await page.get_by_label("Password sign-in on").uncheck()
    await page.get_by_label("OTP on").check()
    await page.get_by_role("button", name="Preview the One-time password email").click()
    await expect(page.locator('[data-preview="otp"]')).to_contain_text("Save the collection first")
    await page.get_by_role("button", name="Review changes").click()
    await expect(page.locator("#plan")).to_contain_text("+ members: create (auth")
    await page.get_by_role("button", name="Apply changes").click()
    await expect(page.get_by_role("heading", name="members", exact=True)).to_be_visible()
    members = await steps.call("GET", "/api/collections/members")
    assert members["type"] == "auth" and members["otp"]["enabled"] is True
    assert members["passwordAuth"]["enabled"] is False
    methods = await steps.call("GET", "/api/collections/members/auth-methods")
    assert methods["password"]["enabled"] is False and methods["otp"]["enabled"] is True


async def test_field_editor_types_drag_to_reorder_and_rename_keeps_data(steps: Steps) -> None:
    from playwright.async_api import expect

    page = steps.page
    await page.goto(f"{steps.srv.url}/_/#/collections/posts/edit")
    rows = page.locator("[data-field-index]")
    count = await rows.count()

    async def add(type_: str, name: str) -> Any:
        await page.get_by_label("New field type").select_option(type_)
        await page.get_by_role("button", name="Add field").click()
        row = page.locator(f'[data-field-index="{await rows.count() - 1}"]')
        await row.get_by_label("Field name").fill(name)
        return row

    slug = await add("text", "slug")
    await slug.get_by_label("Autogenerate pattern (e.g. [a-z0-9]{8})").fill("[a-z0-9]{8}")
    await slug.get_by_label("Presentable (names the record in relations)").check()
    touched = await add("autodate", "touched")
    await expect(touched.get_by_label("Set on create")).to_be_checked()
    await touched.get_by_label("Set on update").check()
    meta = await add("json", "meta")
    await meta.get_by_label("Max size (bytes)").fill("2000")
    await meta.get_by_label("Hidden").check()
    body = await add("editor", "body")
    await body.get_by_label("Convert URLs to relative ones").check()
    # drag "slug" (added last but three) onto "title"
    title = page.locator('[data-field-name="title"]')
    # A native drag does not scroll the page: a tall window shows both rows at once.
    await page.set_viewport_size({"width": 1280, "height": 4000})
    await slug.locator(".drag-handle").drag_to(title)
    await page.set_viewport_size({"width": 1280, "height": 720})
    names = await rows.evaluate_all("(rows) => rows.map((r) => r.dataset.fieldName)")
    assert names.index("slug") == names.index("title") - 1, names
    # the keyboard does the same with ↑/↓: move "body" up one
    await page.get_by_role("button", name="Move field body up").click()
    names = await rows.evaluate_all("(rows) => rows.map((r) => r.dataset.fieldName)")
    assert names.index("body") == names.index("meta") - 1, names
    # renaming title would break the view that reads it: the server's message names the view
    title_name = page.locator('[data-field-name="title"]').get_by_label("Field name")
    await title_name.fill("headline")
    await page.get_by_role("button", name="Review changes").click()
    await expect(page.locator("#form-message")).to_contain_text("View 'top_posts'")
    await title_name.fill("title")
    # rename published -> public: a rename, the data stays
    await page.locator('[data-field-name="published"]').get_by_label("Field name").fill("public")
    await steps.labelled()
    await page.get_by_role("button", name="Review changes").click()
    await expect(page.locator("#plan")).to_contain_text("rename field")
    await expect(page.locator("#plan .destructive")).to_have_count(0)
    await page.get_by_role("button", name="Apply changes").click()
    await expect(page.get_by_role("heading", name="posts", exact=True)).to_be_visible()

    posts = await steps.call("GET", "/api/collections/posts")
    by_name = {f["name"]: f for f in posts["fields"]}
    order = [f["name"] for f in posts["fields"]]
    assert order.index("slug") == order.index("title") - 1 and order.index("body") < order.index("meta")
    assert by_name["slug"]["autogeneratePattern"] == "[a-z0-9]{8}" and by_name["slug"]["presentable"] is True
    assert by_name["touched"]["type"] == "autodate" and by_name["touched"]["onUpdate"] is True
    assert by_name["touched"]["onCreate"] is True
    assert by_name["meta"]["maxSize"] == 2000 and by_name["meta"]["hidden"] is True
    assert by_name["body"]["convertURLs"] is True
    assert count < len(posts["fields"])
    items = (await steps.call("GET", "/api/collections/posts/records?sort=views"))["items"]
    assert [(i["title"], i["public"]) for i in items] == [("first", False), (HOSTILE[0], True)]  # data kept
    assert "published" not in items[0]
    made = await steps.call("POST", "/api/collections/posts/records", json={"title": "new", "meta": {"a": 1}})
    assert len(made["slug"]) == 8 and made["meta"] == {"a": 1}
    listed = (await steps.client.get("/api/collections/posts/records")).json()["items"]  # a guest: listRule ""
    guest = next(i for i in listed if i["id"] == made["id"])
    assert guest["slug"] == made["slug"] and "meta" not in guest  # hidden from everyone but superusers


async def test_import_a_pocketbase_export_after_its_plan(steps: Steps) -> None:
    from playwright.async_api import expect

    page = steps.page
    await page.get_by_role("link", name="Import collections").click()
    await expect(page.get_by_role("heading", name="Import collections")).to_be_visible()
    await steps.labelled()
    # not JSON: said so, nothing sent
    await page.get_by_label("Collections JSON").fill("[{nope")
    await page.get_by_role("button", name="Review import").click()
    await expect(page.locator("#import-message")).to_contain_text("Not valid JSON")
    # a file from PocketBase's export, loaded with the file picker
    export = [
        {
            "id": "pbc_1111111111",
            "name": "tasks",
            "type": "base",
            "system": False,
            "listRule": "",
            "viewRule": "",
            "createRule": None,
            "updateRule": None,
            "deleteRule": None,
            "fields": [
                {"id": "text1", "name": "label", "type": "text", "required": True, "max": 50},
                {"id": "select1", "name": "state", "type": "select", "values": ["todo", HOSTILE[1]], "maxSelect": 1},
            ],
            "indexes": [],
        },
        {"id": "pbc_2", "name": "_otps", "type": "base", "system": True, "fields": []},
    ]
    await page.get_by_label("Or load a JSON file").set_input_files(
        files=[{"name": "pb_schema.json", "mimeType": "application/json", "buffer": json.dumps(export).encode()}]
    )
    await expect(page.get_by_label("Collections JSON")).to_have_value(json.dumps(export))
    await page.get_by_role("button", name="Review import").click()
    await expect(page.locator("#import-plan li")).to_have_text(["+ tasks: create (base, 3 fields)"])
    assert await steps.status("/api/collections/tasks") == 404
    await page.get_by_role("button", name="Apply import").click()
    await expect(page.locator("#import-plan")).to_contain_text("Imported 2 collection(s).")
    tasks = await steps.call("GET", "/api/collections/tasks")
    assert tasks["id"] == "pbc_1111111111" and [f["name"] for f in tasks["fields"]][1:3] == ["label", "state"]
    assert await steps.status("/api/collections/_otps") == 404  # PocketBase's internal one: skipped
    await steps.safe()

    # deleteMissing: the collections the file leaves out are dropped, only after consent
    await page.get_by_label("Collections JSON").fill(json.dumps(export))
    await page.get_by_label("Delete the collections (and their records) that the import does not list").check()
    await page.get_by_role("button", name="Review import").click()
    plan = page.locator("#import-plan")
    await expect(plan.locator("li.destructive", has_text="- posts: drop")).to_be_visible()
    apply = page.get_by_role("button", name="Apply import")
    await expect(apply).to_be_disabled()
    assert await steps.status("/api/collections/posts") == 200
    await page.get_by_label("I accept the data loss").check()
    await apply.click()
    await expect(plan).to_contain_text("Imported")
    for gone in ("posts", "top_posts", "users"):
        assert await steps.status(f"/api/collections/{gone}") == 404, gone
    assert await steps.status("/api/collections/tasks") == 200
    assert await steps.status("/api/collections/_superusers") == 200  # never dropped


async def test_no_script_errors_or_csp_violations(steps: Steps) -> None:
    assert await steps.page.evaluate("window.__xss") is None and steps.dialogs == []
    # 4xx answers provoked on purpose show up as failed loads, and the email preview's own script
    # and inline style were refused inside its frame (see the auth options step); anything else is a bug.
    expected = ("Failed to load resource", SANDBOXED, "Applying inline style violates")
    assert [e for e in steps.errors if not e.startswith(expected)] == []
