"""``POST /api/collections/rules/playground``: what would this requester get under this rule?

A superuser picks a collection, an action (``list``, ``view``, ``create``, ``update``,
``delete``) and a requester — a guest, a record of an auth collection, or an API key — and
optionally a rule text to try instead of the saved one. The answer runs the real thing
(`baas.admin.rule_playground`): the requester's `RequestInfo` as the API would build it for
that record or key, the API key's scopes, the rule compiled by `baas.rules` and the records
read by `baas.records.query` (hidden fields and emails shown as that requester would see them).
Nothing is written.

Body::

    {"collection": "posts", "action": "list",
     "requester": {"type": "guest"} | {"type": "record", "collection": "users", "id": "…"}
                | {"type": "apikey", "id": "…"},
     "rule": "optional rule text to try (null: superusers only)", "body": {"for": "create"}}

Answer: ``allowed`` (``true``, ``false`` or ``null`` when it depends on the submitted record),
``reason``, the ``records`` the requester would list/view/update/delete (first 50) and their
``totalItems``, and for a rule joined by ``&&``/``||`` at the top, each ``clauses`` item with
how many records it lets through on its own (or whether it holds, for a clause that reads no
record) — so a deny says which part failed.
"""

from __future__ import annotations

from litestar import Response, post

from baas.admin.collections import find
from baas.admin.rule_check import check
from baas.admin.rule_playground import ACTIONS, MESSAGE, invalid, play, requester
from baas.api.deps import ApiRequest, json_response, read_body, superuser_engine
from baas.errors import BadRequest
from baas.rules import RuleError

PATH = "/api/collections/rules/playground"


@post(PATH)
async def rules_playground(request: ApiRequest) -> Response[bytes]:
    """Allow/deny and the records a guest, user or API key would get under a collection's rule."""
    eng = await superuser_engine(request)
    body = await read_body(request)
    name = body.get("collection")
    if not isinstance(name, str) or not name:
        raise invalid("collection", "A collection name or id is required.")
    coll = find(eng, name)
    action = body.get("action")
    if action not in ACTIONS:
        raise invalid("action", "Must be one of " + ", ".join(ACTIONS) + ".")
    rule = body["rule"] if "rule" in body else getattr(coll, f"{action}Rule")
    if rule is not None and not isinstance(rule, str):
        raise invalid("rule", "The rule must be a string or null.")
    if rule:
        checked = check(coll, eng.registry.get, rule, eng.db.dialect)
        if not checked["ok"]:
            raise BadRequest(MESSAGE, {"rule": {"code": "validation_invalid_rule", "message": checked["message"]}})
    submitted = body.get("body") or {}
    if not isinstance(submitted, dict):
        raise invalid("body", "The submitted body must be an object.")
    req = await requester(eng, body.get("requester"))
    try:
        return json_response(await play(eng, coll, action, rule, req, submitted))
    except RuleError as exc:  # a rule that compiles for the probe but not for this requester
        raise BadRequest(
            MESSAGE, {"rule": {"code": "validation_invalid_rule", "message": f"Invalid rule: {exc}"}}
        ) from None


ROUTES = [rules_playground]
