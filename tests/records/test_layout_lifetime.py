"""A collection's `Layout` lives exactly as long as the collection object it was derived from."""

from __future__ import annotations

import gc
import weakref

from baas.core import SUPERUSER, Engine
from baas.records import service
from baas.records.draft import Draft
from baas.records.layout import layout
from baas.records.serialize import row_to_record
from baas.schema.fields import TextField
from baas.schema.model import Collection


async def _create(eng: Engine, body: dict[str, object]) -> dict[str, object]:
    """Create a post through the record-write service; the record as a superuser sees it."""
    draft = Draft(eng.registry.get("posts"), SUPERUSER, "create", dict(body))
    await service.commit(eng, draft)
    assert draft.row is not None
    return row_to_record(draft.coll, layout(draft.coll).fields, draft.row, None)


async def test_a_replaced_collections_layout_is_dropped(engine: Engine) -> None:
    coll = engine.registry.get("posts")
    assert coll is not None
    lay = layout(coll)
    await _create(engine, {"title": "before"})  # builds the lazily made parts too (decoders)
    assert lay.select("m") and lay._decoders is not None
    old_coll, old_lay = weakref.ref(coll), weakref.ref(lay)
    title = coll.field("title")
    assert title is not None
    title_id = title.id

    # Rename `title` (same field id): the registry replaces the collection object.
    def renamed() -> list[Collection]:
        out = []
        for c in engine.registry.all():
            if c.name == "posts":
                fields = [
                    TextField(name="heading", id=f.id, required=True) if f.id == title_id else f for f in c.fields
                ]
                c = Collection(**{**{k: getattr(c, k) for k in c.__struct_fields__}, "fields": fields})
            out.append(c)
        return out

    await engine.apply(renamed)
    del coll, lay, title
    gc.collect()
    assert old_coll() is None, "the replaced collection is still referenced"
    assert old_lay() is None, "the replaced collection's layout outlived it"

    # The renamed field gets a fresh layout: new statement, new decoders, writes and reads by the new name.
    new = engine.registry.get("posts")
    assert new is not None
    fresh = layout(new)
    names = [f.name for f in fresh.fields]
    assert "heading" in names and "title" not in names
    assert '"heading"' in fresh.insert_sql and '"title"' not in fresh.insert_sql
    assert '"m"."heading"' in fresh.select("m")
    record = await _create(engine, {"heading": "after"})
    assert record["heading"] == "after" and "title" not in record
    rows = await engine.db.fetch('SELECT "heading" FROM "posts" ORDER BY "heading"')
    assert [r[0] for r in rows] == ["after", "before"]


def test_layouts_follow_their_own_collection_object() -> None:
    """Collections made and dropped one after another (ids get reused) never see each other's
    layout, and the dropped ones leave nothing behind."""
    kept = [Collection(name="kept", fields=[TextField(name="k")])]
    refs = []
    for i in range(300):
        c = Collection(name=f"c{i}", fields=[TextField(name=f"f{i}")])
        lay = layout(c)
        assert layout(c) is lay
        assert [f.name for f in lay.fields] == [f"f{i}"] and f'"c{i}"' in lay.insert_sql
        refs.append(weakref.ref(lay))
        del c, lay
    gc.collect()
    assert all(r() is None for r in refs)
    assert layout(kept[0]) is layout(kept[0])
