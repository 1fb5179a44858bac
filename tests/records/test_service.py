"""The record-write service: `Draft`, `apply_body`, `Layout` and the stages in `baas.records.service`."""

from __future__ import annotations

from typing import Any

import pytest

from baas.core import SUPERUSER, Engine
from baas.errors import ValidationFailed
from baas.hooks import RecordEvent
from baas.records import service
from baas.records.draft import UNSET, Draft, apply_body
from baas.records.layout import layout
from baas.records.write import create_record, save
from baas.rules.context import RequestInfo
from baas.schema.loader import load_schema_text
from tests.records.schema import SCHEMA

GUEST = RequestInfo()


def _draft(eng: Engine, action: Any, body: dict[str, Any], req: RequestInfo = SUPERUSER, **kw: Any) -> Draft:
    return Draft(eng.registry.get("posts"), req, action, body, **kw)


async def _author(eng: Engine, name: str = "ann") -> str:
    coll = eng.registry.get("authors")
    return await eng.db.write(lambda conn: create_record(conn, eng.reader(), coll, {"name": name}))


# -- body to values ------------------------------------------------------------------------------


async def test_apply_body_prepares_values_modifiers_and_errors(engine: Engine) -> None:
    draft = _draft(engine, "create", {})
    draft.values = layout(draft.coll).defaults()
    apply_body(draft, {"title": "t", "views": "7", "views+": 3, "nope": 1, "collectionName": "x", "created": "2020"})
    assert draft.values["title"] == "t"
    assert draft.values["views"] == 10  # the plain key first, then the modifier
    assert draft.touched == {"title", "views"}  # autodate and ignored keys are not the client's
    assert set(draft.errors) == {"nope"} and draft.errors["nope"].code == "validation_unknown_field"


async def test_apply_body_hidden_fields_are_the_superusers(engine: Engine) -> None:
    guest = _draft(engine, "create", {}, GUEST)
    guest.values = layout(guest.coll).defaults()
    apply_body(guest, {"secret": "s"})
    assert guest.errors["secret"].code == "validation_forbidden" and guest.values["secret"] == ""
    su = _draft(engine, "create", {})
    su.values = layout(su.coll).defaults()
    apply_body(su, {"secret": "s"})
    assert not su.errors and su.values["secret"] == "s"


async def test_apply_body_trusted_changes(engine: Engine) -> None:
    """A before-hook's changes: any field, earlier errors of those fields dropped, UNSET = default."""
    draft = _draft(engine, "update", {}, GUEST, record_id="r1")
    draft.values = {**layout(draft.coll).defaults(), "id": "r1", "views": 5}
    apply_body(draft, {"secret": "from client"})
    assert draft.errors["secret"].code == "validation_forbidden"
    apply_body(draft, {"secret": "from hook"}, trusted=True)
    assert draft.values["secret"] == "from hook" and not draft.errors
    apply_body(draft, {"views": UNSET, "id": "other", "bogus": 1}, trusted=True)
    assert draft.values["views"] == 0 and "bogus" not in draft.values
    assert draft.errors["id"].code == "validation_id_change"
    assert draft.errors["bogus"].code == "validation_unknown_field"


# -- layout ----------------------------------------------------------------------------------------


async def test_layout_is_cached_per_collection_version(engine: Engine) -> None:
    coll = engine.registry.get("posts")
    lay = layout(coll)
    assert layout(coll) is lay
    assert lay.insert_sql.startswith('INSERT INTO "posts" (')
    assert {"password", "tokenKey"} >= lay.secret_names - {"tokenKey"}
    assert [f.name for f in lay.relations] == ["author"] and lay.file_fields == ()
    assert lay.visible(False) == tuple(n for n in (f.name for f in coll.fields) if n != "secret")
    await create_record_in(engine, {"title": "x"})
    assert not [k for k in vars(coll) if k.startswith("_")]  # nothing cached on the collection itself
    # A schema change replaces the collection object: its layout is new, with the new field.
    extra = load_schema_text(
        SCHEMA.replace("{name: views, type: number}", "{name: views, type: number}\n      - {name: extra, type: text}")
    )
    await engine.apply(
        lambda: [
            *(c for c in engine.registry.all() if c.name != "posts"),
            *(c for c in extra.collections if c.name == "posts"),
        ],
        accept_data_loss=True,
    )
    new = engine.registry.get("posts")
    assert new is not coll and layout(new) is not lay and '"extra"' in layout(new).insert_sql


async def create_record_in(eng: Engine, body: dict[str, Any]) -> str:
    draft = _draft(eng, "create", body)
    await service.commit(eng, draft)
    return draft.record_id


# -- the stages ------------------------------------------------------------------------------------


async def test_create_update_delete_through_the_service(engine: Engine) -> None:
    author = await _author(engine)
    draft = _draft(engine, "create", {"title": "hello", "views": 2, "author": author}, GUEST)
    await service.prepare(engine, draft)
    assert draft.prepared and draft.values["title"] == "hello"  # before the write lock
    await engine.db.write(lambda conn: save(conn, engine.registry, draft, engine.hooks))
    assert draft.record_id and draft.row is not None
    rec = await service.respond(engine.reader(GUEST), draft, "author", "")
    assert rec["title"] == "hello" and rec["expand"]["author"]["name"] == "ann"
    assert "secret" not in rec and rec["created"] == rec["updated"] != ""

    upd = _draft(engine, "update", {"views+": 5}, GUEST, record_id=draft.record_id)
    await service.commit(engine, upd)
    assert upd.current is not None and upd.current["views"] == 2
    assert (await service.respond(engine.reader(GUEST), upd))["views"] == 7

    gone = _draft(engine, "delete", {}, GUEST, record_id=draft.record_id)
    await service.commit(engine, gone)
    assert gone.current is not None and gone.current["views"] == 7
    assert service.stored_record(gone, engine.db.dialect)["id"] == draft.record_id


async def test_validation_and_missing_relations_write_nothing(engine: Engine) -> None:
    draft = _draft(engine, "create", {"views": 1, "author": "missing"})
    with pytest.raises(ValidationFailed) as err:
        await service.commit(engine, draft)
    assert set(err.value.data) == {"title", "author"}
    assert err.value.data["author"].code == "validation_missing_rel_records"
    assert draft.row is None
    assert await engine.db.fetchval('SELECT COUNT(*) FROM "posts"') == 0


async def test_before_hook_changes_are_validated_and_after_hooks_get_the_record(engine: Engine) -> None:
    seen: list[dict[str, Any]] = []

    async def before(e: RecordEvent) -> None:
        e.record["views"] = "12"  # prepared like a client's value
        e.record["secret"] = "set by server code"
        await e.next()

    async def after(e: RecordEvent) -> None:
        seen.append(e.record)
        await e.next()

    engine.hooks.on_record_create.bind_for("posts", before)
    engine.hooks.on_record_after_create_success.bind_for("posts", after)
    draft = _draft(engine, "create", {"title": "t"}, GUEST)
    await service.commit(engine, draft)
    assert not draft.errors and draft.values["views"] == 12
    await service.after(engine, [draft])
    assert seen[0]["views"] == 12 and seen[0]["secret"] == "set by server code"  # after-hooks see all

    async def bad(e: RecordEvent) -> None:
        e.record["views"] = "not a number"
        await e.next()

    engine.hooks.on_record_create.unbind_all()
    engine.hooks.on_record_create.bind_for("posts", bad)
    with pytest.raises(ValidationFailed) as err:
        await service.commit(engine, _draft(engine, "create", {"title": "t"}))
    assert set(err.value.data) == {"views"}


async def test_drafts_share_one_transaction(engine: Engine) -> None:
    """What batch does: several drafts saved in one transaction; one failure undoes all."""
    ok = _draft(engine, "create", {"title": "first"})
    bad = _draft(engine, "create", {"title": ""})

    async def run(conn: Any) -> None:
        for d in (ok, bad):
            await save(conn, engine.registry, d, engine.hooks)

    with pytest.raises(ValidationFailed):
        await engine.db.write(run)
    assert await engine.db.fetchval('SELECT COUNT(*) FROM "posts"') == 0
