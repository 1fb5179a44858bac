"""The last superuser can't be deleted (as PocketBase refuses it): nobody could sign in to the
console or the collections API again. Any other superuser can."""

from __future__ import annotations

from tests.harness import Api

SU = "/api/collections/_superusers/records"


async def ids(api: Api) -> list[str]:
    r = await api.call("GET", SU, "su")
    assert r.status_code == 200, r.text
    return [rec["id"] for rec in r.json()["items"]]


async def test_the_only_superuser_cant_be_deleted_but_one_of_two_can(api: Api):
    (only,) = await ids(api)
    r = await api.call("DELETE", f"{SU}/{only}", "su")
    assert r.status_code == 400, r.text
    assert r.json() == {"status": 400, "message": "You can't delete the only existing superuser.", "data": {}}
    assert await ids(api) == [only]

    body = {"email": "second@example.com", "password": "second-password-1", "passwordConfirm": "second-password-1"}
    r = await api.call("POST", SU, "su", json=body)
    assert r.status_code == 200, r.text
    second = r.json()["id"]
    r = await api.call("DELETE", f"{SU}/{second}", "su")
    assert r.status_code == 204, r.text
    assert await ids(api) == [only]


async def test_a_batch_deleting_every_superuser_applies_nothing(api: Api):
    (only,) = await ids(api)
    body = {"email": "second@example.com", "password": "second-password-1", "passwordConfirm": "second-password-1"}
    r = await api.call("POST", SU, "su", json=body)
    second = r.json()["id"]
    r = await api.call("PATCH", "/api/settings", "su", json={"batch": {"enabled": True}})
    assert r.status_code == 200, r.text
    requests = [{"method": "DELETE", "url": f"{SU}/{rid}"} for rid in (second, only)]
    r = await api.call("POST", "/api/batch", "su", json={"requests": requests})
    assert r.status_code == 400, r.text
    assert sorted(await ids(api)) == sorted([only, second])
