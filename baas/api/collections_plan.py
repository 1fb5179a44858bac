"""``POST /api/collections/plan``: what a collection change would do, without doing it.

The console shows this before every schema change (and asks for consent when it would lose
data); scripts can use it as ``baas schema plan`` over HTTP. It builds the very `Change` the
collections API builds for the same request (`baas.admin.collections`) and runs the same
planner (`Engine.plan`), so the answer is what applying would do — or the same 400 it would give.

Body: ``{"action": "create"|"update"|"delete", "collection": {...}, "target": "name or id"}``
(``collection`` for create/update, ``target`` for update/delete). Answer::

    {"changes": [{"action": "drop_field", "collection": "posts", "detail": "title",
                  "destructive": true, "text": "- posts: drop field title  [DATA LOSS]"}],
     "destructive": true, "text": "…the plan as `baas schema plan` prints it…"}
"""

from __future__ import annotations

from typing import Any

from litestar import Response, post

from baas.admin import collections as admin
from baas.api.deps import ApiRequest, json_response, read_body, superuser_engine
from baas.core import Engine
from baas.errors import BadRequest

PATH = "/api/collections/plan"
_MESSAGE = "Failed to plan the collection change."


def _change(eng: Engine, action: str, body: dict[str, Any]) -> admin.Change:
    """The change the collections API would build for POST, PATCH or DELETE."""
    if action == "create":
        return admin.create_change(eng, body.get("collection"), _MESSAGE)
    old = admin.find(eng, str(body.get("target") or ""))
    if action == "delete":
        return admin.delete_change(eng, old)
    return admin.update_change(eng, old, body.get("collection"), _MESSAGE)


@post(PATH)
async def collections_plan(request: ApiRequest) -> Response[bytes]:
    """Dry run of a collection create, update or delete: the planner's changes, nothing applied."""
    eng = await superuser_engine(request)
    body = await read_body(request)
    action = body.get("action")
    if action not in ("create", "update", "delete"):
        raise BadRequest(
            _MESSAGE, {"action": {"code": "validation_in_invalid", "message": "Must be one of create, update, delete."}}
        )
    await eng.refresh_schema()  # plan against what is applied now, as Engine.apply does
    plan = await admin.plan_change(eng, _change(eng, action, body), _MESSAGE)
    return json_response(admin.plan_to_api(plan))


ROUTES = [collections_plan]
