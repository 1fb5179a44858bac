"""``POST /api/collections/import/plan``: what ``PUT /api/collections/import`` would do, nothing applied.

The body is the import's own (``{"collections": [...], "deleteMissing": bool}``, PocketBase's
export in ``collections``); the answer is the planner's change list as ``/api/collections/plan``
gives it, or the same 400 the import would give. Superusers only.
"""

from __future__ import annotations

from litestar import Response, post

from baas.admin import collections as admin
from baas.api.deps import ApiRequest, json_response, read_body, superuser_engine

PATH = "/api/collections/import/plan"
_MESSAGE = "Failed to import collections."


@post(PATH)
async def collections_import_plan(request: ApiRequest) -> Response[bytes]:
    """Dry run of a collections import: the planner's changes, nothing applied."""
    eng = await superuser_engine(request)
    body = await read_body(request)
    await eng.refresh_schema()  # plan against what is applied now, as Engine.apply does
    change = admin.import_change(eng, body.get("collections"), _MESSAGE, prune=bool(body.get("deleteMissing")))
    return json_response(admin.plan_to_api(await admin.plan_change(eng, change, _MESSAGE)))


ROUTES = [collections_import_plan]
