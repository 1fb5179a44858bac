"""``/api/webhooks``: CRUD for superusers only, write-only secrets, bad input answered 400 in the
error shape with nothing stored, the delivery log, replay (one delivery, a time range) and the test
event — against a real receiver."""

from __future__ import annotations

from typing import Any

import pytest

from baas.webhooks import store
from tests.harness import app_for
from tests.webhooks.common import OLD_SECRET, SECRET, deliveries, hook, project
from tests.webhooks.receiver import Receiver, await_until

SHORT = "whsec_c2hvcnQ="


def body(target: str, **extra: Any) -> dict[str, Any]:
    return {"name": "api-hook", "url": target, "events": ["orders.create", "orders.update"], "secret": SECRET, **extra}


BAD = [
    ("no scheme", {"url": "example.com/x"}, "needs an http:// or https:// scheme"),
    ("not a url", {"url": "http://"}, "has no host"),
    ("unknown collection", {"events": ["ordres.create"]}, "unknown collection 'ordres'"),
    ("bad event type", {"events": ["orders.created"]}, "bad event type"),
    ("unknown auth event", {"events": ["auth.logout"]}, "unknown event type 'auth.logout'"),
    ("unknown job event", {"events": ["job.started"]}, "unknown event type 'job.started'"),
    ("events not a list", {"events": "orders.create"}, "Expected `array`"),
    ("filter syntax error", {"filter": "total >"}, "filter syntax error"),
    ("filter unknown field", {"filter": "nope = 1"}, "filter does not fit"),
    ("secret too short", {"secret": SHORT}, "too short"),
    ("secret missing", {"secret": ""}, "a secret is required"),
    ("reserved header", {"headers": {"Webhook-Signature": "x"}}, "set by baas"),
    ("header with newline", {"headers": {"X-A": "a\r\nb: c"}}, "invalid header"),
    ("bad name", {"name": "no spaces"}, "the name may hold"),
    ("reserved name", {"name": "in"}, "not 'in'"),
    ("unknown option", {"retries": 3}, "unknown field `retries`"),
    ("negative timeout", {"timeout": -1}, "timeout must be"),
]


@pytest.fixture
async def app(tmp_path, monkeypatch):
    monkeypatch.setenv("BAAS_WEBHOOKS_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("BAAS_WEBHOOKS_BACKOFF", "0.05")
    with Receiver([SECRET]) as rx:
        path = project(tmp_path, hook("declared", rx.url + "/declared", events="[orders.delete]"))
        async with app_for(tmp_path, path) as running:
            running.rx = rx  # type: ignore[attr-defined]
            yield running


async def call(app: Any, method: str, url: str, token: str | None = "su", **kw: Any) -> Any:
    headers = {"Authorization": app.su} if token == "su" else {}
    return await app.client.request(method, url, headers={**headers, **kw.pop("headers", {})}, **kw)


async def test_bad_input_is_refused_and_nothing_is_stored(app):
    for desc, change, message in BAD:
        r = await call(app, "POST", "/api/webhooks", json=body(app.rx.url, **change))
        assert r.status_code == 400, (desc, r.text)
        err = r.json()
        assert set(err) == {"status", "message", "data"} and err["status"] == 400, (desc, err)
        assert message in err["message"], (desc, err["message"])
    r = await call(app, "POST", "/api/webhooks", content=b"[1, 2]", headers={"content-type": "application/json"})
    assert r.status_code == 400
    listed = (await call(app, "GET", "/api/webhooks")).json()["items"]
    assert [w["name"] for w in listed] == ["declared"]
    r = await call(app, "GET", "/api/health")
    assert r.status_code == 200  # still serving


async def test_superusers_only(app):
    for method, url in (("GET", "/api/webhooks"), ("POST", "/api/webhooks"), ("GET", "/api/webhooks/declared")):
        r = await call(app, method, url, token=None, json=body(app.rx.url))
        assert r.status_code in (401, 403), r.text
    assert [w["name"] for w in (await call(app, "GET", "/api/webhooks")).json()["items"]] == ["declared"]


async def test_crud_secrets_are_write_only(app):
    r = await call(app, "POST", "/api/webhooks", json=body(app.rx.url, headers={"X-Env": "test"}))
    assert r.status_code == 200, r.text
    made = r.json()
    assert made["id"] == "api-hook" and made["source"] == "api" and made["enabled"]
    text = (
        r.text
        + (await call(app, "GET", "/api/webhooks")).text
        + (await call(app, "GET", "/api/webhooks/api-hook")).text
    )
    assert SECRET not in text and "secret" not in made
    r = await call(app, "POST", "/api/webhooks", json=body(app.rx.url))
    assert r.status_code == 400 and "taken" in r.json()["message"]
    # Rotate: the new secret signs, the old one too until previousSecretUntil.
    r = await call(
        app,
        "PATCH",
        "/api/webhooks/api-hook",
        json={"secret": OLD_SECRET, "previousSecret": SECRET, "previousSecretUntil": "2999-01-01 00:00:00Z"},
    )
    assert r.status_code == 200, r.text
    assert OLD_SECRET not in r.text and r.json()["previousSecretUntil"] == "2999-01-01 00:00:00Z"
    r = await call(app, "PATCH", "/api/webhooks/api-hook", json={"url": "nope"})
    assert r.status_code == 400 and (await call(app, "GET", "/api/webhooks/api-hook")).json()["url"] == app.rx.url
    # A declared webhook is changed in baas.yaml; over the API it can only be switched on and off.
    r = await call(app, "PATCH", "/api/webhooks/declared", json={"url": "https://example.com"})
    assert r.status_code == 400 and "baas.yaml" in r.json()["message"]
    r = await call(app, "DELETE", "/api/webhooks/declared")
    assert r.status_code == 400
    r = await call(app, "PATCH", "/api/webhooks/declared", json={"enabled": False})
    assert r.status_code == 200 and not r.json()["enabled"]
    r = await call(app, "DELETE", "/api/webhooks/api-hook")
    assert r.status_code == 204
    for method in ("GET", "DELETE", "PATCH"):
        r = await call(app, method, "/api/webhooks/api-hook", json={})
        assert r.status_code == 404 and r.json()["status"] == 404


async def test_header_values_are_write_only(app):
    r = await call(
        app, "POST", "/api/webhooks", json=body(app.rx.url + "/hdr", headers={"Authorization": "Bearer s3cr3t"})
    )
    assert r.status_code == 200, r.text
    assert r.json()["headers"] == {"Authorization": "******"}
    listed = (await call(app, "GET", "/api/webhooks")).text + (await call(app, "GET", "/api/webhooks/api-hook")).text
    assert "s3cr3t" not in r.text + listed
    # The mask sent back keeps the stored value; a new value is set; a mask with nothing stored is refused.
    r = await call(app, "PATCH", "/api/webhooks/api-hook", json={"headers": {"authorization": "******", "X-More": "1"}})
    assert r.status_code == 200 and r.json()["headers"] == {"authorization": "******", "X-More": "******"}, r.text
    r = await call(app, "PATCH", "/api/webhooks/api-hook", json={"headers": {"X-New": "******"}})
    assert r.status_code == 400 and r.json()["data"]["headers"]["code"] == "validation_invalid_value", r.text
    r = await call(app, "POST", "/api/webhooks", json={**body(app.rx.url), "name": "other", "headers": {"A": "******"}})
    assert r.status_code == 400 and (await call(app, "GET", "/api/webhooks/other")).status_code == 404
    r = await call(app, "POST", "/api/webhooks/api-hook/test")
    assert r.status_code == 202, r.text
    got = await await_until(lambda: [g for g in app.rx.snapshot() if g.path == "/hdr"], "the test event")
    assert got[0].headers["authorization"] == "Bearer s3cr3t" and got[0].headers["x-more"] == "1"


async def test_test_event_log_and_replay(app):
    r = await call(app, "POST", "/api/webhooks", json=body(app.rx.url + "/api"))
    assert r.status_code == 200, r.text
    r = await call(app, "POST", "/api/webhooks/api-hook/test")
    assert r.status_code == 202, r.text
    test_id = r.json()["id"]
    got = await await_until(lambda: [g for g in app.rx.snapshot() if g.msg_id == test_id], "the test event")
    assert got[0].payload["type"] == "webhook.test" and got[0].verified == [True]
    r = await call(app, "POST", "/api/collections/orders/records", json={"title": "a", "total": 1})
    assert r.status_code == 200
    rec = r.json()["id"]
    await await_until(lambda: [g for g in app.rx.snapshot() if g.payload["type"] == "orders.create"], "the create")
    log = await await_until(lambda: _delivered(app, 2), "two recorded deliveries")
    original = next(d for d in log if d["type"] == "orders.create")
    assert original["attempts"] == 1 and original["log"][0]["status"] == 204 and original["eventId"] > 0
    r = await call(app, "POST", f"/api/webhooks/api-hook/deliveries/{original['id']}/replay")
    assert r.status_code == 202, r.text
    replay_id = r.json()["id"]
    again = await await_until(lambda: [g for g in app.rx.snapshot() if g.msg_id == replay_id], "the replay")
    first = next(g for g in app.rx.snapshot() if g.msg_id == original["id"])
    assert again[0].body == first.body and again[0].payload["record"]["id"] == rec
    # A range replay: every event delivery created in it, each as a new delivery.
    r = await call(app, "POST", "/api/webhooks/api-hook/replay", json={"from": "2000-01-01 00:00:00Z"})
    assert r.status_code == 202 and r.json() == {"replayed": 1}, r.text
    r = await call(app, "POST", "/api/webhooks/api-hook/replay", json={"from": "yesterday"})
    assert r.status_code == 400
    r = await call(app, "POST", "/api/webhooks/api-hook/deliveries/msg_nope/replay")
    assert r.status_code == 404
    r = await call(app, "GET", "/api/webhooks/api-hook/deliveries?state=bogus")
    assert r.status_code == 400
    r = await call(app, "GET", "/api/webhooks/api-hook/deliveries?perPage=x")
    assert r.status_code == 400
    r = await call(app, "GET", "/api/webhooks/ghost/deliveries")
    assert r.status_code == 404


async def _delivered(app: Any, n: int) -> list[dict[str, Any]] | None:
    found = await deliveries(app.client, app.su, "api-hook", "delivered")
    return found if len(found) >= n else None


async def test_auth_events_reach_a_webhook(app):
    r = await call(app, "POST", "/api/webhooks", json=body(app.rx.url + "/auth", events=["auth.*"]))
    assert r.status_code == 200, r.text
    r = await call(app, "POST", "/api/collections/users/records", json=_user())
    assert r.status_code == 200, r.text
    r = await app.client.post(
        "/api/collections/users/auth-with-password", json={"identity": "hook@example.com", "password": "pass-12345678"}
    )
    assert r.status_code == 200, r.text
    got = await await_until(
        lambda: [
            g
            for g in app.rx.snapshot()
            if g.path == "/auth" and g.payload["type"] == "auth.signin" and g.payload["collection"] == "users"
        ],
        "the auth.signin delivery",
    )  # superusers signing in (the fixture) are auth.signin events too, delivered in any order
    p = got[-1].payload
    assert p["record"]["email"] == "hook@example.com" and got[-1].verified == [True]
    assert "password" not in p["record"] and "tokenKey" not in p["record"]
    assert p["signin"] == {"method": "password"} and "@signin" not in p["record"]  # how, beside the record
    assert not [g for g in app.rx.snapshot() if g.path == "/auth" and g.payload["type"] == "users.create"]


def _user() -> dict[str, Any]:
    return {"email": "hook@example.com", "password": "pass-12345678", "passwordConfirm": "pass-12345678"}


async def test_the_log_keeps_finished_deliveries_for_its_retention(app):
    db = app.engine.db
    old = [store.delivery_row("declared", "test", "webhook.test", "{}", stamp="2001-01-01 00:00:00.000Z") for _ in "ab"]
    old[0]["state"] = "delivered"
    old[1]["next_attempt"] = "2999-01-01 00:00:00.000Z"  # pending, not due: never sent during the test
    fresh = store.delivery_row("declared", "test", "webhook.test", "{}")
    fresh["state"] = "delivered"
    await store.insert(db, [*old, fresh])
    assert await store.prune(db, 30) == 1  # the old delivered one; the old pending one waits to be sent
    left = {d["id"] for d in await deliveries(app.client, app.su, "declared")}
    assert old[0]["id"] not in left and {old[1]["id"], fresh["id"]} <= left
