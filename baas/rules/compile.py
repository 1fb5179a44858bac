"""Compile a parsed filter (or a sort list) to SQL over the main table's alias.

Mirrors PocketBase's ``search.FilterData.BuildExpr`` with the record field resolver:

- ``=``/``!=`` treat ``null`` and ``''`` alike and never yield NULL (``IS NOT`` for ``!=``);
- ``~``/``!~`` are LIKE with ``%value%`` unless the value has an unescaped ``%``;
- a multi-valued path (multiple relation, back-relation, ``@collection``, ``:each``) without
  the ``?`` prefix must hold for every item: PocketBase's ``NOT EXISTS (… WHERE NOT cmp)``;
- relation joins are shared by the whole expression; instead of joining them into the main
  query (and needing DISTINCT), the expression runs inside one correlated
  ``EXISTS (SELECT 1 FROM (SELECT 1) LEFT JOIN … WHERE expr)``, so no row is duplicated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from baas.rules import ast, fulltext
from baas.rules.compare import FALSE, TRUE, as_text, coalesce_empty, compare, json_sort_keys, like_text
from baas.rules.context import RequestInfo
from baas.rules.errors import RuleError
from baas.rules.parser import parse
from baas.rules.resolver import Joins, Resolver
from baas.rules.sql import SQL, Operand, cat, frag, literal, qi
from baas.schema.model import Collection


@dataclass(frozen=True)
class SortKey:
    """One ORDER BY key: its expression, descending (None: ``@random``, no direction) and the
    direction as SQL (on PostgreSQL with the NULLs placed as SQLite places them: first when
    ascending)."""

    expr: SQL
    desc: bool | None
    direction: str
    nullable: bool = True


def order_by(keys: list[SortKey]) -> SQL:
    """An ORDER BY list (without the keyword) of ``keys``."""
    return cat(*(part for i, k in enumerate(keys) for part in ((", " if i else ""), k.expr, k.direction)))


class Compiler:
    """Compiles expressions for one collection, request and dialect."""

    def __init__(
        self,
        collection: Collection,
        lookup: Callable[[str], Collection | None],
        request: RequestInfo,
        dialect: str,
        alias: str,
        client: bool = False,
        prefix: str = "_",
        stored: bool = True,
    ) -> None:
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unknown dialect {dialect!r}")
        self.dialect = dialect
        self.alias = alias
        self.lookup = lookup
        self.request = request
        # Join aliases start with ``prefix``: a related collection's list rule compiled inside a
        # join condition gets the join's own alias as prefix, so its aliases never shadow ours.
        self.prefix = prefix
        # ``stored``: the rows under ``alias`` are the table's own. False for the versions
        # events carry (realtime, webhooks): the index knows only the stored one.
        self.stored = stored
        self.resolver = Resolver(
            collection, lookup, request, dialect, alias, self._changed, client, restrict=self._list_rule
        )
        self._mm = 0

    def _list_rule(self, coll: Collection, alias: str) -> SQL:
        """``coll``'s list rule over ``alias``, compiled as the founder wrote it (full access)."""
        sub = Compiler(coll, self.lookup, self.request, self.dialect, alias, client=False, prefix=alias + "_")
        try:
            return sub.filter(coll.listRule or "")
        except RuleError as exc:
            raise RuleError(f"the list rule of a related collection is invalid: {exc}") from None

    # -- filter --------------------------------------------------------------------------------
    def filter(self, expr: str) -> SQL:
        joins = Joins(f"{self.prefix}j")
        body = self.node(parse(expr), joins)
        if not joins.items:
            return body
        return cat('EXISTS (SELECT 1 FROM (SELECT 1) AS "_a"', joins.sql(), " WHERE ", body, ")")

    def node(self, node: ast.Node, joins: Joins) -> SQL:
        if isinstance(node, ast.Logic):
            parts: list[SQL | str] = ["("]
            for i, item in enumerate(node.items):
                if i:
                    parts.append(f" {node.op} ")
                parts.append(self.node(item, joins))
            parts.append(")")
            return cat(*parts)
        return self.comparison(node, joins)

    def comparison(self, node: ast.Compare, joins: Joins) -> SQL:
        if isinstance(node.left, ast.Ident) and node.left.name == "@search":
            return self.search(node)
        left = self.resolver.operand(node.left, joins)
        right = self.resolver.operand(node.right, joins)
        expr = self.build(left, node.base_op, right)
        if node.any_of or not (left.multi or right.multi):
            return expr
        # "every item": no row of the multi-valued path(s) may fail the comparison
        self._mm += 1
        own = Joins(f"{self.prefix}m{self._mm}_")
        l2 = self.resolver.operand(node.left, own)
        r2 = self.resolver.operand(node.right, own)
        inner = self.build(l2, node.base_op, r2)
        return cat(
            "(", expr, ' AND NOT EXISTS (SELECT 1 FROM (SELECT 1) AS "_a"', own.sql(), " WHERE NOT (", inner, ")))"
        )

    def search(self, node: ast.Compare) -> SQL:
        """``@search ~ "words"``: the record has every term in its full-text search (baas.search)."""
        if node.op not in ("~", "!~") or not isinstance(node.right, ast.Text):
            raise RuleError('full-text search is written @search ~ "words" (or !~)')
        coll = self.resolver.coll
        found = fulltext.matches(coll, fulltext.parse(node.right.value), self.dialect, self.alias)
        if not self.stored:  # judged only when the stored row is this version; else NULL: neither ~ nor !~ holds
            found = cat(
                "(CASE WHEN ", fulltext.same_as_stored(coll, self.dialect, self.alias), " THEN ", found, " END)"
            )
        return found if node.op == "~" else cat("NOT (", found, ")")

    def build(self, a: Operand, op: str, b: Operand) -> SQL:
        if op in ("=", "!="):
            return self.equal(a, b, op == "=")
        if op in ("~", "!~"):
            return self.like(a, b, op == "~")
        return compare(a, op, b, self.dialect)

    def equal(self, a: Operand, b: Operand, eq: bool) -> SQL:
        """PocketBase's resolveEqualExpr: null and '' are the same; ``!=`` is ``IS NOT``."""
        d = self.dialect
        op = "=" if eq else "IS NOT"
        if a.no_coalesce or b.no_coalesce:
            return compare(a, "IS" if eq else "IS NOT", b, d)
        if a.is_empty and b.is_empty:
            return TRUE if eq else FALSE
        empty = literal("", d)
        if a.known_nonempty or b.known_nonempty:
            return compare(empty if a.is_empty else a, op, empty if b.is_empty else b, d)
        if a.is_empty or b.is_empty:
            other = b if a.is_empty else a
            null_test = cat(other.expr, " IS NULL" if eq else " IS NOT NULL")
            return cat("(", compare(other, op, empty, d), " OR " if eq else " AND ", null_test, ")")
        return compare(coalesce_empty(a, d), op, coalesce_empty(b, d), d)

    def like(self, a: Operand, b: Operand, positive: bool) -> SQL:
        op = "LIKE" if positive else "NOT LIKE"
        if b.is_literal and b.kind != "null":
            text = like_pattern(like_text(b.literal))
            if _lone_trailing_escape(text):
                # SQLite (so PocketBase) matches nothing with such a pattern; PostgreSQL raises.
                return FALSE if positive else cat("(", a.expr, " IS NOT NULL)")
            pattern = literal(text, self.dialect)
        else:  # a column on the right: "contains"
            # PostgreSQL reads `'%' || jsonb` as a jsonb concatenation and fails: compare JSON as its text.
            right = as_text(b) if self.dialect == "postgresql" and b.kind == "json" else b.expr
            pattern = Operand(cat("('%' || ", right, " || '%')"), "text")
        return compare(a, op, pattern, self.dialect)

    def _changed(self, value: Operand, stored: Operand) -> SQL:
        return self.equal(value, stored, False)

    # -- sort ------------------------------------------------------------------------------------
    def sort(self, spec: str) -> SQL:
        return order_by(self.sort_keys(spec))

    def sort_keys(self, spec: str) -> list[SortKey]:
        """The ORDER BY keys of ``-views,+title,@random,@rowid,author.name``, each with its direction."""
        keys: list[SortKey] = []
        for raw in spec.split(","):
            item = raw.strip()
            if not item:
                continue
            desc = item.startswith("-")
            name = item.lstrip("+-").strip()
            if name == "@random":
                keys.append(SortKey(frag("RANDOM()"), None, ""))
                continue
            if name == "@rowid":
                col = f'{qi(self.alias)}."_rowid"' if self.dialect == "postgresql" else f"{qi(self.alias)}.rowid"
                keys.append(SortKey(frag(col), desc, " DESC" if desc else " ASC", nullable=False))
                continue
            if not name or name.startswith("@") and not name.startswith(("@request.", "@collection.")):
                raise RuleError(f"invalid sort field {item!r}")
            keys.extend(SortKey(value, desc, self._direction(desc)) for value in self.sort_values(name))
        if not keys:
            raise RuleError("empty sort")
        return keys

    def sort_values(self, name: str) -> list[SQL]:
        """The ORDER BY keys of one field path (a scalar subquery when it needs joins)."""
        joins = Joins(f"{self.prefix}s")
        op = self.resolver.operand(ast.Ident(name), joins)
        if self.dialect != "postgresql":
            values = [op.expr]
        elif op.kind == "json":  # order as SQLite does: NULL, numbers, then text
            values = list(json_sort_keys(op))
        elif op.kind == "text":
            values = [cat(op.expr, ' COLLATE "C"')]  # binary order, as SQLite
        else:
            values = [op.expr]
        if not joins.items:
            return values
        return [cat("(SELECT ", v, ' FROM (SELECT 1) AS "_a"', joins.sql(), " LIMIT 1)") for v in values]

    def _direction(self, desc: bool) -> str:
        if self.dialect == "postgresql":  # SQLite sorts NULLs first
            return " DESC NULLS LAST" if desc else " ASC NULLS FIRST"
        return " DESC" if desc else " ASC"


def like_pattern(value: str) -> str:
    """``%value%`` with ``\\``, ``%`` and ``_`` escaped, unless it has an unescaped ``%``.

    Follows PocketBase exactly (scanning from the end, a special character already preceded
    by a backslash is left alone), so the same filters match the same rows.
    """
    if _has_unescaped_percent(value):
        return value
    out: list[str] = []
    pending = False
    for i in range(len(value) - 1, -1, -1):
        ch = value[i]
        if pending:
            if ch != "\\":
                out.append("\\")
            pending = False
        elif ch in "\\%_":
            pending = True
        out.append(ch)
        if i == 0 and pending:
            out.append("\\")
    return "%" + "".join(reversed(out)) + "%"


def _lone_trailing_escape(pattern: str) -> bool:
    """Whether a LIKE pattern ends in an escape character that escapes nothing."""
    return (len(pattern) - len(pattern.rstrip("\\"))) % 2 == 1


def _has_unescaped_percent(value: str) -> bool:
    prev = ""
    for ch in value:
        if ch == "%" and prev != "\\":
            return True
        prev = "" if (ch == "\\" and prev == "\\") else ch
    return False
