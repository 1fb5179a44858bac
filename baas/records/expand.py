"""``expand``: load related records (relations and ``coll_via_field`` back-relations) in one
query per relation and level, each under the related collection's view rule.

Fan-out is bounded. A response serialises every expanded record once per place it appears, so
``a_via_parent.parent.a_via_parent`` on a record with 60 children writes 60³ records even though
only 120 distinct rows are loaded. Each expanded record therefore carries a *weight* — how many
times it will appear in the response — and every level charges its weights to one budget per
request (`MAX_EXPANDED`) before descending. Each load query is limited to the budget left (every
loaded row appears at least once), so memory stays bounded too: an expand that would exceed the
budget stops at the first query that shows it, never after building the tree."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from baas.db.tables import q
from baas.errors import ApiError, BadRequest, FieldError
from baas.records.serialize import rows_to_records, select_list
from baas.rules.scopes import check_scope
from baas.schema.fields import RelationField, as_list
from baas.schema.model import Collection, parse_index

if TYPE_CHECKING:
    from baas.records.query import Reader

MAX_DEPTH = 6
BACK_LIMIT = 1000  # back-related records per record and relation, as PocketBase
MAX_EXPANDED = 5000  # expanded records (counted as serialised) in one response
_VIA = re.compile(r"^(\w+)_via_(\w+)$")
_CHUNK = 500


class ExpandTooLarge(BadRequest):
    """The expand would put more than the per-response number of records in the answer."""

    def __init__(self, limit: int) -> None:
        msg = (
            f"The expand would return more than {limit} related records in one response. "
            "Expand fewer or shorter paths, or ask for fewer records (perPage)."
        )
        super().__init__(msg, {"expand": FieldError("validation_expand_limit", msg, {"max": limit})})


class Budget:
    """How many expanded records one response may still carry."""

    def __init__(self, limit: int = MAX_EXPANDED) -> None:
        self.limit = limit
        self.used = 0

    @property
    def left(self) -> int:
        return self.limit - self.used

    def charge(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            raise ExpandTooLarge(self.limit)


def parse_expand(spec: str) -> dict[str, dict[str, Any]]:
    tree: dict[str, dict[str, Any]] = {}
    for path in spec.split(","):
        node = tree
        for part in [p.strip() for p in path.strip().split(".") if p.strip()][:MAX_DEPTH]:
            node = node.setdefault(part, {})
    return tree


async def expand_records(
    r: Reader,
    coll: Collection,
    records: list[dict[str, Any]],
    spec: str | dict[str, Any],
    budget: Budget | None = None,
    weights: dict[int, int] | None = None,
) -> None:
    """Fill ``record["expand"]`` for each record, in place.

    ``weights`` maps ``id(record)`` to the times the record appears in the response (1 when
    absent); raises `ExpandTooLarge` (400) when the response would exceed the budget."""
    tree = parse_expand(spec) if isinstance(spec, str) else spec
    if not records:
        return
    budget = budget or Budget()
    weights = weights or {}
    for key, sub in tree.items():
        field = coll.field(key)
        if isinstance(field, RelationField):
            await _expand_relation(r, records, field, key, sub, budget, weights)
            continue
        m = _VIA.match(key)
        if m:
            await _expand_back(r, coll, records, m.group(1), m.group(2), key, sub, budget, weights)


def _key_may_view(r: Reader, target: Collection) -> bool:
    """An API key expands only collections its scopes let it view (as it may only view those)."""
    try:
        check_scope(r.req, target.name, "view")
    except ApiError:
        return False
    return True


async def _load(
    r: Reader,
    target: Collection,
    cond: str,
    params: list[Any],
    limit: int,
    extra_col: str = "",
    window: str = "",
    join: str = "",
) -> list[Any]:
    """Rows of ``target`` matching ``cond`` under its view rule: at most ``limit`` + 1 of them, so
    a caller sees that the budget is exceeded without loading everything.

    ``join`` is added to the FROM clause, ``extra_col`` appended as the last column; ``window``
    (a PARTITION BY expression) keeps only the first `BACK_LIMIT` rows of each partition."""
    if target.viewRule is None and not r.req.is_superuser or not _key_may_view(r, target):
        return []
    conds, rule_params = await r.where(target, target.viewRule)
    cols, _ = select_list(target)
    where = " AND ".join([cond, *conds])
    if extra_col:
        cols += f", {extra_col} AS {q('__p')}"
    src = f"{q(target.name)} AS {q('m')}{join}"
    if window:
        order = (
            f"{q('m')}.{q('id')}"
            if target.type == "view"
            else (f"{q('m')}.{q('_rowid' if r.db.dialect == 'postgresql' else 'rowid')}")
        )
        sql = (
            f"SELECT * FROM (SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY {window} ORDER BY {order}) "
            f"AS {q('__n')} FROM {src} WHERE {where}) AS {q('t')} WHERE {q('__n')} <= {BACK_LIMIT} LIMIT ?"
        )
    else:
        sql = f"SELECT {cols} FROM {src} WHERE {where} LIMIT ?"
    rows: list[Any] = await r.db.fetch(sql, [*params, *rule_params, max(0, limit) + 1])
    return rows


def _chunks(items: list[Any], n: int = _CHUNK) -> list[list[Any]]:
    return [items[i : i + n] for i in range(0, len(items), n)]


async def _expand_relation(
    r: Reader,
    records: list[dict[str, Any]],
    field: RelationField,
    key: str,
    sub: dict[str, Any],
    budget: Budget,
    weights: dict[int, int],
) -> None:
    target = r.registry.get(field.collectionId)
    if target is None:
        return
    ids = list(dict.fromkeys(v for rec in records for v in as_list(rec.get(key))))
    if not ids:
        return
    _, fields = select_list(target)
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(ids):
        marks = ", ".join("?" * len(chunk))
        rows = await _load(r, target, f"{q('m')}.{q('id')} IN ({marks})", chunk, budget.left - len(found))
        for rec in rows_to_records(target, fields, rows, r.req):
            found[rec["id"]] = rec
        if len(found) > budget.left:  # each found record appears at least once
            raise ExpandTooLarge(budget.limit)
    # Each related record appears once per reference, in every copy of the record referring to it.
    child_weights: dict[int, int] = {}
    for rec in records:
        w = weights.get(id(rec), 1)
        for v in as_list(rec.get(key)) if field.is_multi() else [rec.get(key)]:
            if v in found:
                child_weights[id(found[v])] = child_weights.get(id(found[v]), 0) + w
    budget.charge(sum(child_weights.values()))
    if sub:
        await expand_records(r, target, list(found.values()), sub, budget, child_weights)
    for rec in records:
        if field.is_multi():
            related = [found[v] for v in as_list(rec.get(key)) if v in found]
            if related:
                rec.setdefault("expand", {})[key] = related
        elif rec.get(key) in found:
            rec.setdefault("expand", {})[key] = found[rec[key]]


async def _expand_back(
    r: Reader,
    coll: Collection,
    records: list[dict[str, Any]],
    src_name: str,
    field_name: str,
    key: str,
    sub: dict[str, Any],
    budget: Budget,
    weights: dict[int, int],
) -> None:
    src = r.registry.get(src_name)
    field = src.field(field_name) if src else None
    if src is None or not isinstance(field, RelationField) or field.collectionId != coll.id:
        return
    parent_ids = list(dict.fromkeys(rec["id"] for rec in records if rec.get("id")))
    col = f"{q('m')}.{q(field.name)}"
    _, fields = select_list(src)
    children: dict[str, dict[str, Any]] = {}  # one object per child, shared by all its parents
    of_parent: dict[str, list[dict[str, Any]]] = {}
    pairs = 0
    for chunk in _chunks(parent_ids):
        marks = ", ".join("?" * len(chunk))
        join = ""
        if not field.is_multi():
            parent = col
        elif r.db.dialect == "postgresql":  # one row per (child, parent id in its array)
            join, parent = f" CROSS JOIN LATERAL jsonb_array_elements_text({col}) AS j(v)", "j.v"
        else:
            join, parent = f", json_each({col}) AS j", "j.value"
        rows = await _load(r, src, f"{parent} IN ({marks})", chunk, budget.left - pairs, parent, parent, join)
        for row, rec in zip(rows, rows_to_records(src, fields, rows, r.req)):
            rec = children.setdefault(rec["id"], rec)
            of_parent.setdefault(row[len(fields)], []).append(rec)
        pairs += len(rows)
        if pairs > budget.left:  # each (parent, child) pair appears at least once
            raise ExpandTooLarge(budget.limit)
    child_weights: dict[int, int] = {}
    for rec in records:
        w = weights.get(id(rec), 1)
        for c in of_parent.get(rec["id"], []):
            child_weights[id(c)] = child_weights.get(id(c), 0) + w
    budget.charge(sum(child_weights.values()))
    if sub:
        await expand_records(r, src, list(children.values()), sub, budget, child_weights)
    single = not field.is_multi() and any(
        parse_index(i, src.name).unique and [c.lstrip("-") for c in parse_index(i, src.name).columns] == [field.name]
        for i in src.indexes
    )
    for rec in records:
        mine = of_parent.get(rec["id"])
        if mine:
            rec.setdefault("expand", {})[key] = mine[0] if single else mine
