"""Helpers for the OAuth2 tests: the local OIDC provider as a fixture (``idp``: import it into the
test module that uses it), the users collection's oauth2 option, and a sign-in as a browser and the
SDK do it (authorize at the provider, then the code + PKCE exchange)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.auth.oidc_provider import OIDCProvider
from tests.harness import Api

USERS = "/api/collections/users"
REDIRECT = "http://app.test/oauth-callback"
SECRET = "s3cret-client-value-XYZ"


@pytest.fixture
def idp() -> Any:
    """A running local OAuth2/OIDC provider with the client ``oidc-client`` / ``SECRET``."""
    with OIDCProvider() as provider:
        provider.add_client("oidc-client", SECRET)
        yield provider


def oidc(idp: OIDCProvider, **over: Any) -> dict[str, Any]:
    """The ``oidc`` provider entry of a collection's oauth2 option for ``idp`` (``over`` changes fields)."""
    return {
        "name": "oidc",
        "clientId": "oidc-client",
        "clientSecret": SECRET,
        "authURL": f"{idp.url}/authorize",
        "tokenURL": f"{idp.url}/token",
        "userInfoURL": f"{idp.url}/userinfo",
        "displayName": "",
        "pkce": None,
        "extra": {},
        **over,
    }


async def configure(
    a: Api,
    providers: list[dict[str, Any]],
    *,
    enabled: bool = True,
    mapped: dict[str, str] | None = None,
    **collection: Any,
) -> None:
    """Set the users collection's oauth2 option through the collections API, adding a username and
    an avatar URL field (unique username) the first time."""
    cur = (await a.call("GET", f"{USERS}", "su")).json()
    body: dict[str, Any] = {
        "oauth2": {
            "enabled": enabled,
            "providers": providers,
            "mappedFields": mapped or {"id": "", "name": "name", "username": "username", "avatarURL": "avatarUrl"},
        },
        **collection,
    }
    if not any(f["name"] == "username" for f in cur["fields"]):
        body["fields"] = [
            *cur["fields"],
            {"name": "username", "type": "text", "max": 30, "pattern": "^[a-z0-9_]+$"},
            {"name": "avatarUrl", "type": "url"},
        ]
        body["indexes"] = [
            *cur["indexes"],
            "CREATE UNIQUE INDEX `idx_users_username` ON `users` (`username`) WHERE `username` != ''",
        ]
    r = await a.call("PATCH", USERS, "su", json=body)
    assert r.status_code == 200, r.text


async def methods(a: Api) -> dict[str, Any]:
    """The ``oauth2`` part of the users collection's auth-methods."""
    r = await a.call("GET", f"{USERS}/auth-methods")
    assert r.status_code == 200, r.text
    return r.json()["oauth2"]


async def get_code(
    a: Api, idp: OIDCProvider, provider: str = "oidc", redirect: str = REDIRECT
) -> tuple[str, dict[str, Any]]:
    """What a browser does: open the provider's authURL (+ our redirect URL) and come back with a code."""
    info = next(p for p in (await methods(a))["providers"] if p["name"] == provider)
    code, state = await asyncio.to_thread(idp.authorize, info["authURL"] + quote(redirect, safe=""))
    assert state == info["state"]  # the client's check (see tests/auth/test_oauth2.py's docstring)
    return code, info


async def sign_in(
    a: Api,
    idp: OIDCProvider,
    provider: str = "oidc",
    *,
    who: str | None = None,
    create: dict[str, Any] | None = None,
    verifier: str | None = None,
    redirect: str = REDIRECT,
    exchange_redirect: str | None = None,
) -> httpx.Response:
    """Sign in (or up) with ``provider`` as a browser and the SDK would: get a code, exchange it."""
    code, info = await get_code(a, idp, provider, redirect)
    body = {
        "provider": provider,
        "code": code,
        "codeVerifier": info["codeVerifier"] if verifier is None else verifier,
        "redirectURL": redirect if exchange_redirect is None else exchange_redirect,
        "createData": create or {},
    }
    return await a.call("POST", f"{USERS}/auth-with-oauth2", who, json=body)
