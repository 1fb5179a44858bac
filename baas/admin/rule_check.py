"""Is this rule valid for this collection? The check behind ``/api/collections/rules/check``.

The check is the one the planner runs when a collection is saved (`baas.planner`): the
rule is compiled with `baas.rules.compile_filter` against the collection — a saved one by name
or id, or the draft the editor holds — and the other applied collections, with the same probe
requester. So a rule accepted here is one saving accepts, with the message saving would give.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from baas.admin.collections import decode, find
from baas.errors import BadRequest, SchemaError
from baas.rules import RuleError, compile_filter
from baas.rules.context import RequestInfo
from baas.rules.lexer import tokenize
from baas.schema import defaults
from baas.schema.model import Collection
from baas.schema.validate import normalize

if TYPE_CHECKING:
    from baas.core import Engine

# The requester the planner compiles rules with (baas/planner.py _check_rules): an auth
# record of no collection, so `@request.auth.*` paths resolve without naming a real one.
PROBE = RequestInfo(auth={"id": "probe", "collectionName": "", "collectionId": ""})
_AT = re.compile(r"at position (\d+)")
_QUOTED = re.compile(r"'([^']+)'")


def target(
    eng: Engine, raw: str | dict[str, Any], message: str
) -> tuple[Collection, Callable[[str], Collection | None]]:
    """The collection a rule is checked against (a saved one by name or id, or a draft in its
    JSON form) and the lookup for the others; errors in a draft are a 400 with ``message``.

    A draft is normalised as saving would (system fields added, relation targets resolved) and
    stands in for its saved version, so self-relations and renamed fields resolve to the draft."""
    if isinstance(raw, str):
        return find(eng, raw), eng.registry.get
    draft = decode({"name": "draft", **raw}, message)
    old = eng.registry.get(draft.id) if draft.id else eng.registry.get(draft.name)
    if not draft.id:  # the id saving would give it, so the draft's relations to itself resolve
        draft = msgspec.structs.replace(draft, id=old.id if old else defaults.stable_id("pbc_", draft.name))

    own = [draft]  # the normalised draft once normalize() has made it

    def lookup(key: str) -> Collection | None:
        if key in (draft.name, draft.id) and key:
            return own[0]
        found = eng.registry.get(key)
        return None if found is not None and old is not None and found.id == old.id else found

    try:
        own[0] = normalize(draft, lookup, old)
    except SchemaError as exc:
        raise BadRequest(message, dict(exc.errors)) from None
    return own[0], lookup


def locate(expr: str, message: str) -> tuple[int, int] | None:
    """(position, length) of what ``message`` complains about in ``expr``, when it says."""
    m = _AT.search(message)
    if m:
        pos = int(m.group(1))
        for name in _QUOTED.findall(message):  # "invalid operator '===' at position 6"
            if expr.startswith(name, pos):
                return pos, len(name)
        try:  # the token there, when the text from there still reads as tokens
            tok = tokenize(expr[pos:])[0]
            return pos, max(1, len(expr[pos:].split()[0]) if tok.kind == "text" else len(tok.value))
        except (RuleError, IndexError):
            return pos, max(1, len(expr) - pos)  # what cannot be read: the rest of the text
    try:
        tokens = tokenize(expr)
    except RuleError:
        return None
    for name in _QUOTED.findall(message):
        for tok in tokens:
            if tok.kind != "ident":
                continue
            if tok.value == name or tok.value.startswith(name + ":"):
                return tok.pos, len(name)
            # one part of a dotted path (``author.nmae``): point at that part
            offset = 0
            for part in tok.value.split("."):
                if part == name or part.split(":")[0] == name:
                    return tok.pos + offset, len(part)
                offset += len(part) + 1
    return None


def check(coll: Collection, lookup: Callable[[str], Collection | None], rule: str, dialect: str) -> dict[str, Any]:
    """The check's answer for ``rule`` (empty means "anyone": always valid)."""
    if not rule.strip():
        return {"ok": True, "message": "", "position": None, "length": None}
    try:
        compile_filter(rule, collection=coll, lookup=lookup, request=PROBE, dialect=dialect, alias="m")
    except RuleError as exc:
        where = locate(rule, str(exc))
        return {
            "ok": False,
            "message": f"Invalid rule: {exc}",
            "position": where[0] if where else None,
            "length": where[1] if where else None,
        }
    return {"ok": True, "message": "", "position": None, "length": None}
