"""Attacks on auth, each refused with the right status, written to the ``baas.security`` log
(without the token or password) and leaving the database exactly as it was.

Forged and confused tokens, expired and rotated ones, tokens of the wrong collection or kind,
privilege escalation through a record body, password brute force (past a rate limit and past the
per-identity slowdown) and account enumeration by status, message or timing.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from baas.auth import tokens
from baas.auth.throttle import LOCKED_MESSAGE
from tests.harness import SU_EMAIL, Api

USERS = "/api/collections/users"
TABLES = ("users", "_superusers", "posts", "comments", "_params", "_events")
PASSWORD = "password-123"  # the fixture's users' password
FAILED = {"data": {}, "message": "Failed to authenticate.", "status": 400}


async def snapshot(a: Api) -> dict[str, list[tuple]]:
    """Every row of the tables an attack could touch."""
    return {t: sorted(tuple(r) for r in await a.engine.db.fetch(f'SELECT * FROM "{t}"')) for t in TABLES}


def security_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "baas.security"]


@dataclass
class Ctx:
    """What an attacker might know or have stolen, and what only the server knows."""

    secret: str
    su_id: str
    su_coll: str
    su_key: str
    alice: str
    users_coll: str
    alice_key: str
    posts_coll: str

    def su_claims(self, **over: Any) -> dict[str, Any]:
        now = int(time.time())
        return {
            "id": self.su_id,
            "type": "auth",
            "collectionId": self.su_coll,
            "refreshable": True,
            "iat": now,
            "exp": now + 3600,
            **over,
        }

    def alice_claims(self, **over: Any) -> dict[str, Any]:
        return self.su_claims(**{"id": self.alice, "collectionId": self.users_coll, **over})


async def context(a: Api) -> Ctx:
    su = await a.engine.db.fetchone('SELECT "id", "tokenKey" FROM "_superusers" WHERE "email" = ?', [SU_EMAIL])
    alice_key = await a.engine.db.fetchval('SELECT "tokenKey" FROM "users" WHERE "id" = ?', [a.users["alice"]])
    reg = a.engine.registry
    return Ctx(
        a.engine.secret,
        su[0],
        reg.get("_superusers").id,
        su[1],
        a.users["alice"],
        reg.get("users").id,
        alice_key,
        reg.get("posts").id,
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_jwt(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}.{b64(signature)}"


def hs256_under_rs256_header(c: Ctx) -> str:
    """Key confusion: an RS256 header over an HMAC signature made with the real signing key."""
    import hashlib
    import hmac

    head = b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(c.su_claims()).encode())
    sig = hmac.new(tokens.signing_key(c.secret, c.su_key).encode(), f"{head}.{body}".encode(), hashlib.sha256)
    return f"{head}.{body}.{b64(sig.digest())}"


def rs256_attacker_key(c: Ctx) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(c.su_claims(), key, algorithm="RS256")


# -- forged, confused, expired and misplaced tokens ---------------------------------------------
# (name, token, "su" = tried on PATCH /api/settings | "user" = on PATCH alice's record, status, log)
GUESSED = "a-guessed-secret-of-some-32-bytes"
TOKEN_ATTACKS: list[tuple[str, Callable[[Ctx], str], str, int, str]] = [
    (
        "forged signature on a user token",
        lambda c: jwt.encode(c.alice_claims(), GUESSED, "HS256"),
        "user",
        404,
        "bad signature",
    ),
    (
        "forged signature on a superuser token",
        lambda c: jwt.encode(c.su_claims(), GUESSED, "HS256"),
        "su",
        401,
        "bad signature",
    ),
    (
        "alg none superuser token",
        lambda c: raw_jwt({"alg": "none", "typ": "JWT"}, c.su_claims()),
        "su",
        401,
        "algorithm 'none'",
    ),
    (
        "alg None spelled differently",
        lambda c: raw_jwt({"alg": "nOnE", "typ": "JWT"}, c.su_claims()),
        "su",
        401,
        "algorithm 'nOnE'",
    ),
    ("alg none user token", lambda c: raw_jwt({"alg": "none"}, c.alice_claims()), "user", 404, "algorithm 'none'"),
    (
        "HS512 even with the right key",
        lambda c: jwt.encode(c.su_claims(), tokens.signing_key(c.secret, c.su_key), "HS512"),
        "su",
        401,
        "algorithm 'HS512'",
    ),
    ("RS256 header over an HMAC of the right key", hs256_under_rs256_header, "su", 401, "algorithm 'RS256'"),
    ("RS256 signed with the attacker's RSA key", rs256_attacker_key, "su", 401, "algorithm 'RS256'"),
    (
        "expired superuser token",
        lambda c: tokens.issue(c.secret, {"id": c.su_id}, c.su_coll, c.su_key, -60),
        "su",
        401,
        "expired",
    ),
    (
        "expired user token",
        lambda c: tokens.issue(c.secret, {"id": c.alice}, c.users_coll, c.alice_key, -60),
        "user",
        404,
        "expired",
    ),
    (
        "token without an expiry",
        lambda c: jwt.encode(
            {k: v for k, v in c.su_claims().items() if k != "exp"}, tokens.signing_key(c.secret, c.su_key), "HS256"
        ),
        "su",
        401,
        "MissingRequiredClaimError",
    ),
    (
        "superuser claims signed with a user's key",
        lambda c: jwt.encode(c.su_claims(), tokens.signing_key(c.secret, c.alice_key), "HS256"),
        "su",
        401,
        "bad signature",
    ),
    (
        "superuser claims signed with the secret alone",
        lambda c: jwt.encode(c.su_claims(), c.secret, "HS256"),
        "su",
        401,
        "bad signature",
    ),
    (
        "user token relabelled as a superuser collection token",
        lambda c: jwt.encode(
            c.alice_claims(collectionId=c.su_coll), tokens.signing_key(c.secret, c.alice_key), "HS256"
        ),
        "su",
        401,
        "no record",
    ),
    (
        "token naming a base collection",
        lambda c: jwt.encode(
            c.alice_claims(collectionId=c.posts_coll), tokens.signing_key(c.secret, c.alice_key), "HS256"
        ),
        "user",
        404,
        "not an auth collection",
    ),
    (
        "verification token used to sign in",
        lambda c: tokens.issue(c.secret, {"id": c.su_id}, c.su_coll, c.su_key, 600, kind="verification"),
        "su",
        401,
        "'verification' token",
    ),
    ("garbage", lambda c: "not.a.jwt", "su", 401, "malformed"),
]


@pytest.mark.parametrize("name,make,target,status,logged", TOKEN_ATTACKS, ids=[t[0] for t in TOKEN_ATTACKS])
async def test_token_attacks(
    api: Api, caplog, name: str, make: Callable[[Ctx], str], target: str, status: int, logged: str
):
    token = make(await context(api))
    before = await snapshot(api)
    headers = {"Authorization": token}
    with caplog.at_level(logging.WARNING, logger="baas.security"):
        if target == "su":
            r = await api.client.patch("/api/settings", headers=headers, json={"meta": {"appName": "pwned"}})
        else:
            r = await api.client.patch(f"{USERS}/records/{api.users['alice']}", headers=headers, json={"name": "pwned"})
    assert r.status_code == status, r.text
    lines = security_lines(caplog)
    assert any(logged in line for line in lines), lines
    signature = token.rsplit(".", 1)[-1]
    assert not any(token in line or (len(signature) > 8 and signature in line) for line in lines)
    assert await snapshot(api) == before


async def test_user_token_where_a_superuser_is_needed(api: Api, caplog):
    before = await snapshot(api)
    with caplog.at_level(logging.WARNING, logger="baas.security"):
        statuses = [
            (await api.call("GET", "/api/settings", "alice")).status_code,
            (await api.call("PATCH", "/api/settings", "alice", json={"meta": {"appName": "pwned"}})).status_code,
            (await api.call("POST", "/api/collections", "alice", json={"name": "mine", "type": "base"})).status_code,
            (await api.call("DELETE", "/api/collections/posts", "alice")).status_code,
        ]
    assert statuses == [403, 403, 403, 403]
    lines = [line for line in security_lines(caplog) if "superuser action refused" in line]
    assert len(lines) == 4 and all(api.users["alice"] in line for line in lines)
    assert await snapshot(api) == before


async def test_user_token_on_another_collections_refresh(api: Api):
    before = await snapshot(api)
    r = await api.call("POST", "/api/collections/_superusers/auth-refresh", "alice")
    assert r.status_code == 403  # PocketBase 0.40.6: a valid token of another collection
    assert await snapshot(api) == before


async def test_token_after_password_change_rotated_the_token_key(api: Api, caplog):
    old = api.tokens["alice"]
    me = f"{USERS}/records/{api.users['alice']}"
    r = await api.call(
        "PATCH",
        me,
        "alice",
        json={"password": "new-password-1", "passwordConfirm": "new-password-1", "oldPassword": PASSWORD},
    )
    assert r.status_code == 200, r.text
    before = await snapshot(api)
    with caplog.at_level(logging.WARNING, logger="baas.security"):
        refresh = await api.client.post(f"{USERS}/auth-refresh", headers={"Authorization": old})
        write = await api.client.patch(me, headers={"Authorization": old}, json={"name": "pwned"})
    assert (refresh.status_code, write.status_code) == (401, 404)
    assert sum("bad signature" in line for line in security_lines(caplog)) == 2
    assert await snapshot(api) == before


# -- privilege escalation through the body --------------------------------------------------------
# (name, who, method, url ("{me}" = alice's record), body, status, field named in the log)
ESCALATIONS = [
    ("verified through the body", "alice", "PATCH", "{me}", {"verified": True}, 400, "verified"),
    ("tokenKey through the body", "alice", "PATCH", "{me}", {"tokenKey": "chosen-by-attacker"}, 400, "tokenKey"),
    (
        "password without oldPassword",
        "alice",
        "PATCH",
        "{me}",
        {"password": "takeover-123", "passwordConfirm": "takeover-123"},
        400,
        "oldPassword",
    ),
    (
        "password with a wrong oldPassword",
        "alice",
        "PATCH",
        "{me}",
        {"password": "takeover-123", "passwordConfirm": "takeover-123", "oldPassword": "guess-123"},
        400,
        "oldPassword",
    ),
    ("email of another record", "alice", "PATCH", "{me}", {"email": "bob@example.com"}, 400, "email"),
    ("new email without the change flow", "alice", "PATCH", "{me}", {"email": "mine@example.com"}, 400, "email"),
    ("changing the record id", "alice", "PATCH", "{me}", {"id": "aaaaaaaaaaaaaaa"}, 400, "id"),
    (
        "sign-up as verified",
        None,
        "POST",
        f"{USERS}/records",
        {"email": "new@example.com", "password": "password-123", "passwordConfirm": "password-123", "verified": True},
        400,
        "verified",
    ),
    (
        "sign-up with a chosen tokenKey",
        None,
        "POST",
        f"{USERS}/records",
        {
            "email": "new@example.com",
            "password": "password-123",
            "passwordConfirm": "password-123",
            "tokenKey": "known-to-attacker",
        },
        400,
        "tokenKey",
    ),
]


@pytest.mark.parametrize("name,who,method,url,body,status,field", ESCALATIONS, ids=[e[0] for e in ESCALATIONS])
async def test_privilege_escalation_through_the_body(
    api: Api, caplog, name: str, who: str | None, method: str, url: str, body: dict[str, Any], status: int, field: str
):
    url = url.format(me=f"{USERS}/records/{api.users['alice']}")
    before = await snapshot(api)
    with caplog.at_level(logging.WARNING, logger="baas.security"):
        r = await api.call(method, url, who, json=body)
    assert r.status_code == status, r.text
    assert field in r.json()["data"], r.text
    lines = [line for line in security_lines(caplog) if "privilege escalation refused" in line]
    assert len(lines) == 1 and field in lines[0], lines
    assert not any(s in lines[0] for s in ("takeover-123", "guess-123", "chosen-by-attacker", "known-to-attacker"))
    assert await snapshot(api) == before


async def test_moving_a_record_to_another_collection_is_ignored(api: Api, caplog):
    # PocketBase ignores collectionId/collectionName in a body (200); the record stays where it is.
    me = f"{USERS}/records/{api.users['alice']}"
    su_coll = api.engine.registry.get("_superusers").id
    before = await snapshot(api)
    with caplog.at_level(logging.WARNING, logger="baas.security"):
        r = await api.call("PATCH", me, "alice", json={"collectionId": su_coll, "collectionName": "_superusers"})
    assert r.status_code == 200, r.text
    assert r.json()["collectionName"] == "users"
    assert any("privilege escalation ignored" in line and "collectionId" in line for line in security_lines(caplog))
    after = await snapshot(api)
    assert after["_superusers"] == before["_superusers"]
    assert len(after["users"]) == len(before["users"])
    r = await api.call("GET", "/api/settings", "alice")
    assert r.status_code == 403  # still no superuser


# -- brute force --------------------------------------------------------------------------------
async def login(a: Api, identity: str, password: str, **kw: Any):
    return await a.client.post(f"{USERS}/auth-with-password", json={"identity": identity, "password": password}, **kw)


async def test_brute_force_past_the_rate_limit(api: Api, caplog):
    r = await api.call(
        "PATCH",
        "/api/settings",
        "su",
        json={
            "rateLimits": {
                "enabled": True,
                "rules": [{"label": "*:auth", "maxRequests": 3, "duration": 60, "audience": ""}],
            }
        },
    )
    assert r.status_code == 200, r.text
    before = await snapshot(api)
    with caplog.at_level(logging.WARNING, logger="baas.security"):
        statuses = [(await login(api, "alice@example.com", f"guess-{i}")).status_code for i in range(5)]
        right = await login(api, "alice@example.com", PASSWORD)
    assert statuses == [400, 400, 400, 429, 429]
    assert right.status_code == 429  # even the right password, until the window ends
    lines = security_lines(caplog)
    assert any("rate limit hit" in line and "*:auth" in line for line in lines)
    assert sum("failed sign-in" in line for line in lines) == 3
    assert not any("guess-" in line or PASSWORD in line for line in lines)
    assert await snapshot(api) == before


async def test_brute_force_past_the_failed_login_slowdown(api: Api, caplog):
    throttle = api.engine.throttle
    before = await snapshot(api)
    with caplog.at_level(logging.WARNING, logger="baas.security"):
        misses = [
            (await login(api, "alice@example.com", f"guess-{i}")).status_code for i in range(throttle.free_failures)
        ]
        locked = await login(api, "alice@example.com", PASSWORD)
    assert misses == [400] * throttle.free_failures
    assert locked.status_code == 429 and locked.json() == {"data": {}, "message": LOCKED_MESSAGE, "status": 429}
    lines = security_lines(caplog)
    assert sum("failed sign-in" in line and "alice@example.com" in line for line in lines) == throttle.free_failures
    assert any("sign-in locked" in line and "alice@example.com" in line for line in lines)
    assert not any("guess-" in line or PASSWORD in line for line in lines)
    assert await snapshot(api) == before
    # Another identity is not affected; the locked one is, from any address and in any case.
    assert (await login(api, "bob@example.com", PASSWORD)).status_code == 200
    transport = httpx.ASGITransport(app=api.client._transport.app, client=("203.0.113.9", 4321))  # type: ignore
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as elsewhere:
        r = await elsewhere.post(
            f"{USERS}/auth-with-password", json={"identity": "ALICE@example.com", "password": PASSWORD}
        )
    assert r.status_code == 429
    # The first lock is short: once it ends, the right password works and clears the count.
    await asyncio.sleep(throttle.base_lock + 0.1)
    assert (await login(api, "alice@example.com", PASSWORD)).status_code == 200
    assert (await login(api, "alice@example.com", "guess-again")).status_code == 400


async def test_slowdown_doubles_and_unknown_identities_behave_the_same(api: Api):
    throttle = api.engine.throttle
    throttle.free_failures = 2
    for identity in ("alice@example.com", "nobody@example.com"):
        got = [(await login(api, identity, "guess")).status_code for _ in range(3)]
        assert got == [400, 400, 429], identity
        await asyncio.sleep(throttle.base_lock + 0.1)  # first lock: 1 s
        assert (await login(api, identity, "guess")).status_code == 400
        assert (await login(api, identity, "guess")).status_code == 429  # second lock: 2 s
        await asyncio.sleep(throttle.base_lock + 0.1)
        assert (await login(api, identity, "guess")).status_code == 429  # still locked after 1 s


# -- enumeration ----------------------------------------------------------------------------------
async def test_unknown_and_known_identity_answer_alike(api: Api, caplog):
    with caplog.at_level(logging.WARNING, logger="baas.security"):
        known = await login(api, "alice@example.com", "wrong-password")
        unknown = await login(api, "nobody@example.com", "wrong-password")
    assert (known.status_code, known.json()) == (400, FAILED)
    assert (unknown.status_code, unknown.json()) == (400, FAILED)
    assert dict(known.headers).keys() == dict(unknown.headers).keys()
    lines = [line for line in security_lines(caplog) if "failed sign-in" in line]
    assert len(lines) == 2 and "nobody@example.com" in lines[1]


async def test_unknown_and_known_identity_take_similar_time(api: Api, monkeypatch):
    # With production argon2 parameters: an unknown identity must still pay for a hash.
    monkeypatch.setenv("BAAS_FAST_HASH", "0")
    api.engine.throttle.free_failures = 10_000  # measure the password check, not the lock
    r = await api.call(
        "POST",
        f"{USERS}/records",
        "su",
        json={"email": "timing@example.com", "password": "timing-pass-1", "passwordConfirm": "timing-pass-1"},
    )
    assert r.status_code == 200, r.text
    await login(api, "timing@example.com", "warm-up")
    known: list[float] = []
    unknown: list[float] = []
    for _ in range(7):
        for identity, out in (("timing@example.com", known), ("nobody-here@example.com", unknown)):
            t = time.perf_counter()
            assert (await login(api, identity, "wrong-password")).status_code == 400
            out.append(time.perf_counter() - t)
    k, u = statistics.median(known), statistics.median(unknown)
    # Generous: a loaded 2-core machine jitters, but a skipped hash would be many times faster.
    assert max(k, u) <= 2.5 * min(k, u) + 0.02, (k, u)
