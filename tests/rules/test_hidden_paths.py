"""Found by review after the leak matrix landed: two more oracles in client filters and sorts.

1. A hidden field was refused only as the last part of a path: as a JSON path's field
   (``secrets.pin``), a relation hop (``hrel.name``) or the relation behind a back-relation
   (``open_via_hrel.title``) it answered, and ``~`` recovered the value. Now refused (403) at
   every step, as PocketBase refuses it (400 there).
2. A private email read as "the requester's own" when the auth record's id equalled the
   requester's id in *another* auth collection; clients choose ids on sign-up, so anyone could
   claim a victim's id and recover the address. Now only a record of the same collection is own.

Every probe is paired with a wrong guess (same answer) and an allowed control (still finds).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.rules.leak_world import World, build

SCHEMA = """
collections:
  - name: staff
    type: auth
    listRule: ""
    viewRule: ""
    fields:
      - {name: name, type: text}
  - name: open
    listRule: ""
    viewRule: ""
    fields:
      - {name: title, type: text}
      - {name: secrets, type: json, hidden: true}
      - {name: hrel, type: relation, collection: users, hidden: true}
      - {name: owner, type: relation, collection: users}
      - {name: st, type: relation, collection: staff}
"""
BOSS = "boss@corp.example"


async def seed(w: World) -> None:
    await w.make("users", "bob", email="bob@example.com", password="password-123", name="bob")
    await w.make("staff", "boss", email=BOSS, password="password-123", name="Boss", emailVisibility=False)
    await w.make(
        "open", "O1", title="o1", secrets={"pin": "4711"}, hrel=w.ids["bob"], owner=w.ids["bob"], st=w.ids["boss"]
    )
    # mallory signs up in users with the id of the boss's staff record (clients may choose ids)
    r = await w.call(
        "POST",
        "/api/collections/users/records",
        "su",
        json={
            "id": w.ids["boss"],
            "email": "mallory@example.com",
            "password": "password-123",
            "passwordConfirm": "password-123",
        },
    )
    assert r.status_code == 200, r.text
    r = await w.client.post(
        "/api/collections/users/auth-with-password",
        json={"identity": "mallory@example.com", "password": "password-123"},
    )
    assert r.status_code == 200, r.text
    w.tokens["mallory"] = r.json()["token"]


@pytest.fixture(scope="module")
async def world(tmp_path_factory) -> AsyncIterator[World]:
    async for w in build(tmp_path_factory.mktemp("hidden"), SCHEMA, seed):
        yield w


async def answer(w: World, who: str, coll: str, **params: str) -> tuple[int, int | None, list[str]]:
    r = await w.call("GET", f"/api/collections/{coll}/records", who, params=params)
    body = r.json()
    return r.status_code, body.get("totalItems"), [i["id"] for i in body.get("items", [])]


HIDDEN_PATHS = [
    # (name, collection, probe with the true value, the same probe with a wrong guess, param)
    ("hidden JSON field's path", "open", 'secrets.pin = "4711"', 'secrets.pin = "0000"', "filter"),
    ("hidden JSON field's path with ~", "open", 'secrets.pin ~ "47"', 'secrets.pin ~ "00"', "filter"),
    ("hidden relation as a hop", "open", 'hrel.name = "bob"', 'hrel.name = "amy"', "filter"),
    (
        "hidden relation behind a back-relation",
        "users",
        'open_via_hrel.title ?= "o1"',
        'open_via_hrel.title ?= "zz"',
        "filter",
    ),
    ("sort by a hidden JSON field's path", "open", "secrets.pin", "-secrets.pin", "sort"),
]


@pytest.mark.parametrize("who", ["guest", "mallory"])
@pytest.mark.parametrize("name,coll,probe,guess,param", HIDDEN_PATHS, ids=[h[0] for h in HIDDEN_PATHS])
async def test_hidden_fields_are_no_way_through(
    world: World, who: str, name: str, coll: str, probe: str, guess: str, param: str
) -> None:
    hit, miss = await answer(world, who, coll, **{param: probe}), await answer(world, who, coll, **{param: guess})
    assert hit[0] == miss[0] == 403, (hit, miss)
    # controls through the same kinds of path still work
    ok = await answer(world, who, "open", filter='owner.name = "bob" && st.name = "Boss"')
    assert ok[:2] == (200, 1)
    back = await answer(world, who, "users", filter='open_via_owner.title ?= "o1"')
    assert back[2] == [world.ids["bob"]]


EMAIL_PROBES = [
    # (name, collection, filter with the hidden address, the same with a wrong guess)
    ("direct, same id in another auth collection", "staff", f'email = "{BOSS}"', 'email = "nope@corp.example"'),
    ("direct with ~", "staff", 'email ~ "boss@c"', 'email ~ "nope@c"'),
    ("direct with :lower", "staff", f'email:lower = "{BOSS}"', 'email:lower = "nope@corp.example"'),
    ("through a relation", "open", f'st.email = "{BOSS}"', 'st.email = "nope@corp.example"'),
]


@pytest.mark.parametrize("name,coll,probe,guess", EMAIL_PROBES, ids=[e[0] for e in EMAIL_PROBES])
async def test_an_equal_id_in_another_auth_collection_does_not_unmask_an_email(
    world: World, name: str, coll: str, probe: str, guess: str
) -> None:
    hit = await answer(world, "mallory", coll, filter=probe)
    miss = await answer(world, "mallory", coll, filter=guess)
    assert hit == miss and hit[:2] == (200, 0), (hit, miss)
    # control: mallory's own (private) address still matches for her
    own = await answer(world, "mallory", "users", filter='email = "mallory@example.com"')
    assert own[2] == [world.ids["boss"]]
