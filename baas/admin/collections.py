"""Collection changes as the collections API and its dry run (``/api/collections/plan``) see them.

A create, update, delete or import becomes a `Change`: the target schema the planner compares
with the applied one. The same `Change` is applied (`apply_change`) or only planned
(`plan_change`), so a dry run answers what applying would do, or the same 400 it would give.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from baas.admin.auth_options import refuse_bad_options
from baas.auth import oauth2
from baas.db.base import Conn
from baas.db.tables import q
from baas.errors import BadRequest, NotFound, SchemaError
from baas.planner import Plan
from baas.records.query import Reader
from baas.records.write import delete_record
from baas.rules.context import RequestInfo
from baas.schema.fields import Field
from baas.schema.model import Collection

if TYPE_CHECKING:
    from baas.core import Engine

_BLANK = {"code": "validation_required", "message": "Cannot be blank."}
# Fields a system collection keeps: only its rules may change.
_SYSTEM_FIXED = ("name", "type", "system", "fields")
# A console list filter: ``name = 'x'``, ``type ~ "au"``, joined by anything.
_SIMPLE = re.compile(r"(\w+)\s*(~|=)\s*['\"]([^'\"]*)['\"]")


@dataclass(frozen=True)
class Change:
    """A schema change to plan or apply: the target schema (a function of the applied one, called
    when the change is planned), whether collections missing from it are dropped, and the name of
    the one collection the request is about (its errors answer in the flat form shape)."""

    target: Callable[[], list[Collection]]
    prune: bool = False
    own: str = ""


def decode(data: Any, message: str) -> Collection:
    """A collection from its JSON form; a 400 with ``message`` when it does not fit the model."""
    try:
        return msgspec.convert(data, Collection)
    except msgspec.ValidationError as exc:
        raise BadRequest(
            message, {"collection": {"code": "validation_invalid_collection", "message": str(exc)}}
        ) from None


def find(eng: Engine, name_or_id: str) -> Collection:
    """The applied collection named (or with the id) ``name_or_id``; else 404."""
    coll = eng.registry.get(name_or_id)
    if coll is None:
        raise NotFound("Missing collection context.")
    return coll


def shown(coll: Collection) -> dict[str, Any]:
    """A collection as the API shows it: OAuth2 client secrets never leave the server, as PocketBase."""
    out = coll.to_api()
    if coll.type == "auth":
        out["oauth2"] = oauth2.redact(coll.oauth2)
    return out


def listed(eng: Engine, expr: str = "") -> list[dict[str, Any]]:
    """Every collection as shown, oldest first; ``expr`` keeps those matching a simple filter.

    Only the console's filters are understood: ``key = 'v'`` and ``key ~ 'v'`` terms, all of
    which must hold (the full filter language is for records)."""
    items = [shown(c) for c in sorted(eng.registry.all(), key=lambda c: (c.created, c.name))]
    return [i for i in items if _match_simple(i, expr)] if expr else items


def _match_simple(item: dict[str, Any], expr: str) -> bool:
    for key, op, value in _SIMPLE.findall(expr):
        got = str(item.get(key, ""))
        if (op == "=" and got != value) or (op == "~" and value.lower() not in got.lower()):
            return False
    return True


def create_change(eng: Engine, raw: Any, message: str) -> Change:
    """Adding the collection ``raw`` (its JSON form) to the applied schema."""
    if not isinstance(raw, dict):
        raise BadRequest(message, {"collection": _BLANK})
    new = decode(raw, message)
    refuse_bad_options(new, message)
    if eng.registry.get(new.name) is not None or (new.id and eng.registry.get(new.id) is not None):
        raise BadRequest(
            message,
            {"name": {"code": "validation_collection_name_exists", "message": "Collection name must be unique."}},
        )
    return Change(lambda: [*eng.registry.all(), new], own=new.name)


def update_change(eng: Engine, old: Collection, raw: Any, message: str) -> Change:
    """Changing ``old`` by the JSON fields in ``raw`` (the others keep their values)."""
    if not isinstance(raw, dict):
        raise BadRequest(message, {"collection": _BLANK})
    current = old.to_api()
    if old.system and any(k in raw and raw[k] != current[k] for k in _SYSTEM_FIXED):
        raise BadRequest(
            message,
            {
                "system": {
                    "code": "validation_system_collection",
                    "message": "Only the rules of a system collection can change.",
                }
            },
        )
    raw = dict(raw)
    if isinstance(raw.get("oauth2"), dict):  # an echoed, redacted collection keeps its client secrets
        raw["oauth2"] = oauth2.keep_secrets(raw["oauth2"], old.oauth2)
    if old.type == "view" and "fields" not in raw:
        # A view's fields follow its query: without fields in the request they are inferred
        # afresh (ids kept by name), so a changed query cannot keep a stale field type.
        current["fields"] = []
    new = decode({**current, **raw, "id": old.id}, message)
    refuse_bad_options(new, message)
    return Change(lambda: [*(c for c in eng.registry.all() if c.id != old.id), new], own=new.name)


def delete_change(eng: Engine, old: Collection) -> Change:
    """Dropping ``old`` and its records (a system collection cannot be dropped)."""
    if old.system:
        raise BadRequest("System collections cannot be deleted.")
    return Change(lambda: [c for c in eng.registry.all() if c.id != old.id], prune=True, own=old.name)


def import_change(eng: Engine, raw: Any, message: str, *, prune: bool) -> Change:
    """Importing the collections ``raw`` (a list of JSON forms, as PocketBase exports them); with
    ``prune`` the applied collections missing from it are dropped."""
    if not isinstance(raw, list) or not raw:
        raise BadRequest(message, {"collections": _BLANK})
    # PocketBase's own internal collections (_otps, _mfas, _authOrigins, _externalAuths) have no
    # meaning here; _superusers is matched by name to ours.
    raw = [
        c
        for c in raw
        if not (
            isinstance(c, dict)
            and c.get("system")
            and str(c.get("name", "")).startswith("_")
            and c.get("name") != "_superusers"
        )
    ]
    wanted = [decode(c, message) for c in raw]

    def target() -> list[Collection]:
        if prune:
            return wanted
        names, ids = {c.name for c in wanted}, {c.id for c in wanted}
        return wanted + [c for c in eng.registry.all() if c.name not in names and c.id not in ids]

    return Change(target, prune=prune)


def _refused(exc: SchemaError, message: str, own: str) -> BadRequest:
    errors = dict(exc.errors)
    if own in errors:
        # The planner keys errors by collection; a one-collection request answers in
        # PocketBase's flat form shape (data.name, data.fields.N.option) that clients read.
        errors.update(errors.pop(own))
    elif own and errors and repr(own) not in exc.message:
        # Another collection broke (a view reading a field this change renames): only the
        # planner's message says which one.
        return BadRequest(f"{message} {exc.message}", errors)
    return BadRequest(f"{message} {exc.message}" if not errors else message, errors)


async def apply_change(eng: Engine, change: Change, message: str, *, accept_data_loss: bool) -> Plan:
    """Plan and apply ``change``; a plan the planner refuses is a 400 with ``message``."""
    try:
        return await eng.apply(change.target, prune=change.prune, accept_data_loss=accept_data_loss)
    except SchemaError as exc:
        raise _refused(exc, message, change.own) from None


async def plan_change(eng: Engine, change: Change, message: str) -> Plan:
    """What applying ``change`` would do, nothing applied; refusals as `apply_change` gives them."""
    try:
        return await eng.plan(change.target(), prune=change.prune)
    except SchemaError as exc:
        raise _refused(exc, message, change.own) from None


def plan_to_api(plan: Plan) -> dict[str, Any]:
    """A plan as JSON: each change readable by a person (``text``) and by a program."""
    return {
        "changes": [
            {
                "action": c.action,
                "collection": c.collection,
                "detail": c.detail,
                "destructive": c.destructive,
                "text": str(c),
                **_view_fields(c.new),
            }
            for c in plan.changes
        ],
        "destructive": plan.destructive,
        "text": plan.describe(),
    }


def _view_fields(new: Collection | Field | None) -> dict[str, Any]:
    """A created or changed view's fields as the server derives them from its query (the console
    shows them before the change is applied)."""
    if not isinstance(new, Collection) or new.type != "view":
        return {}
    return {"fields": [{"name": f.name, "type": f.type} for f in new.fields]}


async def truncate(eng: Engine, coll: Collection, req: RequestInfo) -> None:
    """Delete every record of ``coll`` one by one, as ``req`` (cascades, files and events as for
    a single delete); a view collection has no records of its own."""
    if coll.type == "view":
        raise BadRequest("View collections cannot be truncated.")
    reader = Reader(eng.db, eng.registry, req)

    async def run(conn: Conn) -> None:
        for (rid,) in await conn.fetch(f'SELECT "id" FROM {q(coll.name)}'):
            await delete_record(conn, reader, coll, rid)

    await eng.db.write(run, heavy=True)
