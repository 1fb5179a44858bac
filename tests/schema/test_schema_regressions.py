"""Regressions found from outside: the documented example on a fresh database, views that read
what the same file creates, autogeneratePattern, and export -> plan being a fixed point."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from baas.core import Engine
from baas.errors import SchemaError
from baas.planner import make_plan
from baas.schema.loader import dump_schema, load_schema_text
from tests.harness import Http

DOCS = Path(__file__).resolve().parents[2] / "docs" / "schema.md"


def docs_example() -> str:
    """The first ```yaml block of docs/schema.md: the schema reference's main example."""
    return re.search(r"```yaml\n(.*?)```", DOCS.read_text(), re.S).group(1)


def collections(text: str) -> list:
    return load_schema_text(text).collections


async def replan(engine: Engine) -> str:
    """What planning the export of the applied schema would change (nothing, when it is a fixed point)."""
    exported = dump_schema(engine.registry.all())
    plan = await make_plan(engine.db, engine.registry.all(), collections(exported))
    return "\n".join(str(c) for c in plan.changes)


async def test_the_docs_example_applies_on_a_fresh_database(engine: Engine) -> None:
    await engine.apply(collections(docs_example()))
    titles = engine.registry.get("titles")
    assert [f.name for f in titles.fields] == ["id", "title"] and titles.field("title").type == "text"
    assert (await engine.plan(collections(docs_example()))).changes == []
    assert await replan(engine) == ""


VIEWS_IN_ONE_FILE = [
    (
        "a view over a collection of the same file",
        """
collections:
  - name: titles
    type: view
    viewQuery: "SELECT id, title FROM posts"
  - name: posts
    fields: [{name: title, type: text}]
""",
        {"titles": ["id", "title"]},
    ),
    (
        "a view over a view declared before it",
        """
collections:
  - name: short
    type: view
    viewQuery: "SELECT id, title FROM titles"
  - name: titles
    type: view
    viewQuery: "SELECT id, title, n FROM posts"
  - name: posts
    fields: [{name: title, type: text}, {name: n, type: number}]
""",
        {"short": ["id", "title"], "titles": ["id", "title", "n"]},
    ),
    (
        "a view over a field added by the same file",
        """
collections:
  - name: users
    type: auth
    fields: [{name: name, type: text}, {name: nickname, type: text}]
  - name: nicks
    type: view
    viewQuery: "SELECT id, nickname FROM users"
""",
        {"nicks": ["id", "nickname"]},
    ),
    (
        "relations between collections of the same file, both ways",
        """
collections:
  - name: a
    fields: [{name: b, type: relation, collection: b}]
  - name: b
    fields: [{name: a, type: relation, collection: a}]
  - name: ab
    type: view
    viewQuery: "SELECT a.id AS id, a.b AS b FROM a JOIN b ON b.id = a.b"
""",
        {"ab": ["id", "b"]},
    ),
]


@pytest.mark.parametrize("text,fields", [c[1:] for c in VIEWS_IN_ONE_FILE], ids=[c[0] for c in VIEWS_IN_ONE_FILE])
async def test_views_read_what_the_same_file_creates(engine: Engine, text: str, fields: dict) -> None:
    await engine.apply(collections(text))
    for name, names in fields.items():
        assert [f.name for f in engine.registry.get(name).fields] == names
    assert (await engine.plan(collections(text))).changes == []
    assert await replan(engine) == ""
    if "ab" in fields:  # the copied relation field points at b, by id
        assert engine.registry.get("ab").field("b").collectionId == engine.registry.get("b").id


async def test_a_view_cycle_and_a_broken_query_are_refused_and_nothing_changes(engine: Engine) -> None:
    cycle = """
collections:
  - {name: v1, type: view, viewQuery: "SELECT id FROM v2"}
  - {name: v2, type: view, viewQuery: "SELECT id FROM v1"}
"""
    broken = (
        "collections:\n  - {name: p, fields: [{name: t, type: text}]}\n"
        '  - {name: v, type: view, viewQuery: "SELECT id, nope FROM p"}\n'
    )
    for text in (cycle, broken):
        with pytest.raises(SchemaError) as info:
            await engine.apply(collections(text))
        assert "viewQuery" in str(info.value.errors) or "viewQuery" in info.value.message
    assert engine.registry.get("p") is None and engine.registry.get("v") is None
    if engine.db.dialect == "sqlite":
        rows = await engine.db.fetch("SELECT name FROM sqlite_master WHERE name IN ('p', 'v', 'v1', 'v2')")
    else:
        rows = await engine.db.fetch("SELECT relname FROM pg_class WHERE relname IN ('p', 'v', 'v1', 'v2')")
    assert rows == []


# -- autogeneratePattern ------------------------------------------------------------------------

GEN = {
    "name": "links",
    "type": "base",
    "createRule": "",
    "viewRule": "",
    "fields": [
        {"name": "slug", "type": "text", "autogeneratePattern": "[a-z0-9]{30}"},
        {"name": "code", "type": "text", "autogeneratePattern": "^AB-\\d{4}[xyz]{1,3}$"},
    ],
}


async def test_autogenerate_pattern_fills_empty_values_on_create(http: Http) -> None:
    r = await http.call("POST", "/api/collections", su=True, json=GEN)
    assert r.status_code == 200, r.text
    for body in ({}, {"slug": "", "code": None}):
        r = await http.call("POST", "/api/collections/links/records", json=body)
        assert r.status_code == 200, r.text
        rec = r.json()
        assert re.fullmatch(r"[a-z0-9]{30}", rec["slug"]), rec
        assert re.fullmatch(r"AB-\d{4}[xyz]{1,3}", rec["code"]), rec
    r = await http.call("POST", "/api/collections/links/records", json={"slug": "mine"})
    assert r.json()["slug"] == "mine"
    # An update leaves an emptied value empty (generation is for create only, as PocketBase).
    r = await http.call("PATCH", f"/api/collections/links/records/{rec['id']}", su=True, json={"slug": ""})
    assert r.status_code == 200 and r.json()["slug"] == "", r.text


@pytest.mark.parametrize("pattern", ["[a-z]+", "a*", "(ab){3}", "a|b", "[^a]{4}", ".{5}", "[a-z]{6000}", "[a-z"])
async def test_patterns_that_cannot_be_generated_are_refused_on_save(http: Http, pattern: str) -> None:
    body = {"name": "links", "fields": [{"name": "slug", "type": "text", "autogeneratePattern": pattern}]}
    r = await http.call("POST", "/api/collections", su=True, json=body)
    assert r.status_code == 400, r.text
    err = r.json()["data"]["fields"]["1"]["autogeneratePattern"]  # field 0 is id
    assert err["code"] == "validation_invalid_pattern" and "generate" in err["message"]
    assert http.engine.registry.get("links") is None
    assert (await http.call("GET", "/api/health")).status_code == 200


# -- export -> plan -----------------------------------------------------------------------------

FIXED_POINT = [
    ("number min 0 and max 0", "{name: n, type: number, min: 0, max: 0}"),
    ("negative number bounds", "{name: n, type: number, min: -5.5, max: -1, onlyInt: false}"),
    ("text options", "{name: t, type: text, min: 0, max: 10, pattern: '^a', presentable: true}"),
    ("empty domain lists", "{name: e, type: email, onlyDomains: [], exceptDomains: [x.org]}"),
    ("json limit", "{name: j, type: json, maxSize: 10}"),
]


@pytest.mark.parametrize("field", [c[1] for c in FIXED_POINT], ids=[c[0] for c in FIXED_POINT])
async def test_export_then_plan_changes_nothing(engine: Engine, field: str) -> None:
    text = f"""
collections:
  - name: posts
    listRule: ""
    fields:
      - {field}
  - name: v
    type: view
    listRule: ""
    viewRule: "id != ''"
    viewQuery: "SELECT id FROM posts"
"""
    await engine.apply(collections(text))
    assert await replan(engine) == ""
    exported = dump_schema(engine.registry.all())
    await engine.apply(collections(exported))  # applying the export keeps every option
    before = {c.name: c for c in engine.registry.all()}
    assert await replan(engine) == ""
    assert before["posts"].fields == engine.registry.get("posts").fields


async def test_auth_options_and_changed_system_fields_survive_export_and_apply(engine: Engine) -> None:
    text = """
collections:
  - name: members
    type: auth
    authToken: {duration: 3600}
    passwordAuth: {enabled: true, identityFields: [email]}
    fields:
      - {name: password, type: password, min: 12, required: true, hidden: true, system: true}
"""
    await engine.apply(collections(text))
    members = engine.registry.get("members")
    assert members.authToken == {"duration": 3600} and members.field("password").min == 12
    assert await replan(engine) == ""
    changed = text.replace("duration: 3600", "duration: 60")
    plan = await engine.plan(collections(changed))
    assert [str(c) for c in plan.changes] == ["~ members: alter options authToken"]
    await engine.apply(collections(changed))
    assert engine.registry.get("members").authToken == {"duration": 60}
