"""``POST /api/collections/rules/check``: is this rule valid for this collection? As you type.

The console checks every rule while it is edited, before the collection is saved. The check
(`baas.admin.rule_check`) is the one the planner runs when a collection is saved, against a
saved collection by name or id or the draft the editor holds, so a rule this endpoint accepts
is one saving accepts, and the message it gives is the one saving would give.

Body: ``{"collection": "posts" | {draft collection}, "rule": "…"}``. Answer (200 either way,
since an invalid rule is the answer, not a failed request)::

    {"ok": false, "message": "Invalid rule: unknown field 'titel'", "position": 0, "length": 5}

``position``/``length`` locate the offending characters in ``rule`` when the error names them
(``null`` otherwise).
"""

from __future__ import annotations

import msgspec
from litestar import Response, post

from baas.admin.rule_check import check, target
from baas.api.deps import ApiRequest, json_response, read_body, superuser_engine
from baas.errors import BadRequest

PATH = "/api/collections/rules/check"
_MESSAGE = "Failed to check the rule."


def _invalid(key: str, message: str) -> BadRequest:
    return BadRequest(_MESSAGE, {key: {"code": "validation_invalid_value", "message": message}})


@post(PATH)
async def rules_check(request: ApiRequest) -> Response[bytes]:
    """Compile a rule against a saved or draft collection; ``ok`` or the error and where it is."""
    eng = await superuser_engine(request)
    body = await read_body(request)
    rule = body.get("rule")
    if rule is None:
        rule = ""
    if not isinstance(rule, str):
        raise _invalid("rule", "The rule must be a string.")
    raw = body.get("collection")
    if not (isinstance(raw, str) and raw) and not isinstance(raw, dict):
        raise _invalid("collection", "A collection name or a draft collection object is required.")
    try:
        coll, lookup = target(eng, raw, _MESSAGE)
    except msgspec.ValidationError as exc:  # defensive: the draft's decoding maps these already
        raise _invalid("collection", str(exc)) from None
    return json_response(check(coll, lookup, rule, eng.db.dialect))


ROUTES = [rules_check]
