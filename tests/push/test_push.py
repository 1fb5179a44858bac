"""Push notifications (docs/push.md) end to end, on the real app with a local push service: a
device subscribes, server code notifies it (``POST /api/push/send``, a record hook's ``app.push``, a
function's ``ctx.push``), and the test decrypts what arrived with the device's private key
(tests/push/service.py, written from RFC 8188/8291) and checks the VAPID JWT. Preferences, retries,
404/410 removal, the delivery log, ownership and every kind of bad input are covered too."""

from __future__ import annotations

import asyncio
import io
import json
import re
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec

from baas.push.providers import Message, Subscription, WebPush
from baas.push.vapid import _pair
from tests.harness import Running, app_for, eventually, unique, user_token
from tests.push.service import Device, PushService, check_vapid

DOC = Path(__file__).resolve().parents[2] / "docs" / "push.md"


def fence(lang: str) -> str:
    """The first ``lang`` block of docs/push.md: the page's examples are what these tests run."""
    match = re.search(rf"```{lang}\n(.*?)```", DOC.read_text(), re.S)
    assert match is not None
    return match.group(1)


@pytest.fixture
def push_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[PushService]:
    # The local push service is on 127.0.0.1: outgoing requests to it must be allowed (as for webhooks).
    monkeypatch.setenv("BAAS_WEBHOOKS_ALLOW_PRIVATE", "127.0.0.1/32")
    monkeypatch.setenv("BAAS_PUSH_BACKOFF", "0.05")
    svc = PushService().start()
    yield svc
    svc.stop()


@pytest.fixture
async def run(tmp_path: Path, push_service: PushService) -> AsyncIterator[Running]:
    pkg = unique("pushfns")  # modules import once per process: a name of its own for each app
    (tmp_path / pkg).mkdir()
    (tmp_path / pkg / "__init__.py").write_text(fence("python"))
    (tmp_path / "baas.yaml").write_text(fence("yaml").replace("functions: functions", f"functions: {pkg}"))
    async with app_for(tmp_path, str(tmp_path / "baas.yaml")) as r:
        yield r


async def subscribe(run: Running, token: str, device: Device, endpoint: str, **extra: Any) -> dict[str, Any]:
    body = {"endpoint": endpoint, "expirationTime": None, "keys": device.keys(), **extra}
    r = await run.client.post("/api/push/subscriptions", json=body, headers={"Authorization": token})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def deliveries(run: Running, **query: str) -> list[dict[str, Any]]:
    r = await run.client.get(
        "/api/push/deliveries", params={"perPage": "500", **query}, headers={"Authorization": run.su}
    )
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def settled(run: Running, message: str, n: int = 1) -> list[dict[str, Any]]:
    """The message's deliveries once all ``n`` are in a final state."""
    found: list[dict[str, Any]] = []

    async def final() -> bool:
        found[:] = await deliveries(run, message=message)
        return len(found) == n and all(d["state"] in ("delivered", "expired", "failed") for d in found)

    for _ in range(1500):
        if await final():
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"deliveries of {message} never settled: {found}")


async def send(run: Running, body: dict[str, Any], token: str | None = None) -> Any:
    return await run.client.post("/api/push/send", json=body, headers={"Authorization": token or run.su})


async def test_a_device_receives_what_the_server_sends(run: Running, push_service: PushService) -> None:
    token, uid = await user_token(run)
    device = Device()
    key = (await run.client.get("/api/push/key")).json()["publicKey"]
    sub = await subscribe(run, token, device, push_service.endpoint("ann"), label="Firefox on a laptop")
    assert sub["recordId"] == uid and sub["collectionName"] == "users" and sub["label"] == "Firefox on a laptop"
    assert "keys" not in sub

    payload = {"title": "Hello", "body": "Grüße — ünïcode ✓", "url": "/inbox"}
    r = await send(run, {"to": [{"collection": "users", "id": uid}], "payload": payload, "topic": "news", "ttl": 120})
    assert r.status_code == 202, r.text
    assert r.json()["queued"] == 1 and r.json()["optedOut"] == 0 and r.json()["noDevice"] == 0
    [d] = await settled(run, r.json()["message"])
    assert d["state"] == "delivered" and d["lastStatus"] == 201 and d["attempts"] == 1, d

    [got] = push_service.got("/push/ann")
    assert got.headers["content-encoding"] == "aes128gcm"
    assert got.headers["ttl"] == "120" and got.headers["urgency"] == "normal"
    assert json.loads(device.decrypt(got.body)) == payload
    claims = check_vapid(got.headers["authorization"], push_service.origin, key)
    assert claims["sub"] == "mailto:support@example.com"  # the mail sender's address unless BAAS_PUSH_SUBJECT
    with pytest.raises(InvalidTag):  # another device's key cannot read it
        Device().decrypt(got.body)

    # The key is the install's: the same on every call, and the only one that signs.
    assert (await run.client.get("/api/push/key")).json()["publicKey"] == key
    subs = (await run.client.get("/api/push/subscriptions", headers={"Authorization": token})).json()
    assert [s["id"] for s in subs["items"]] == [sub["id"]] and subs["items"][0]["lastSent"]


async def test_hooks_and_functions_notify(run: Running, push_service: PushService) -> None:
    ann, ann_id = await user_token(run)
    bob, bob_id = await user_token(run, "bob@example.com")
    phone, laptop = Device(), Device()
    await subscribe(run, bob, phone, push_service.endpoint("bob-phone"))
    await subscribe(run, bob, laptop, push_service.endpoint("bob-laptop"))

    # A record hook: ann writes to bob, both of bob's devices hear of it.
    r = await run.client.post(
        "/api/collections/messages/records", json={"to": bob_id, "text": "lunch?"}, headers={"Authorization": ann}
    )
    assert r.status_code == 200, r.text
    await eventually(
        lambda: len(push_service.got("/push/bob-phone")) == 1 and len(push_service.got("/push/bob-laptop")) == 1,
        "both devices",
    )
    for device, path in ((phone, "/push/bob-phone"), (laptop, "/push/bob-laptop")):
        [got] = push_service.got(path)
        assert json.loads(device.decrypt(got.body)) == {"title": "New message", "body": "lunch?"}
        assert got.headers["urgency"] == "high"

    # A function: bob pings his own devices (ctx.push.notify with the caller's record).
    r = await run.client.post("/api/functions/ping", json={"n": 7}, headers={"Authorization": bob})
    assert r.status_code == 200, r.text
    assert r.json()["queued"] == 2
    await eventually(lambda: len(push_service.got("/push/bob-phone")) == 2, "the ping")
    ping = push_service.got("/push/bob-phone")[1]
    assert json.loads(phone.decrypt(ping.body)) == {"pong": 7}
    assert ping.headers["topic"] == "ping" and ping.headers["ttl"] == "60"

    # A filter: every user whose email starts with "b" (superusers over the API).
    r = await send(run, {"to": "users", "filter": "email ~ 'b%'", "payload": "plain text"})
    assert r.status_code == 202 and r.json()["queued"] == 2, r.text
    await eventually(lambda: len(push_service.got("/push/bob-laptop")) == 3, "the filtered send")
    assert laptop.decrypt(push_service.got("/push/bob-laptop")[2].body) == b"plain text"
    r = await send(run, {"to": "users", "filter": f"id = '{ann_id}'", "payload": "x"})
    assert r.json() == {**r.json(), "queued": 0, "noDevice": 1}  # ann has no device


async def test_preferences_opt_out_and_mute(run: Running, push_service: PushService) -> None:
    token, uid = await user_token(run)
    await subscribe(run, token, Device(), push_service.endpoint("pref"))
    auth = {"Authorization": token}
    assert (await run.client.get("/api/push/preferences", headers=auth)).json() == {"enabled": True, "mutedTopics": []}
    r = await run.client.patch("/api/push/preferences", json={"mutedTopics": ["marketing"]}, headers=auth)
    assert r.status_code == 200 and r.json() == {"enabled": True, "mutedTopics": ["marketing"]}, r.text
    to = [["users", uid]]
    assert (await send(run, {"to": to, "payload": "sale", "topic": "marketing"})).json()["optedOut"] == 1
    assert (await send(run, {"to": to, "payload": "hi", "topic": "chat"})).json()["queued"] == 1
    r = await run.client.patch("/api/push/preferences", json={"enabled": False}, headers=auth)
    assert r.json() == {"enabled": False, "mutedTopics": ["marketing"]}
    out = (await send(run, {"to": to, "payload": "hi", "topic": "chat"})).json()
    assert out["optedOut"] == 1 and out["queued"] == 0


async def test_gone_devices_are_removed_and_failures_retried(run: Running, push_service: PushService) -> None:
    token, uid = await user_token(run)
    answers = {"/push/gone": [(410, {})], "/push/busy": [(429, {"retry-after": "0"}), (503, {}), (201, {})]}

    def answer(path: str) -> tuple[int, dict[str, str]]:
        queue = answers.get(path, [])
        return queue.pop(0) if len(queue) > 1 else (queue[0] if queue else (201, {}))

    push_service.answer = answer
    gone = await subscribe(run, token, Device(), push_service.endpoint("gone"))
    busy = await subscribe(run, token, Device(), push_service.endpoint("busy"))
    r = await send(run, {"to": [["users", uid]], "payload": {"n": 1}})
    found = {d["subscription"]: d for d in await settled(run, r.json()["message"], 2)}
    assert found[gone["id"]]["state"] == "expired" and found[gone["id"]]["lastStatus"] == 410
    assert found[busy["id"]]["state"] == "delivered" and found[busy["id"]]["attempts"] == 3
    assert len(push_service.got("/push/busy")) == 3
    subs = (await run.client.get("/api/push/subscriptions", headers={"Authorization": token})).json()["items"]
    assert [s["id"] for s in subs] == [busy["id"]]  # the 410 removed its subscription

    # A 400 from the push service is final: no retry.
    answers["/push/busy"] = [(400, {})]
    r = await send(run, {"to": [["users", uid]], "payload": {"n": 2}})
    [d] = await settled(run, r.json()["message"])
    assert d["state"] == "failed" and d["attempts"] == 1 and d["lastStatus"] == 400


async def test_devices_belong_to_their_user(run: Running, push_service: PushService) -> None:
    ann, ann_id = await user_token(run)
    bob, bob_id = await user_token(run, "bob@example.com")
    shared = push_service.endpoint("shared")
    sub = await subscribe(run, ann, Device(), shared)
    # bob cannot see or delete ann's device
    assert (await run.client.get("/api/push/subscriptions", headers={"Authorization": bob})).json()["items"] == []
    r = await run.client.delete(f"/api/push/subscriptions/{sub['id']}", headers={"Authorization": bob})
    assert r.status_code == 404
    # the same browser subscribing again after bob signed in there is bob's device now
    moved = await subscribe(run, bob, Device(), shared)
    assert moved["id"] == sub["id"] and moved["recordId"] == bob_id
    assert (await run.client.get("/api/push/subscriptions", headers={"Authorization": ann})).json()["items"] == []
    # superusers see every device; the owner deletes theirs
    every = (await run.client.get("/api/push/subscriptions", headers={"Authorization": run.su})).json()
    assert every["totalItems"] == 1
    r = await run.client.delete(f"/api/push/subscriptions/{sub['id']}", headers={"Authorization": bob})
    assert r.status_code == 204
    # the user's export carries their devices and preferences
    await subscribe(run, ann, Device(), push_service.endpoint("ann2"), label="tablet")
    r = await send(run, {"to": [["users", ann_id]], "payload": "before"})
    await settled(run, r.json()["message"])
    await run.client.patch("/api/push/preferences", json={"enabled": False}, headers={"Authorization": ann})
    r = await run.client.get(f"/api/collections/users/records/{ann_id}/export", headers={"Authorization": ann})
    exported = json.loads(zipfile.ZipFile(io.BytesIO(r.content)).read("push/devices.json"))
    assert [d["label"] for d in exported["devices"]] == ["tablet"] and exported["preferences"]["enabled"] is False
    # deleting a user removes their devices, preferences and push log
    assert await run.engine.db.fetchval('SELECT count(*) FROM "_push_deliveries" WHERE "recordRef" = ?', [ann_id])
    r = await run.client.delete(f"/api/collections/users/records/{ann_id}", headers={"Authorization": run.su})
    assert r.status_code == 204
    for table in ("_push_subscriptions", "_push_preferences", "_push_deliveries"):
        n = await run.engine.db.fetchval(f'SELECT count(*) FROM "{table}" WHERE "recordRef" = ?', [ann_id])
        assert n == 0, table


GOOD_KEYS = Device().keys()
BAD_SUBSCRIPTIONS = [
    ({"keys": GOOD_KEYS}, "endpoint"),
    ({"endpoint": "ftp://push.example.com/x", "keys": GOOD_KEYS}, "endpoint"),
    ({"endpoint": "https://push.example.com/" + "x" * 3000, "keys": GOOD_KEYS}, "endpoint"),
    ({"endpoint": "https://push.example.com/x", "keys": {"auth": GOOD_KEYS["auth"]}}, "keys"),
    ({"endpoint": "https://push.example.com/x", "keys": {**GOOD_KEYS, "p256dh": "AAAA"}}, "keys"),
    (
        {"endpoint": "https://push.example.com/x", "keys": {**GOOD_KEYS, "p256dh": "BA" + "A" * 85}},
        "keys",
    ),  # not on the curve
    ({"endpoint": "https://push.example.com/x", "keys": {**GOOD_KEYS, "auth": "c2hvcnQ"}}, "keys"),
    ({"endpoint": "https://push.example.com/x", "keys": {**GOOD_KEYS, "auth": "!!!"}}, "keys"),
    ({"endpoint": "https://push.example.com/x", "keys": "p256dh"}, "keys"),
    ({"endpoint": "https://push.example.com/x", "keys": GOOD_KEYS, "provider": "carrier-pigeon"}, "provider"),
    ({"endpoint": "https://push.example.com/x", "keys": GOOD_KEYS, "label": 5}, "label"),
    ({"endpoint": "https://push.example.com/x", "keys": GOOD_KEYS, "label": "a\x00"}, "label"),
    ({"endpoint": "https://push.example.com/\x00", "keys": GOOD_KEYS}, "endpoint"),
    ({"endpoint": "https://push.example.com/x", "keys": GOOD_KEYS, "expirationTime": "soon"}, "expirationTime"),
]


@pytest.mark.parametrize("body, field", BAD_SUBSCRIPTIONS)
async def test_bad_subscriptions_are_refused(run: Running, body: dict[str, Any], field: str) -> None:
    token, _ = await user_token(run)
    r = await run.client.post("/api/push/subscriptions", json=body, headers={"Authorization": token})
    assert r.status_code == 400, r.text
    assert field in r.json()["data"], r.json()
    assert await run.engine.db.fetchval('SELECT count(*) FROM "_push_subscriptions"') == 0


async def test_bad_sends_and_who_may_do_what(run: Running, push_service: PushService) -> None:
    token, uid = await user_token(run)
    to = [["users", uid]]
    for body, field in [
        ({"to": to}, "payload"),
        ({"to": to, "payload": "x" * 4000}, "payload"),
        ({"to": to, "payload": "x", "ttl": -1}, "ttl"),
        ({"to": to, "payload": "x", "ttl": "1"}, "ttl"),
        ({"to": to, "payload": "x", "urgency": "urgent"}, "urgency"),
        ({"to": to, "payload": "x", "topic": "has space"}, "topic"),
        ({"to": to, "payload": "x", "collapse": "x" * 33}, "collapse"),
        ({"to": to, "payload": "x", "collapse": 5}, "collapse"),
        ({"to": to, "payload": "x", "collapse": ["ab"]}, "collapse"),
        ({"to": to, "payload": "a\x00b"}, "payload"),
        ({"to": [["posts", uid]], "payload": "x"}, "to"),
        ({"to": [["users", ""]], "payload": "x"}, "to"),
        ({"to": "users", "payload": "x"}, "to"),
        ({"to": "messages", "filter": "id != ''", "payload": "x"}, "to"),
        ({"to": to, "payload": "x", "cc": "me"}, "cc"),
        ({"to": "users", "filter": 5, "payload": "x"}, "filter"),
    ]:
        r = await send(run, body)
        assert r.status_code == 400 and field in r.json()["data"], (body, r.text)
    r = await send(run, {"to": "users", "filter": "nosuchfield = 1", "payload": "x"})
    assert r.status_code == 400, r.text
    assert await run.engine.db.fetchval('SELECT count(*) FROM "_push_deliveries"') == 0

    # users may not send through the API, guests manage nothing, API keys are not users
    assert (await send(run, {"to": to, "payload": "x"}, token)).status_code == 403
    assert (await run.client.post("/api/push/send", json={"to": to, "payload": "x"})).status_code == 401
    for method, url in (
        ("GET", "/api/push/subscriptions"),
        ("POST", "/api/push/subscriptions"),
        ("GET", "/api/push/preferences"),
    ):
        assert (await run.client.request(method, url, json={})).status_code == 401, url
    assert (await run.client.get("/api/push/deliveries", headers={"Authorization": token})).status_code == 403
    r = await run.client.post(
        "/api/apikeys",
        json={"name": "ci", "scopes": [{"collection": "*", "actions": ["list"]}]},
        headers={"Authorization": run.su},
    )
    assert r.status_code == 200, r.text
    r = await run.client.get("/api/push/preferences", headers={"Authorization": r.json()["key"]})
    assert r.status_code == 403, r.text

    # bad preferences and log queries
    auth = {"Authorization": token}
    for body, field in (
        ({"enabled": "no"}, "enabled"),
        ({"mutedTopics": "all"}, "mutedTopics"),
        ({"mutedTopics": ["a b"]}, "mutedTopics"),
        ({"sound": True}, "sound"),
    ):
        r = await run.client.patch("/api/push/preferences", json=body, headers=auth)
        assert r.status_code == 400 and field in r.json()["data"], (body, r.text)
    assert (await run.client.get("/api/push/preferences", headers=auth)).json() == {"enabled": True, "mutedTopics": []}
    for query, field in (
        ({"state": "lost"}, "state"),
        ({"collection": "users"}, "collection"),
        ({"collection": "nope", "record": "x"}, "collection"),
        ({"collection": "messages", "record": "x"}, "collection"),
    ):
        r = await run.client.get("/api/push/deliveries", params=query, headers={"Authorization": run.su})
        assert r.status_code == 400 and field in r.json()["data"], (query, r.text)
    for query in ({"perPage": "many"}, {"page": "99999999999999999999"}, {"page": "1_0"}):
        for url in ("/api/push/deliveries", "/api/push/subscriptions"):
            r = await run.client.get(url, params=query, headers={"Authorization": run.su})
            assert r.status_code == 400, (url, query, r.text)


async def test_private_endpoints_are_refused_without_the_allowance(monkeypatch: pytest.MonkeyPatch) -> None:
    """Like webhooks, a push endpoint on a private address is refused at send time unless allowed."""
    monkeypatch.delenv("BAAS_WEBHOOKS_ALLOW_PRIVATE", raising=False)
    svc = PushService().start()
    try:
        vapid = _pair(ec.generate_private_key(ec.SECP256R1()))

        async def key() -> Any:
            return vapid

        async def subject() -> str:
            return "mailto:ops@example.com"

        async with httpx.AsyncClient() as client:
            provider = WebPush(key, subject, lambda: client)
            with pytest.raises(ValueError, match="https"):
                provider.check(svc.endpoint("x"), Device().keys())
            sub = Subscription("ps_1", "webpush", svc.endpoint("x"), Device().keys())
            outcome = await provider.send(sub, Message(b"{}", 60, "normal"))
        assert not outcome.ok and not outcome.retry and "refused" in outcome.error and "loopback" in outcome.error
        assert svc.received == []
    finally:
        svc.stop()


PROVIDER_PLUGIN = """
import httpx

from baas.push import Outcome


class Relay:
    '''A provider as an FCM/APNs plugin would be: a token as endpoint, its own HTTP call.'''

    name = "relay"
    timeout = 5.0

    def __init__(self, url):
        self.url = url

    def check(self, endpoint, keys):
        if not endpoint.startswith("tok-"):
            raise ValueError("endpoint must be a relay token (tok-…)")

    async def send(self, sub, msg):
        async with httpx.AsyncClient() as client:
            r = await client.post(f"{self.url}/{sub.endpoint}", content=msg.payload,
                                  headers={"x-ttl": str(msg.ttl), "x-topic": msg.topic})
        if r.status_code == 410:
            return Outcome(False, r.status_code, "unregistered", gone=True)
        return Outcome(r.status_code < 300, r.status_code, "" if r.status_code < 300 else f"HTTP {r.status_code}")


def register(app):
    app.push.provider(Relay(app.settings["url"]))
"""


async def test_a_provider_plugin_carries_its_own_devices(tmp_path: Path, push_service: PushService) -> None:
    """The provider interface (docs/push.md#providers): a plugin's provider checks its subscriptions,
    sends through its own transport, and gets the same preferences, log and removal on 'gone'."""
    pkg = unique("relayplugin")
    (tmp_path / f"{pkg}.py").write_text(PROVIDER_PLUGIN)
    (tmp_path / "baas.yaml").write_text(
        f"plugins:\n  - module: {pkg}\n    settings: {{url: '{push_service.origin}/relay'}}\n"
    )
    push_service.answer = lambda path: (410, {}) if path.endswith("tok-old") else (201, {})
    async with app_for(tmp_path, str(tmp_path / "baas.yaml")) as run:
        token, uid = await user_token(run)
        auth = {"Authorization": token}
        r = await run.client.post(
            "/api/push/subscriptions", json={"provider": "relay", "endpoint": "nope"}, headers=auth
        )
        assert r.status_code == 400 and "relay token" in r.json()["data"]["endpoint"]["message"], r.text
        for endpoint in ("tok-new", "tok-old"):
            r = await run.client.post(
                "/api/push/subscriptions", json={"provider": "relay", "endpoint": endpoint}, headers=auth
            )
            assert r.status_code == 200 and r.json()["provider"] == "relay", r.text
        r = await send(run, {"to": [["users", uid]], "payload": {"hi": 1}, "topic": "chat", "ttl": 30})
        states = {d["subscription"]: d["state"] for d in await settled(run, r.json()["message"], 2)}
        assert sorted(states.values()) == ["delivered", "expired"]
        [got] = push_service.got("/relay/tok-new")
        assert json.loads(got.body) == {"hi": 1} and got.headers["x-ttl"] == "30" and got.headers["x-topic"] == "chat"
        left = (await run.client.get("/api/push/subscriptions", headers=auth)).json()["items"]
        assert [s["endpoint"] for s in left] == ["tok-new"]


async def test_a_device_that_changes_hands_never_gets_the_previous_users_messages(
    tmp_path: Path, push_service: PushService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Queued for ann, then bob registers the same browser: ann's message must not be sent to it.
    Sending is off in this app (BAAS_PUSH_SEND=0) so the message is still queued when bob arrives."""
    monkeypatch.setenv("BAAS_PUSH_SEND", "0")
    async with app_for(tmp_path) as run:
        ann, ann_id = await user_token(run)
        bob, _ = await user_token(run, "bob@example.com")
        shared = push_service.endpoint("shared")
        await subscribe(run, ann, Device(), shared)
        r = await send(run, {"to": [["users", ann_id]], "payload": {"secret": "ann's"}})
        assert r.json()["queued"] == 1
        await subscribe(run, bob, Device(), shared)
        [d] = await deliveries(run, message=r.json()["message"])
        assert d["state"] == "expired" and "another user" in d["lastError"], d
    assert push_service.received == []
