"""The record write path with before-hooks bound: the chain runs inside the write transaction,
around the write itself (``await e.next()`` validates and stores the record).

Only reached when a chain is bound for the collection (see `baas.records.write`), so the plain
path pays nothing for hooks.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from typing import Any

from baas.db import Conn, Database
from baas.errors import BadRequest
from baas.hooks import Handler, Hook, RecordEvent, run_after
from baas.records.draft import UNSET, Draft, apply_body
from baas.rules.context import RequestInfo
from baas.schema.model import Collection


async def around_write(
    hook: Hook[RecordEvent], chain: tuple[Handler, ...], conn: Conn, draft: Draft, write: Callable[[], Awaitable[None]]
) -> None:
    """Run ``chain`` around ``write``: the handlers see (and may change) ``draft.values``, the
    values about to be stored; what they changed goes through `apply_body` like the request's own
    values (trusted: server code may set any field). A changed password is hashed again, not
    taken from the request's pre-hash. A chain stopped before the write raises
    ``BadRequest(draft.message)``: nothing is written."""
    values = draft.values
    for k, v in values.items():  # handlers may change lists in place: never share them with `current`
        if isinstance(v, (list, dict)):
            values[k] = copy.deepcopy(v)
    before = _snapshot(values)
    original = _snapshot(draft.current) if draft.current is not None else None
    event = RecordEvent(draft.coll, values, draft.req, conn, draft.action, original)

    async def final(e: RecordEvent) -> None:
        if e.record is not values:  # a handler replaced the dict: take its values
            replaced = dict(e.record)
            values.clear()
            values.update(replaced)
            e.record = values
        changes = {
            name: values.get(name, UNSET)
            for name in set(values) | set(before)
            if name not in values or name not in before or before[name] != values[name]
        }
        apply_body(draft, changes, trusted=True)
        if "password" in changes:
            draft.hashed = None
        await write()

    if not await hook.trigger(event, final, chain):
        raise BadRequest(draft.message)


def _snapshot(values: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) if isinstance(v, (list, dict)) else v for k, v in values.items()}


async def around_delete(
    hook: Hook[RecordEvent],
    chain: tuple[Handler, ...],
    conn: Conn,
    req: RequestInfo,
    coll: Collection,
    record: dict[str, Any],
    delete: Callable[[], Awaitable[None]],
) -> None:
    """Run ``chain`` around a delete (``record``: the stored values); stopped: nothing deleted (400)."""
    event = RecordEvent(coll, record, req, conn, "delete")

    async def final(e: RecordEvent) -> None:
        await delete()

    if not await hook.trigger(event, final, chain):
        raise BadRequest("Failed to delete record.")


async def after_write(
    hook: Hook[RecordEvent], db: Database, coll: Collection, req: RequestInfo, action: str, record: dict[str, Any]
) -> None:
    """The after-success chain of one committed write (``db``: the database, for new transactions)."""
    chain = hook.chain_for(coll)
    if chain:
        await run_after(hook, RecordEvent(coll, record, req, db, action), chain)
