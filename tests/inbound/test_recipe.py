"""docs/recipes.md's payment recipe, run: its baas.yaml and function, with a payment-succeeded
event signed as Stripe signs (tests/inbound/stripekit.py, written from Stripe's documentation, not
with baas's code)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.harness import app_for, unique
from tests.inbound.stripekit import SECRET, stripe_signed

DOC = Path(__file__).resolve().parents[2] / "docs" / "recipes.md"


def fence(lang: str) -> str:
    m = re.search(rf"```{lang}\n(.*?)```", DOC.read_text(), re.S)
    assert m is not None
    return m.group(1)


def payment(event_id: str, order: str, cents: int) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {
            "object": {
                "id": "pi_" + event_id,
                "object": "payment_intent",
                "amount_received": cents,
                "metadata": {"order": order},
            }
        },
    }


async def test_a_signed_payment_event_marks_the_order_paid(tmp_path, monkeypatch):
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
    pkg = unique("recipefns")
    root = tmp_path / "proj"
    (root / pkg).mkdir(parents=True)
    (root / pkg / "__init__.py").write_text(fence("python"))
    (root / "baas.yaml").write_text(fence("yaml").replace("functions: functions", f"functions: {pkg}"))
    async with app_for(tmp_path, str(root / "baas.yaml")) as run:
        c, su = run.client, {"Authorization": run.su}
        r = await c.post(
            "/api/collections/orders/records", headers=su, json={"reference": "ORD-1", "amount": 12.5, "status": "new"}
        )
        assert r.status_code == 200, r.text
        order_id = r.json()["id"]

        body, headers = stripe_signed(payment("evt_1", "ORD-1", 1250))
        r = await c.post("/api/webhooks/in/stripe", content=body, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json() == {"order": order_id, "status": "paid"}
        order = (await c.get(f"/api/collections/orders/records/{order_id}", headers=su)).json()
        assert order["status"] == "paid" and order["paymentId"] == "pi_evt_1"

        # The provider delivers the same event again (a lost answer): 200, the function does not run again.
        await c.patch(f"/api/collections/orders/records/{order_id}", headers=su, json={"status": "shipped"})
        body, headers = stripe_signed(payment("evt_1", "ORD-1", 1250))  # re-signed, as Stripe's retries are
        r = await c.post("/api/webhooks/in/stripe", content=body, headers=headers)
        assert r.status_code == 200 and r.json() == {"duplicate": True, "id": "evt_1"}
        order = (await c.get(f"/api/collections/orders/records/{order_id}", headers=su)).json()
        assert order["status"] == "shipped"

        # Another event type is acknowledged and ignored.
        other = {"id": "evt_2", "type": "charge.refunded", "data": {"object": {}}}
        body, headers = stripe_signed(other)
        r = await c.post("/api/webhooks/in/stripe", content=body, headers=headers)
        assert r.status_code == 200 and r.json() == {"ignored": "charge.refunded"}

        # An unknown order: the function's 400, and the id is not kept, so a retry runs again.
        body, headers = stripe_signed(payment("evt_3", "ORD-404", 100))
        r = await c.post("/api/webhooks/in/stripe", content=body, headers=headers)
        assert r.status_code == 400 and r.json()["message"] == "Unknown order."
        await c.post(
            "/api/collections/orders/records", headers=su, json={"reference": "ORD-404", "amount": 1, "status": "new"}
        )
        body, headers = stripe_signed(payment("evt_3", "ORD-404", 100))
        r = await c.post("/api/webhooks/in/stripe", content=body, headers=headers)
        assert r.status_code == 200 and r.json()["status"] == "paid", r.text

        # A forged event (wrong secret) changes nothing.
        await c.post(
            "/api/collections/orders/records", headers=su, json={"reference": "ORD-2", "amount": 5, "status": "new"}
        )
        body, headers = stripe_signed(payment("evt_4", "ORD-2", 500), secret="whsec_not_the_right_secret_000")
        r = await c.post("/api/webhooks/in/stripe", content=body, headers=headers)
        assert r.status_code == 401 and r.json() == {"status": 401, "message": "Invalid webhook signature.", "data": {}}
        page = (await c.get("/api/collections/orders/records?filter=reference='ORD-2'", headers=su)).json()
        assert page["items"][0]["status"] == "new"
