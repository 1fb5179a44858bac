"""The record-write service: everything around one record write, in one place.

Used by the records routes (`baas.api.records`), batch (`baas.api.batch`) and functions
(`baas.functions.context`); auth flows and the installer use `baas.records.write`'s short form.

    draft = Draft(coll, req, "create", body, new_id=files.record_id, files=files)
    await commit(eng, draft)          # prepare (outside the write lock), then save in a transaction
    await after(eng, [draft])         # after-success hooks, once committed
    record = await respond(reader, draft, expand, fields)

A batch runs `prepare` for each draft, `save` for each inside its one transaction, then `after`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from baas.hooks import Hook, Hooks, RecordEvent
from baas.records.draft import Draft
from baas.records.hooked import after_write
from baas.records.layout import layout
from baas.records.query import Reader
from baas.records.serialize import row_to_record
from baas.records.write import check_old_password, prehash, prepare_create, save, stored_row
from baas.schema.model import Collection

if TYPE_CHECKING:  # the engine hands itself in; importing it here would close an import circle
    from baas.core import Engine


def _bound(hook: Hook[RecordEvent], coll: Collection) -> bool:
    return hook.bound and bool(hook.chain_for(coll))


async def prepare(eng: Engine, draft: Draft) -> None:
    """The work a write can do before the write lock, which every server process takes in turn:
    hash a new password and verify the old one (argon2, ~0.3 s each) and, for a create without
    before-hooks, turn the body into values (with hooks bound that happens inside the
    transaction, around the chain)."""
    coll, body = draft.coll, draft.body
    if draft.action == "delete":
        return
    draft.hashed = await prehash(coll, body)
    if draft.action == "update":
        draft.old_hash = await check_old_password(eng.db, coll, draft.record_id, body)
    elif coll.type != "view" and not _bound(eng.hooks.on_record_create, coll):
        prepare_create(draft)


async def commit(eng: Engine, draft: Draft) -> None:
    """`prepare` the draft, then write it in a transaction of its own (group commit: the
    database may share the transaction with other writes, each in a savepoint)."""
    await prepare(eng, draft)
    registry, hooks = eng.registry, eng.hooks
    await eng.db.write(lambda conn: save(conn, registry, draft, hooks))


def after_hook(hooks: Hooks, draft: Draft) -> Hook[RecordEvent]:
    """The after-success hook of the draft's action."""
    if draft.action == "create":
        return hooks.on_record_after_create_success
    if draft.action == "update":
        return hooks.on_record_after_update_success
    return hooks.on_record_after_delete_success


async def after(eng: Engine, drafts: Iterable[Draft]) -> None:
    """Run the after-success hooks of committed drafts, in order (each sees the stored record
    as a superuser would; a delete's, the record as it was)."""
    hooks = eng.hooks
    for draft in drafts:
        hook = after_hook(hooks, draft)
        if hook.bound and (draft.row is not None or draft.current is not None):  # written, or deleted
            await after_write(hook, eng.db, draft.coll, draft.req, draft.action, stored_record(draft, eng.db.dialect))


def stored_record(draft: Draft, dialect: str) -> dict[str, Any]:
    """A committed draft's record as the API shows it to a superuser: what after-hooks get."""
    coll = draft.coll
    row = draft.row
    if row is None:  # a delete: the values it removed
        row = stored_row(coll, draft.current or {}, dialect)
    return row_to_record(coll, layout(coll).fields, row, None)


async def respond(r: Reader, draft: Draft, expand: str = "", fields: str = "") -> dict[str, Any]:
    """The record just written, as ``r.req`` may see it, from the row the write stored (no
    re-read), with ``expand`` and ``fields`` applied."""
    coll = draft.coll
    assert draft.row is not None, "respond() needs a committed create or update"
    rec = row_to_record(coll, layout(coll).fields, draft.row, r.req)
    if not (expand or fields):
        return rec
    return (await r.finish(coll, [rec], expand, fields, done=True))[0]
