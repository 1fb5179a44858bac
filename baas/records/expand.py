"""``expand``: load related records (relations and ``coll_via_field`` back-relations) in one
query per relation and level, each under the related collection's view rule."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from baas.db.tables import q
from baas.records.serialize import rows_to_records, select_list
from baas.schema.fields import RelationField, as_list
from baas.schema.model import Collection, parse_index

if TYPE_CHECKING:
    from baas.records.query import Reader

MAX_DEPTH = 6
BACK_LIMIT = 1000
_VIA = re.compile(r"^(\w+)_via_(\w+)$")


def parse_expand(spec: str) -> dict[str, dict]:
    tree: dict[str, dict] = {}
    for path in spec.split(","):
        node = tree
        for part in [p.strip() for p in path.strip().split(".") if p.strip()][:MAX_DEPTH]:
            node = node.setdefault(part, {})
    return tree


async def expand_records(r: Reader, coll: Collection, records: list[dict], spec: str | dict) -> None:
    """Fill ``record["expand"]`` for each record, in place."""
    tree = parse_expand(spec) if isinstance(spec, str) else spec
    if not records:
        return
    for key, sub in tree.items():
        field = coll.field(key)
        if isinstance(field, RelationField):
            await _expand_relation(r, records, field, key, sub)
            continue
        m = _VIA.match(key)
        if m:
            await _expand_back(r, coll, records, m.group(1), m.group(2), key, sub)


async def _load(r: Reader, target: Collection, cond: str, params: list, limit: int | None = None) -> list[dict]:
    if target.viewRule is None and not r.req.is_superuser:
        return []
    conds, rule_params = await r.where(target, target.viewRule)
    cols, fields = select_list(target)
    where = " AND ".join([cond, *conds])
    sql = f"SELECT {cols} FROM {q(target.name)} AS {q('m')} WHERE {where}"
    if limit:
        sql += f" LIMIT {int(limit)}"
    rows = await r.db.fetch(sql, [*params, *rule_params])
    return rows_to_records(target, fields, rows, r.req)


def _chunks(items: list, n: int = 500) -> list[list]:
    return [items[i:i + n] for i in range(0, len(items), n)]


async def _expand_relation(r: Reader, records: list[dict], field: RelationField, key: str, sub: dict) -> None:
    target = r.registry.get(field.collectionId)
    if target is None:
        return
    ids = list(dict.fromkeys(v for rec in records for v in as_list(rec.get(key))))
    if not ids:
        return
    found: dict[str, dict] = {}
    for chunk in _chunks(ids):
        marks = ", ".join("?" * len(chunk))
        for rec in await _load(r, target, f'{q("m")}.{q("id")} IN ({marks})', chunk):
            found[rec["id"]] = rec
    if sub:
        await expand_records(r, target, list(found.values()), sub)
    for rec in records:
        if field.is_multi():
            related = [found[v] for v in as_list(rec.get(key)) if v in found]
            if related:
                rec.setdefault("expand", {})[key] = related
        elif rec.get(key) in found:
            rec.setdefault("expand", {})[key] = found[rec[key]]


async def _expand_back(r: Reader, coll: Collection, records: list[dict], src_name: str, field_name: str,
                       key: str, sub: dict) -> None:
    src = r.registry.get(src_name)
    field = src.field(field_name) if src else None
    if src is None or not isinstance(field, RelationField) or field.collectionId != coll.id:
        return
    parent_ids = [rec["id"] for rec in records if rec.get("id")]
    col = f'{q("m")}.{q(field.name)}'
    children: list[dict] = []
    for chunk in _chunks(parent_ids):
        marks = ", ".join("?" * len(chunk))
        if not field.is_multi():
            cond = f"{col} IN ({marks})"
        elif r.db.dialect == "postgresql":
            cond = f"EXISTS (SELECT 1 FROM jsonb_array_elements_text({col}) AS j(v) WHERE j.v IN ({marks}))"
        else:
            cond = f"EXISTS (SELECT 1 FROM json_each({col}) AS j WHERE j.value IN ({marks}))"
        children.extend(await _load(r, src, cond, chunk, BACK_LIMIT))
    if sub:
        await expand_records(r, src, children, sub)
    single = not field.is_multi() and any(
        parse_index(i, src.name).unique and [c.lstrip("-") for c in parse_index(i, src.name).columns] == [field.name]
        for i in src.indexes
    )
    for rec in records:
        mine = [c for c in children if rec["id"] in as_list(c.get(field.name))]
        if mine:
            rec.setdefault("expand", {})[key] = mine[0] if single else mine
