"""Counts, sums, averages, minima and maxima over the records a requester may list, grouped.

``GET /api/collections/{c}/aggregate?groupBy=status,author.name&sum=views&avg=views&min=created
&max=views&distinct=author&filter=…&having=count > 2&sort=-count&page=1&perPage=30`` answers one
item per group, as a list page does::

    {"page": 1, "perPage": 30, "totalItems": 2, "totalPages": 1,
     "items": [{"group": {"status": "open", "author.name": "Ann"}, "count": 3,
                "sum": {"views": 12}, "avg": {"views": 4}, ...}]}

The rows aggregated are exactly the rows the list would return for the same requester and
``filter`` (`Reader.where` builds both), and every field path goes through the rule compiler's
resolver as a client's filter does: hidden fields are refused, emails read as the list shows
them, and a key through a relation is null where the requester may not list the related record.
``having`` and ``sort`` are written in the filter language over ``count``, ``sum.<path>``,
``avg.<path>``, ``min.<path>``, ``max.<path>``, ``distinct.<path>`` and the group keys
(``group.<path>``, or the path alone).

The SQL reads the filtered rows once into a derived table whose columns are the keys and the
aggregated values, and groups that: GROUP BY, HAVING and ORDER BY then name plain columns, which
PostgreSQL needs (it does not match a grouped expression that carries bound parameters).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from baas import rules
from baas.db.tables import q
from baas.errors import BadRequest, Forbidden
from baas.records.query import ListParams, Reader, known_total, search_condition
from baas.records.serialize import number_value
from baas.rules import ast
from baas.rules.compile import Compiler
from baas.rules.resolver import Joins
from baas.rules.sql import SQL, Operand, cat, frag, literal
from baas.schema.fields import Field, RelationField
from baas.schema.model import Collection

FUNCTIONS = ("sum", "avg", "min", "max", "distinct")
MAX_KEYS = 5  # group keys
MAX_VALUES = 20  # aggregated values (function, path) pairs
_MESSAGE = "Something went wrong while processing your request."


def _invalid(param: str, message: str) -> BadRequest:
    return BadRequest(_MESSAGE, {param: {"code": "validation_invalid_aggregate", "message": message}})


@dataclass
class AggregateParams:
    """What a client asks of ``…/aggregate`` (see the module's docstring)."""

    group_by: list[str] = field(default_factory=list)
    values: dict[str, list[str]] = field(default_factory=dict)  # function -> paths, in asked order
    filter: str = ""
    search: str = ""  # full-text search (baas.search), as on the list
    having: str = ""
    sort: str = ""
    page: int = 1
    perPage: int = 30
    skipTotal: bool = False

    @classmethod
    def from_query(cls, query: dict[str, str]) -> AggregateParams:
        paging = ListParams.from_query(query)  # page, perPage, skipTotal: as the list reads them
        values = {fn: _names(query.get(fn, "")) for fn in FUNCTIONS if query.get(fn, "").strip()}
        return cls(
            group_by=_names(query.get("groupBy", "")),
            values=values,
            filter=query.get("filter", ""),
            search=query.get("search", "").strip(),
            having=query.get("having", ""),
            sort=query.get("sort", ""),
            page=paging.page,
            perPage=paging.perPage,
            skipTotal=paging.skipTotal,
        )


def _names(raw: str) -> list[str]:
    return [n.strip() for n in raw.split(",") if n.strip()]


@dataclass
class _Column:
    """One column of the derived table: a group key or an aggregated field's value."""

    name: str  # "k0", "v3"
    path: str
    expr: SQL
    kind: str  # "number", "text", "bool"


class _Plan:
    """Field paths resolved for one collection and requester."""

    def __init__(self, r: Reader, coll: Collection) -> None:
        self.r = r
        self.coll = coll
        self.pg = r.db.dialect == "postgresql"
        self.compiler = Compiler(coll, r.registry.get, r.req, r.db.dialect, "m", client=True)
        self.keys: list[_Column] = []
        self.values: dict[str, _Column] = {}  # path -> column (one per path, shared by functions)

    def column(self, path: str, param: str, prefix: str, into: list[_Column]) -> _Column:
        """``path`` as a derived-table column, resolved as a client's filter resolves it."""
        joins = Joins("_s")
        mod = path.rpartition(":")[2] if ":" in path else ""
        if mod not in ("", "lower", "length"):  # :each would make several values of one record
            raise _invalid(param, f"Invalid field {path!r}: only the :lower and :length modifiers.")
        try:
            op = self.compiler.resolver.operand(ast.Ident(path), joins)
        except rules.RuleForbidden as exc:
            raise Forbidden(str(exc)) from None
        except rules.RuleError as exc:
            raise _invalid(param, f"Invalid field {path!r}: {exc}") from None
        if op.is_literal or path.startswith("@"):
            raise _invalid(param, f"Invalid field {path!r}: not a field of {self.coll.name!r}.")
        f = self._field(path)
        if op.multi or (f is not None and f.is_multi()):
            raise _invalid(param, f"Invalid field {path!r}: it holds several values per record.")
        if op.kind not in ("text", "number"):
            raise _invalid(param, f"Invalid field {path!r}: JSON values can't be grouped or aggregated.")
        expr = op.expr
        if joins.items:
            # The joined value, read per row (one row: every hop is single-valued). A missing or
            # hidden related record reads null, whatever the path's expression makes of a NULL row
            # (a masked email would read '').
            last = list(joins.by_key.values())[-1]
            expr = cat(
                "(SELECT ", expr, ' FROM (SELECT 1) AS "_a"', joins.sql(), f' WHERE {last}."id" IS NOT NULL LIMIT 1)'
            )
        kind = "bool" if op.kind == "number" and f is not None and f.kind() == "bool" else op.kind  # shown true/false
        col = _Column(f"{prefix}{len(into)}", path, expr, kind)
        into.append(col)
        return col

    def _field(self, path: str) -> Field | None:
        """The field a path ends on (through single relations), None for anything else."""
        coll: Collection | None = self.coll
        parts = path.split(".")
        for part in parts[:-1]:
            f = coll.field(part) if coll else None
            coll = self.r.registry.get(f.collectionId) if isinstance(f, RelationField) else None
        return coll.field(parts[-1]) if coll else None

    def value(self, path: str, param: str) -> _Column:
        if path not in self.values:
            cols = list(self.values.values())
            self.values[path] = self.column(path, param, "v", cols)
        return self.values[path]


def _aggregate(fn: str, col: _Column, pg: bool, param: str) -> tuple[str, str]:
    """The SQL of ``fn`` over the derived table's column and the kind of its result."""
    c = q(col.name)
    if fn == "distinct":
        inner = f"NULLIF({c}, '')" if col.kind == "text" else c
        return f"count(DISTINCT {inner})", "number"
    if fn in ("sum", "avg"):
        if col.kind == "text":
            raise _invalid(param, f"Invalid field {col.path!r}: {fn} needs a number or bool field.")
        sql = f"{fn}({c})" if fn == "avg" else f"COALESCE(sum({c}), 0)"
        return (f"CAST({sql} AS DOUBLE PRECISION)" if pg else sql), "number"
    if col.kind != "text":
        return f"{fn}({c})", col.kind
    # An empty text (an unset date, select, relation) is text's "no value": left out, as NULLs are.
    collate = ' COLLATE "C"' if pg else ""  # binary order, as SQLite's
    return f"{fn}(NULLIF({c}, ''){collate})", col.kind


class _Names:
    """``count``, ``sum.views``, ``group.status`` (or ``status``): SQL over the grouped table."""

    def __init__(self, plan: _Plan, param: str) -> None:
        self.plan = plan
        self.param = param

    def resolve(self, name: str) -> tuple[str, str]:
        plan = self.plan
        if name == "count":
            return "count(*)", "number"
        fn, _, path = name.partition(".")
        if fn in FUNCTIONS and path:
            return _aggregate(fn, plan.value(path, self.param), plan.pg, self.param)
        path = name.removeprefix("group.")
        for key in plan.keys:
            if key.path == path:
                return q(key.name), key.kind
        raise _invalid(
            self.param,
            f"Unknown name {name!r}: use count, sum.<field>, avg.<field>, min.<field>, max.<field>, "
            "distinct.<field> or a groupBy field.",
        )


class _HavingResolver:
    """Stands in for the rule resolver when ``having`` is compiled: names are aggregates."""

    def __init__(self, names: _Names, dialect: str) -> None:
        self.names = names
        self.dialect = dialect

    def operand(self, node: ast.Operand, joins: Joins) -> Operand:
        if isinstance(node, (ast.Text, ast.Number)):
            return literal(node.value, self.dialect)
        if node.name.lower() in ("null", "true", "false"):
            return literal({"null": None, "true": True, "false": False}[node.name.lower()], self.dialect)
        sql, kind = self.names.resolve(node.name)
        if kind == "bool":
            kind = "number"
        return Operand(frag(sql), kind, "NUMERIC" if kind == "number" else "TEXT")


def _having(plan: _Plan, expr: str) -> SQL:
    dialect = plan.r.db.dialect
    comp = Compiler(plan.coll, plan.r.registry.get, plan.r.req, dialect, "m", client=True)
    comp.resolver = _HavingResolver(_Names(plan, "having"), dialect)  # type: ignore[assignment]
    try:
        tree = rules.parse(expr)
        _no_any_of(tree)
        return comp.node(tree, Joins("_h"))
    except rules.RuleError as exc:
        raise _invalid("having", f"Invalid having: {exc}") from None


def _no_any_of(node: ast.Node) -> None:
    if isinstance(node, ast.Logic):
        for item in node.items:
            _no_any_of(item)
    elif node.any_of:
        raise rules.RuleError(f"{node.op!r}: a group's values are single, there is no 'any of'")
    elif isinstance(node.left, ast.Ident) and node.left.name == "@search":
        raise rules.RuleError("@search applies to records: put it in filter")


def _order(plan: _Plan, spec: str) -> str:
    """ORDER BY over the grouped table; the group keys always follow, so pages are stable."""
    names = _Names(plan, "sort")
    parts: list[str] = []
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        desc = item.startswith("-")
        sql, kind = names.resolve(item.lstrip("+-").strip())
        parts.append(_direction(sql, kind, desc, plan.pg))
    parts.extend(_direction(q(k.name), k.kind, False, plan.pg) for k in plan.keys)
    return ", ".join(parts)


def _direction(sql: str, kind: str, desc: bool, pg: bool) -> str:
    if not pg:  # SQLite: NULLs first ascending, binary text order
        return f"{sql} {'DESC' if desc else 'ASC'}"
    collate = ' COLLATE "C"' if kind == "text" else ""
    return f"{sql}{collate} {'DESC NULLS LAST' if desc else 'ASC NULLS FIRST'}"


async def aggregate_records(r: Reader, coll: Collection, p: AggregateParams) -> dict[str, Any]:
    """One page of groups over the records the list rule and ``filter`` let through."""
    r.check_locked(coll.listRule)
    if len(p.group_by) > MAX_KEYS:
        raise _invalid("groupBy", f"At most {MAX_KEYS} groupBy fields.")
    if len(set(p.group_by)) != len(p.group_by):
        raise _invalid("groupBy", "A groupBy field is repeated.")
    asked = [(fn, path) for fn, paths in p.values.items() for path in paths]
    if len(asked) > MAX_VALUES:
        raise _invalid("aggregate", f"At most {MAX_VALUES} aggregated values.")
    conds, params = await r.where(coll, coll.listRule, p.filter)
    join = SQL("", [])
    if p.search:
        found = search_condition(r, coll, p.search)
        join, conds, params = found.join, [*conds, found.where.sql], [*params, *found.where.params]
    plan = _Plan(r, coll)
    for path in p.group_by:
        plan.column(path, "groupBy", "k", plan.keys)
    outputs = [(fn, path, *_aggregate(fn, plan.value(path, fn), plan.pg, fn)) for fn, path in asked]
    having = _having(plan, p.having) if p.having.strip() else None
    order = _order(plan, p.sort)

    # The derived table: every key and value column, over the rows the list would return.
    cols = [*plan.keys, *plan.values.values()]
    inner_select = cat(
        *(part for i, c in enumerate(cols) for part in ((", " if i else ""), c.expr, f" AS {q(c.name)}"))
    )
    if not cols:
        inner_select = frag("1 AS _one")
    where = f" WHERE {' AND '.join(conds)}" if conds else ""
    inner = cat("SELECT ", inner_select, f" FROM {q(coll.name)} AS {q('m')}", join, where)
    inner_params = [*inner.params, *params]
    group = f" GROUP BY {', '.join(q(k.name) for k in plan.keys)}" if plan.keys else ""
    having_sql = f" HAVING {having.sql}" if having else ""
    having_params = having.params if having else []
    shown = ", ".join(["count(*)", *(sql for _, _, sql, _ in outputs), *(q(k.name) for k in plan.keys)])
    grouped = f"FROM ({inner.sql}) AS {q('t')}{group}{having_sql}"
    rows = await r.db.fetch(
        f"SELECT {shown} {grouped}{' ORDER BY ' + order if order else ''} LIMIT ? OFFSET ?",
        [*inner_params, *having_params, p.perPage, (p.page - 1) * p.perPage],
    )
    items = []
    for row in rows:
        item: dict[str, Any] = {
            "group": {k.path: _out(v, k.kind) for k, v in zip(plan.keys, row[1 + len(outputs) :])},
            "count": int(row[0]),
        }
        for (fn, path, _, kind), v in zip(outputs, row[1:]):
            item.setdefault(fn, {})[path] = _out(v, kind)
        items.append(item)
    total = -1 if p.skipTotal else known_total(p.page, p.perPage, len(rows))
    if total is None:
        count = f"SELECT count(*) FROM (SELECT 1 {grouped}) AS {q('c')}"
        total = int(await r.db.fetchval(count, [*inner_params, *having_params]) or 0)
    pages = -1 if total < 0 else (total + p.perPage - 1) // p.perPage
    return {"page": p.page, "perPage": p.perPage, "totalPages": pages, "totalItems": total, "items": items}


def _out(value: Any, kind: str) -> Any:
    """A key or result as JSON shows it: numbers whole when they are, booleans as booleans."""
    if value is None:
        return None
    if kind == "bool":
        return bool(value)
    if kind == "number":
        return number_value(value)
    return value
