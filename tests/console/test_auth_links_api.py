"""An auth record's OAuth2 links and TOTP status (baas/api/auth_links.py), as the console's record
page reads them: success, every bad input, and who may ask (both databases)."""

from __future__ import annotations

import time

import pyotp
import pytest

from baas.ids import new_id, now_str
from tests.harness import Api

U = "/api/collections/users"


async def link(api: Api, who: str, provider: str, provider_id: str) -> None:
    """An OAuth2 link as a sign-in with ``provider`` leaves it (no provider runs in tests)."""
    now = now_str()
    await api.engine.db.write(
        lambda conn: conn.execute(
            'INSERT INTO "_externalAuths" ("id", "collectionRef", "recordRef", "provider", "providerId", "created", '
            '"updated") VALUES (?, ?, ?, ?, ?, ?, ?)',
            [new_id(), "_pb_users_auth_", api.users[who], provider, provider_id, now, now],
        )
    )


def error(r, status: int) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["status"] == status and isinstance(body["message"], str) and isinstance(body["data"], dict)
    return body


async def test_list_and_unlink_external_auths(api: Api) -> None:
    await link(api, "alice", "google", "g-1")
    await link(api, "alice", "github", "<script>alert(1)</script>")
    await link(api, "bob", "google", "g-2")
    r = await api.call("GET", f"{U}/records/{api.users['alice']}/external-auths", "su")
    assert r.status_code == 200, r.text
    got = r.json()
    assert sorted((x["provider"], x["providerId"]) for x in got) == [
        ("github", "<script>alert(1)</script>"),
        ("google", "g-1"),
    ]
    assert all(x["recordRef"] == api.users["alice"] and x["collectionRef"] == "_pb_users_auth_" for x in got)
    r = await api.call("DELETE", f"{U}/records/{api.users['alice']}/external-auths/google", "su")
    assert r.status_code == 204, r.text
    r = await api.call("GET", f"{U}/records/{api.users['alice']}/external-auths", "su")
    assert [x["provider"] for x in r.json()] == ["github"]
    # Bob's google link is untouched.
    r = await api.call("GET", f"{U}/records/{api.users['bob']}/external-auths", "su")
    assert [x["providerId"] for x in r.json()] == ["g-2"]
    # Unlinking again: nothing there.
    error(await api.call("DELETE", f"{U}/records/{api.users['alice']}/external-auths/google", "su"), 404)


async def test_the_record_itself_may_list_and_unlink_its_links(api: Api) -> None:
    await link(api, "alice", "google", "g-1")
    await link(api, "bob", "google", "g-2")
    r = await api.call("GET", f"{U}/records/{api.users['alice']}/external-auths", "alice")
    assert r.status_code == 200 and [x["provider"] for x in r.json()] == ["google"]
    # Not someone else's.
    error(await api.call("GET", f"{U}/records/{api.users['bob']}/external-auths", "alice"), 403)
    error(await api.call("DELETE", f"{U}/records/{api.users['bob']}/external-auths/google", "alice"), 403)
    r = await api.call("DELETE", f"{U}/records/{api.users['alice']}/external-auths/google", "alice")
    assert r.status_code == 204
    r = await api.call("GET", f"{U}/records/{api.users['bob']}/external-auths", "su")
    assert len(r.json()) == 1


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/collections/nope/records/{id}/external-auths", 404),
        ("/api/collections/posts/records/{id}/external-auths", 404),  # not an auth collection
        (U + "/records/doesnotexist123/external-auths", 404),
        (U + "/records/{id}/external-auths/nope", 404),  # DELETE below: no such link
    ],
)
async def test_bad_targets_are_404(api: Api, url: str, status: int) -> None:
    method = "DELETE" if url.endswith("/nope") else "GET"
    error(await api.call(method, url.format(id=api.users["alice"]), "su"), status)


async def test_guests_and_other_records_are_refused(api: Api) -> None:
    alice = api.users["alice"]
    error(await api.call("GET", f"{U}/records/{alice}/external-auths"), 401)
    error(await api.call("DELETE", f"{U}/records/{alice}/external-auths/google"), 401)
    error(await api.call("GET", f"{U}/totp/{alice}"), 401)
    error(await api.call("GET", f"{U}/totp/{alice}", "alice"), 403)  # the record uses GET …/totp
    error(await api.call("GET", f"{U}/records/{alice}/external-auths", "", headers={"Authorization": "junk"}), 401)


async def test_totp_status_of_a_record(api: Api) -> None:
    alice = api.users["alice"]
    r = await api.call("GET", f"{U}/totp/{alice}", "su")
    assert r.status_code == 200 and r.json() == {"enabled": False, "pending": False, "recoveryCodesLeft": 0}
    r = await api.call("POST", f"{U}/totp/enroll", "alice")
    secret = r.json()["secret"]
    r = await api.call("GET", f"{U}/totp/{alice}", "su")
    assert r.json() == {"enabled": False, "pending": True, "recoveryCodesLeft": 0}
    assert "secret" not in r.text and secret not in r.text
    r = await api.call("POST", f"{U}/totp/confirm", "alice", json={"code": pyotp.TOTP(secret).at(time.time())})
    assert r.status_code == 200, r.text
    r = await api.call("GET", f"{U}/totp/{alice}", "su")
    assert r.json() == {"enabled": True, "pending": False, "recoveryCodesLeft": 10}
    # The superuser's reset (the existing DELETE) is seen here.
    assert (await api.call("DELETE", f"{U}/totp/{alice}", "su")).status_code == 204
    r = await api.call("GET", f"{U}/totp/{alice}", "su")
    assert r.json()["enabled"] is False
    error(await api.call("GET", f"{U}/totp/doesnotexist123", "su"), 404)
    error(await api.call("GET", f"/api/collections/posts/totp/{alice}", "su"), 404)
