"""Rate limits (``settings.rateLimits``) and the client IP behind a trusted proxy.

Label matching follows what PocketBase 0.40.6 was seen doing: a collection route's labels are
``<collection>:<tag>``, ``*:<tag>``, ``"<METHOD> <path>"``, ``"<path>"``; for each in turn an exact
rule wins, then a ``…/`` prefix rule. Counters are fixed windows per client: IP for guests, the
auth record for signed-in requests; superusers are never limited.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest

from baas import limiter
from baas.api import ratelimit
from baas.clientip import client_ip
from tests.harness import Api, eventually
from tests.servers import running_server

P = "/api/collections/posts/records"
USERS_AUTH = "/api/collections/users/auth-with-password"
BAD_LOGIN = {"identity": "nobody@example.com", "password": "wrong-password"}
TOO_MANY = {"data": {}, "message": "Too Many Requests.", "status": 429}


def rule(label: str, max_requests: int = 1, duration: int = 60, audience: str = "") -> dict[str, Any]:
    return {"label": label, "maxRequests": max_requests, "duration": duration, "audience": audience}


async def set_limits(a: Api, rules: list[dict[str, Any]], enabled: bool = True, **extra: Any) -> None:
    r = await a.call("PATCH", "/api/settings", "su", json={"rateLimits": {"enabled": enabled, "rules": rules}, **extra})
    assert r.status_code == 200, r.text


def client_at(a: Api, ip: str) -> httpx.AsyncClient:
    """Another client of the same in-process app, seen at socket address ``ip``."""
    app = a.client._transport.app  # type: ignore[attr-defined]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 4321)), base_url="http://testserver")


async def send(a: Api, method: str, url: str, who: str | None = None, **kw: Any) -> int:
    if method == "POST" and url == USERS_AUTH and "json" not in kw:
        kw["json"] = BAD_LOGIN
    return (await a.call(method, url, who, **kw)).status_code


# -- which rule applies ---------------------------------------------------------------------------
# (name, rules, request, statuses of the same request sent three times)
MATCHING = [
    ("*:auth limits auth-with-password", [rule("*:auth", 2)], ("POST", USERS_AUTH), [400, 400, 429]),
    ("users:auth limits auth-with-password", [rule("users:auth")], ("POST", USERS_AUTH), [400, 429, 429]),
    (
        "users:authWithPassword beats *:auth",
        [rule("*:auth", 100), rule("users:authWithPassword")],
        ("POST", USERS_AUTH),
        [400, 429, 429],
    ),
    (
        "collection tag beats wildcard tag",
        [rule("*:authWithPassword", 100), rule("users:authWithPassword")],
        ("POST", USERS_AUTH),
        [400, 429, 429],
    ),
    (
        "*:auth does not cover auth-methods",
        [rule("*:auth")],
        ("GET", "/api/collections/users/auth-methods"),
        [200, 200, 200],
    ),
    (
        "users:listAuthMethods",
        [rule("users:listAuthMethods")],
        ("GET", "/api/collections/users/auth-methods"),
        [200, 429, 429],
    ),
    ("*:create limits record creates", [rule("*:create")], ("POST", P), [400, 429, 429]),
    (
        "posts:list does not limit comments",
        [rule("posts:list")],
        ("GET", "/api/collections/comments/records"),
        [200, 200, 200],
    ),
    ("posts:list limits posts", [rule("posts:list")], ("GET", P), [200, 429, 429]),
    ("*:view limits views", [rule("*:view")], ("GET", P + "/nope"), [404, 429, 429]),
    ("exact METHOD path label", [rule("POST /api/collections/posts/records")], ("POST", P), [400, 429, 429]),
    (
        "METHOD path beats bare path",
        [rule("/api/health"), rule("GET /api/health", 100)],
        ("GET", "/api/health"),
        [200, 200, 200],
    ),
    ("/api/ prefix covers health", [rule("/api/", 2)], ("GET", "/api/health"), [200, 200, 429]),
    ("prefix needs the trailing slash", [rule("/api")], ("GET", "/api/health"), [200, 200, 200]),
    (
        "collection path prefix",
        [rule("/api/collections/users/")],
        ("GET", "/api/collections/users/auth-methods"),
        [200, 429, 429],
    ),
    (
        "tag label beats an earlier prefix rule",
        [rule("/api/collections/posts/"), rule("*:list", 100)],
        ("GET", P),
        [200, 200, 200],
    ),
    ("plain tag matches nothing", [rule("test_a")], ("GET", "/api/health"), [200, 200, 200]),
    ("method must match", [rule("POST /api/health")], ("GET", "/api/health"), [200, 200, 200]),
]


@pytest.mark.parametrize("name,rules,request_,statuses", MATCHING, ids=[m[0] for m in MATCHING])
async def test_label_matching(api: Api, name: str, rules: list, request_: tuple[str, str], statuses: list[int]):
    await set_limits(api, rules)
    got = [await send(api, *request_) for _ in statuses]
    assert got == statuses


async def test_global_rule_counts_across_routes_collection_rule_per_route(api: Api):
    # As PocketBase: a rule reached by a plain path counts per rule; through a collection route
    # the count is per collection and route.
    await set_limits(api, [rule("/api/", 2)])
    assert await send(api, "GET", "/api/health") == 200
    assert await send(api, "GET", "/api/settings") == 401
    assert await send(api, "GET", "/api/health") == 429
    assert [await send(api, "GET", P) for _ in range(3)] == [200, 200, 429]
    assert await send(api, "GET", "/api/collections/comments/records") == 200


# -- audience, and whose counter ------------------------------------------------------------------
AUDIENCE = [
    ("@guest limits guests", "@guest", None, [200, 429]),
    ("@guest leaves users alone", "@guest", "alice", [200, 200]),
    ("@auth limits users", "@auth", "alice", [200, 429]),
    ("@auth leaves guests alone", "@auth", None, [200, 200]),
    ("everyone limits guests", "", None, [200, 429]),
    ("everyone limits users", "", "alice", [200, 429]),
    ("superusers are never limited", "", "su", [200, 200, 200]),
]


@pytest.mark.parametrize("name,audience,who,statuses", AUDIENCE, ids=[c[0] for c in AUDIENCE])
async def test_audience(api: Api, name: str, audience: str, who: str | None, statuses: list[int]):
    await set_limits(api, [rule("posts:list", audience=audience)])
    assert [await send(api, "GET", P, who) for _ in statuses] == statuses


async def test_guest_and_auth_rules_for_one_label(api: Api):
    await set_limits(api, [rule("posts:list", 1, audience="@guest"), rule("posts:list", 3, audience="@auth")])
    assert [await send(api, "GET", P) for _ in range(2)] == [200, 429]
    assert [await send(api, "GET", P, "alice") for _ in range(4)] == [200, 200, 200, 429]


async def test_guests_count_per_ip(api: Api):
    await set_limits(api, [rule("posts:list")])
    async with client_at(api, "10.0.0.1") as one, client_at(api, "10.0.0.2") as two:
        assert (await one.get(P)).status_code == 200
        assert (await one.get(P)).status_code == 429
        assert (await two.get(P)).status_code == 200  # another address has its own window
        assert (await api.client.get(P)).status_code == 200


async def test_users_count_per_record_not_per_ip(api: Api):
    await set_limits(api, [rule("posts:list")])
    alice = api.headers("alice")
    async with client_at(api, "10.0.0.1") as one, client_at(api, "10.0.0.2") as two:
        assert (await one.get(P, headers=alice)).status_code == 200
        assert (await two.get(P, headers=alice)).status_code == 429  # same user, other address
        assert (await one.get(P, headers=api.headers("bob"))).status_code == 200  # other user, same address
        assert (await one.get(P)).status_code == 200  # a guest at that address


async def test_invalid_token_counts_as_guest(api: Api):
    await set_limits(api, [rule("posts:list")])
    assert await send(api, "GET", P, headers={"Authorization": "not-a-token"}) == 200
    assert await send(api, "GET", P) == 429


async def test_window_resets(api: Api):
    await set_limits(api, [rule("posts:list", 1, duration=1)])
    assert [await send(api, "GET", P) for _ in range(2)] == [200, 429]
    await asyncio.sleep(1.1)
    assert [await send(api, "GET", P) for _ in range(2)] == [200, 429]


async def test_disabled_does_not_limit(api: Api):
    await set_limits(api, [rule("/api/", 1), rule("*:list", 1)], enabled=False)
    assert [await send(api, "GET", P) for _ in range(5)] == [200] * 5
    assert [await send(api, "GET", "/api/health") for _ in range(5)] == [200] * 5


async def test_turning_off_stops_limiting_at_once(api: Api):
    await set_limits(api, [rule("posts:list")])
    assert [await send(api, "GET", P) for _ in range(2)] == [200, 429]
    await set_limits(api, [rule("posts:list")], enabled=False)
    assert await send(api, "GET", P) == 200


async def test_changed_rules_start_counters_afresh(api: Api):
    await set_limits(api, [rule("posts:list", 1)])
    assert [await send(api, "GET", P) for _ in range(2)] == [200, 429]
    await set_limits(api, [rule("posts:list", 2)])
    assert [await send(api, "GET", P) for _ in range(3)] == [200, 200, 429]


async def test_settings_written_by_another_process_are_picked_up(api: Api, monkeypatch):
    monkeypatch.setattr(ratelimit, "REFRESH_SECONDS", 0.2)
    assert await send(api, "GET", P) == 200  # the limiter has read the (default, disabled) settings
    stored = json.dumps({"rateLimits": {"enabled": True, "rules": [rule("posts:list")]}})

    async def write(conn: Any) -> None:  # as another worker's settings API would
        await conn.execute('DELETE FROM "_params" WHERE "id" = ?', ["settings"])
        await conn.execute(
            'INSERT INTO "_params" ("id", "value", "updated") VALUES (?, ?, ?)',
            ["settings", stored, "2024-01-01 00:00:00.000Z"],
        )

    await api.engine.db.write(write)
    await asyncio.sleep(0.3)
    assert [await send(api, "GET", P) for _ in range(3)] == [200, 429, 429]


async def test_excluded_ips_are_not_limited(api: Api):
    await set_limits(api, [rule("posts:list")])
    r = await api.call("PATCH", "/api/settings", "su", json={"rateLimits": {"excludedIPs": ["10.9.0.0/16"]}})
    assert r.status_code == 200, r.text
    async with client_at(api, "10.9.1.2") as inside, client_at(api, "10.8.1.2") as outside:
        assert [(await inside.get(P)).status_code for _ in range(3)] == [200, 200, 200]
        assert [(await outside.get(P)).status_code for _ in range(2)] == [200, 429]


# -- the answer -----------------------------------------------------------------------------------
async def test_429_shape_headers_and_log(api: Api, caplog):
    await set_limits(api, [rule("*:auth", 1, duration=30)])
    assert await send(api, "POST", USERS_AUTH) == 400
    with caplog.at_level(logging.WARNING, logger="baas.security"):
        r = await api.client.post(USERS_AUTH, json=BAD_LOGIN, headers={"Origin": "https://app.example.com"})
        again = await api.client.post(USERS_AUTH, json=BAD_LOGIN)
    assert r.status_code == 429 and again.status_code == 429
    assert r.json() == TOO_MANY
    assert r.headers["content-type"] == "application/json"
    assert 1 <= int(r.headers["retry-after"]) <= 30
    assert r.headers["access-control-allow-origin"] == "*"
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "baas.security"]
    hits = [line for line in lines if "rate limit" in line]
    assert len(hits) == 1, hits  # one line per client and window, not one per refused request
    assert "*:auth" in hits[0] and "ip:127.0.0.1" in hits[0] and "wrong-password" not in hits[0]


async def test_refused_request_never_reaches_the_handler(api: Api):
    await set_limits(api, [rule("posts:create", 1)])
    body = {"title": "one", "author": api.users["alice"]}
    assert (await api.call("POST", P, "alice", json=body)).status_code == 200
    before = await api.count("posts")
    assert (await api.call("POST", P, "alice", json={**body, "title": "two"})).status_code == 429
    assert await api.count("posts") == before


# -- client IP ------------------------------------------------------------------------------------
def scope(*headers: tuple[str, str], peer: str = "192.0.2.1") -> dict[str, Any]:
    return {"type": "http", "client": (peer, 5000), "headers": [(k.lower().encode(), v.encode()) for k, v in headers]}


XFF = "X-Forwarded-For"
CLIENT_IP = [
    ("no proxy settings: the peer", scope((XFF, "1.1.1.1")), {}, "192.0.2.1"),
    ("header configured but absent: the peer", scope(), {"headers": [XFF]}, "192.0.2.1"),
    ("rightmost entry by default", scope((XFF, "1.1.1.1, 2.2.2.2")), {"headers": [XFF]}, "2.2.2.2"),
    ("leftmost when asked", scope((XFF, "1.1.1.1, 2.2.2.2")), {"headers": [XFF], "useLeftmostIP": True}, "1.1.1.1"),
    ("invalid entries skipped", scope((XFF, "1.1.1.1, junk, ")), {"headers": [XFF]}, "1.1.1.1"),
    ("only invalid entries: the peer", scope((XFF, "junk")), {"headers": [XFF]}, "192.0.2.1"),
    ("last header line is the proxy's", scope((XFF, "6.6.6.6"), (XFF, "3.3.3.3")), {"headers": [XFF]}, "3.3.3.3"),
    ("header names are case-insensitive", scope(("x-real-ip", "4.4.4.4")), {"headers": ["X-Real-IP"]}, "4.4.4.4"),
    (
        "first configured header present wins",
        scope(("CF-Connecting-IP", "5.5.5.5"), (XFF, "1.1.1.1")),
        {"headers": ["CF-Connecting-IP", XFF]},
        "5.5.5.5",
    ),
    (
        "IPv6 written out in full",
        scope((XFF, "2001:db8::1")),
        {"headers": [XFF]},
        "2001:0db8:0000:0000:0000:0000:0000:0001",
    ),
]


@pytest.mark.parametrize("name,sc,proxy,expected", CLIENT_IP, ids=[c[0] for c in CLIENT_IP])
def test_client_ip(name: str, sc: dict[str, Any], proxy: dict[str, Any], expected: str):
    assert client_ip(sc, {"trustedProxy": proxy}) == expected


async def test_trusted_proxy_header_decides_the_guest_counter(api: Api):
    await set_limits(api, [rule("posts:list")])
    a, b = {XFF: "9.9.9.9, 1.1.1.1"}, {XFF: "8.8.8.8, 2.2.2.2"}
    # Not trusted yet: both come from the socket peer and share its window.
    assert [await send(api, "GET", P, headers=h) for h in (a, b)] == [200, 429]
    r = await api.call("PATCH", "/api/settings", "su", json={"trustedProxy": {"headers": [XFF]}})
    assert r.status_code == 200
    await set_limits(api, [rule("posts:list", 1, duration=59)])  # fresh counters
    assert [await send(api, "GET", P, headers=h) for h in (a, b)] == [200, 200]
    assert await send(api, "GET", P, headers={XFF: "7.7.7.7, 1.1.1.1"}) == 429  # rightmost is 1.1.1.1 again
    r = await api.call("PATCH", "/api/settings", "su", json={"trustedProxy": {"useLeftmostIP": True}})
    assert r.status_code == 200
    assert await send(api, "GET", P, headers={XFF: "7.7.7.7, 1.1.1.1"}) == 200  # now 7.7.7.7


# -- settings validation --------------------------------------------------------------------------
INVALID = [
    ("label missing", [{"maxRequests": 1, "duration": 1}], "rules.0.label", "validation_required"),
    ("label with a space inside a path", [rule("POST  /api")], "rules.0.label", "validation_match_invalid"),
    ("label wildcard everything", [rule("*:*")], "rules.0.label", "validation_match_invalid"),
    ("label with a dot", [rule("/api/a.b")], "rules.0.label", "validation_match_invalid"),
    ("label with three parts", [rule("users:list:x")], "rules.0.label", "validation_match_invalid"),
    ("maxRequests zero", [rule("/api/", 0)], "rules.0.maxRequests", "validation_required"),
    ("maxRequests negative", [rule("/api/", -5)], "rules.0.maxRequests", "validation_min_greater_equal_than_required"),
    ("maxRequests as text", [{**rule("/api/"), "maxRequests": "x"}], "rules.0.maxRequests", "validation_invalid_value"),
    (
        "maxRequests fractional",
        [{**rule("/api/"), "maxRequests": 1.5}],
        "rules.0.maxRequests",
        "validation_invalid_value",
    ),
    ("duration zero", [rule("/api/", 1, 0)], "rules.0.duration", "validation_required"),
    ("duration negative", [rule("/api/", 1, -1)], "rules.0.duration", "validation_min_greater_equal_than_required"),
    ("duration true", [{**rule("/api/"), "duration": True}], "rules.0.duration", "validation_invalid_value"),
    ("unknown audience", [rule("/api/", audience="@nope")], "rules.0.audience", "validation_in_invalid"),
    ("rule not an object", ["x"], "rules.0", "validation_invalid_value"),
    ("second rule bad", [rule("/api/"), rule("bad label")], "rules.1.label", "validation_match_invalid"),
    ("duplicate label", [rule("*:auth"), rule("*:auth")], "rules.1.label", "validation_conflicting_rate_limit_rule"),
    (
        "everyone and guests overlap",
        [rule("*:auth"), rule("*:auth", audience="@guest")],
        "rules.1.label",
        "validation_conflicting_rate_limit_rule",
    ),
    (
        "guests then everyone overlap",
        [rule("*:auth", audience="@guest"), rule("*:auth")],
        "rules.1.label",
        "validation_conflicting_rate_limit_rule",
    ),
    ("enabled without rules", [], "rules", "validation_required"),
]


def dig(data: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        assert isinstance(data, dict) and part in data, (path, data)
        data = data[part]
    return data


@pytest.mark.parametrize("name,rules,path,code", INVALID, ids=[c[0] for c in INVALID])
async def test_invalid_rules_are_refused(api: Api, name: str, rules: list, path: str, code: str):
    before = (await api.call("GET", "/api/settings", "su")).json()
    r = await api.call("PATCH", "/api/settings", "su", json={"rateLimits": {"enabled": True, "rules": rules}})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["status"] == 400
    assert dig(body["data"], f"rateLimits.{path}")["code"] == code
    assert (await api.call("GET", "/api/settings", "su")).json() == before
    assert [await send(api, "GET", "/api/health") for _ in range(3)] == [200] * 3  # nothing was enabled


async def test_rules_are_checked_while_disabled_too(api: Api):
    r = await api.call("PATCH", "/api/settings", "su", json={"rateLimits": {"enabled": False, "rules": [rule("a b")]}})
    assert r.status_code == 400
    assert r.json()["data"]["rateLimits"]["rules"]["0"]["label"]["code"] == "validation_match_invalid"


async def test_invalid_excluded_ips(api: Api):
    r = await api.call(
        "PATCH", "/api/settings", "su", json={"rateLimits": {"excludedIPs": ["1.2.3.4", "nope", "10.0.0.0/8", ""]}}
    )
    assert r.status_code == 400
    errors = r.json()["data"]["rateLimits"]["excludedIPs"]
    assert set(errors) == {"1", "3"}
    assert errors["3"]["code"] == "validation_required"


async def test_valid_labels_are_accepted(api: Api):
    labels = [
        "users:create",
        "*:auth",
        "POST /api/collections/users/records",
        "GET /api/",
        "/",
        "/api",
        "test_a",
        "POST /api/collections/",
    ]
    await set_limits(api, [rule(label) for label in labels], enabled=False)
    got = (await api.call("GET", "/api/settings", "su")).json()["rateLimits"]["rules"]
    assert [r["label"] for r in got] == labels


# -- under granian --------------------------------------------------------------------------------
async def test_rate_limits_in_a_real_server(tmp_path):
    email, password = "rl@example.com", "rl-password-123"
    async with running_server(tmp_path, superuser=(email, password)) as srv:
        async with httpx.AsyncClient(base_url=srv.url, timeout=10) as c:
            r = await c.post(
                "/api/collections/_superusers/auth-with-password", json={"identity": email, "password": password}
            )
            su = {"Authorization": r.json()["token"]}
            r = await c.patch(
                "/api/settings",
                headers=su,
                json={
                    "rateLimits": {"enabled": True, "rules": [rule("/api/health", 2, 60), rule("*:list", 1, 60)]},
                    "trustedProxy": {"headers": ["X-Forwarded-For"]},
                },
            )
            assert r.status_code == 200, r.text
            assert [(await c.get("/api/health")).status_code for _ in range(3)] == [200, 200, 429]
            r = await c.get("/api/health", headers={"Origin": "https://x.example.com"})
            assert r.status_code == 429 and r.json() == TOO_MANY
            assert r.headers["access-control-allow-origin"] == "*" and int(r.headers["retry-after"]) >= 1
            # The record fast path is limited too, and the proxy header picks the counter.
            users = "/api/collections/users/records"
            for ip in ("1.1.1.1", "2.2.2.2"):
                assert (await c.get(users, headers={"X-Forwarded-For": ip})).status_code != 429
                assert (await c.get(users, headers={"X-Forwarded-For": ip})).status_code == 429
            assert (await c.get(users, headers=su)).status_code == 200  # superusers are never limited
        # the server writes its log on its own schedule: wait for the line rather than for a while
        await eventually(lambda: "rate limit hit: rule '/api/health'" in srv.log_text(), "the rate-limit log line")


def test_counters_stay_bounded_under_a_flood_of_clients(monkeypatch):
    monkeypatch.setattr(limiter, "MAX_WINDOWS", 100)
    lim = limiter.Limiter()
    r = limiter.Rule("/api/", 1, 60)
    for i in range(1000):  # all windows still open: none expire on their own
        assert lim.hit(f"/api/||ip:10.0.{i // 256}.{i % 256}", r, 1000.0 + i / 1000) == 0.0
    assert len(lim._windows) <= 101
    assert lim.hit("/api/||ip:10.0.3.231", r, 1001.0) > 0  # the newest clients are still counted
