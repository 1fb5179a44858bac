"""The fixed dataset the filter tests run on: collections, records, and short record names.

Record ids are 15-char ``[a-z0-9]`` strings (so PocketBase accepts them on create); tests
refer to rows by short names (``p1``, ``u2``…) mapped through `ID`.
"""

from __future__ import annotations

from typing import Any

from baas.schema.fields import (
    BoolField,
    DateField,
    EditorField,
    EmailField,
    JSONField,
    NumberField,
    RelationField,
    SelectField,
    TextField,
)
from baas.schema.model import Collection


def rid(short: str) -> str:
    """``p1`` -> ``post00000000001`` (15 chars)."""
    prefix = {"t": "team", "u": "user", "p": "post", "c": "comm"}[short[0]]
    return prefix + short[1:].rjust(11, "0")


def short(record_id: str) -> str:
    return record_id[0] + str(int(record_id[4:]))


TEAMS = Collection(name="teams", id="pbc_teams000001", fields=[TextField(name="name")])
USERS = Collection(
    name="users",
    id="pbc_users000001",
    fields=[
        TextField(name="name"),
        EmailField(name="email"),
        NumberField(name="age"),
        BoolField(name="verified"),
        RelationField(name="team", collectionId=TEAMS.id, maxSelect=1),
    ],
)
POSTS = Collection(
    name="posts",
    id="pbc_posts000001",
    fields=[
        TextField(name="title"),
        EditorField(name="body"),
        NumberField(name="views"),
        BoolField(name="published"),
        NumberField(name="score"),
        SelectField(name="tags", values=["a", "b", "c", "d"], maxSelect=4),
        SelectField(name="status", values=["draft", "live"], maxSelect=1),
        RelationField(name="author", collectionId=USERS.id, maxSelect=1),
        RelationField(name="editors", collectionId=USERS.id, maxSelect=5),
        JSONField(name="meta"),
        DateField(name="published_at"),
    ],
)
COMMENTS = Collection(
    name="comments",
    id="pbc_comms000001",
    fields=[
        RelationField(name="post", collectionId=POSTS.id, maxSelect=1),
        TextField(name="message"),
        RelationField(name="author", collectionId=USERS.id, maxSelect=1),
    ],
)
COLLECTIONS = [TEAMS, USERS, POSTS, COMMENTS]

TEAM_ROWS: list[dict[str, Any]] = [
    {"id": "t1", "name": "Red"},
    {"id": "t2", "name": "Blue"},
]
USER_ROWS: list[dict[str, Any]] = [
    {"id": "u1", "name": "Alice", "email": "alice@example.com", "age": 30, "verified": True, "team": "t1"},
    {"id": "u2", "name": "Bob", "email": "bob@example.com", "age": 25, "verified": False, "team": "t2"},
    {"id": "u3", "name": "Carol", "email": "carol@x.org", "age": 41, "verified": True, "team": ""},
    {"id": "u4", "name": "Dave O'Neil", "email": "dave@example.com", "age": 0, "verified": False, "team": "t1"},
]
POST_ROWS: list[dict[str, Any]] = [
    {
        "id": "p1",
        "title": "Hello World",
        "body": "<p>first</p>",
        "views": 10,
        "published": True,
        "score": 4.5,
        "tags": ["a", "b"],
        "status": "live",
        "author": "u1",
        "editors": ["u2", "u3"],
        "meta": {"a": {"b": 1}, "tag": "x", "n": 5, "flag": True, "list": [1, 2]},
        "published_at": "2024-01-15 10:00:00.000Z",
    },
    {
        "id": "p2",
        "title": "Second post",
        "body": "",
        "views": 0,
        "published": False,
        "score": -1,
        "tags": [],
        "status": "draft",
        "author": "u2",
        "editors": [],
        "meta": None,
        "published_at": "",
    },
    {
        "id": "p3",
        "title": "100% pure",
        "body": "<b>bold</b>",
        "views": 100,
        "published": True,
        "score": 0,
        "tags": ["c"],
        "status": "live",
        "author": "u1",
        "editors": ["u1"],
        "meta": {"a": {"b": 2}, "tag": "y"},
        "published_at": "2023-06-01 00:00:00.000Z",
    },
    {
        "id": "p4",
        "title": "under_score",
        "body": "",
        "views": 5,
        "published": False,
        "score": 2.25,
        "tags": ["a"],
        "status": "",
        "author": "",
        "editors": ["u1", "u2"],
        "meta": {"n": "5"},
        "published_at": "2099-01-01 00:00:00.000Z",
    },
    {
        "id": "p5",
        "title": 'O\'Reilly "quoted" back\\slash',
        "body": "x",
        "views": 7,
        "published": True,
        "score": 3,
        "tags": ["b", "c", "d"],
        "status": "live",
        "author": "u3",
        "editors": ["u3"],
        "meta": [1, 2, 3],
        "published_at": "2024-12-31 23:59:59.999Z",
    },
    {
        "id": "p6",
        "title": "Ünïcødé 日本語",
        "body": "",
        "views": 42,
        "published": True,
        "score": 10,
        "tags": ["d"],
        "status": "live",
        "author": "u4",
        "editors": ["u4", "u1"],
        "meta": {"tag": "x"},
        "published_at": "2024-01-15 10:00:00.000Z",
    },
    {
        "id": "p7",
        "title": "",
        "body": "",
        "views": 1,
        "published": False,
        "score": 1,
        "tags": ["a", "b", "c", "d"],
        "status": "draft",
        "author": "u2",
        "editors": ["u2"],
        "meta": {},
        "published_at": "",
    },
    {
        "id": "p8",
        "title": "hello again",
        "body": "",
        "views": 3,
        "published": True,
        "score": 0.5,
        "tags": ["b"],
        "status": "live",
        "author": "u4",
        "editors": ["u2", "u4"],
        "meta": "text",
        "published_at": "2020-02-02 02:02:02.000Z",
    },
]
COMMENT_ROWS: list[dict[str, Any]] = [
    {"id": "c1", "post": "p1", "message": "Great", "author": "u2"},
    {"id": "c2", "post": "p1", "message": "Nice post", "author": "u3"},
    {"id": "c3", "post": "p3", "message": "great stuff", "author": "u2"},
    {"id": "c4", "post": "p5", "message": "meh", "author": "u1"},
    {"id": "c5", "post": "p5", "message": "Great again", "author": "u2"},
]
ROWS = {"teams": TEAM_ROWS, "users": USER_ROWS, "posts": POST_ROWS, "comments": COMMENT_ROWS}


def record(coll: Collection, row: dict[str, Any]) -> dict[str, Any]:
    """A row with real ids in its id and relation values (the shape PocketBase takes on create)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        f = coll.field(key)
        if key == "id":
            out[key] = rid(value)
        elif isinstance(f, RelationField):
            out[key] = [rid(v) for v in value] if isinstance(value, list) else (rid(value) if value else "")
        else:
            out[key] = value
    return out


def lookup(name_or_id: str) -> Collection | None:
    for c in COLLECTIONS:
        if name_or_id in (c.name, c.id):
            return c
    return None
