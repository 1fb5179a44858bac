"""The console's settings and admin pages, in Debian's chromium against a real ``baas serve``: the
application settings (every section saved, the server's field errors beside their fields, write-only
secrets shown as "set" and never sent back), "Send test email" (to the dev mailbox), "Test
connection" against a moto S3 server that checks keys, API keys (created with scopes and an expiry,
shown once and copied, revoked) and superusers (created, passwords changed, deleted; the last one
kept; deleting yourself warns). Hostile values are shown as text. Every step is checked through
the API too.

One server and one browser page for the module; the tests run in file order, each building on the
one before."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.console.browser import HOSTILE, Browser, chromium_page, screenshot, wait_for_mail
from tests.console.s3kit import S3
from tests.servers import Server, running_server

pytestmark = pytest.mark.browser

SU = ["settings@example.com", "settings-password-1"]  # a list: the password changes on the way
SMTP_PASSWORD = "smtp-pass-" + "x7q"  # must never come back from the API


@dataclass
class Steps:
    srv: Server
    b: Browser
    client: httpx.AsyncClient
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def page(self) -> Any:
        return self.b.page

    async def token(self, email: str | None = None, password: str | None = None) -> str:
        r = await self.client.post(
            "/api/collections/_superusers/auth-with-password",
            json={"identity": email or SU[0], "password": password or SU[1]},
        )
        assert r.status_code == 200, r.text
        return str(r.json()["token"])

    async def get(self, path: str) -> Any:
        r = await self.client.get(path, headers={"Authorization": await self.token()})
        assert r.status_code == 200, r.text
        return r.json()

    async def safe(self) -> None:
        """Nothing hostile ran, no dialog opened, no script error, every control labelled."""
        assert await self.page.evaluate("window.__xss") is None
        assert self.b.dialogs == [] and self.b.real_errors() == []
        await self.b.no_unlabelled_controls()


@pytest_asyncio.fixture(scope="module")
async def steps(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Steps]:
    async with (
        running_server(tmp_path_factory.mktemp("console_settings"), superuser=(SU[0], SU[1])) as srv,
        httpx.AsyncClient(base_url=srv.url) as client,
        chromium_page(permissions=["clipboard-read", "clipboard-write"]) as b,
    ):
        yield Steps(srv, b, client)


async def test_sign_in(steps: Steps) -> None:
    from playwright.async_api import expect

    page = steps.page
    await page.goto(f"{steps.srv.url}/_/#/login")
    await page.get_by_label("Email").fill(SU[0])
    await page.get_by_label("Password").fill(SU[1])
    await page.keyboard.press("Enter")
    await expect(page.locator("#signed-in-as")).to_have_text(SU[0])


# -- application settings -------------------------------------------------------------------------
async def test_settings_save_every_section(steps: Steps) -> None:
    from playwright.async_api import expect

    page = steps.page
    await page.get_by_role("link", name="Settings").click()
    await expect(page.get_by_role("heading", name="Settings")).to_be_visible()
    await expect(page.locator("#settings-smtp-password-status")).to_have_text("not set")
    await steps.safe()
    # Every stored key has a control (the rate limit rules: their table), the write-only ones too.
    names = set(await page.eval_on_selector_all("#settings [name]", "els => els.map((e) => e.name)"))
    stored = await steps.get("/api/settings")
    want = {
        f"{sec}.{key}" + (f".{sub}" if sub else "")
        for sec, keys in stored.items()
        if sec != "secretsSet"
        for key, value in keys.items()
        for sub in (value if isinstance(value, dict) else [""])  # backups.s3.*: a control per key
    } | {"backups.s3.secret"}
    assert want - {"rateLimits.rules"} <= names and {"smtp.password", "s3.secret"} <= names, want - names
    await page.get_by_label("Application name").fill(HOSTILE[0])
    await page.get_by_label("Application URL").fill("https://acme.example")
    await page.get_by_label("Sender name").fill("Acme Support")
    await page.get_by_label("Sender address").fill("support@acme.example")
    await page.get_by_label("SMTP host").fill("smtp.acme.example")
    await page.get_by_label("SMTP port").fill("2525")
    await page.get_by_label("SMTP username").fill("mailer")
    await page.get_by_label("SMTP password").fill(SMTP_PASSWORD)
    await page.get_by_label("Implicit TLS").check()
    await page.get_by_label("SMTP auth method").select_option("LOGIN")
    await page.get_by_label("Client IP headers").fill(f"X-Forwarded-For, {HOSTILE[1]}")
    await page.get_by_label("Use the leftmost IP of the header").check()
    await page.get_by_label("Enable batch requests").check()
    await page.get_by_label("Max requests per batch").fill("20")
    await page.get_by_label("Max batch body size").fill("1048576")
    await page.get_by_label("Keep events for days").fill("3")
    await page.get_by_label("Keep entries for days").fill("9")
    await page.get_by_label("Share of successful requests kept").fill("0.5")
    await page.get_by_label("Log client IPs").uncheck()
    await page.get_by_label("Schedule (cron").fill("@weekly")
    await page.get_by_label("Scheduled backups to keep").fill("4")
    await page.get_by_role("button", name="Add rule").click()
    await page.get_by_label("Rule 1 label").fill("/api/")
    await page.get_by_label("Rule 1 max requests").fill("100")
    await page.get_by_label("Rule 1 duration in seconds").fill("10")
    await page.get_by_label("Rule 1 audience").select_option("@guest")
    await page.get_by_label("Enable rate limits").check()
    await page.get_by_label("Excluded IPs").fill("10.0.0.0/8\n192.168.1.1")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator("#settings-status")).to_contain_text("Settings saved.")

    got = await steps.get("/api/settings")
    assert got["meta"]["appName"] == HOSTILE[0] and got["meta"]["appURL"] == "https://acme.example"
    assert got["meta"]["senderAddress"] == "support@acme.example"
    assert got["smtp"] == {
        "enabled": False,
        "host": "smtp.acme.example",
        "port": 2525,
        "username": "mailer",
        "tls": True,
        "authMethod": "LOGIN",
        "localName": "",
    }
    assert got["trustedProxy"] == {"headers": ["X-Forwarded-For", HOSTILE[1]], "useLeftmostIP": True}
    assert got["batch"] == {"enabled": True, "maxRequests": 20, "timeout": 3, "maxBodySize": 1048576}
    assert got["rateLimits"] == {
        "enabled": True,
        "rules": [{"label": "/api/", "maxRequests": 100, "duration": 10, "audience": "@guest"}],
        "excludedIPs": ["10.0.0.0/8", "192.168.1.1"],
    }
    assert got["events"]["retentionDays"] == 3 and got["logs"]["maxDays"] == 9 and got["logs"]["logIP"] is False
    assert got["logs"]["sampling"] == 0.5
    assert got["backups"]["cron"] == "@weekly" and got["backups"]["cronMaxKeep"] == 4
    assert got["secretsSet"] == {"s3.secret": False, "smtp.password": True, "backups.s3.secret": False}
    assert SMTP_PASSWORD not in json.dumps(got)

    # The page shows the saved values, the hostile ones as text, and the password only as "set".
    await page.reload()
    await expect(page.locator("#settings-smtp-password-status")).to_have_text("set")
    assert await page.get_by_label("Application name").input_value() == HOSTILE[0]
    assert await page.get_by_label("SMTP password").input_value() == ""
    assert SMTP_PASSWORD not in await page.content()
    await screenshot(page, "settings")
    await steps.safe()


async def test_saving_again_keeps_the_password(steps: Steps) -> None:
    from playwright.async_api import expect

    page = steps.page
    await page.get_by_label("Sender name").fill("Acme Team")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator("#settings-status")).to_contain_text("Settings saved.")
    got = await steps.get("/api/settings")
    assert got["meta"]["senderName"] == "Acme Team" and got["secretsSet"]["smtp.password"] is True


async def test_field_errors_beside_their_fields(steps: Steps) -> None:
    from playwright.async_api import expect

    page = steps.page
    await page.get_by_label("Max requests per batch").fill("5000")
    await page.get_by_label("Rule 1 label").fill("not a label!")
    await page.get_by_label("Excluded IPs").fill("999.1.1.1")
    await page.get_by_label("SMTP port").fill("")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator("#settings-status")).to_contain_text("An error occurred while submitting the form.")
    await expect(page.locator("#settings-batch-maxRequests-error")).to_have_text("Must be between 1 and 1000.")
    await expect(page.locator("#settings-smtp-port-error")).to_contain_text("Must be a int")
    await expect(page.locator("#settings-rateLimits-excludedIPs-error")).to_contain_text("Invalid IP or CIDR subnet.")
    label = page.get_by_label("Rule 1 label")
    assert await label.get_attribute("aria-invalid") == "true"
    rule_error = await label.get_attribute("aria-describedby")
    await expect(page.locator(f"#{rule_error}")).to_have_text("Must be in a valid format.")
    # Nothing was saved.
    got = await steps.get("/api/settings")
    assert got["batch"]["maxRequests"] == 20 and got["smtp"]["port"] == 2525
    assert got["rateLimits"]["rules"][0]["label"] == "/api/"
    # Removing the bad rule and fixing the rest saves.
    await page.get_by_role("button", name="Remove rule 1").click()
    await page.get_by_role("button", name="Add the suggested rules").click()
    await page.get_by_label("Enable rate limits").uncheck()
    await page.get_by_label("Max requests per batch").fill("30")
    await page.get_by_label("Excluded IPs").fill("")
    await page.get_by_label("SMTP port").fill("587")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator("#settings-status")).to_contain_text("Settings saved.")
    got = await steps.get("/api/settings")
    assert [r["label"] for r in got["rateLimits"]["rules"]] == ["*:auth", "*:create", "/api/batch", "/api/"]
    assert got["rateLimits"]["rules"][0] == {"label": "*:auth", "maxRequests": 2, "duration": 3, "audience": ""}
    assert got["rateLimits"]["enabled"] is False
    assert got["batch"]["maxRequests"] == 30 and got["smtp"]["port"] == 587
    await steps.safe()


async def test_send_test_email(steps: Steps) -> None:
    from playwright.async_api import expect

    page = steps.page
    await page.get_by_label("Application name").fill("Acme")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator("#settings-status")).to_contain_text("Settings saved.")
    await page.get_by_label("Test email address").fill("not-an-address")
    await page.get_by_role("button", name="Send test email").click()
    await expect(page.locator("#test-email-to-error")).to_have_text("Must be a valid email address.")
    await page.get_by_label("Test email address").fill("probe@example.com")
    await page.get_by_label("Email template").select_option("password-reset")
    await page.get_by_label("Auth collection of the template").select_option("users")
    await page.get_by_role("button", name="Send test email").click()
    await expect(page.locator("#test-email-result")).to_contain_text("Test email sent to probe@example.com.")
    msg = await wait_for_mail(steps.srv.data_dir, "probe@example.com", "Reset your Acme password")
    assert "support@acme.example" in msg.sender
    # Unsaved changes: the test would not use them, so it says so instead of sending.
    await page.get_by_label("Sender name").fill("Someone Else")
    await page.get_by_role("button", name="Send test email").click()
    await expect(page.locator("#test-email-result")).to_contain_text("Save your changes first")
    await page.reload()
    await steps.safe()


async def test_s3_test_connection(steps: Steps, s3: S3) -> None:
    from playwright.async_api import expect

    page = steps.page
    await expect(page.locator("#settings-s3-secret-status")).to_have_text("not set")
    await page.get_by_label("S3 endpoint").fill(s3.endpoint)
    await page.get_by_label("S3 bucket", exact=True).fill("no-such-bucket")
    await page.get_by_label("S3 region").fill("us-east-1")
    await page.get_by_label("S3 access key").fill(s3.access_key)
    await page.get_by_label("S3 secret key").fill(s3.secret)
    await page.get_by_label("Force path-style URLs").check()
    await page.get_by_role("button", name="Test connection").click()
    await expect(page.locator("#test-s3-result")).to_contain_text("NoSuchBucket")
    await page.get_by_label("S3 bucket", exact=True).fill("probe-bucket")
    await page.get_by_label("S3 secret key").fill("wrong-secret")
    await page.get_by_role("button", name="Test connection").click()
    await expect(page.locator("#test-s3-result")).to_contain_text("SignatureDoesNotMatch")
    await page.get_by_label("S3 secret key").fill(s3.secret)
    await page.get_by_role("button", name="Test connection").click()
    await expect(page.locator("#test-s3-result")).to_contain_text("The connection works")
    # A blank bucket: the server's field error beside the field.
    await page.get_by_label("S3 bucket", exact=True).fill("")
    await page.get_by_role("button", name="Test connection").click()
    await expect(page.locator("#settings-s3-bucket-error")).to_have_text("Cannot be blank.")
    # Testing saved nothing.
    got = await steps.get("/api/settings")
    assert got["s3"]["bucket"] == "" and got["secretsSet"]["s3.secret"] is False
    assert [o.object_name for o in s3.client().list_objects("probe-bucket", recursive=True)] == []
    # Saved (storage still off), the secret shows as set and a test with the field left empty uses it.
    await page.get_by_label("S3 bucket", exact=True).fill("probe-bucket")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator("#settings-status")).to_contain_text("Settings saved.")
    await expect(page.locator("#settings-s3-secret-status")).to_have_text("set")
    await page.get_by_role("button", name="Test connection").click()
    await expect(page.locator("#test-s3-result")).to_contain_text("The connection works")
    got = await steps.get("/api/settings")
    assert got["s3"]["bucket"] == "probe-bucket" and got["s3"]["enabled"] is False
    assert got["secretsSet"]["s3.secret"] is True and s3.secret not in str(got)
    assert s3.secret not in await page.content()
    await steps.safe()


# -- backups -------------------------------------------------------------------------------------
async def test_backups_page_with_an_s3_store_and_a_schedule(steps: Steps, s3: S3, tmp_path: Any) -> None:
    from playwright.async_api import expect

    page = steps.page
    s3.client().make_bucket("backups-bucket")
    # The store, in Settings → Backups: tested as typed, then saved.
    await page.get_by_label("Endpoint of the backups bucket").fill(s3.endpoint)
    await page.get_by_label("Backups bucket", exact=True).fill("backups-bucket")
    await page.get_by_label("Region of the backups bucket").fill("us-east-1")
    await page.get_by_label("Access key for backups").fill(s3.access_key)
    await page.get_by_label("Secret key for backups").fill("wrong-secret")
    await page.get_by_label("Path-style URLs for the backups bucket").check()
    await page.get_by_role("button", name="Test the backups bucket").click()
    await expect(page.locator("#test-backups-s3-result")).to_contain_text("SignatureDoesNotMatch")
    await page.get_by_label("Secret key for backups").fill(s3.secret)
    await page.get_by_role("button", name="Test the backups bucket").click()
    await expect(page.locator("#test-backups-s3-result")).to_contain_text("The connection works")
    await page.get_by_label("Keep backups in an S3 bucket instead").check()
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator("#settings-status")).to_contain_text("Settings saved.")
    await expect(page.locator("#settings-backups-s3-secret-status")).to_have_text("set")
    got = await steps.get("/api/settings")
    assert got["backups"]["s3"]["enabled"] is True and got["secretsSet"]["backups.s3.secret"] is True
    assert got["s3"]["enabled"] is False  # the files' store is untouched

    # The Backups page: back up now, into the bucket.
    await page.get_by_role("link", name="Backups").click()
    await expect(page.get_by_role("heading", name="Backups", exact=True)).to_be_visible()
    await expect(page.locator("#backups-where")).to_contain_text("backups-bucket")
    await page.get_by_label("Backup name").fill("../bad")
    await page.get_by_role("button", name="Back up now").click()
    await expect(page.locator("#backup-name-error")).to_contain_text("invalid backup name")
    await page.get_by_label("Backup name").fill("from-console.zip")
    await page.get_by_role("button", name="Back up now").click()
    await expect(page.locator("#backups-status")).to_contain_text("Backup complete.")
    await expect(page.locator('tr[data-backup="from-console.zip"]')).to_be_visible()
    assert [o.object_name for o in s3.client().list_objects("backups-bucket", recursive=True)] == ["from-console.zip"]
    async with page.expect_download() as dl:
        await page.get_by_role("button", name="Download from-console.zip").click()
    saved = tmp_path / "dl.zip"
    await (await dl.value).save_as(saved)
    assert saved.read_bytes()[:2] == b"PK"

    # The schedule: a bad cron beside its field, then a good one.
    await page.get_by_label("Cron expression").fill("every day")
    await page.get_by_role("button", name="Save schedule").click()
    await expect(page.locator("#backups-cron-error")).not_to_be_empty()
    await page.get_by_label("Cron expression").fill("0 3 * * *")
    await page.get_by_label("Scheduled backups to keep").fill("7")
    await page.get_by_role("button", name="Save schedule").click()
    await expect(page.locator("#backups-status")).to_contain_text("Schedule saved.")
    got = await steps.get("/api/settings")
    assert got["backups"]["cron"] == "0 3 * * *" and got["backups"]["cronMaxKeep"] == 7
    jobs = {j["id"]: j for j in await steps.get("/api/crons")}
    assert jobs["baas.backups"]["expression"] == "0 3 * * *"

    # Upload: a file that is no backup is refused beside the field; the real one is listed.
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    await page.get_by_label("Backup file").set_input_files(str(junk))
    await page.get_by_role("button", name="Upload").click()
    await expect(page.locator("#backup-file-error")).to_contain_text("not a baas backup")
    copy = tmp_path / "copy.zip"
    copy.write_bytes(saved.read_bytes())
    await page.get_by_label("Backup file").set_input_files(str(copy))
    await page.get_by_role("button", name="Upload").click()
    await expect(page.locator("#backups-status")).to_contain_text("Backup copy.zip uploaded.")

    # Delete asks first.
    await page.get_by_role("button", name="Delete copy.zip").click()
    await page.get_by_role("button", name="Yes, delete copy.zip").click()
    await expect(page.locator("#backups-status")).to_contain_text("Backup copy.zip deleted.")
    assert sorted(o.object_name for o in s3.client().list_objects("backups-bucket", recursive=True)) == [
        "from-console.zip"
    ]
    await steps.safe()
    # Back to the settings page for the tests after this one; the schedule off again.
    await steps.client.patch(
        "/api/settings", json={"backups": {"cron": ""}}, headers={"Authorization": await steps.token()}
    )
    await page.get_by_role("link", name="Settings").click()
    await expect(page.get_by_role("heading", name="Settings")).to_be_visible()


# -- API keys -------------------------------------------------------------------------------------
async def test_api_key_bad_input(steps: Steps) -> None:
    from playwright.async_api import expect

    page = steps.page
    await page.get_by_role("link", name="API keys").click()
    await expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    await expect(page.locator("#apikey-list")).to_have_text("No API keys yet.")
    await steps.safe()
    await page.get_by_role("button", name="Create key").click()
    await expect(page.locator("#apikey-name-error")).to_have_text("Cannot be blank.")
    await page.get_by_label("Key name").fill("importer")
    await page.get_by_label("Expires").fill("2001-01-01T10:00")
    await page.get_by_role("button", name="Create key").click()
    await expect(page.locator("#apikey-expires-error")).to_have_text("Must be in the future.")
    await page.get_by_label("Expires").fill("")
    for action in ("list", "view"):
        await page.get_by_label(f"Scope 1 {action}").uncheck()
    await page.get_by_role("button", name="Create key").click()
    await expect(page.locator("#apikey-scopes-error")).to_contain_text("Scope 1.actions: Must be a non-empty list")
    assert (await steps.get("/api/apikeys"))["totalItems"] == 0


async def test_api_key_created_shown_once_copied_and_revoked(steps: Steps) -> None:
    from playwright.async_api import expect

    page = steps.page
    await page.get_by_label("Key name").fill(HOSTILE[1])
    await page.get_by_label("Scope 1 collection").select_option("users")
    for action in ("list", "view", "create"):
        await page.get_by_label(f"Scope 1 {action}").check()
    await page.get_by_role("button", name="Add scope").click()
    await page.get_by_label("Scope 2 collection").select_option("*")
    await page.get_by_label("Expires").fill("2030-01-01T10:00")
    await page.get_by_role("button", name="Create key").click()
    await expect(page.locator("#new-apikey")).to_contain_text("it is not shown again")
    key = await page.locator("#new-apikey-value").input_value()
    assert re.fullmatch(r"baas_[A-Za-z0-9_-]{43}", key)
    await page.get_by_role("button", name="Copy key").click()
    await expect(page.locator("#copy-status")).to_have_text("Copied.")
    assert await page.evaluate("navigator.clipboard.readText()") == key

    listed = (await steps.get("/api/apikeys"))["items"]
    assert len(listed) == 1 and listed[0]["name"] == HOSTILE[1] and "key" not in listed[0]
    assert listed[0]["scopes"] == [
        {"collection": "users", "actions": ["list", "view", "create"]},
        {"collection": "*", "actions": ["list"]},
    ]
    assert listed[0]["expires"].startswith("2030-01-01") and listed[0]["revoked"] is False
    steps.ids["key"] = listed[0]["id"]
    # The key works, within its scopes.
    r = await steps.client.get("/api/collections/users/records", headers={"Authorization": key})
    assert r.status_code == 200, r.text
    r = await steps.client.delete("/api/collections/users/records/nope", headers={"Authorization": key})
    assert r.status_code == 403

    row = page.locator(f'tr[data-key-id="{listed[0]["id"]}"]')
    await expect(row).to_contain_text(HOSTILE[1])  # the name, as text
    await expect(row).to_contain_text(SU[0])  # created by
    await expect(row).to_contain_text("users: list, view, create; any collection: list")
    await screenshot(page, "apikeys")
    await steps.safe()
    # Shown once: a reload never shows it again.
    await page.reload()
    await expect(page.locator("#apikey-list")).to_contain_text(HOSTILE[1])
    assert key not in await page.content()

    await page.get_by_role("button", name=f"Revoke key {HOSTILE[1]}").click()
    await page.get_by_role("button", name=f"Yes, revoke key {HOSTILE[1]}").click()
    await expect(page.locator("#apikeys-status")).to_contain_text("revoked")
    await expect(row).to_contain_text("revoked")
    assert (await steps.get(f"/api/apikeys/{listed[0]['id']}"))["revoked"] is True
    r = await steps.client.get("/api/collections/users/records", headers={"Authorization": key})
    assert r.status_code == 401
    await steps.safe()


# -- superusers -----------------------------------------------------------------------------------
async def test_the_last_superuser_cannot_be_deleted(steps: Steps) -> None:
    from playwright.async_api import expect

    page = steps.page
    await page.get_by_role("link", name="Superusers").click()
    await expect(page.get_by_role("heading", name="Superusers")).to_be_visible()
    await expect(page.locator("#superuser-list")).to_contain_text(SU[0])
    await expect(page.get_by_role("button", name=f"Delete {SU[0]}")).to_be_disabled()
    await expect(page.locator("#last-superuser")).to_be_visible()
    await steps.safe()


async def test_create_a_superuser_and_change_passwords(steps: Steps) -> None:
    from playwright.async_api import expect

    page = steps.page
    other = ("second@example.com", "second-password-1")
    await page.get_by_label("New superuser email").fill(other[0])
    await page.get_by_label("New superuser password", exact=True).fill(other[1])
    await page.get_by_label("New superuser password again").fill("something else")
    await page.get_by_role("button", name="Create superuser").click()
    await expect(page.locator("#new-superuser-confirm-error")).not_to_be_empty()
    assert len((await steps.get("/api/collections/_superusers/records"))["items"]) == 1
    await page.get_by_label("New superuser password again").fill(other[1])
    await page.get_by_role("button", name="Create superuser").click()
    await expect(page.locator("#superusers-status")).to_contain_text(f"Superuser {other[0]} created.")
    await steps.token(*other)  # the new one signs in through the API
    await expect(page.get_by_role("button", name=f"Delete {SU[0]}")).to_be_enabled()
    await screenshot(page, "superusers")

    # Another's password.
    await page.get_by_role("button", name=f"Change password of {other[0]}").click()
    await page.get_by_label(f"New password for {other[0]}").fill("second-password-2")
    await page.get_by_label(f"New password again for {other[0]}").fill("second-password-2")
    await page.get_by_role("button", name="Set password").click()
    await expect(page.locator("#superusers-status")).to_contain_text(f"Password of {other[0]} changed.")
    await steps.token(other[0], "second-password-2")

    # One's own: the console signs in again with it and stays on the page.
    await page.get_by_role("button", name=f"Change password of {SU[0]}").click()
    await expect(page.locator("#superuser-list")).to_contain_text("This is you")
    await page.get_by_label(f"New password for {SU[0]}").fill("settings-password-2")
    await page.get_by_label(f"New password again for {SU[0]}").fill("settings-password-2")
    await page.get_by_role("button", name="Set password").click()
    await expect(page.locator("#superusers-status")).to_contain_text(f"Password of {SU[0]} changed.")
    SU[1] = "settings-password-2"
    await steps.token()
    await page.reload()  # the stored token is the new one: a reload stays signed in
    await expect(page.locator("#signed-in-as")).to_have_text(SU[0])
    await expect(page.get_by_role("heading", name="Superusers")).to_be_visible()

    # Delete the other one, after the second click.
    await page.get_by_role("button", name=f"Delete {other[0]}").click()
    await page.get_by_role("button", name="Cancel").click()
    assert len((await steps.get("/api/collections/_superusers/records"))["items"]) == 2
    await page.get_by_role("button", name=f"Delete {other[0]}").click()
    await page.get_by_role("button", name=f"Yes, delete {other[0]}").click()
    await expect(page.locator("#superusers-status")).to_contain_text(f"Superuser {other[0]} deleted.")
    emails = [r["email"] for r in (await steps.get("/api/collections/_superusers/records"))["items"]]
    assert emails == [SU[0]]
    await steps.safe()


async def test_deleting_yourself_warns_then_signs_out(steps: Steps) -> None:
    from playwright.async_api import expect

    page = steps.page
    heir = ("heir@example.com", "heir-password-1")
    await page.get_by_label("New superuser email").fill(heir[0])
    await page.get_by_label("New superuser password", exact=True).fill(heir[1])
    await page.get_by_label("New superuser password again").fill(heir[1])
    await page.get_by_role("button", name="Create superuser").click()
    await expect(page.locator("#superusers-status")).to_contain_text("created")
    await page.get_by_role("button", name=f"Delete {SU[0]}").click()
    await expect(page.locator("#superuser-list")).to_contain_text("You will be signed out at once.")
    await page.get_by_role("button", name=f"Yes, delete {SU[0]}").click()
    await expect(page.get_by_role("heading", name="Superuser sign-in")).to_be_visible()
    assert await page.evaluate("localStorage.getItem('baas_console_auth')") is None
    r = await steps.client.get(
        "/api/collections/_superusers/records", headers={"Authorization": await steps.token(*heir)}
    )
    assert [x["email"] for x in r.json()["items"]] == [heir[0]]
    assert await page.evaluate("window.__xss") is None and steps.b.dialogs == [] and steps.b.real_errors() == []
