"""The planner on a real database: create, rename by id, convert types, refuse data loss, history."""

from __future__ import annotations

import msgspec
import pytest

from baas.core import Engine
from baas.errors import SchemaError
from baas.records.write import create_record
from baas.schema.loader import load_schema_text
from baas.settings import Settings


@pytest.fixture
async def engine(tmp_path, db_url):
    eng = Engine(Settings(data_dir=str(tmp_path), db_url=db_url))
    await eng.start()
    yield eng
    await eng.stop()


def schema(text: str):
    return load_schema_text(text).collections


BASE = """
collections:
  - name: posts
    listRule: ""
    fields:
      - {name: title, type: text}
      - {name: views, type: text}
      - {name: tag, type: select, values: [a, b]}
"""


async def insert(eng: Engine, coll: str, body: dict) -> str:
    c = eng.registry.get(coll)
    return await eng.db.write(lambda conn: create_record(conn, eng.reader(), c, body))


async def rows(eng: Engine, sql: str) -> list[tuple]:
    return await eng.db.fetch(sql)


async def test_create_then_no_changes(engine: Engine) -> None:
    plan = await engine.apply(schema(BASE))
    assert any(c.action == "create" for c in plan.changes)
    again = await engine.plan(schema(BASE))
    assert again.changes == []
    history = await rows(engine, 'SELECT "source" FROM "_schema_history" ORDER BY "id"')
    assert len(history) == 2  # install + posts


async def test_rename_follows_the_field_id(engine: Engine) -> None:
    await engine.apply(schema(BASE))
    await insert(engine, "posts", {"title": "kept"})
    fid = engine.registry.get("posts").field("title").id
    renamed = BASE.replace("{name: title, type: text}", f"{{name: heading, type: text, id: {fid}}}")
    plan = await engine.apply(schema(renamed))
    assert [c.action for c in plan.changes] == ["rename_field"]
    assert await rows(engine, 'SELECT "heading" FROM "posts"') == [("kept",)]


async def test_type_change_converts_or_refuses(engine: Engine) -> None:
    await engine.apply(schema(BASE))
    await insert(engine, "posts", {"views": "12", "tag": "a"})
    as_number = BASE.replace("{name: views, type: text}", "{name: views, type: number}")
    await engine.apply(schema(as_number))
    assert await rows(engine, 'SELECT "views" FROM "posts"') == [(12,)]
    multi = as_number.replace("values: [a, b]}", "values: [a, b], maxSelect: 2}")
    await engine.apply(schema(multi))
    (tag,) = (await rows(engine, 'SELECT "tag" FROM "posts"'))[0]
    assert msgspec.json.decode(tag) == ["a"] if isinstance(tag, str) else tag == ["a"]
    # text that is not a number: refused with the record named, nothing changed
    await insert(engine, "posts", {"title": "not a number"})
    back = multi.replace("{name: title, type: text}", "{name: title, type: number}")
    with pytest.raises(SchemaError, match="Cannot convert posts.title"):
        await engine.apply(schema(back))
    assert engine.registry.get("posts").field("title").type == "text"


async def test_dropping_data_needs_the_flag(engine: Engine) -> None:
    await engine.apply(schema(BASE))
    await insert(engine, "posts", {"title": "data"})
    dropped = BASE.replace("      - {name: title, type: text}\n", "")
    plan = await engine.plan(schema(dropped))
    assert plan.destructive
    with pytest.raises(SchemaError, match="lose data"):
        await engine.apply(schema(dropped))
    assert engine.registry.get("posts").field("title") is not None
    await engine.apply(schema(dropped), accept_data_loss=True)
    assert engine.registry.get("posts").field("title") is None
    # dropping an empty field needs no flag
    await engine.apply(schema(dropped.replace("      - {name: views, type: text}\n", "")))


async def test_dropping_a_collection_with_data_needs_the_flag(engine: Engine) -> None:
    await engine.apply(schema(BASE))
    await insert(engine, "posts", {"title": "x"})
    others = [c for c in engine.registry.all() if c.name != "posts"]
    with pytest.raises(SchemaError, match="lose data"):
        await engine.apply(others, prune=True)
    await engine.apply(others, prune=True, accept_data_loss=True)
    assert engine.registry.get("posts") is None


async def test_invalid_schemas_are_refused(engine: Engine) -> None:
    bad = """
collections:
  - name: posts
    fields:
      - {name: author, type: relation, collection: nowhere}
"""
    with pytest.raises(SchemaError):
        await engine.apply(schema(bad))
    with pytest.raises(SchemaError):
        await engine.apply(schema("collections:\n  - name: 'bad name'\n"))
    with pytest.raises(SchemaError):
        await engine.apply(schema("collections:\n  - name: p\n    fields: [{name: id2, type: select}]\n"))
    assert engine.registry.get("posts") is None


async def test_view_collection(engine: Engine) -> None:
    await engine.apply(schema(BASE))
    await insert(engine, "posts", {"title": "a", "views": "5"})
    view = (
        BASE
        + """
  - name: titles
    type: view
    listRule: ""
    viewQuery: "SELECT id, title FROM posts"
"""
    )
    await engine.apply(schema(view))
    v = engine.registry.get("titles")
    assert [f.name for f in v.fields] == ["id", "title"] and v.field("title").type == "text"
    assert await rows(engine, 'SELECT "title" FROM "titles"') == [("a",)]
    with pytest.raises(SchemaError):
        await engine.apply(schema(view.replace("SELECT id, title FROM posts", "DELETE FROM posts")))
