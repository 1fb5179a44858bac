"""The console's webhooks page (#/webhooks) in Debian's chromium against a real ``baas serve``
with a webhook of baas.yaml and a real receiver that checks every signature (PyPI
standardwebhooks): a webhook created in the form with a generated secret (never shown again),
the delivery log with its attempts, replay, "send test", enable/disable of a baas.yaml webhook,
a refused URL, delete after confirmation. Hostile text (a header value, a receiver's answer) stays
text. Every result is checked through the API or at the receiver."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.console.browser import chromium_page
from tests.servers import running_server
from tests.webhooks.common import SECRET, hook, project
from tests.webhooks.receiver import Received, Receiver, await_until

pytestmark = pytest.mark.browser

SU = ("hooks-admin@example.com", "hooks-password-1")
XSS = '<img src=x onerror="window.__xss=1">'


def answer(n: int, rec: Received) -> tuple[int, dict[str, str], bytes]:
    return 200, {"content-type": "text/html"}, XSS.encode()  # shown in the attempts log, as text


async def test_webhooks_page(tmp_path: Path) -> None:
    from playwright.async_api import expect

    with Receiver([SECRET], answer=answer) as receiver:
        yaml = project(tmp_path, hook("erp", receiver.url + "/erp", "[orders.create]"))
        env = {"BAAS_WEBHOOKS_ALLOW_PRIVATE": "1", "BAAS_WEBHOOKS_BACKOFF": "0.2"}
        async with (
            running_server(tmp_path, "--schema", yaml, superuser=SU, env=env) as srv,
            httpx.AsyncClient(base_url=srv.url) as client,
            chromium_page() as b,
        ):
            r = await client.post(
                "/api/collections/_superusers/auth-with-password", json={"identity": SU[0], "password": SU[1]}
            )
            su = {"Authorization": r.json()["token"]}

            async def webhook(name: str) -> Any:
                return await client.get(f"/api/webhooks/{name}", headers=su)

            page = b.page
            await page.goto(f"{srv.url}/_/#/login")
            await page.get_by_label("Email").fill(SU[0])
            await page.get_by_label("Password").fill(SU[1])
            await page.keyboard.press("Enter")
            await expect(page.locator("#signed-in-as")).to_have_text(SU[0])
            await page.get_by_role("link", name="Webhooks").click()
            erp = page.locator('tr[data-webhook="erp"]')
            await expect(erp).to_contain_text("orders.create")
            await expect(erp).to_contain_text("yaml")
            await expect(erp.get_by_role("button", name="Edit erp")).to_have_count(0)  # baas.yaml owns it
            await b.no_unlabelled_controls()

            # A new webhook with a generated secret and a hostile header value.
            await page.get_by_role("button", name="New webhook").click()
            await page.get_by_label("Name").fill("crm")
            await page.get_by_label("URL").fill("crm.example.com/in")  # no scheme: refused, nothing stored
            await page.get_by_label("Events").fill("orders.create, orders.update")
            await page.get_by_label("Headers (optional)").fill(f"X-Note: {XSS}")
            await page.get_by_role("button", name="Generate a secret").click()
            secret = await page.get_by_label("Secret").input_value()
            assert secret.startswith("whsec_") and len(secret) > 40
            await b.no_unlabelled_controls()
            await page.get_by_role("button", name="Create webhook").click()
            await expect(page.locator("#webhook-form .notice.error")).to_contain_text("scheme")
            assert (await webhook("crm")).status_code == 404
            await page.get_by_label("URL").fill(receiver.url + "/crm")
            await page.get_by_role("button", name="Create webhook").click()
            await expect(page.locator("#webhooks-status")).to_contain_text("Webhook crm saved.")
            r = await webhook("crm")
            assert r.status_code == 200 and "secret" not in r.json() and secret not in r.text
            assert r.json()["headers"] == {"X-Note": "******"} and r.json()["events"] == [
                "orders.create",
                "orders.update",
            ]
            assert secret not in await page.content()  # shown only while it was being made
            receiver.secrets.append(secret)

            # A record change reaches both, each signature checked by standardwebhooks.
            r = await client.post("/api/collections/orders/records", json={"title": "t", "total": 1}, headers=su)
            assert r.status_code == 200, r.text
            got = await await_until(lambda: len(receiver.snapshot()) >= 2 or None, "two deliveries")
            assert got and sorted(x.path for x in receiver.snapshot()) == ["/crm", "/erp"]
            assert all(any(x.verified) for x in receiver.snapshot())
            crm = next(x for x in receiver.snapshot() if x.path == "/crm")
            assert crm.headers["x-note"] == XSS and crm.verified == [False, True]

            # The delivery log, its attempts, replay and a test event.
            await page.get_by_role("button", name="Deliveries of crm").click()
            row = page.locator("table.deliveries tbody tr.delivery").first
            await expect(row.locator(".delivery-state")).to_have_text("delivered")
            delivery_id = await row.get_attribute("data-delivery")
            await page.get_by_role("button", name=f"Attempts of {delivery_id}").click()
            await expect(page.get_by_role("list", name=f"Attempts of delivery {delivery_id}")).to_contain_text(
                "HTTP 200"
            )
            await expect(page.locator(".attempts pre.response").first).to_have_text(XSS)
            await page.get_by_role("button", name=f"Replay {delivery_id}").click()
            await expect(page.locator("#webhooks-status")).to_contain_text("Queued again as")
            await await_until(lambda: len([x for x in receiver.snapshot() if x.path == "/crm"]) >= 2 or None, "replay")
            again = [x for x in receiver.snapshot() if x.path == "/crm"][1]
            assert again.payload["id"] == crm.payload["id"] and again.msg_id != crm.msg_id and again.verified[1]

            # Editing shows header names only; saving without retyping keeps the stored value.
            await page.get_by_role("button", name="Edit crm").click()
            await expect(page.get_by_label("Headers (optional)")).to_have_value("X-Note: ******")
            before = (await webhook("crm")).json()["updated"]
            await page.get_by_role("button", name="Save webhook").click()
            await await_until(lambda: _changed(webhook, before), "the edit saved")
            assert (await webhook("crm")).json()["headers"] == {"X-Note": "******"}

            await page.get_by_role("button", name="Send a test event to crm").click()
            await expect(page.locator("#webhooks-status")).to_contain_text("Test event queued")
            test = await await_until(
                lambda: [x for x in receiver.snapshot() if x.payload.get("type") == "webhook.test"], "test event"
            )
            assert test[0].headers["x-note"] == XSS  # the receiver still gets the real value

            # The baas.yaml webhook can be disabled here (and only that).
            await page.get_by_role("button", name="Disable erp").click()
            await expect(page.locator('tr[data-webhook="erp"] .webhook-state')).to_have_text("disabled")
            assert (await webhook("erp")).json()["enabled"] is False

            # Delete after confirmation.
            await page.get_by_role("button", name="Delete crm").click()
            await page.get_by_role("button", name="Yes, delete crm").click()
            await expect(page.locator('tr[data-webhook="crm"]')).to_have_count(0)
            assert (await webhook("crm")).status_code == 404

            assert await page.evaluate("window.__xss") is None
            assert b.real_errors() == [] and b.dialogs == []


async def _changed(webhook, before: str) -> bool:
    return bool((await webhook("crm")).json()["updated"] != before)
