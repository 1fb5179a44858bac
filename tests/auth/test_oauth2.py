"""OAuth2 sign-in end to end: the in-process app against a real local OAuth2/OIDC provider
(tests/auth/oidc_provider.py) over HTTP — authorize, code + PKCE exchange, user info, JWKS.

Checking the ``state`` a provider redirects with against the one auth-methods gave is the
client's job (the SDK does it); the server never sees the state of a code flow, so a forged state
is not testable here.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest

from baas.auth import oauth2
from baas.schema.loader import load_schema_text
from tests.auth.oauth2kit import REDIRECT, SECRET, USERS, configure, get_code, methods, oidc, sign_in
from tests.auth.oauth2kit import idp as idp  # noqa: F401  (a fixture; tests/hooks uses it too)
from tests.auth.oidc_provider import OIDCProvider
from tests.harness import Api


async def rows(a: Api) -> tuple[int, int]:
    """(users, linked accounts): to check that a failed sign-in wrote nothing."""
    users = await a.engine.db.fetchval('SELECT count(*) FROM "users"')
    links = await a.engine.db.fetchval('SELECT count(*) FROM "_externalAuths"')
    return int(users), int(links)


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


# -- auth-methods -----------------------------------------------------------------------------------


async def test_auth_methods_lists_providers_with_pkce_and_no_secrets(api: Api, idp: OIDCProvider) -> None:
    await configure(
        api,
        [
            oidc(idp, displayName="Local IdP"),
            {"name": "github", "clientId": "gh-id", "clientSecret": "gh-secret-1"},
            {"name": "google", "clientId": "g-id", "clientSecret": "g-secret-1", "pkce": False},
            {"name": "apple", "clientId": "a-id", "clientSecret": "a-secret-1"},
            {"name": "myspace", "clientId": "x", "clientSecret": "y"},
        ],
    )
    r = await api.call("GET", f"{USERS}/auth-methods")
    assert "secret" not in r.text.lower()
    got = r.json()["oauth2"]
    assert got["enabled"] is True
    assert [p["name"] for p in got["providers"]] == ["oidc", "github", "google", "apple"]  # unknown names skipped
    o, gh, g, apple = got["providers"]
    assert (o["displayName"], gh["displayName"], g["displayName"]) == ("Local IdP", "GitHub", "Google")
    url = urlsplit(o["authURL"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{idp.url}/authorize"
    assert o["authURL"].endswith("&redirect_uri=")
    q = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
    assert q == {
        "client_id": "oidc-client",
        "response_type": "code",
        "state": o["state"],
        "scope": "openid email profile",
        "code_challenge": o["codeChallenge"],
        "code_challenge_method": "S256",
        "redirect_uri": "",
    }
    assert len(o["state"]) == 30 and len(o["codeVerifier"]) == 43
    assert o["codeChallenge"] == s256(o["codeVerifier"]) and o["codeChallengeMethod"] == "S256"
    assert gh["authURL"].startswith("https://github.com/login/oauth/authorize?client_id=gh-id&")
    assert "scope=read%3Auser+user%3Aemail" in gh["authURL"]
    assert (g["codeVerifier"], g["codeChallenge"], g["codeChallengeMethod"]) == ("", "", "")  # pkce: false
    assert "code_challenge" not in g["authURL"]
    assert "response_mode=form_post" in apple["authURL"]
    again = await methods(api)
    assert again["providers"][0]["state"] != o["state"]  # fresh state and verifier each time

    await configure(api, [oidc(idp)], enabled=False)
    assert await methods(api) == {"enabled": False, "providers": []}


def test_provider_repr_and_redaction_hide_the_secret() -> None:
    p = oauth2.Provider.from_config({"name": "oidc", "clientId": "c", "clientSecret": "top-secret"})
    assert p is not None and "top-secret" not in repr(p)
    opts = {"enabled": True, "providers": [{"name": "oidc", "clientId": "c", "clientSecret": "top-secret"}]}
    shown = oauth2.redact(opts)
    assert "clientSecret" not in shown["providers"][0] and opts["providers"][0]["clientSecret"] == "top-secret"
    # An update that echoes the redacted option keeps the stored secret; a new secret wins.
    assert oauth2.keep_secrets(shown, opts)["providers"][0]["clientSecret"] == "top-secret"
    changed = {"providers": [{"name": "oidc", "clientId": "c", "clientSecret": "new"}]}
    assert oauth2.keep_secrets(changed, opts)["providers"][0]["clientSecret"] == "new"


async def test_only_superusers_read_collections_with_their_secrets(api: Api, idp: OIDCProvider) -> None:
    await configure(api, [oidc(idp)])
    for who in (None, "alice"):
        for url in ("/api/collections", USERS):
            r = await api.call("GET", url, who)
            assert r.status_code in (401, 403) and SECRET not in r.text
    # Superusers don't get them either (as PocketBase), and echoing a collection back keeps them.
    for url in ("/api/collections", USERS):
        r = await api.call("GET", url, "su")
        assert r.status_code == 200 and SECRET not in r.text
    shown = (await api.call("GET", USERS, "su")).json()
    r = await api.call("PATCH", USERS, "su", json={"oauth2": shown["oauth2"]})
    assert r.status_code == 200 and SECRET not in r.text
    stored = api.engine.registry.get("users").oauth2["providers"][0]["clientSecret"]
    assert stored == SECRET


async def test_client_secret_from_the_environment(api: Api, idp: OIDCProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    await configure(api, [oidc(idp, clientSecret="${BAAS_TEST_OIDC_SECRET}")])
    monkeypatch.delenv("BAAS_TEST_OIDC_SECRET", raising=False)
    r = await sign_in(api, idp)
    assert r.status_code == 400 and r.json()["message"] == "Failed to fetch OAuth2 token."
    monkeypatch.setenv("BAAS_TEST_OIDC_SECRET", SECRET)
    r = await sign_in(api, idp)
    assert r.status_code == 200, r.text


# -- the full flow ----------------------------------------------------------------------------------


async def test_oidc_sign_up_then_sign_in_finds_the_same_record(api: Api, idp: OIDCProvider) -> None:
    await configure(api, [oidc(idp)])
    before = await rows(api)
    r = await sign_in(api, idp, create={"emailVisibility": True})
    assert r.status_code == 200, r.text
    data = r.json()
    rec, meta = data["record"], data["meta"]
    assert rec["email"] == "ada@example.com" and rec["verified"] is True and rec["emailVisibility"] is True
    assert (rec["name"], rec["username"]) == ("Ada Lovelace", "ada")
    assert rec["avatarUrl"] == "https://images.example.com/ada.png"
    assert "password" not in rec and "tokenKey" not in rec
    assert meta["isNew"] is True and meta["id"] == "u-1001" and meta["email"] == "ada@example.com"
    assert meta["rawUser"]["preferred_username"] == "ada" and meta["accessToken"] and meta["refreshToken"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z", meta["expiry"])
    assert await rows(api) == (before[0] + 1, 1)

    # The token is a normal auth token.
    r2 = await api.client.post(f"{USERS}/auth-refresh", headers={"Authorization": data["token"]})
    assert r2.status_code == 200 and r2.json()["record"]["id"] == rec["id"]

    # Second sign-in: same record through _externalAuths, nothing new written.
    idp.user["email"] = "changed@example.com"  # the provider's email changed: the link still wins
    again = await sign_in(api, idp)
    assert again.status_code == 200, again.text
    assert again.json()["record"]["id"] == rec["id"] and again.json()["meta"]["isNew"] is False
    assert await rows(api) == (before[0] + 1, 1)
    link = await api.engine.db.fetchone(
        'SELECT "collectionRef", "recordRef", "provider", "providerId" FROM "_externalAuths"'
    )
    assert tuple(link) == ("_pb_users_auth_", rec["id"], "oidc", "u-1001")


async def test_github_shape_private_email_and_client_secret_in_body(api: Api, idp: OIDCProvider) -> None:
    # This client only accepts client_secret_post: the exchange falls back from Basic to the body.
    idp.add_client("gh-client", "gh-secret", auth_method="post")
    idp.user.update(sub="ignored", numeric_id=4242, username="octo", email="octo@example.com")
    await configure(
        api,
        [
            {
                "name": "github",
                "clientId": "gh-client",
                "clientSecret": "gh-secret",
                "authURL": f"{idp.url}/authorize",
                "tokenURL": f"{idp.url}/token",
                "userInfoURL": f"{idp.url}/github/user",
            }
        ],
    )
    r = await sign_in(api, idp, "github")
    assert r.status_code == 200, r.text
    meta, rec = r.json()["meta"], r.json()["record"]
    assert meta["id"] == "4242" and meta["username"] == "octo"
    assert meta["email"] == "octo@example.com"  # the verified primary one from /user/emails
    assert meta["rawUser"]["login"] == "octo" and meta["rawUser"]["email"] is None
    assert rec["email"] == "octo@example.com" and rec["username"] == "octo" and rec["verified"] is True
    assert ("GET", "/github/user/emails") in idp.requests


async def test_google_shape_and_unverified_email_is_not_trusted(api: Api, idp: OIDCProvider) -> None:
    idp.add_client("g-client", "g-secret")
    await configure(
        api,
        [
            {
                "name": "google",
                "clientId": "g-client",
                "clientSecret": "g-secret",
                "authURL": f"{idp.url}/authorize",
                "tokenURL": f"{idp.url}/token",
                "userInfoURL": f"{idp.url}/google/userinfo",
            }
        ],
    )
    # An email the provider does not vouch for is dropped, so no account is created without one.
    idp.user.update(sub="g-1", email="alice@example.com", email_verified=False)
    before = await rows(api)
    r = await sign_in(api, idp, "google")
    assert r.status_code == 400, r.text
    assert r.json()["data"]["email"]["code"] == "validation_required"
    assert await rows(api) == before

    idp.user.update(sub="g-2", email="grace@example.com", email_verified=True, name="Grace Hopper")
    r = await sign_in(api, idp, "google")
    assert r.status_code == 200, r.text
    assert r.json()["meta"]["id"] == "g-2" and r.json()["meta"]["username"] == ""
    assert r.json()["record"]["name"] == "Grace Hopper" and r.json()["record"]["email"] == "grace@example.com"


async def test_links_an_unverified_record_by_email_and_locks_its_password(api: Api, idp: OIDCProvider) -> None:
    await configure(api, [oidc(idp)])
    idp.user.update(sub="alice-idp", email="Alice@Example.com")
    before = await rows(api)
    r = await sign_in(api, idp)
    assert r.status_code == 200, r.text
    assert r.json()["record"]["id"] == api.users["alice"] and r.json()["meta"]["isNew"] is False
    assert r.json()["record"]["verified"] is True
    assert await rows(api) == (before[0], 1)
    # Whoever registered the email before without owning it cannot sign in with that password now.
    old = await api.client.post(
        f"{USERS}/auth-with-password", json={"identity": "alice@example.com", "password": "password-123"}
    )
    assert old.status_code == 400


async def test_links_a_verified_record_by_email_and_keeps_its_password(api: Api, idp: OIDCProvider) -> None:
    await configure(api, [oidc(idp)])
    r = await api.call("PATCH", f"{USERS}/records/{api.users['bob']}", "su", json={"verified": True})
    assert r.status_code == 200, r.text
    idp.user.update(sub="bob-idp", email="bob@example.com")
    r = await sign_in(api, idp)
    assert r.status_code == 200 and r.json()["record"]["id"] == api.users["bob"]
    ok = await api.client.post(
        f"{USERS}/auth-with-password", json={"identity": "bob@example.com", "password": "password-123"}
    )
    assert ok.status_code == 200


async def test_signed_in_user_links_another_account(api: Api, idp: OIDCProvider) -> None:
    await configure(api, [oidc(idp)])
    idp.user.update(sub="bob-work", email="bob.work@example.com")
    r = await sign_in(api, idp, who="bob")
    assert r.status_code == 200, r.text
    assert r.json()["record"]["id"] == api.users["bob"]
    # Later, signed out, the same provider account finds bob.
    r = await sign_in(api, idp)
    assert r.status_code == 200 and r.json()["record"]["id"] == api.users["bob"]


async def test_taken_username_is_not_mapped(api: Api, idp: OIDCProvider) -> None:
    await configure(api, [oidc(idp)])
    r = await api.call("PATCH", f"{USERS}/records/{api.users['alice']}", "su", json={"username": "ada"})
    assert r.status_code == 200, r.text
    r = await sign_in(api, idp)
    assert r.status_code == 200, r.text
    assert r.json()["record"]["username"] == "" and r.json()["meta"]["username"] == "ada"


async def test_create_rule_applies_to_oauth2_sign_up(api: Api, idp: OIDCProvider) -> None:
    await configure(api, [oidc(idp)], createRule=None)
    before = await rows(api)
    r = await sign_in(api, idp)
    assert r.status_code == 403 and r.json()["message"] == "Only superusers can perform this action."
    await configure(api, [oidc(idp)], createRule="@request.body.name = 'Ada Lovelace' && @request.context = 'oauth2'")
    idp.user["name"] = "Someone Else"
    r = await sign_in(api, idp)
    assert r.status_code == 400 and r.json()["message"] == "Failed to create record."
    assert await rows(api) == before
    idp.user["name"] = "Ada Lovelace"
    r = await sign_in(api, idp)
    assert r.status_code == 200, r.text


async def test_apple_reads_the_verified_id_token(api: Api, idp: OIDCProvider) -> None:
    idp.add_client("apple-client", "apple-secret", issuer=oauth2.APPLE_ISSUER)
    apple = {
        "name": "apple",
        "clientId": "apple-client",
        "clientSecret": "apple-secret",
        "authURL": f"{idp.url}/authorize",
        "tokenURL": f"{idp.url}/token",
        "extra": {"jwksURL": f"{idp.url}/jwks"},
    }
    await configure(api, [apple])
    idp.user.update(sub="apple-77", email="tim@example.com")
    r = await sign_in(api, idp, "apple")
    assert r.status_code == 200, r.text
    assert r.json()["meta"]["id"] == "apple-77" and r.json()["meta"]["rawUser"]["iss"] == oauth2.APPLE_ISSUER
    assert r.json()["record"]["email"] == "tim@example.com"
    assert ("GET", "/jwks") in idp.requests and ("GET", "/userinfo") not in idp.requests

    # Signed by a key the JWKS does not have: refused.
    with OIDCProvider() as other:
        apple["extra"] = {"jwksURL": f"{other.url}/jwks"}
        await configure(api, [apple])
        before = await rows(api)
        r = await sign_in(api, idp, "apple")
        assert r.status_code == 400 and r.json()["message"] == "Failed to fetch OAuth2 user."
        assert await rows(api) == before


async def test_oidc_from_id_token_checks_issuer_and_signature(api: Api, idp: OIDCProvider) -> None:
    cfg = oidc(idp, userInfoURL="", extra={"jwksURL": f"{idp.url}/jwks", "issuers": [idp.url]})
    await configure(api, [cfg])
    r = await sign_in(api, idp)
    assert r.status_code == 200, r.text
    assert r.json()["meta"]["rawUser"]["aud"] == "oidc-client"
    assert ("GET", "/userinfo") not in idp.requests
    await configure(api, [{**cfg, "extra": {"jwksURL": f"{idp.url}/jwks", "issuers": ["https://elsewhere"]}}])
    r = await sign_in(api, idp)
    assert r.status_code == 400 and r.json()["message"] == "Failed to fetch OAuth2 user."


async def test_configured_in_the_schema_file(api: Api, idp: OIDCProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMBERS_OIDC_SECRET", SECRET)
    yaml = f"""
collections:
  - name: members
    type: auth
    createRule: ""
    fields:
      - {{name: nick, type: text}}
    oauth2:
      enabled: true
      mappedFields: {{username: nick}}
      providers:
        - name: oidc
          clientId: oidc-client
          clientSecret: ${{MEMBERS_OIDC_SECRET}}
          authURL: {idp.url}/authorize
          tokenURL: {idp.url}/token
          userInfoURL: {idp.url}/userinfo
"""
    await api.engine.apply(lambda: [*api.engine.registry.all(), *load_schema_text(yaml).collections])
    info = (await api.call("GET", "/api/collections/members/auth-methods")).json()["oauth2"]["providers"][0]
    code, _ = await asyncio.to_thread(idp.authorize, info["authURL"] + quote(REDIRECT, safe=""))
    r = await api.client.post(
        "/api/collections/members/auth-with-oauth2",
        json={"provider": "oidc", "code": code, "codeVerifier": info["codeVerifier"], "redirectURL": REDIRECT},
    )
    assert r.status_code == 200, r.text
    assert r.json()["record"]["collectionName"] == "members" and r.json()["record"]["nick"] == "ada"


# -- bad input: a clear 4xx and nothing written -----------------------------------------------------


async def test_code_problems_fail_the_token_exchange(api: Api, idp: OIDCProvider) -> None:
    await configure(api, [oidc(idp)])
    before = await rows(api)
    url = f"{USERS}/auth-with-oauth2"

    async def expect_token_failure(r: httpx.Response) -> None:
        assert r.status_code == 400, r.text
        assert r.json() == {"status": 400, "message": "Failed to fetch OAuth2 token.", "data": {}}
        assert await rows(api) == before

    await expect_token_failure(
        await api.client.post(
            url, json={"provider": "oidc", "code": "made-up", "codeVerifier": "x" * 43, "redirectURL": REDIRECT}
        )
    )
    await expect_token_failure(await sign_in(api, idp, verifier="a" * 43))  # PKCE verifier mismatch
    await expect_token_failure(await sign_in(api, idp, exchange_redirect="http://evil.test/cb"))
    idp.code_ttl = -1
    await expect_token_failure(await sign_in(api, idp))  # expired
    idp.code_ttl = 60
    # A code works once.
    code, info = await get_code(api, idp)
    body = {"provider": "oidc", "code": code, "codeVerifier": info["codeVerifier"], "redirectURL": REDIRECT}
    assert (await api.client.post(url, json=body)).status_code == 200
    before = await rows(api)
    await expect_token_failure(await api.client.post(url, json=body))


async def test_wrong_client_secret(api: Api, idp: OIDCProvider, caplog: pytest.LogCaptureFixture) -> None:
    await configure(api, [oidc(idp, clientSecret="not-the-secret-QQQ")])
    caplog.set_level(logging.DEBUG)
    r = await sign_in(api, idp)
    assert r.status_code == 400 and r.json()["message"] == "Failed to fetch OAuth2 token."
    assert "not-the-secret-QQQ" not in caplog.text and "not-the-secret-QQQ" not in r.text


@pytest.mark.parametrize(
    "body, field, code",
    [
        ({"provider": "nope", "code": "x"}, "provider", "validation_invalid_provider"),
        ({"provider": "gitlab", "code": "x"}, "provider", "validation_invalid_provider"),  # known, not configured
        ({"code": "x"}, "provider", "validation_required"),
        ({"provider": "oidc"}, "code", "validation_required"),
        ({"provider": "oidc", "code": "x", "createData": "nope"}, "createData", "validation_invalid_value"),
    ],
)
async def test_invalid_form(api: Api, idp: OIDCProvider, body: dict, field: str, code: str) -> None:
    await configure(api, [oidc(idp)])
    r = await api.client.post(f"{USERS}/auth-with-oauth2", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "An error occurred while loading the submitted data."
    assert r.json()["data"][field]["code"] == code
    assert not [p for p in idp.requests if p[1] == "/token"]


async def test_oauth2_disabled_and_other_collections(api: Api, idp: OIDCProvider) -> None:
    await configure(api, [oidc(idp)], enabled=False)
    body = {"provider": "oidc", "code": "x", "redirectURL": REDIRECT}
    r = await api.client.post(f"{USERS}/auth-with-oauth2", json=body)
    assert r.status_code == 403
    assert r.json()["message"] == "The collection is not configured to allow OAuth2 authentication."
    r = await api.client.post("/api/collections/_superusers/auth-with-oauth2", json=body)
    assert r.status_code == 403
    assert (await api.client.post("/api/collections/posts/auth-with-oauth2", json=body)).status_code == 400
    assert (await api.client.post("/api/collections/nope/auth-with-oauth2", json=body)).status_code == 404
    assert not [p for p in idp.requests if p[1] == "/token"]


@pytest.mark.parametrize("path, stage", [("/token", "token"), ("/userinfo", "user")])
async def test_provider_errors(api: Api, idp: OIDCProvider, path: str, stage: str) -> None:
    await configure(api, [oidc(idp)])
    before = await rows(api)
    idp.fail[path] = (500, {"error": "server_error"})
    r = await sign_in(api, idp)
    assert r.status_code == 400, r.text
    want = "Failed to fetch OAuth2 token." if stage == "token" else "Failed to fetch OAuth2 user."
    assert r.json()["message"] == want
    assert await rows(api) == before


async def test_provider_timeout(api: Api, idp: OIDCProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    await configure(api, [oidc(idp)])
    monkeypatch.setenv("BAAS_OAUTH2_TIMEOUT", "0.3")
    idp.token_delay = 2.0
    before = await rows(api)
    r = await sign_in(api, idp)
    assert r.status_code == 400 and r.json()["message"] == "Failed to fetch OAuth2 token."
    assert await rows(api) == before


async def test_relinks_when_the_linked_record_was_deleted(api: Api, idp: OIDCProvider) -> None:
    await configure(api, [oidc(idp)])
    first = await sign_in(api, idp)
    assert first.status_code == 200
    rid = first.json()["record"]["id"]
    assert (await api.call("DELETE", f"{USERS}/records/{rid}", "su")).status_code == 204
    again = await sign_in(api, idp)
    assert again.status_code == 200, again.text
    assert again.json()["record"]["id"] != rid and again.json()["meta"]["isNew"] is True
    assert (await rows(api))[1] == 1


# -- /api/oauth2-redirect ---------------------------------------------------------------------------


async def test_redirect_page_without_a_waiting_realtime_client(api: Api) -> None:
    """The popup's redirect hands code + state to the realtime client whose id is the state;
    with none (a forged or stale state) it refuses, and never echoes the request back."""
    r = await api.client.get("/api/oauth2-redirect")
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
    assert "Failed to authenticate" in r.text
    r = await api.client.get("/api/oauth2-redirect", params={"state": "abc", "code": "xyz"})
    assert r.status_code == 400 and "xyz" not in r.text
    assert r.headers["referrer-policy"] == "no-referrer" and r.headers["cache-control"] == "no-store"
    r = await api.client.post("/api/oauth2-redirect", data={"state": "abc", "code": "<script>"})
    assert r.status_code == 400 and "<script>" not in r.text
