"""What would this requester get under this rule? The service behind the rule playground.

The answer runs the real thing: the requester's `RequestInfo` as the API would build it for a
guest, an auth record or an API key, the API key's scopes, the rule compiled by `baas.rules` and
the records read by `baas.records.query` (hidden fields and emails shown as that requester would
see them). Nothing is written. For a rule joined by ``&&``/``||`` at the top, each part says how
many records it lets through on its own (or whether it holds, for a part that reads no record),
so a deny says which part failed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from baas.auth import apikeys
from baas.errors import BadRequest, Forbidden
from baas.ids import now_str
from baas.records.query import ListParams, Reader, list_records, load_row
from baas.records.serialize import row_to_record, select_list
from baas.rules import ast, compile_filter, parse
from baas.rules.context import RequestInfo
from baas.rules.scopes import check_scope
from baas.schema.model import Collection

if TYPE_CHECKING:
    from baas.core import Engine

ACTIONS = ("list", "view", "create", "update", "delete")
SHOWN = 50  # records shown per answer: a sample, not an export
MAX_PARTS = 20  # top-level parts explained one by one (each is a count over the table)
MESSAGE = "Failed to run the rule playground."


def invalid(key: str, message: str) -> BadRequest:
    """A 400 of the playground for the request's ``key``."""
    return BadRequest(MESSAGE, {key: {"code": "validation_invalid_value", "message": message}})


async def requester(eng: Engine, raw: Any) -> RequestInfo:
    """The `RequestInfo` the API builds for this guest, auth record or API key."""
    if not isinstance(raw, dict) or raw.get("type") not in ("guest", "record", "apikey"):
        raise invalid("requester", "Pick a guest, a record of an auth collection, or an API key.")
    kind, rid = raw["type"], raw.get("id")
    if kind == "guest":
        return RequestInfo()
    if not isinstance(rid, str) or not rid:
        raise invalid("requester", "The requester's id is required.")
    if kind == "apikey":
        key = await apikeys.view(eng.db, rid)
        if key is None:
            raise invalid("requester", "No API key with this id.")
        if key["revoked"] or (key["expires"] and key["expires"] <= now_str()):
            raise invalid("requester", "This API key is revoked or expired: the API refuses it (401).")
        # The same @request.auth that apikeys.authenticate gives the key's requests.
        return RequestInfo(
            auth={
                "id": key["id"],
                "collectionId": apikeys.COLLECTION,
                "collectionName": apikeys.COLLECTION,
                "name": key["name"],
                "scopes": key["scopes"],
            }
        )
    coll_name = raw.get("collection")
    auth_coll = eng.registry.get(coll_name) if isinstance(coll_name, str) and coll_name else None
    if auth_coll is None or auth_coll.type != "auth":
        raise invalid("requester", "The requester's collection must be an auth collection.")
    if auth_coll.name == "_superusers":
        raise invalid("requester", "Superusers pass every rule; pick a guest, a user or an API key.")
    row = await load_row(eng.db, auth_coll, rid)
    if row is None:
        raise invalid("requester", f"No record {rid!r} in {auth_coll.name}.")
    # As deps.request_info builds it from a valid token: the API record without the password hash.
    record = row_to_record(auth_coll, select_list(auth_coll)[1], row, None)
    return RequestInfo(auth={k: v for k, v in record.items() if k != "password"})


def clauses(rule: str) -> list[str]:
    """The top-level parts of ``rule`` (``a && b`` → ``[a, b]``), as text; one part if not joined."""
    node = parse(rule)
    if isinstance(node, ast.Logic):
        return [ast.to_text(item) for item in node.items]
    return [ast.to_text(node)]


async def _matching(r: Reader, coll: Collection, rule: str, per_page: int) -> dict[str, Any]:
    """The records ``rule`` lets the requester reach, read as a list under that rule would be."""
    probe = msgspec.structs.replace(coll, listRule=rule)
    return await list_records(r, probe, ListParams(perPage=per_page))


def _reads_record(node: ast.Node) -> bool:
    """Whether ``node`` names a field of the record (anything but ``@…`` paths, literals, null/true/false)."""
    if isinstance(node, ast.Logic):
        return any(_reads_record(item) for item in node.items)
    return any(
        isinstance(o, ast.Ident) and not o.name.startswith("@") and o.name not in ("null", "true", "false")
        for o in (node.left, node.right)
    )


async def _holds(r: Reader, coll: Collection, rule: str) -> bool | None:
    """For a rule that reads no field of the record: whether it holds for this requester; else None.

    Decided on the parsed rule rather than its SQL, which may hold subqueries either way."""
    if _reads_record(parse(rule)):
        return None
    sql = compile_filter(rule, collection=coll, lookup=r.registry.get, request=r.req, dialect=r.db.dialect, alias="m")
    return bool(await r.db.fetchval(f"SELECT CASE WHEN ({sql.sql}) THEN 1 ELSE 0 END", sql.params))


async def play(
    eng: Engine, coll: Collection, action: str, rule: str | None, req: RequestInfo, body: dict[str, Any]
) -> dict[str, Any]:
    """Run ``rule`` for ``action`` as ``req`` would meet it; see the module docstring."""
    out: dict[str, Any] = {"rule": rule, "allowed": False, "reason": "", "records": [], "totalItems": 0, "clauses": []}
    try:
        check_scope(req, coll.name, action)
    except Forbidden as exc:
        return {**out, "reason": str(exc)}
    if rule is None:
        return {**out, "reason": "Superusers only: the rule is locked (the API answers 403)."}
    if coll.type == "view" and action in ("create", "update", "delete"):
        return {**out, "reason": "View collections are read-only."}
    r = Reader(
        eng.db,
        eng.registry,
        RequestInfo(
            auth=req.auth,
            body=body,
            method="POST"
            if action == "create"
            else "PATCH"
            if action == "update"
            else "DELETE"
            if action == "delete"
            else "GET",
        ),
    )
    if not rule.strip():
        out.update(allowed=True, reason="The rule is empty: anyone may.")
    if rule.strip():
        for text in clauses(rule)[:MAX_PARTS]:
            item: dict[str, Any] = {"text": text, "holds": await _holds(r, coll, text)}
            if item["holds"] is None and action != "create":
                item["matches"] = (await _matching(r, coll, text, 1))["totalItems"]
            out["clauses"].append(item)
    if action == "create":
        holds = await _holds(r, coll, rule) if rule.strip() else True
        out["allowed"] = holds
        if holds is None:
            out["reason"] = "Depends on the submitted record: the rule reads its fields."
        elif not holds:
            out["reason"] = "Denied: the rule does not hold for this requester (the API answers 400)."
        return out
    page = await _matching(r, coll, rule, SHOWN)
    out.update(records=page["items"], totalItems=page["totalItems"])
    if rule.strip():
        out["allowed"] = page["totalItems"] > 0
        verb = {"list": "lists", "view": "may view", "update": "may update", "delete": "may delete"}[action]
        out["reason"] = (
            f"The requester {verb} {page['totalItems']} record(s)."
            if page["totalItems"]
            else "No record passes the rule for this requester"
            + (" (the list answers 200 with no items)." if action == "list" else " (the API answers 404).")
        )
    return out
