"""``POST /api/collections/plan``: what a collection change would do, without doing it.

The console shows this before every schema change (and asks for consent when it would lose
data); scripts can use it as ``baas schema plan`` over HTTP. It builds the very target the
collections API would build for the same request (`baas.api.collections`) and runs the same
planner (`Engine.plan`), so the answer is what applying would do — or the same 400 it would give.

Body: ``{"action": "create"|"update"|"delete", "collection": {...}, "target": "name or id"}``
(``collection`` for create/update, ``target`` for update/delete). Answer::

    {"changes": [{"action": "drop_field", "collection": "posts", "detail": "title",
                  "destructive": true, "text": "- posts: drop field title  [DATA LOSS]"}],
     "destructive": true, "text": "…the plan as `baas schema plan` prints it…"}
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post

from baas.api import collections as api
from baas.api.deps import collection, json_response, read_body
from baas.auth import oauth2
from baas.errors import BadRequest, SchemaError
from baas.schema.model import Collection
from baas.schema.planner import Plan

PATH = "/api/collections/plan"
_MESSAGE = "Failed to plan the collection change."


def plan_to_api(plan: Plan) -> dict[str, Any]:
    """A plan as JSON: each change readable by a person (``text``) and by a program."""
    return {"changes": [{"action": c.action, "collection": c.collection, "detail": c.detail,
                         "destructive": c.destructive, "text": str(c)} for c in plan.changes],
            "destructive": plan.destructive, "text": plan.describe()}


def _wanted(eng: Any, action: str, body: dict[str, Any]) -> tuple[list[Collection], bool, str]:
    """(target schema, prune, the collection's name) for ``action``, as the collections API
    builds them for POST, PATCH and DELETE."""
    raw = body.get("collection")
    if action == "create":
        if not isinstance(raw, dict):
            raise BadRequest(_MESSAGE, {"collection": {"code": "validation_required", "message": "Cannot be blank."}})
        new = api._decode(raw, _MESSAGE)
        if eng.registry.get(new.name) is not None or (new.id and eng.registry.get(new.id) is not None):
            raise BadRequest(_MESSAGE, {"name": {"code": "validation_collection_name_exists",
                                                 "message": "Collection name must be unique."}})
        return [*eng.registry.all(), new], False, new.name
    old = collection(eng, str(body.get("target") or ""))
    if action == "delete":
        if old.system:
            raise BadRequest("System collections cannot be deleted.")
        return [c for c in eng.registry.all() if c.id != old.id], True, old.name
    if not isinstance(raw, dict):
        raise BadRequest(_MESSAGE, {"collection": {"code": "validation_required", "message": "Cannot be blank."}})
    current = old.to_api()
    if old.system and any(k in raw and raw[k] != current[k] for k in ("name", "type", "system", "fields")):
        raise BadRequest(_MESSAGE, {"system": {
            "code": "validation_system_collection", "message": "Only the rules of a system collection can change."}})
    raw = dict(raw)
    if isinstance(raw.get("oauth2"), dict):
        raw["oauth2"] = oauth2.keep_secrets(raw["oauth2"], old.oauth2)
    new = api._decode({**current, **raw, "id": old.id}, _MESSAGE)
    return [*(c for c in eng.registry.all() if c.id != old.id), new], False, new.name


@post(PATH)
async def collections_plan(request: Request) -> Response:
    """Dry run of a collection create, update or delete: the planner's changes, nothing applied."""
    eng = await api._superuser(request)
    body = await read_body(request)
    action = body.get("action")
    if action not in ("create", "update", "delete"):
        raise BadRequest(_MESSAGE, {"action": {"code": "validation_in_invalid",
                                               "message": "Must be one of create, update, delete."}})
    await eng.refresh_schema()  # plan against what is applied now, as Engine.apply does
    wanted, prune, own = _wanted(eng, action, body)
    try:
        plan = await eng.plan(wanted, prune=prune)
    except SchemaError as exc:
        errors = dict(exc.errors)
        if own in errors:  # the collections API's flat form shape (data.name, data.fields.N.option)
            errors.update(errors.pop(own))
        raise BadRequest(f"{_MESSAGE} {exc.message}" if not errors else _MESSAGE, errors) from None
    return json_response(plan_to_api(plan))


ROUTES = [collections_plan]
