"""Push notifications through the Python SDK (baas only: PocketBase has no push), sync and async:
a user registers a device and sets preferences, a superuser sends and reads the delivery log."""

from __future__ import annotations

import pytest
from baas_client import AsyncClient, ClientError

from tests.push.service import Device
from tests.sdk_python.kit import PASSWORD, Backend


def only_baas(srv: Backend) -> None:
    if srv.kind != "baas":
        pytest.skip("a baas addition: PocketBase has no push notifications")


def test_devices_preferences_and_sending(srv: Backend) -> None:
    only_baas(srv)
    with srv.user("push-sdk@example.com") as user, srv.admin() as admin:
        key = user.push.key()["publicKey"]
        assert len(key) == 87  # a P-256 point, base64url
        endpoint = "https://push.example.com/wpush/sdk-1"
        sub = user.push.subscribe({"endpoint": endpoint, "keys": Device().keys()}, label="laptop")
        assert sub["endpoint"] == endpoint and sub["label"] == "laptop"
        assert [s["id"] for s in user.push.subscriptions().items] == [sub["id"]]
        assert user.push.set_preferences(muted_topics=["promo"]) == {"enabled": True, "mutedTopics": ["promo"]}
        assert user.push.preferences()["mutedTopics"] == ["promo"]

        uid = user.auth_store.record["id"]
        muted = admin.push.send([["users", uid]], {"title": "sale"}, topic="promo")
        assert muted["optedOut"] == 1 and muted["queued"] == 0
        sent = admin.push.send("users", {"title": "hi"}, filter=f"id = '{uid}'", ttl=60, urgency="low")
        assert sent["queued"] == 1
        log = admin.push.deliveries(message=sent["message"])
        assert [d["subscription"] for d in log.items] == [sub["id"]] and log.items[0]["urgency"] == "low"

        with pytest.raises(ClientError) as err:  # users cannot send through the API
            user.push.send([["users", uid]], "x")
        assert err.value.status == 403
        with pytest.raises(ClientError) as err:
            user.push.subscribe({"endpoint": "https://push.example.com/x", "keys": {"p256dh": "AAAA", "auth": "x"}})
        assert err.value.status == 400 and "keys" in err.value.data
        user.push.unsubscribe(sub["id"])
        assert user.push.subscriptions().items == []


async def test_the_async_client_too(srv: Backend) -> None:
    only_baas(srv)
    srv.user("push-async@example.com").close()
    async with AsyncClient(srv.url) as client:
        await client.collection("users").auth_with_password("push-async@example.com", PASSWORD)
        sub = await client.push.subscribe({"endpoint": "https://push.example.com/wpush/a", "keys": Device().keys()})
        assert (await client.push.set_preferences(enabled=False))["enabled"] is False
        assert [s["id"] for s in (await client.push.subscriptions()).items] == [sub["id"]]
        await client.push.unsubscribe(sub["id"])
