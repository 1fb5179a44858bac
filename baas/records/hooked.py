"""The record write path with before-hooks bound: the chain runs inside the write transaction,
around the write itself (``await e.next()`` validates and stores the record).

Only reached when a chain is bound for the collection (see `baas.records.write`), so the plain
path pays nothing for hooks.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from typing import Any

from baas.errors import BadRequest, FieldError
from baas.hooks import Handler, Hook, RecordEvent, run_after
from baas.schema.fields import AutodateField, PasswordField
from baas.schema.model import Collection

# (values, errors, touched, …): what `create_record`/`update_record` prepared from the request
Prepared = tuple[Any, ...]
_MISSING = object()


async def around_write(hook: Hook[RecordEvent], chain: tuple[Handler, ...], conn: Any, req: Any, coll: Collection,
                       action: str, prepared: Prepared, original: dict[str, Any] | None,
                       write: Callable[[Prepared, set[str]], Awaitable[str]], message: str) -> str:
    """Run ``chain`` around ``write``: the handlers see (and may change) the values about to be
    stored; what they changed is prepared and validated like the request's own values. ``write``
    gets the prepared values and the names the handlers changed (a changed password must be hashed
    again, not taken from the request's pre-hash).
    A chain stopped before the write raises ``BadRequest(message)``: nothing is written."""
    values = prepared[0]
    for k, v in values.items():  # handlers may change lists in place: never share them with `original`
        if isinstance(v, (list, dict)):
            values[k] = copy.deepcopy(v)
    before = _snapshot(values)
    event = RecordEvent(coll, values, req, conn, action, _snapshot(original) if original is not None else None)
    written: list[str] = []

    async def final(e: RecordEvent) -> None:
        if e.record is not values:  # a handler replaced the dict: take its values
            replaced = dict(e.record)
            values.clear()
            values.update(replaced)
            e.record = values
        changed = _take_changes(coll, values, before, prepared, creating=action == "create")
        written.append(await write(prepared, changed))

    if not await hook.trigger(event, final, chain):
        raise BadRequest(message)
    return written[0]


def _snapshot(values: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) if isinstance(v, (list, dict)) else v for k, v in values.items()}


def _take_changes(coll: Collection, values: dict[str, Any], before: dict[str, Any], prepared: Prepared,
                  creating: bool) -> set[str]:
    """Prepare the values the handlers changed and mark them touched, so validation and the
    UPDATE's column list include them; earlier errors of those fields no longer apply."""
    errors, touched = prepared[1], prepared[2]
    changed: set[str] = set()
    for name in set(values) | set(before):
        new = values.get(name, _MISSING)
        if new is not _MISSING and name in before and before[name] == new:
            continue
        changed.add(name)
        field = coll.field(name)
        errors.pop(name, None)
        if field is None:
            values.pop(name, None)
            errors[name] = FieldError("validation_unknown_field", "Unknown field.")
            continue
        if isinstance(field, AutodateField):
            continue  # the write sets these
        if name == "id" and not creating:
            errors["id"] = FieldError("validation_id_change", "The record id cannot be changed.")
            continue
        touched.add(name)
        if new is _MISSING:
            values[name] = field.default()
        elif isinstance(field, PasswordField):
            if not isinstance(new, str):
                errors[name] = FieldError("validation_invalid_value", "Must be a string.")
        else:
            try:
                values[name] = field.prepare(new)
            except FieldError as exc:
                errors[name] = exc
    return changed


async def around_delete(hook: Hook[RecordEvent], chain: tuple[Handler, ...], conn: Any, req: Any,
                        coll: Collection, record: dict[str, Any], delete: Callable[[], Awaitable[None]]) -> None:
    """Run ``chain`` around a delete (``record``: the stored values); stopped: nothing deleted (400)."""
    event = RecordEvent(coll, record, req, conn, "delete")

    async def final(e: RecordEvent) -> None:
        await delete()

    if not await hook.trigger(event, final, chain):
        raise BadRequest("Failed to delete record.")


def api_record(coll: Collection, row: tuple) -> dict[str, Any]:
    """A stored row as the API shows it to a superuser: what after-hooks get."""
    from baas.records.serialize import row_to_record, select_list

    return row_to_record(coll, select_list(coll)[1], row, None)


def api_record_from_values(coll: Collection, values: dict[str, Any], dialect: str) -> dict[str, Any]:
    from baas.records.write import stored_row

    return api_record(coll, stored_row(coll, values, dialect))


async def after_write(hook: Hook[RecordEvent], db: Any, coll: Collection, req: Any, action: str,
                      record: dict[str, Any]) -> None:
    """The after-success chain of one committed write (``db``: the database, for new transactions)."""
    chain = hook.chain_for(coll)
    if chain:
        await run_after(hook, RecordEvent(coll, record, req, db, action), chain)
