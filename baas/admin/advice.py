"""Index advice: which index would serve the slow record lists the request log saw (issue 16).

Behind ``baas schema advise`` and ``GET /api/schema/advise`` (docs/indexes.md). Over a window of
the log (`slow_lists`: SQLite's batches a few at a time, PostgreSQL a page of its ``_logs`` key
at a time), every answered ``GET /api/collections/{c}/records?…`` with a ``filter`` or ``sort``
that took at least ``min_ms`` is read back into its filter and sort (the rule language's own
parser, `baas.rules.parse`) and given the index that would serve it (`propose`):

- the plain columns the filter compares for equality with a constant, in the filter's order
  (an ``||`` of equalities on one column counts: it is an ``IN``);
- then the sort's plain columns in order (``-`` for descending), or, without a sort, the first
  column compared as a range (``>``, ``>=``, ``<``, ``<=``).

Plain columns are the collection's own non-JSON fields (``rel.id`` is the column ``rel``);
relation paths, ``@request``/``@collection``, JSON paths, modifiers (``:lower``), ``~`` and
``!=`` are no part of an index; an equality on ``id`` is the primary key's. Requests proposing
the same index (equality columns in any order) are counted together, and a proposal another one
serves (its columns a prefix of the other's) is folded into it. A proposal an existing index of
the collection already serves (`served_by`: it starts with the same columns) is not advised.
Each item says how many slow requests it would serve and their total, p99 and longest time (the
time it may save at most: they are ranked by it), an example URL, the ``CREATE INDEX`` statement
and the line to add to the collection's ``indexes`` in baas.yaml.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

import msgspec
import yaml

from baas.db import Reads
from baas.errors import BadRequest, FieldError
from baas.ids import format_dt
from baas.logs import store
from baas.logs.summary import bucket, bucket_ms
from baas.rules import RuleError, ast, parse
from baas.rules.macros import macro_value
from baas.schema.ddl import create_index_sql
from baas.schema.fields import RelationField
from baas.schema.model import Collection, Index, parse_index

DEFAULT_SINCE = "24h"
DEFAULT_MIN_MS = 100.0
MAX_SINCE_MS = 31 * 86_400_000  # as the dashboard's windows (baas/logs/summary.py)
MAX_MIN_MS = 3_600_000.0
CHUNK_BATCHES = 8  # SQLite batches (up to 8,000 entries) decoded between two turns of the event loop
PG_PAGE = 2000  # PostgreSQL rows read per query
LIST = re.compile(r"^/api/collections/([^/]+)/records$")
_SINCE = re.compile(r"^(\d{1,6})(s|m|h|d)$")
_MIN_MS = re.compile(r"^\d{1,7}(\.\d{1,3})?$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_EQ = ("=", "?=")
_RANGE = (">", ">=", "<", "<=", "?>", "?>=", "?<", "?<=")
_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">="}
_INDEX_NAME = re.compile(r"INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?[`\"\[]?(\w+)", re.I)


def parse_since(raw: str) -> int:
    """``since`` (``30m``, ``24h``, ``7d``; default 24h) in milliseconds; a 400 naming the field."""
    m = _SINCE.match(raw.strip() or DEFAULT_SINCE)
    ms = int(m.group(1)) * _UNIT_MS[m.group(2)] if m else 0
    if not 0 < ms <= MAX_SINCE_MS:
        message = "A duration such as 30m, 24h or 7d (s, m, h or d), of 31 days at most."
        raise BadRequest(f"Invalid since value: {message}", {"since": FieldError("validation_invalid_value", message)})
    return ms


def parse_min_ms(raw: str) -> float:
    """``minMs``: the time (milliseconds, default 100) from which a request is slow; a 400 naming the field."""
    raw = raw.strip()
    if not raw:
        return DEFAULT_MIN_MS
    if not _MIN_MS.match(raw) or float(raw) > MAX_MIN_MS:
        message = f"A number of milliseconds from 0 to {MAX_MIN_MS:.0f}."
        raise BadRequest(f"Invalid minMs value: {message}", {"minMs": FieldError("validation_invalid_value", message)})
    return float(raw)


# -- what index a request needs ------------------------------------------------------------------
@dataclass(frozen=True)
class Proposal:
    """An index for one request: ``eq`` (columns compared for equality, any order serves) then
    ``rest`` (the sort's columns, ``-`` for descending, or one range-compared column)."""

    eq: tuple[str, ...]
    rest: tuple[str, ...] = ()
    ordered: bool = False  # whether ``rest`` is the sort (its directions matter) or a range column

    @property
    def columns(self) -> list[str]:
        return [*self.eq, *self.rest]

    @property
    def key(self) -> tuple[frozenset[str], tuple[str, ...]]:
        """Requests whose proposals share this key need the same index."""
        rest = self.rest if self.ordered else tuple(c.lstrip("-") for c in self.rest)
        return frozenset(self.eq), rest


def _column(coll: Collection, name: str) -> str | None:
    """The column ``name`` reads when it is a plain column of ``coll`` (``rel.id``: ``rel``)."""
    if name.startswith("@") or ":" in name:
        return None
    parts = name.split(".")
    if len(parts) == 2 and parts[1] == "id":  # a single relation's id is the relation's own column
        f = coll.field(parts[0])
        return f.name if isinstance(f, RelationField) and not f.is_multi() else None
    if len(parts) != 1:
        return None
    if name == "id":
        return "id"
    f = coll.field(name)
    return f.name if f is not None and f.kind() != "json" else None


def _constant(coll: Collection, node: ast.Operand) -> bool:
    """Whether ``node`` is the same value for every row (a literal or a date macro), not null."""
    if isinstance(node, ast.Text | ast.Number):
        return True
    name = node.name
    if name.lower() in ("true", "false") and coll.field(name) is None:
        return True
    return name.startswith("@") and "." not in name and macro_value(name) is not None


def _comparison(coll: Collection, node: ast.Compare) -> tuple[str, str] | None:
    """(column, ``eq`` or ``range``) for a comparison of a plain column with a constant."""
    left, op, right = node.left, node.op, node.right
    if not isinstance(left, ast.Ident) or _column(coll, left.name) is None:
        left, right = right, left
        op = ("?" if op.startswith("?") else "") + _FLIP.get(node.base_op, node.base_op)
    if not isinstance(left, ast.Ident) or not _constant(coll, right):
        return None
    col = _column(coll, left.name)
    if col is None:
        return None
    if op in _EQ:
        return col, "eq"
    if op in _RANGE:
        return col, "range"
    return None


def _conjuncts(node: ast.Node) -> Iterable[ast.Node]:
    if isinstance(node, ast.Logic) and node.op == "AND":
        for item in node.items:
            yield from _conjuncts(item)
    else:
        yield node


def _terms(coll: Collection, node: ast.Node) -> list[tuple[str, str]]:
    """The (column, eq/range) terms of the filter's top-level ``&&`` an index can serve."""
    out = []
    for part in _conjuncts(node):
        if isinstance(part, ast.Compare):
            term = _comparison(coll, part)
        else:  # an ``||``: an equality when every branch compares the same column for equality
            each = [_comparison(coll, p) if isinstance(p, ast.Compare) else None for p in part.items]
            term = each[0] if each[0] and each[0][1] == "eq" and all(t == each[0] for t in each) else None
        if term is not None:
            out.append(term)
    return out


def _sort(coll: Collection, spec: str) -> list[str]:
    """The sort's leading plain columns (``-`` for descending), as `baas.rules` reads a sort: the
    keys up to the first one an index cannot give (``@random``, ``@rowid``, a relation path)."""
    out = []
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        col = _column(coll, item.lstrip("+-").strip())
        if col is None:
            break
        out.append(("-" if item.startswith("-") else "") + col)
        if col == "id":  # unique: no later key ever breaks a tie
            break
    return out


def propose(coll: Collection, filter_expr: str, sort: str) -> Proposal | None:
    """The index a list of ``coll`` with this filter and sort needs (module doc), or None: no
    index serves it, or the primary key does. Raises `RuleError` for a filter that does not parse."""
    terms = _terms(coll, parse(filter_expr)) if filter_expr.strip() else []
    eq = list(dict.fromkeys(c for c, kind in terms if kind == "eq"))
    if "id" in eq:  # one row at most, found by the primary key
        return None
    order = [c for c in _sort(coll, sort) if c.lstrip("-") not in eq]
    ranges = [c for c, kind in terms if kind == "range" and c not in eq]
    rest = order or ranges[:1]
    if not eq and (not rest or rest[0].lstrip("-") == "id"):  # nothing, or the primary key's order
        return None
    return Proposal(tuple(eq), tuple(rest), ordered=bool(order))


def _serves(columns: list[str], nocase: Iterable[str], p: Proposal) -> bool:
    """Whether an index on ``columns`` (``-`` for descending) starts with what ``p`` needs."""
    cols = list(columns)
    if len(cols) < len(p.columns) or set(nocase) & {c.lstrip("-") for c in cols[: len(p.columns)]}:
        return False  # a NOCASE (or lower()) column does not serve a case-sensitive comparison
    head, tail = cols[: len(p.eq)], cols[len(p.eq) : len(p.columns)]
    if {c.lstrip("-") for c in head} != set(p.eq) or [c.lstrip("-") for c in tail] != [c.lstrip("-") for c in p.rest]:
        return False
    if not p.ordered or len(p.rest) < 2:  # one sort column: the index is read backwards as well as forwards
        return True
    same = [a.startswith("-") == b.startswith("-") for a, b in zip(tail, p.rest, strict=True)]
    return all(same) or not any(same)


def served_by(coll: Collection, p: Proposal) -> str | None:
    """The name of an index of ``coll`` that already serves ``p``."""
    for raw in coll.indexes:
        try:
            idx = parse_index(raw, coll.name)
        except ValueError:  # an expression index: not one of plain columns
            continue
        if not idx.where and _serves(idx.columns, idx.nocase, p):  # a partial index serves only its rows
            return _name(coll.name, idx)
    return None


def _name(table: str, idx: Index) -> str:
    """An index's name, as `baas.schema.ddl.create_index_sql` gives it when unnamed."""
    return idx.name or f"idx_{table}_{'_'.join(c.lstrip('-') for c in idx.columns)}"


def _names(coll: Collection) -> set[str]:
    """The names of ``coll``'s indexes (an expression index's read from its statement)."""
    out = set()
    for raw in coll.indexes:
        try:
            out.add(_name(coll.name, parse_index(raw, coll.name)))
        except ValueError:
            if m := _INDEX_NAME.search(str(raw)):
                out.add(m.group(1))
    return out


# -- the slow requests in the log ----------------------------------------------------------------
async def slow_lists(db: Reads, start: int, end: int, min_ms: float) -> AsyncIterator[tuple[str, int]]:
    """(URL, microseconds) of each successful ``GET /api/collections/…/records?…`` of the window
    ``[start, end)`` (milliseconds since the epoch) that took ``min_ms`` or more."""
    min_us = min_ms * 1000
    if db.dialect == "postgresql":
        # The ids start with the entry's millisecond (base 36): the window is a range of the key.
        after, stop, first = store.id_prefix(start), store.id_prefix(end), True
        while True:
            rows = await db.fetch(
                f'SELECT "id", "data"->>\'url\', round(("data"->>\'execTime\')::float8 * 1000)::bigint '
                f'FROM "{store.TABLE}" WHERE "id" {">=" if first else ">"} ? AND "id" < ? '
                "AND \"data\"->>'method' = 'GET' AND (\"data\"->>'status')::int < 400 "
                "AND (\"data\"->>'execTime')::float8 >= ? AND \"data\"->>'url' LIKE ? "
                'ORDER BY "id" LIMIT ?',
                [after, stop, min_ms, "/api/collections/%/records%", PG_PAGE],
            )
            for _, url, us in rows:
                yield url, int(us)
            if len(rows) < PG_PAGE:
                return
            after, first = rows[-1][0], False
    async for text in store.window_batches(db, start, end, CHUNK_BATCHES):
        if "/records?" not in text:  # no list with a query in this batch: not decoded
            continue
        for e in store.decode_batch(text):
            if e is not None and start <= e[0] < end and e[1] == "GET" and e[3] < 400 and e[4] >= min_us:
                yield e[2], e[4]


# -- the advice ------------------------------------------------------------------------------------
@dataclass
class _Group:
    coll: Collection
    proposal: Proposal
    requests: int = 0
    total_us: int = 0
    max_us: int = 0
    example: str = ""
    latency: Counter[int] = field(default_factory=Counter)  # histogram bucket -> requests

    def add(self, url: str, us: int, n: int = 1) -> None:
        self.requests += n
        self.total_us += us * n
        self.latency[bucket(us)] += n
        if us >= self.max_us:
            self.max_us, self.example = us, url

    def merge(self, other: _Group) -> None:
        self.requests += other.requests
        self.total_us += other.total_us
        self.latency.update(other.latency)
        if other.max_us > self.max_us:
            self.max_us, self.example = other.max_us, other.example

    def p99_ms(self) -> float:
        rank, seen = max(1, -(-self.requests * 99 // 100)), 0
        for b in sorted(self.latency):
            seen += self.latency[b]
            if seen >= rank:
                return min(bucket_ms(b), round(self.max_us / 1000, 3))
        return round(self.max_us / 1000, 3)  # not reached


def _item(g: _Group, dialect: str) -> dict[str, Any]:
    coll, p = g.coll, g.proposal
    idx = Index(columns=p.columns)
    names = _names(coll)
    if _name(coll.name, idx) in names:  # taken by another index (a partial one on the same columns)
        n = 2
        while f"{_name(coll.name, idx)}_{n}" in names:
            n += 1
        idx = Index(name=f"{_name(coll.name, idx)}_{n}", columns=p.columns)
    line = yaml.safe_dump(msgspec.to_builtins(idx), default_flow_style=True, sort_keys=False, width=10**6).strip()
    note = ""
    if dialect == "postgresql" and (p.ordered or any(_is_text(coll, c) for c in p.rest)):
        # Lists order text with COLLATE "C" and place NULLs as SQLite does (baas/rules/compile.py):
        # a plain index gives neither, so there it narrows the rows by its equality columns only.
        note = (
            'On PostgreSQL the list sorts and compares text with COLLATE "C" and NULLs placed as on SQLite: '
            "this index narrows the rows by its equality columns, but does not give the order."
        )
    return {
        "collection": coll.name,
        "columns": p.columns,
        "requests": g.requests,
        "totalMs": round(g.total_us / 1000, 3),
        "p99Ms": g.p99_ms(),
        "maxMs": round(g.max_us / 1000, 3),
        "example": g.example,
        "sql": create_index_sql(coll.name, idx, dialect) + ";",
        "yaml": f"- {line}",
        "note": note,
    }


def _is_text(coll: Collection, col: str) -> bool:
    f = coll.field(col.lstrip("-"))
    return f is not None and f.kind() == "text"


def _fold(groups: list[_Group]) -> list[_Group]:
    """Fold each proposal another one's index serves (a prefix of it) into that one, the most
    time-consuming first: one index for both."""
    kept: list[_Group] = []
    for g in sorted(groups, key=lambda g: (-len(g.proposal.columns), -g.total_us)):
        host = max(
            (k for k in kept if k.coll is g.coll and _serves(k.proposal.columns, (), g.proposal)),
            key=lambda k: k.total_us,
            default=None,
        )
        if host is None:
            kept.append(g)
        else:
            host.merge(g)
    return kept


async def advise(
    db: Reads, lookup: Callable[[str], Collection | None], since_ms: int, min_ms: float, now_ms: int | None = None
) -> dict[str, Any]:
    """The advice for the last ``since_ms`` of the log ``db`` (module doc), for the collections
    ``lookup`` finds by name or id."""
    end = now_ms if now_ms is not None else int(datetime.now(UTC).timestamp() * 1000)
    start = end - since_ms
    groups: dict[tuple[str, tuple[frozenset[str], tuple[str, ...]]], _Group] = {}
    seen, skipped = 0, Counter({"indexed": 0, "unindexable": 0, "unknown": 0})
    async for url, us in slow_lists(db, start, end, min_ms):
        path, _, query = url.partition("?")
        m = LIST.match(path)
        params = dict(parse_qsl(query, keep_blank_values=True))
        if m is None or not (params.get("filter", "").strip() or params.get("sort", "").strip()):
            continue
        if params.get("search", "").strip():  # full-text search: its time is the search's, not an index's
            continue
        seen += 1
        coll = lookup(unquote(m.group(1)))
        if coll is None or coll.type == "view":
            skipped["unknown"] += 1
            continue
        try:
            p = propose(coll, params.get("filter", ""), params.get("sort", ""))
        except RuleError:  # the filter no longer reads against this collection
            skipped["unknown"] += 1
            continue
        if p is None:
            skipped["unindexable"] += 1
        elif served_by(coll, p) is not None:
            skipped["indexed"] += 1
        else:
            g = groups.get((coll.id, p.key))
            if g is None:
                g = groups[(coll.id, p.key)] = _Group(coll, p)
            g.add(url, us)
    items = [_item(g, db.dialect) for g in _fold(list(groups.values()))]
    items.sort(key=lambda i: (-i["totalMs"], i["collection"], i["columns"]))
    return {
        "from": _date(start),
        "to": _date(end),
        "minMs": min_ms,
        "slowRequests": seen,
        "skipped": dict(skipped),
        "items": items,
    }


def _date(ms: int) -> str:
    return format_dt(datetime.fromtimestamp(ms / 1000, UTC))


def describe(out: dict[str, Any]) -> str:
    """`advise`'s answer as ``baas schema advise`` prints it: a table, then each index's statement
    and baas.yaml line. Logged URLs are a client's text: anything unprintable is shown escaped."""
    skipped = out["skipped"]
    head = (
        f"Slow record lists (>= {out['minMs']:g} ms) from {out['from']} to {out['to']}: {out['slowRequests']}"
        f" ({skipped['indexed']} served by an index already, {skipped['unindexable']} no index would serve,"
        f" {skipped['unknown']} of collections or fields no longer there)."
    )
    if not out["items"]:
        return head + "\nNo index to advise."
    rows = [("COLLECTION", "INDEX", "REQUESTS", "TOTAL MS", "P99 MS", "MAX MS")]
    for i in out["items"]:
        cols = ", ".join(c[1:] + " DESC" if c.startswith("-") else c for c in i["columns"])
        rows.append(
            (i["collection"], cols, str(i["requests"]), f"{i['totalMs']:.1f}", f"{i['p99Ms']:.1f}", f"{i['maxMs']:.1f}")
        )
    widths = [max(len(r[n]) for r in rows) for n in range(len(rows[0]))]
    lines = [head, ""]
    for r in rows:
        cells = [c.ljust(w) if n < 2 else c.rjust(w) for n, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    for n, i in enumerate(out["items"], 1):
        lines += [
            "",
            f"{n}. {i['collection']} ({rows[n][1]})",
            f"   example: GET {_printable(i['example'])}",
            f"   sql:     {i['sql']}",
            f"   yaml:    {i['yaml']}   (under {i['collection']}: indexes:)",
        ]
        if i["note"]:
            lines.append(f"   note:    {i['note']}")
    return "\n".join(lines)


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
