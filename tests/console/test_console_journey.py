"""The founder's journey of issue 12 ("Done when"), in Debian's chromium against a real
``baas serve``, on SQLite and on PostgreSQL (``BAAS_TEST_POSTGRES_URL``: a fresh database):

the first superuser through the installer link ``baas serve`` printed, sign-in, an auth
collection ``users`` and a ``posts`` collection made in the editor after the plan diff, records
added (an image with its thumbnail), filter and sort, a rule edited and tried in the playground as
a guest and as a user, the schema exported as ``baas schema export`` exports it, a field renamed
with its data kept and one dropped only with consent; the pages the auth emails link to followed
from the real mails; sign-in with MFA (a code by email, an authenticator app) and with a code
alone. Every step's result is checked through the API too, and at the end every admin request
the journey made is refused to a guest and to a user.

One server and one browser page for the module; the tests run in file order, each building on
the one before (a journey). ``BAAS_CONSOLE_SCREENSHOTS=<dir>`` saves a PNG of each main page."""

from __future__ import annotations

import base64
import io
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import pytest_asyncio
import yaml

from tests.console.browser import HOSTILE, Browser, add_field, chromium_page, link_in, png, screenshot, wait_for_mail
from tests.servers import Server, running_server

pytestmark = [pytest.mark.browser, pytest.mark.browser_db]

SU = ("founder@example.com", "founder-password-1")
ANN = ("ann@example.com", "ann-password-1")
BOB = ("bob@example.com", "bob-password-1")
CONTEXT: dict[str, Any] = {}  # ids and values carried from one step to the next


class Journey:
    def __init__(self, srv: Server, b: Browser, client: httpx.AsyncClient) -> None:
        self.srv, self.b, self.page, self.client = srv, b, b.page, client
        self.records_requests: list[str] = []  # every records URL the console read (GET)

    async def token(self, email: str, password: str, coll: str = "_superusers") -> str:
        r = await self.client.post(
            f"/api/collections/{coll}/auth-with-password", json={"identity": email, "password": password}
        )
        assert r.status_code == 200, r.text
        return str(r.json()["token"])

    async def call(self, method: str, path: str, token: str | None = "", **kw: Any) -> Any:
        """A request as the superuser (``token=""``), as a guest (None) or with ``token``; must succeed."""
        if token == "":
            token = await self.token(*SU)
        r = await self.client.request(method, path, headers={"Authorization": token} if token else {}, **kw)
        assert r.status_code < 300, r.text
        return r.json() if "json" in r.headers.get("content-type", "") else r.text


@pytest_asyncio.fixture(scope="module")
async def journey(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Journey]:
    async with (
        running_server(tmp_path_factory.mktemp("journey")) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=30) as client,
        chromium_page(accept_downloads=True) as b,
    ):
        j = Journey(srv, b, client)
        b.page.on(
            "request", lambda r: j.records_requests.append(r.url) if r.method == "GET" and "/records" in r.url else None
        )
        yield j


async def test_serve_prints_a_usable_installer_link_and_the_console_answers_head(journey: Journey) -> None:
    assert "0.0.0.0" not in journey.srv.log_text()
    head = await journey.client.head("/_/")
    get = await journey.client.get("/_/")
    assert head.status_code == 200 and get.status_code == 200
    assert head.content == b"" and get.content.startswith(b"<!doctype html>")
    assert head.headers["content-type"] == get.headers["content-type"] == "text/html; charset=utf-8"
    assert head.headers["content-security-policy"] == get.headers["content-security-policy"]


async def test_first_superuser_through_the_installer_link(journey: Journey) -> None:
    from playwright.async_api import expect

    page = journey.page
    await page.goto(f"{journey.srv.url}/_/")
    await expect(page.locator("#first-run")).to_contain_text("baas superuser upsert EMAIL PASSWORD")
    link = re.search(r"http://127\.0\.0\.1:\d+/_/#/install/\S+", journey.srv.log_text())
    assert link, journey.srv.log_text()
    await page.goto(link.group(0))
    await page.get_by_label("Email").fill(SU[0])
    await page.get_by_label("Password", exact=True).fill(SU[1])
    await page.get_by_label("Password again").fill(SU[1])
    await journey.b.no_unlabelled_controls()
    await page.get_by_role("button", name="Create superuser and sign in").click()
    await expect(page.locator("#signed-in-as")).to_have_text(SU[0])
    assert (await journey.client.get("/api/installer")).json() == {"superuserExists": True}
    await journey.token(*SU)


async def test_sign_in(journey: Journey) -> None:
    from playwright.async_api import expect

    page = journey.page
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Superuser sign-in")).to_be_visible()
    # OTP is off for superusers: only the password form is offered
    await expect(page.get_by_role("button", name="Sign in with a code sent by email")).to_have_count(0)
    await page.get_by_label("Email").fill(SU[0])
    await page.get_by_label("Password").fill("wrong-password")
    await journey.b.no_unlabelled_controls()
    await screenshot(page, "sign-in")
    await page.keyboard.press("Enter")
    await expect(page.locator("#login .notice")).to_have_text("Wrong email or password.")
    await page.get_by_label("Password").fill(SU[1])
    await page.keyboard.press("Enter")
    await expect(page.locator("#signed-in-as")).to_have_text(SU[0])
    stored = await page.evaluate("JSON.parse(localStorage.getItem('baas_console_auth')).token")
    assert (await journey.client.get("/api/collections", headers={"Authorization": stored})).status_code == 200


async def test_an_auth_collection_users(journey: Journey) -> None:
    """The install's own ``users`` goes (its plan first), and the founder's ``users`` replaces it."""
    from playwright.async_api import expect

    page = journey.page
    old = await journey.call("GET", "/api/collections/users")
    await page.get_by_role("link", name="Edit collection users").click()
    await page.get_by_role("button", name="Delete collection…").click()
    await expect(page.locator("#plan")).to_contain_text("users")
    await page.get_by_role("button", name="Delete collection", exact=True).click()
    await expect(page.locator("#collection-list")).to_contain_text("_superusers")  # the list, after the delete
    await expect(page.locator("#collection-list").get_by_role("link", name="users", exact=True)).to_have_count(0)
    r = await journey.client.get("/api/collections/users", headers={"Authorization": await journey.token(*SU)})
    assert r.status_code == 404

    await page.get_by_role("link", name="New collection").click()
    await page.get_by_label("Collection name").fill("users")
    await page.get_by_label("Collection type").select_option("auth")
    await add_field(page, await page.locator("[data-field-index]").count(), "text", "nickname")
    await page.get_by_role("button", name="Review changes").click()
    await expect(page.locator("#plan")).to_contain_text("+ users: create")
    await page.get_by_role("button", name="Apply changes").click()
    await expect(page.get_by_role("heading", name="users", exact=True)).to_be_visible()
    users = await journey.call("GET", "/api/collections/users")
    assert users["type"] == "auth" and users["id"] != old["id"]
    assert "nickname" in {f["name"] for f in users["fields"]} and "email" in {f["name"] for f in users["fields"]}
    CONTEXT["users"] = users["id"]


async def test_a_user_added_in_the_console(journey: Journey) -> None:
    from playwright.async_api import expect

    page = journey.page
    await page.get_by_role("link", name="New record").click()
    await page.locator('[data-field="email"] input').fill(ANN[0])
    await page.locator('[data-field="password"] input').fill(ANN[1])
    await page.locator("input[name=passwordConfirm]").fill(ANN[1])
    await page.locator('[data-field="nickname"] input').fill(HOSTILE[1])
    await page.get_by_role("button", name="Create").click()
    await expect(page.locator("#records tbody tr")).to_have_count(1)
    await expect(page.locator("#records").get_by_role("cell", name=HOSTILE[1], exact=True)).to_have_count(1)
    ann = await journey.token(*ANN, coll="users")  # the password set in the form works
    CONTEXT["ann"] = (await journey.call("GET", "/api/collections/users/records"))["items"][0]["id"]
    CONTEXT["ann_token"] = ann
    bob = await journey.call(
        "POST", "/api/collections/users/records", json={"email": BOB[0], "password": BOB[1], "passwordConfirm": BOB[1]}
    )
    CONTEXT["bob"] = bob["id"]


async def test_posts_made_in_the_field_editor_after_the_plan(journey: Journey) -> None:
    from playwright.async_api import expect

    page = journey.page
    await page.goto(f"{journey.srv.url}/_/#/collections/new")
    await page.get_by_label("Collection name").fill("posts")
    title = await add_field(page, 0, "text", "title")
    await title.get_by_label("Required").check()
    views = await add_field(page, 1, "number", "views")
    await views.get_by_label("Integers only").check()
    await add_field(page, 2, "bool", "published")
    kind = await add_field(page, 3, "select", "kind")
    await kind.get_by_label("Values (comma-separated)").fill(f"news, tips, {HOSTILE[1]}")
    author = await add_field(page, 4, "relation", "author")
    await author.get_by_label("Related collection").select_option(CONTEXT["users"])
    cover = await add_field(page, 5, "file", "cover")
    await cover.get_by_label("Thumb sizes (e.g. 100x100)").fill("120x80, 480x320")
    for rule in ("List rule", "View rule"):
        await page.get_by_label(f"{rule}: superusers only").uncheck()
    await page.get_by_label("Create rule: superusers only").uncheck()
    await page.get_by_label("Create rule", exact=True).fill('@request.auth.id != ""')
    await journey.b.no_unlabelled_controls()
    await page.get_by_role("button", name="Review changes").click()
    await expect(page.locator("#plan")).to_contain_text("+ posts: create")
    await page.locator("#plan").scroll_into_view_if_needed()
    await screenshot(page, "collection-editor")
    r = await journey.client.get("/api/collections/posts", headers={"Authorization": await journey.token(*SU)})
    assert r.status_code == 404  # the review applied nothing
    await page.get_by_role("button", name="Apply changes").click()
    await expect(page.get_by_role("heading", name="posts", exact=True)).to_be_visible()

    posts = await journey.call("GET", "/api/collections/posts")
    by_name = {f["name"]: f for f in posts["fields"]}
    assert [f["name"] for f in posts["fields"] if not f.get("system")] == [
        "title",
        "views",
        "published",
        "kind",
        "author",
        "cover",
    ]
    assert by_name["title"]["required"] is True and by_name["views"]["onlyInt"] is True
    assert by_name["kind"]["values"] == ["news", "tips", HOSTILE[1]]
    assert by_name["author"]["collectionId"] == CONTEXT["users"]
    assert by_name["cover"]["thumbs"] == ["120x80", "480x320"]
    assert (posts["listRule"], posts["viewRule"], posts["createRule"]) == ("", "", '@request.auth.id != ""')
    assert posts["updateRule"] is None and posts["deleteRule"] is None


async def test_records_added_with_an_image_and_its_thumbnail(journey: Journey) -> None:
    from playwright.async_api import expect

    page = journey.page
    await page.get_by_role("link", name="New record").click()
    await page.get_by_label("title (required)").fill("Hello world")
    await page.get_by_label("views").fill("7")
    await page.get_by_label("published").check()
    await page.get_by_label("kind").select_option("news")
    await page.get_by_label("author", exact=True).fill("ann@")
    await page.get_by_role("button", name=re.compile(r"^Choose ann@example\.com")).click()
    await page.get_by_label("cover", exact=True).set_input_files(
        {"name": "cover.png", "mimeType": "image/png", "buffer": png(600, 400)}
    )
    await expect(page.locator(".previews img")).to_have_count(1)
    await journey.b.no_unlabelled_controls()
    await screenshot(page, "record-form")
    await page.get_by_role("button", name="Create").click()
    await expect(page.locator("#records tbody tr")).to_have_count(1)

    su = await journey.token(*SU)
    for title, views, published, author in [
        ("Ann's draft", 2, False, CONTEXT["ann"]),
        ("Bob's notes", 12, True, CONTEXT["bob"]),
        ("Bob's draft", 5, False, CONTEXT["bob"]),
    ]:
        await journey.call(
            "POST",
            "/api/collections/posts/records",
            token=su,
            json={"title": title, "views": views, "published": published, "author": author},
        )
    await page.reload()
    await expect(page.locator("#records tbody tr")).to_have_count(4)
    rec = (await journey.call("GET", "/api/collections/posts/records?filter=" + "title%3D'Hello%20world'"))["items"][0]
    assert (rec["views"], rec["published"], rec["kind"], rec["author"]) == (7, True, "news", CONTEXT["ann"])
    assert rec["cover"].startswith("cover") and rec["cover"].endswith(".png")
    thumb = page.locator(f'tr[data-id="{rec["id"]}"] img.thumb')
    await expect(thumb).to_have_count(1)
    await page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=await thumb.element_handle())
    src = await thumb.get_attribute("src")
    assert "thumb=120x80" in src  # the smallest size the field declares, not a fixed 100x100
    got = await journey.client.get(src)
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    from PIL import Image  # import here: only this step reads an image

    assert Image.open(io.BytesIO(got.content)).size == (120, 80)
    await screenshot(page, "records")
    CONTEXT["hello"] = rec["id"]


async def test_filter_and_sort(journey: Journey) -> None:
    from playwright.async_api import expect

    page = journey.page
    rows = page.locator("#records tbody tr")
    await page.get_by_label("Filter").fill("views > 4 && published = true")
    await page.get_by_role("button", name="Search").click()
    await expect(rows).to_have_count(2)
    api = await journey.call("GET", "/api/collections/posts/records?filter=views%3E4%26%26published%3Dtrue")
    assert api["totalItems"] == 2
    await page.get_by_label("Filter").fill("")
    await page.get_by_label("Sort").fill("-views")
    await page.get_by_role("button", name="Search").click()
    await expect(rows).to_have_count(4)
    await expect(rows.first).to_contain_text("Bob's notes")
    await expect(rows.last).to_contain_text("Ann's draft")
    api = await journey.call("GET", "/api/collections/posts/records?sort=-views")
    assert [i["title"] for i in api["items"]] == ["Bob's notes", "Hello world", "Bob's draft", "Ann's draft"]


async def test_a_rule_edited_and_tried_in_the_playground(journey: Journey) -> None:
    from playwright.async_api import expect

    page = journey.page
    rule = "published = true || author = @request.auth.id"
    await page.get_by_role("link", name="Edit collection").click()
    await page.get_by_label("List rule", exact=True).fill(rule)
    await page.get_by_role("button", name="Review changes").click()
    await expect(page.locator("#plan")).to_contain_text("posts")
    await page.get_by_role("button", name="Apply changes").click()
    await expect(page.get_by_role("heading", name="posts", exact=True)).to_be_visible()
    assert (await journey.call("GET", "/api/collections/posts"))["listRule"] == rule

    await page.get_by_role("link", name="Edit collection").click()
    await page.get_by_role("link", name="Rule playground").click()
    await page.get_by_label("Action").select_option("list")
    await expect(page.get_by_label("Rule", exact=True)).to_have_value(rule)
    await page.get_by_role("button", name="Run").click()
    rows = page.locator("#playground-records tbody tr")
    await expect(rows).to_have_count(2)
    guest = await journey.call("GET", "/api/collections/posts/records?sort=title", token=None)
    assert [i["title"] for i in guest["items"]] == ["Bob's notes", "Hello world"]
    for title in ("Bob's notes", "Hello world"):
        await expect(page.locator("#playground-records")).to_contain_text(title)

    await page.get_by_label("Requester").select_option("record")
    await page.get_by_label("Auth collection").select_option("users")
    await page.get_by_label("Find a user").fill("ann@")
    await expect(page.get_by_label("User", exact=True).locator("option")).to_have_count(1)
    await page.get_by_role("button", name="Run").click()
    await expect(rows).to_have_count(3)
    await expect(page.locator("#playground-records")).to_contain_text("Ann's draft")
    await expect(page.locator("#playground-records")).not_to_contain_text("Bob's draft")
    ann = await journey.call("GET", "/api/collections/posts/records?sort=title", token=CONTEXT["ann_token"])
    assert [i["title"] for i in ann["items"]] == ["Ann's draft", "Bob's notes", "Hello world"]
    await journey.b.no_unlabelled_controls()
    await screenshot(page, "playground")


async def test_export_is_what_the_cli_exports(journey: Journey) -> None:
    from playwright.async_api import expect

    page = journey.page
    await page.get_by_role("link", name="Export schema").click()
    pre = page.locator("#schema-yaml")
    await expect(pre).to_contain_text("name: posts")
    await screenshot(page, "export")
    cli = journey.srv.cli("schema", "export").stdout  # the same data dir / database, another process
    shown = yaml.safe_load(await pre.text_content())
    assert shown == yaml.safe_load(cli)
    assert {c["name"] for c in shown["collections"]} >= {"users", "posts"}
    async with page.expect_download() as dl:
        await page.get_by_role("link", name="Download baas.yaml").click()
    assert yaml.safe_load(open(await (await dl.value).path()).read()) == yaml.safe_load(cli)


async def test_rename_keeps_data_and_drop_needs_consent(journey: Journey) -> None:
    from playwright.async_api import expect

    page = journey.page
    await page.goto(f"{journey.srv.url}/_/#/collections/posts/edit")
    await page.locator('[data-field-name="views"]').get_by_label("Field name").fill("score")
    await page.get_by_role("button", name="Review changes").click()
    await expect(page.locator("#plan")).to_contain_text("rename field")
    await page.get_by_role("button", name="Apply changes").click()
    await expect(page.get_by_role("heading", name="posts", exact=True)).to_be_visible()
    items = (await journey.call("GET", "/api/collections/posts/records?sort=title"))["items"]
    assert [(i["title"], i["score"]) for i in items] == [
        ("Ann's draft", 2),
        ("Bob's draft", 5),
        ("Bob's notes", 12),
        ("Hello world", 7),
    ]
    assert all("views" not in i for i in items)

    await page.get_by_role("link", name="Edit collection").click()
    await page.get_by_role("button", name="Remove field kind").click()
    await page.get_by_role("button", name="Review changes").click()
    await expect(page.locator("#plan .destructive")).to_contain_text("kind")
    apply = page.get_by_role("button", name="Apply changes")
    await expect(apply).to_be_disabled()
    assert (await journey.call("GET", f"/api/collections/posts/records/{CONTEXT['hello']}"))["kind"] == "news"
    await page.get_by_label("I accept the data loss").check()
    await apply.click()
    await expect(page.get_by_role("heading", name="posts", exact=True)).to_be_visible()
    posts = await journey.call("GET", "/api/collections/posts")
    assert "kind" not in {f["name"] for f in posts["fields"]}
    assert "kind" not in await journey.call("GET", f"/api/collections/posts/records/{CONTEXT['hello']}")


async def _mail_link(journey: Journey, to: str, subject: str, path: str, seen: int = 0) -> str:
    msg = await wait_for_mail(journey.srv.data_dir, to, subject, seen)
    link = link_in(msg, path)
    assert link.startswith(journey.srv.url + "/_/#/"), link  # the app URL set below
    return link


async def test_the_pages_auth_emails_link_to(journey: Journey) -> None:
    from playwright.async_api import expect

    page = journey.page
    await journey.call("PATCH", "/api/settings", json={"meta": {"appURL": journey.srv.url}})
    # Signed out: these pages are for the app's users and need no superuser.
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Superuser sign-in")).to_be_visible()

    # Verification
    await journey.call("POST", "/api/collections/users/request-verification", token=None, json={"email": ANN[0]})
    link = await _mail_link(journey, ANN[0], "Verify", "auth/confirm-verification")
    await page.goto(link)
    await expect(page.locator("#confirm-verification .notice.success")).to_contain_text("is verified")
    assert (await journey.call("GET", f"/api/collections/users/records/{CONTEXT['ann']}"))["verified"] is True

    # Password reset: the server's per-field errors, then the new password works and the link is spent
    await journey.call("POST", "/api/collections/users/request-password-reset", token=None, json={"email": ANN[0]})
    link = await _mail_link(journey, ANN[0], "Reset", "auth/confirm-password-reset")
    await page.goto(link)
    await expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    await page.get_by_label("New password", exact=True).fill("short")
    await page.get_by_label("New password again").fill("short")
    await journey.b.no_unlabelled_controls()
    await page.get_by_role("button", name="Set new password").click()
    await expect(
        page.locator("#" + await page.get_by_label("New password", exact=True).get_attribute("id") + "-error")
    ).not_to_be_empty()
    new_password = "ann-new-password-2"
    await page.get_by_label("New password", exact=True).fill(new_password)
    await page.get_by_label("New password again").fill("something else")
    await page.get_by_role("button", name="Set new password").click()
    await expect(page.locator("#confirm-password-reset")).to_contain_text("don't match")
    await page.get_by_label("New password again").fill(new_password)
    await page.get_by_role("button", name="Set new password").click()
    await expect(page.locator("#confirm-password-reset .notice.success")).to_contain_text("password has been changed")
    await journey.token(ANN[0], new_password, coll="users")
    r = await journey.client.post(
        "/api/collections/users/auth-with-password", json={"identity": ANN[0], "password": ANN[1]}
    )
    assert r.status_code == 400
    await page.goto("about:blank")
    await page.goto(link)  # used: the password change rotated the token key
    await page.get_by_label("New password", exact=True).fill("ann-third-password-3")
    await page.get_by_label("New password again").fill("ann-third-password-3")
    await page.get_by_role("button", name="Set new password").click()
    await expect(page.locator("#confirm-password-reset .notice.error")).to_contain_text("invalid, has expired")
    await journey.token(ANN[0], new_password, coll="users")  # unchanged

    # Email change: the user's password confirms it
    ann = await journey.token(ANN[0], new_password, coll="users")
    new_email = "ann.new@example.com"
    await journey.call("POST", "/api/collections/users/request-email-change", token=ann, json={"newEmail": new_email})
    link = await _mail_link(journey, new_email, "Confirm", "auth/confirm-email-change")
    await page.goto("about:blank")
    await page.goto(link)
    await expect(page.locator("#confirm-email-change")).to_contain_text(new_email)
    await page.get_by_label("Your password").fill("not-her-password")
    await page.get_by_role("button", name="Confirm new email").click()
    await expect(
        page.locator("#" + await page.get_by_label("Your password").get_attribute("id") + "-error")
    ).to_contain_text("password")
    assert (await journey.call("GET", f"/api/collections/users/records/{CONTEXT['ann']}"))["email"] == ANN[0]
    await page.get_by_label("Your password").fill(new_password)
    await page.get_by_role("button", name="Confirm new email").click()
    await expect(page.locator("#confirm-email-change .notice.success")).to_contain_text(new_email)
    assert (await journey.call("GET", f"/api/collections/users/records/{CONTEXT['ann']}"))["email"] == new_email
    CONTEXT["ann_token"] = await journey.token(new_email, new_password, coll="users")

    # A broken or forged link: a clear message; a forged token's claims are shown as text only
    await page.goto(f"{journey.srv.url}/_/#/auth/confirm-verification/not-a-token")
    await expect(page.locator("#auth-link")).to_contain_text("invalid, has expired")
    claims = {"id": CONTEXT["ann"], "collectionId": CONTEXT["users"], "type": "emailChange"}
    claims |= {"email": HOSTILE[1], "newEmail": HOSTILE[0]}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    await page.goto("about:blank")
    await page.goto(f"{journey.srv.url}/_/#/auth/confirm-email-change/eyJhbGciOiJIUzI1NiJ9.{payload}.forged")
    await expect(page.locator("#confirm-email-change strong").first).to_have_text(HOSTILE[1])
    assert await page.locator("main img, main script").count() == 0
    await page.get_by_label("Your password").fill(new_password)
    await page.get_by_role("button", name="Confirm new email").click()
    await expect(page.locator("#confirm-email-change .notice.error")).to_contain_text("invalid, has expired")
    assert (await journey.call("GET", f"/api/collections/users/records/{CONTEXT['ann']}"))["email"] == new_email
    await page.goto("about:blank")
    assert await page.evaluate("window.__xss") is None and journey.b.dialogs == []


def _code(msg_html: str) -> str:
    found = re.search(r"<strong>([0-9]+)</strong>", msg_html)
    assert found, msg_html
    return found.group(1)


async def test_sign_in_with_mfa_and_with_a_code(journey: Journey) -> None:
    from playwright.async_api import expect

    page = journey.page
    await journey.call(
        "PATCH", "/api/collections/_superusers", json={"mfa": {"enabled": True}, "otp": {"enabled": True}}
    )
    codes = 0  # OTP mails to the superuser so far

    # Password first, then a code by email
    await page.goto(f"{journey.srv.url}/_/#/login")
    await page.get_by_label("Email", exact=True).fill(SU[0])
    await page.get_by_label("Password", exact=True).fill(SU[1])
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("heading", name="A second step is required")).to_be_visible()
    assert await page.evaluate("localStorage.getItem('baas_console_auth')") is None  # not signed in yet
    await journey.b.no_unlabelled_controls()
    await page.get_by_role("button", name="Email me a code").click()
    await expect(page.get_by_label("Email", exact=True)).to_have_value(SU[0])
    await page.get_by_role("button", name="Send code").click()
    code = _code((await wait_for_mail(journey.srv.data_dir, SU[0], "OTP", codes)).html)
    codes += 1
    await page.get_by_label("Code from the email").fill("000000" if code != "000000" else "111111")
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.locator("#otp-login .notice.error")).to_be_visible()
    await page.get_by_label("Code from the email").fill(code)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.locator("#signed-in-as")).to_have_text(SU[0])

    # A code alone (OTP first), then the password as the second factor
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_role("button", name="Sign in with a code sent by email").click()
    await page.get_by_label("Email", exact=True).fill(SU[0])
    await page.get_by_role("button", name="Send code").click()
    code = _code((await wait_for_mail(journey.srv.data_dir, SU[0], "OTP", codes)).html)
    codes += 1
    await page.get_by_label("Code from the email").fill(code)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("heading", name="A second step is required")).to_be_visible()
    await page.get_by_role("button", name="Use my password").click()
    await page.get_by_label("Password", exact=True).fill(SU[1])
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.locator("#signed-in-as")).to_have_text(SU[0])

    # An authenticator app (TOTP) as the second factor
    import pyotp  # import here: only this step makes codes

    su = await page.evaluate("JSON.parse(localStorage.getItem('baas_console_auth')).token")
    secret = (await journey.call("POST", "/api/collections/_superusers/totp/enroll", token=su))["secret"]
    totp = pyotp.TOTP(secret)
    await journey.call("POST", "/api/collections/_superusers/totp/confirm", token=su, json={"code": totp.now()})
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_label("Email", exact=True).fill(SU[0])
    await page.get_by_label("Password", exact=True).fill(SU[1])
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("heading", name="A second step is required")).to_be_visible()
    # the next step's code: the current one was spent on the enrolment (never accepted twice)
    await page.get_by_label("Authenticator code").fill(totp.at(time.time() + 30))
    await page.get_by_role("button", name="Verify").click()
    await expect(page.locator("#signed-in-as")).to_have_text(SU[0])
    su = await page.evaluate("JSON.parse(localStorage.getItem('baas_console_auth')).token")
    assert (await journey.client.get("/api/collections", headers={"Authorization": su})).status_code == 200

    me = (await journey.call("GET", "/api/collections/_superusers/records", token=su))["items"][0]["id"]
    await journey.call("DELETE", f"/api/collections/_superusers/totp/{me}", token=su)
    await journey.call("PATCH", "/api/collections/_superusers", token=su, json={"mfa": {"enabled": False}})
    await page.goto(f"{journey.srv.url}/_/#/collections")
    await expect(page.locator("#collection-list")).to_contain_text("posts")
    await screenshot(page, "collections")


async def test_the_journeys_admin_requests_give_a_guest_and_a_user_nothing(journey: Journey) -> None:
    posts = await journey.call("GET", "/api/collections/posts")
    fields = [f for f in posts["fields"] if not f.get("system")]
    requests: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/api/collections", None),
        ("GET", "/api/collections/posts", None),
        ("GET", "/api/collections/users", None),
        ("POST", "/api/collections", {"name": "evil", "type": "base"}),
        ("PATCH", "/api/collections/posts", {"listRule": "", "fields": fields}),
        ("DELETE", "/api/collections/posts", None),
        ("DELETE", "/api/collections/users", None),
        ("PATCH", "/api/collections/_superusers", {"mfa": {"enabled": False}}),
        ("POST", "/api/collections/plan", {"action": "delete", "target": "posts"}),
        ("POST", "/api/collections/rules/check", {"collection": "posts", "rule": "title != ''"}),
        (
            "POST",
            "/api/collections/rules/playground",
            {"collection": "posts", "action": "list", "requester": {"type": "guest"}},
        ),
        ("GET", "/api/schema/export", None),
        ("GET", "/api/collections/_superusers/records", None),
        ("PATCH", "/api/settings", {"meta": {"appURL": "http://evil.example.com"}}),
        ("GET", "/api/settings", None),
    ]
    before = await journey.call("GET", "/api/schema/export")
    # A guest: 401 (no token) or 403 (a superusers-only rule, as PocketBase answers); a user: 403.
    for who, token, statuses in (("guest", None, {401, 403}), ("user", CONTEXT["ann_token"], {403})):
        for method, path, body in requests:
            headers = {"Authorization": token} if token else {}
            r = await journey.client.request(method, path, headers=headers, json=body)
            assert r.status_code in statuses, (who, method, path, r.status_code, r.text)
            answer = r.json()
            assert set(answer) == {"status", "message", "data"} and answer["data"] == {}, (who, path, answer)
            assert "posts" not in r.text and SU[0] not in r.text
    assert await journey.call("GET", "/api/schema/export") == before  # nothing changed
    settings = await journey.call("GET", "/api/settings")
    assert settings["meta"]["appURL"] == journey.srv.url


async def test_the_console_never_asked_for_all_records(journey: Journey) -> None:
    lists = [u for u in journey.records_requests if re.search(r"/api/collections/[^/]+/records(\?|$)", u)]
    assert lists, journey.records_requests
    for url in lists:
        per_page = parse_qs(urlparse(url).query).get("perPage")
        assert per_page and 0 < int(per_page[0]) <= 100, url


async def test_no_script_errors_csp_violations_or_dialogs(journey: Journey) -> None:
    assert journey.b.real_errors() == []
    assert journey.b.dialogs == []
