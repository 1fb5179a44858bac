"""``POST /api/collections/{c}/impersonate/{id}``: superusers only; a non-refreshable token, as
PocketBase 0.23+ issues (claims checked against the real binary: id, type "auth", collectionId,
refreshable false, exp; auth-refresh hands the same token back instead of extending it)."""

from __future__ import annotations

import time

import jwt
import pytest

from tests.harness import Api

URL = "/api/collections/users/impersonate/{alice}"


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


async def impersonate(a: Api, body=None, who: str | None = "su", url: str = URL, **kw):
    return (
        await a.call("POST", url.format(**a.users), who, json=body, **kw)
        if body is not None
        else await a.call("POST", url.format(**a.users), who, **kw)
    )


async def test_impersonate_issues_a_non_refreshable_token(api: Api) -> None:  # noqa: F811
    before = int(time.time())
    r = await impersonate(api, {"duration": 100})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"token", "record"}
    assert body["record"]["id"] == api.users["alice"] and body["record"]["email"] == "alice@example.com"
    assert "tokenKey" not in body["record"] and "password" not in body["record"]
    c = claims(body["token"])
    assert c["id"] == api.users["alice"] and c["type"] == "auth" and c["refreshable"] is False
    assert c["collectionId"] == body["record"]["collectionId"]
    assert before + 100 <= c["exp"] <= int(time.time()) + 100
    # The token signs in as alice.
    r = await api.client.get("/api/collections/users/records", headers={"Authorization": body["token"]})
    assert [i["id"] for i in r.json()["items"]] == [api.users["alice"]]


async def test_auth_refresh_does_not_extend_it(api: Api) -> None:  # noqa: F811
    token = (await impersonate(api, {"duration": 100})).json()["token"]
    r = await api.client.post("/api/collections/users/auth-refresh", headers={"Authorization": token})
    assert r.status_code == 200, r.text
    assert r.json()["token"] == token  # PocketBase 0.40.6 answers the same token
    assert claims(r.json()["token"])["refreshable"] is False


@pytest.mark.parametrize(
    "body", [None, {}, {"duration": 0}, {"duration": None}], ids=["no body", "empty", "zero", "null"]
)
async def test_default_duration_is_the_collections(api: Api, body) -> None:  # noqa: F811
    r = await impersonate(api, body)
    assert r.status_code == 200, r.text
    c = claims(r.json()["token"])
    default = int(api.engine.registry.get("users").authToken.get("duration") or 604800)
    assert c["exp"] - c["iat"] == default


async def test_superusers_and_expand(api: Api) -> None:  # noqa: F811
    su_id = claims(api.tokens["su"])["id"]
    r = await impersonate(api, {"duration": 60}, url=f"/api/collections/_superusers/impersonate/{su_id}")
    assert r.status_code == 200 and claims(r.json()["token"])["refreshable"] is False
    r = await impersonate(api, {"duration": 60}, params={"fields": "id,email"})
    assert r.status_code == 200 and set(r.json()["record"]) == {"id", "email"}


BAD = [
    # (name, who, url, body, status, field)
    ("guest", None, URL, {"duration": 10}, 401, None),
    ("a user", "alice", URL, {"duration": 10}, 403, None),
    ("a user on themselves", "alice", URL, {}, 403, None),
    ("unknown collection", "su", "/api/collections/nope/impersonate/{alice}", {}, 404, None),
    ("not an auth collection", "su", "/api/collections/posts/impersonate/{alice}", {}, 404, None),
    ("unknown record", "su", "/api/collections/users/impersonate/missing000000000", {}, 404, None),
    ("negative duration", "su", URL, {"duration": -5}, 400, "duration"),
    ("duration too large", "su", URL, {"duration": 10**12}, 400, "duration"),
    ("duration a string", "su", URL, {"duration": "abc"}, 400, None),
    ("duration a float", "su", URL, {"duration": 1.5}, 400, None),
    ("duration a bool", "su", URL, {"duration": True}, 400, None),
]


@pytest.mark.parametrize("who,url,body,status,field", [pytest.param(*c[1:], id=c[0]) for c in BAD])
async def test_bad_requests(api: Api, who, url: str, body: dict, status: int, field) -> None:  # noqa: F811
    r = await impersonate(api, body, who, url)
    assert r.status_code == status, r.text
    assert r.json()["status"] == status and "token" not in r.json()
    if field:
        assert field in r.json()["data"]


async def test_impersonated_token_cannot_impersonate(api: Api) -> None:  # noqa: F811
    token = (await impersonate(api, {"duration": 60})).json()["token"]
    r = await api.client.post(URL.format(**api.users), headers={"Authorization": token}, json={})
    assert r.status_code == 403


async def test_malformed_body(api: Api) -> None:  # noqa: F811
    r = await api.client.post(
        URL.format(**api.users),
        content=b"{nope",
        headers={"Authorization": api.tokens["su"], "content-type": "application/json"},
    )
    assert r.status_code == 400
    r = await api.client.post(
        URL.format(**api.users),
        content=b"[1]",
        headers={"Authorization": api.tokens["su"], "content-type": "application/json"},
    )
    assert r.status_code == 400
