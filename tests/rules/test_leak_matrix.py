"""The rule/filter leak matrix: a client filter or sort is never an oracle for what the requester
could not list.

Each cell is a path kind (direct field, relation, nested relation, back-relation, multi relation,
modifiers, ``~``/``?=``/``?~``) with a probe that would match only a value hidden from the
requester. For every requester (guest, user, other user, API key) and every place a client
expression goes (list ``filter`` items, ``totalItems``, the realtime subscription ``filter``,
``sort``, ``expand``), the answer to the probe with the true hidden value must equal the answer to a
wrong guess, the hidden value must never appear in a response, and an allowed control through the
same path must still find its record (so a blanket 400 on relation paths fails).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest

from tests.harness import SSE
from tests.rules.leak_world import HIDDEN_OWNER, REQUESTERS, TAGS, World, build, diary_code, email, visible_diaries

Secret = Callable[[str], str]  # hidden owner -> the value the probe looks for

CODE: Secret = diary_code
PREFIX: Secret = lambda o: o.upper()  # noqa: E731  (a ``~`` probe recovers a code letter by letter)
EMAIL: Secret = email
EMAIL_PREFIX: Secret = lambda o: f"{o}@"  # noqa: E731
TAG: Secret = lambda o: TAGS[o][0]  # noqa: E731  (a tag only the hidden diary has)
LENGTH: Secret = lambda o: str(len(TAGS[o]))  # noqa: E731
LOCKED: Secret = lambda o: "TOPSECRET"  # noqa: E731
OWN = "own"  # in a control's finds: the open record whose diary is the requester's own
OWN_RECORD = {"amy": "O1", "bob": "O2"}
# O1's items are amy's diary and the public one: a hidden item joins as no row at all (as a missing
# record does), so "every item is CATDIARY" holds for O1 unless the requester sees amy's diary.
UNSEEN_O1 = "O1 unless amy's diary is visible"


@dataclass(frozen=True)
class Cell:
    name: str
    coll: str
    probe: str  # with {v}: the secret (or the wrong guess)
    secret: Secret
    wrong: str
    control: str  # an allowed expression through the same path
    finds: frozenset[str]  # what the control finds, for every requester
    locked: bool = False  # the path reaches a collection nobody but superusers may list: 400

    def expr(self, value: str) -> str:
        return self.probe.format(v=value)


def cell(
    name: str, coll: str, probe: str, secret: Secret, wrong: str, control: str, *finds: str, locked: bool = False
) -> Cell:
    return Cell(name, coll, probe, secret, wrong, control, frozenset(finds), locked)


CELLS = [
    # -- open: through relations ----------------------------------------------------------------
    cell("relation =", "open", 'mine.code = "{v}"', CODE, "NODIARY", 'mine.code = "CATDIARY"', "O3"),
    cell("relation ~", "open", 'mine.code ~ "{v}"', PREFIX, "QQQ", 'mine.code ~ "CAT"', "O3"),
    cell(
        "relation !=",
        "open",
        'mine != "" && mine.code != "{v}"',
        CODE,
        "NODIARY",
        'mine.code != "CATDIARY" && mine.code != ""',
        OWN,
    ),
    cell("multi relation ?=", "open", 'many.code ?= "{v}"', CODE, "NODIARY", 'many.code ?= "CATDIARY"', "O1", "O3"),
    cell("multi relation ?~", "open", 'many.code ?~ "{v}"', PREFIX, "QQQ", 'many.code ?~ "CAT"', "O1", "O3"),
    cell(
        "multi relation, every item",
        "open",
        'many.code = "{v}"',
        CODE,
        "NODIARY",
        'many.code = "CATDIARY"',
        "O3",
        UNSEEN_O1,
    ),
    cell("nested relation", "open", 'next.mine.code = "{v}"', CODE, "NODIARY", 'next.mine.code = "CATDIARY"', "O5"),
    cell(
        "nested relation to an email",
        "open",
        'mine.owner.email = "{v}"',
        EMAIL,
        "no@example.com",
        'mine.owner.email = "cat@example.com"',
        "O3",
    ),
    cell(
        "back-relation through a relation",
        "open",
        'owner.diary_via_owner.code ?= "{v}"',
        CODE,
        "NODIARY",
        'owner.diary_via_owner.code ?= "CATDIARY"',
        "O3",
    ),
    cell(":each on a related select", "open", 'mine.tags:each ?= "{v}"', TAG, "x", 'mine.tags:each ?= "a"', "O3"),
    cell(":length on a related select", "open", "mine.tags:length = {v}", LENGTH, "9", "mine.tags:length = 1", "O3"),
    cell(
        ":isset is no path modifier",
        "open",
        'mine.code:isset = true && mine.code = "{v}"',
        CODE,
        "NODIARY",
        'mine.code = "CATDIARY"',
        "O3",
    ),
    cell(
        "related email =",
        "open",
        'owner.email = "{v}"',
        EMAIL,
        "no@example.com",
        'owner.email = "cat@example.com"',
        "O3",
    ),
    cell(
        "related email :lower",
        "open",
        'owner.email:lower = "{v}"',
        EMAIL,
        "no@example.com",
        'owner.email:lower = "cat@example.com"',
        "O3",
    ),
    cell(
        "related email :each",
        "open",
        'owner.email:each ?= "{v}"',
        EMAIL,
        "no@example.com",
        'owner.email:each ?= "cat@example.com"',
        "O3",
    ),
    cell("related email ~", "open", 'owner.email ~ "{v}"', EMAIL_PREFIX, "zzz@", 'owner.email ~ "cat@"', "O3"),
    cell(
        "related email :lower ~",
        "open",
        'owner.email:lower ~ "{v}"',
        EMAIL_PREFIX,
        "zzz@",
        'owner.email:lower ~ "cat@"',
        "O3",
    ),
    cell(
        "relation into a locked collection",
        "open",
        'sec.code = "{v}"',
        LOCKED,
        "NOPE",
        'sec = "{V1}" && mine = "{Damy}"',
        "O1",
        locked=True,
    ),
    cell(
        "relation ~ into a locked collection",
        "open",
        'sec.code ~ "{v}"',
        LOCKED,
        "NOPE",
        'sec.id = "{V1}"',
        "O1",
        locked=True,
    ),
    # -- users: fields of the collection itself ---------------------------------------------------
    cell("direct email", "users", 'email = "{v}"', EMAIL, "no@example.com", 'email = "cat@example.com"', "cat"),
    cell(
        "direct email :lower",
        "users",
        'email:lower = "{v}"',
        EMAIL,
        "no@example.com",
        'email:lower = "cat@example.com"',
        "cat",
    ),
    cell(
        "direct email :each",
        "users",
        'email:each ?= "{v}"',
        EMAIL,
        "no@example.com",
        'email:each ?= "cat@example.com"',
        "cat",
    ),
    cell("direct email ~", "users", 'email ~ "{v}"', EMAIL_PREFIX, "zzz@", 'email ~ "cat@"', "cat"),
    cell(
        "back-relation",
        "users",
        'diary_via_owner.code ?= "{v}"',
        CODE,
        "NODIARY",
        'diary_via_owner.code ?= "CATDIARY"',
        "cat",
    ),
    cell(
        "back-relation ~",
        "users",
        'diary_via_owner.code ?~ "{v}"',
        PREFIX,
        "QQQ",
        'diary_via_owner.code ?~ "CAT"',
        "cat",
    ),
    cell(
        "back-relation into a locked collection",
        "users",
        'vault_via_owner.code ?= "{v}"',
        LOCKED,
        "NOPE",
        'diary_via_owner.code ?= "CATDIARY"',
        "cat",
        locked=True,
    ),
    # -- diary: the collection's own list rule ------------------------------------------------------
    cell("direct field under the list rule", "diary", 'code = "{v}"', CODE, "NODIARY", 'code = "CATDIARY"', "Dcat"),
]


def control_finds(c: Cell, who: str) -> set[str]:
    """What the control must find for ``who``."""
    out = {OWN_RECORD[who] if n == OWN else n for n in c.finds if n not in (OWN, UNSEEN_O1)}
    if OWN in c.finds and who in OWN_RECORD:
        out.add(OWN_RECORD[who])
    if UNSEEN_O1 in c.finds and "Damy" not in visible_diaries(who):
        out.add("O1")
    return out


@pytest.fixture(scope="module")
async def world(tmp_path_factory) -> AsyncIterator[World]:
    async for w in build(tmp_path_factory.mktemp("leaks")):
        yield w


def url(coll: str) -> str:
    return f"/api/collections/{coll}/records"


async def listing(w: World, who: str, coll: str, **query: str) -> tuple[int, Any, str]:
    r = await w.call("GET", url(coll), who, params={"perPage": "200", **query})
    return r.status_code, r.json(), r.text


def names(w: World, body: dict) -> set[str]:
    return {w.key_of(item["id"]) for item in body["items"]}


def assert_no_secret(text: str, secret: str, where: str) -> None:
    # a one-letter tag or a length is in every response anyway; codes, prefixes and emails are not
    assert len(secret) < 3 or secret not in text, f"{where}: the hidden value {secret!r} is in the response"


# -- list filter and totalItems ----------------------------------------------------------------------
@pytest.mark.parametrize("who", REQUESTERS)
@pytest.mark.parametrize("c", CELLS, ids=[c.name for c in CELLS])
async def test_client_filter_is_no_oracle(world: World, c: Cell, who: str):
    w = world
    secret = c.secret(HIDDEN_OWNER[who])
    answers = []
    for value in (secret, c.wrong):
        for query in ({"skipTotal": "1"}, {"perPage": "1"}):  # the items, then the count alone
            status, body, text = await listing(w, who, c.coll, filter=c.expr(value), **query)
            assert_no_secret(text, secret, c.name)
            answers.append((status, names(w, body) if status == 200 else body, body.get("totalItems")))
    assert answers[0] == answers[2] and answers[1] == answers[3], (
        f"{c.name} as {who}: the hidden value changes the answer: {answers}"
    )
    if c.locked:
        status, body, _ = answers[0][0], answers[0][1], None
        assert status == 400, answers
        assert body["status"] == 400 and body["data"] == {}
        assert body["message"].startswith("Something went wrong while processing your request."), body
    status, body, text = await listing(w, who, c.coll, filter=c.control.format(**w.ids))
    assert status == 200, text
    assert names(w, body) == control_finds(c, who), f"control {c.control!r} as {who}"
    assert body["totalItems"] == len(control_finds(c, who))


# -- the realtime subscription filter ------------------------------------------------------------------
def topic(coll: str, flt: str) -> str:
    return f"{coll}/*?options=" + quote(json.dumps({"query": {"filter": flt}}))


TOUCH = {
    "open": ("title", ["O1", "O2", "O3", "O4", "O5", "O6", "O7"]),
    "users": ("name", ["amy", "bob", "cat", "dan"]),
    "diary": ("code", ["Damy", "Dbob", "Dcat", "Ddan"]),
}


@pytest.mark.parametrize("coll", list(TOUCH))
@pytest.mark.parametrize("who", REQUESTERS)
async def test_realtime_filter_is_no_oracle(world: World, who: str, coll: str):
    """One SSE client per requester subscribes to every cell's probe, wrong guess and control; then
    each record is touched and a sentinel record created: messages arrive in write order, so once
    the sentinel's has arrived, nothing about the touched records can still come."""
    w = world
    cells = [c for c in CELLS if c.coll == coll]
    owner = HIDDEN_OWNER[who]
    topics = {}
    for c in cells:
        topics[c.name] = (
            topic(coll, c.expr(c.secret(owner))),
            topic(coll, c.expr(c.wrong)),
            topic(coll, c.control.format(**w.ids)),
        )
    sentinel = f"{coll}/*"
    headers = [(b"authorization", w.tokens[who].encode())] if who != "guest" else []
    async with SSE(w.app, headers) as sse:
        r = await w.client.post(
            "/api/realtime",
            headers=w.headers(who),
            json={"clientId": sse.client_id, "subscriptions": [t for ts in topics.values() for t in ts] + [sentinel]},
        )
        assert r.status_code == 204, r.text
        field, records = TOUCH[coll]
        for name in records:
            rec = (await w.call("GET", f"{url(coll)}/{w.ids[name]}")).json()
            r = await w.call("PATCH", f"{url(coll)}/{w.ids[name]}", json={field: rec[field]})
            assert r.status_code == 200, r.text
        extra = {
            "users": {"email": f"s{len(w.ids)}@example.com", "password": "password-123"},
            "diary": {"public": True},
        }.get(coll, {})  # a sentinel every requester may see
        last = await w.make(coll, f"sentinel{len(w.ids)}", **extra)
        got: dict[str, set[str]] = {}
        while True:
            event = await sse.next(30)
            msg = json.loads(event["data"])
            for c in cells:
                assert_no_secret(event["data"], c.secret(owner), f"realtime {c.name}")
            if event["event"] == sentinel and msg["record"]["id"] == last:
                break
            got.setdefault(event["event"], set()).add(w.key_of(msg["record"]["id"]))
    for c in cells:
        probe, wrong, control = topics[c.name]
        assert got.get(probe, set()) == got.get(wrong, set()), f"{c.name} as {who}: {got.get(probe)}"
        assert got.get(control, set()) == control_finds(c, who), f"control of {c.name} as {who}"


# -- sort ----------------------------------------------------------------------------------------------
SORTS = [  # (collection, sort, the record a visible value puts first)
    ("open", "mine.code", "O3", "last"),
    ("open", "-mine.code", "O3", "first"),
    ("open", "next.mine.code", "O5", "last"),
    ("open", "owner.diary_via_owner.code", "O3", "last"),
    ("open", "owner.email", "O3", "last"),
    ("open", "-owner.email:lower", "O3", "first"),
    ("users", "email", "cat", "last"),
    ("users", "-diary_via_owner.code", "cat", "first"),
]


@pytest.mark.parametrize("who", REQUESTERS)
@pytest.mark.parametrize("coll,spec,edge_record,edge", SORTS, ids=[s[1] for s in SORTS])
async def test_sort_is_no_oracle(world: World, who: str, coll: str, spec: str, edge_record: str, edge: str):
    """Changing values hidden from the requester (dan's diary code and email) never moves a record."""
    w = world
    orders = []
    try:
        for low in (True, False):
            r = await w.call("PATCH", f"{url('diary')}/{w.ids['Ddan']}", json={"code": "0000" if low else "zzzz"})
            assert r.status_code == 200, r.text
            r = await w.call(
                "PATCH",
                f"{url('users')}/{w.ids['dan']}",
                json={"email": "000dan@example.com" if low else "zzzdan@example.com"},
            )
            assert r.status_code == 200, r.text
            status, body, text = await listing(w, who, coll, sort=f"{spec},id", skipTotal="1")
            assert status == 200, text
            orders.append([w.key_of(i["id"]) for i in body["items"] if not w.key_of(i["id"]).startswith("sentinel")])
    finally:
        await w.call("PATCH", f"{url('diary')}/{w.ids['Ddan']}", json={"code": diary_code("dan")})
        await w.call("PATCH", f"{url('users')}/{w.ids['dan']}", json={"email": email("dan")})
    assert orders[0] == orders[1], f"sort={spec} as {who} follows a hidden value: {orders}"
    assert orders[0][0 if edge == "first" else -1] == edge_record, orders[0]


@pytest.mark.parametrize("who", REQUESTERS)
@pytest.mark.parametrize("spec", ["sec.code", "-sec.code", "vault_via_owner.code"])
async def test_sort_into_a_locked_collection_is_refused(world: World, who: str, spec: str):
    coll = "users" if "via" in spec else "open"
    status, body, _ = await listing(world, who, coll, sort=spec)
    assert status == 400 and body["data"] == {}, body


# -- expand ---------------------------------------------------------------------------------------------
def expanded(record: dict) -> list[dict]:
    out = []
    for value in (record.get("expand") or {}).values():
        for rec in value if isinstance(value, list) else [value]:
            out.append(rec)
            out.extend(expanded(rec))
    return out


@pytest.mark.parametrize("who", REQUESTERS)
async def test_expand_shows_only_viewable_records(world: World, who: str):
    w = world
    spec = "sec,mine,many,owner,next.mine,owner.diary_via_owner,next.sec"
    status, body, text = await listing(w, who, "open", expand=spec)
    assert status == 200, text
    for secret in (diary_code(HIDDEN_OWNER[who]), "TOPSECRET", email(HIDDEN_OWNER[who]), email("dan")):
        assert_no_secret(text, secret, f"expand as {who}")
    seen = {(rec["collectionName"], w.key_of(rec["id"])) for item in body["items"] for rec in expanded(item)}
    diaries = {name for coll, name in seen if coll == "diary"}
    assert diaries == visible_diaries(who), seen  # control: the public diary is expanded for all
    assert not any(coll == "vault" for coll, _ in seen)
    o3 = next(i for i in body["items"] if i["id"] == w.ids["O3"])
    assert o3["expand"]["mine"]["code"] == "CATDIARY" and o3["expand"]["owner"]["email"] == "cat@example.com"


# -- who keeps full access, and API key scopes -------------------------------------------------------
async def test_superuser_and_founder_rules_keep_full_access(world: World):
    w = world
    status, body, _ = await listing(w, "su", "open", filter='sec.code = "TOPSECRET" && mine.code = "AMYDIARY"')
    assert (status, names(w, body)) == (200, {"O1"})
    status, body, _ = await listing(w, "su", "users", filter='email:lower = "amy@example.com"')
    assert (status, names(w, body)) == (200, {"amy"})
    for who in REQUESTERS:  # gated's listRule reads the locked vault: the founder's rule may
        status, body, _ = await listing(w, who, "gated")
        assert (status, names(w, body)) == (200, {"G1"}), who


async def test_api_key_reaches_only_collections_it_may_list(world: World):
    w = world
    status, body, _ = await listing(w, "open-key", "open", filter='mine.code = "CATDIARY"')
    assert status == 400 and body["data"] == {}, body
    status, body, _ = await listing(w, "open-key", "open", filter='title = "o3" && mine = "{}"'.format(w.ids["Dcat"]))
    assert (status, names(w, body)) == (200, {"O3"})


async def test_api_key_expands_only_collections_it_may_view(world: World):
    w = world
    status, body, text = await listing(w, "open-key", "open", expand="mine,many,owner,next.mine")
    assert status == 200, text
    o3 = next(i for i in body["items"] if i["id"] == w.ids["O3"])
    assert o3["expand"] == {}, o3  # diary and users are outside the key's scopes
    assert "CATDIARY" not in text
    status, body, _ = await listing(w, "key", "open", expand="mine")  # control: a key scoped to "*"
    assert next(i for i in body["items"] if i["id"] == w.ids["O3"])["expand"]["mine"]["code"] == "CATDIARY"
