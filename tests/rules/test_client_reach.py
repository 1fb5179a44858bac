"""What a client expression may reach, at the compiler (issue 10, items 1 and 2); the same over HTTP,
for every requester and place, is `test_leak_matrix.py`."""

from __future__ import annotations

import msgspec
import pytest

from baas.rules import RequestInfo, RuleError, RuleForbidden, compile_filter, compile_sort
from baas.schema.defaults import users
from baas.schema.fields import RelationField, TextField
from baas.schema.model import Collection

USERS = msgspec.structs.replace(users(), listRule="", viewRule="")
LOCKED = Collection(
    name="locked",
    id="pbc_locked00001",
    fields=[TextField(name="code"), RelationField(name="owner", collectionId=USERS.id)],
)
SHY = Collection(
    name="shy",
    id="pbc_shy000000001",
    listRule="owner = @request.auth.id",
    fields=[TextField(name="code"), RelationField(name="owner", collectionId=USERS.id)],
)
OPEN = Collection(
    name="open",
    id="pbc_open00000001",
    listRule="",
    fields=[
        TextField(name="title"),
        RelationField(name="sec", collectionId=LOCKED.id),
        RelationField(name="shy", collectionId=SHY.id, maxSelect=3),
        RelationField(name="owner", collectionId=USERS.id),
    ],
)
LOOKUP = {c: coll for coll in (USERS, LOCKED, SHY, OPEN) for c in (coll.id, coll.name)}.get
GUEST = RequestInfo()
SUPERUSER = RequestInfo(auth={"id": "su", "collectionName": "_superusers"})
KEY = RequestInfo(
    auth={"id": "k", "collectionName": "_apikeys", "scopes": [{"collection": "open", "actions": ["list"]}]}
)


def client(expr: str, coll: Collection = OPEN, req: RequestInfo = GUEST, dialect: str = "sqlite"):
    return compile_filter(expr, collection=coll, lookup=LOOKUP, request=req, dialect=dialect, alias="m", client=True)


REFUSED = [  # (name, collection, expression): every hop into a collection the requester may not list
    ("forward relation", OPEN, 'sec.code = "TOPSECRET"'),
    ("forward relation with ~", OPEN, 'sec.code ~ "TOP"'),
    ("forward relation with a modifier", OPEN, 'sec.code:lower = "topsecret"'),
    ("back-relation", USERS, 'locked_via_owner.code ?= "TOPSECRET"'),
    ("back-relation after a relation", OPEN, 'owner.locked_via_owner.code ?= "TOPSECRET"'),
]


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
@pytest.mark.parametrize("name,coll,expr", REFUSED, ids=[r[0] for r in REFUSED])
def test_hop_into_a_locked_collection_is_a_400_for_clients_only(name: str, coll: Collection, expr: str, dialect: str):
    with pytest.raises(RuleError) as err:
        client(expr, coll, dialect=dialect)
    assert not isinstance(err.value, RuleForbidden)  # PocketBase answers 400, not 403
    client(expr, coll, SUPERUSER, dialect)  # superusers and founders' rules keep full access
    compile_filter(expr, collection=coll, lookup=LOOKUP, request=GUEST, dialect=dialect, alias="m")


def test_sort_into_a_locked_collection_is_refused_but_the_relation_id_is_not():
    with pytest.raises(RuleError):
        compile_sort("sec.code", collection=OPEN, lookup=LOOKUP, request=GUEST, dialect="sqlite", alias="m")
    client('sec = "x" || sec.id = "x"')  # the relation's own column is the open record's data


@pytest.mark.parametrize("expr", ['shy.code ?= "x"', 'shy.owner.email = "x"', 'owner.shy_via_owner.code ?= "x"'])
def test_hop_into_a_listable_collection_joins_only_what_its_list_rule_allows(expr: str):
    sql = client(expr, req=RequestInfo(auth={"id": "u1", "collectionName": "users"}))
    assert '"owner" = ' in sql.sql and "u1" in sql.params  # shy's listRule, with this requester's id
    assert "u1" not in sql.sql


def test_api_key_reaches_only_collections_in_its_list_scopes():
    with pytest.raises(RuleError):
        client('owner.name = "x"', req=KEY)
    client('title = "x"', req=KEY)


@pytest.mark.parametrize(
    "coll,path",
    [(USERS, "email"), (OPEN, "owner.email"), (OPEN, "shy.owner.email"), (USERS, "open_via_owner.owner.email")],
)
@pytest.mark.parametrize("mod", ["", ":lower", ":each", ":length"])
def test_email_is_masked_under_every_modifier_and_path(coll: Collection, path: str, mod: str):
    sql = client(f'{path}{mod} ?= "amy@example.com"', coll)
    assert '"emailVisibility"' in sql.sql, sql.sql
    compile_filter(
        f'{path}{mod} ?= "a"', collection=coll, lookup=LOOKUP, request=GUEST, dialect="sqlite", alias="m"
    )  # a founder's rule reads the column as it is
