"""Reading records: list (filter, sort, paging, total) and view, under the collection's rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from baas import rules
from baas.db import Reads
from baas.db.tables import q
from baas.errors import BadRequest, Forbidden, NotFound
from baas.records import cursor
from baas.records.expand import ExpandTooLarge, expand_records
from baas.records.project import Highlighted, highlight_names, parse_fields, project
from baas.records.serialize import row_to_record, rows_to_records, select_list
from baas.rules import fulltext
from baas.rules.context import RequestInfo
from baas.rules.sql import cat
from baas.schema.model import Collection
from baas.schema.registry import Registry

MAX_PER_PAGE = 1000

_INTEGER = re.compile(r"[+-]?[0-9]+")


@dataclass
class ListParams:
    page: int = 1
    perPage: int = 30
    sort: str = ""
    filter: str = ""
    expand: str = ""
    fields: str = ""
    skipTotal: bool = False
    cursor: str | None = None  # cursor paging (baas.records.cursor): "" for the first page
    search: str = ""  # full-text search (baas.search): ranked by relevance unless sorted

    @classmethod
    def from_query(cls, query: dict[str, str]) -> ListParams:
        def integer(name: str, default: int) -> int:
            raw = query.get(name)
            if raw in (None, ""):
                return default
            # ASCII digits only, as Go's Atoi reads them: int() would also take "١٢", " 12 " and "1_0".
            if not _INTEGER.fullmatch(raw):
                raise BadRequest(f"Invalid {name} value: must be an integer.")
            value = int(raw)
            if abs(value) > 2**31:
                raise BadRequest(f"Invalid {name} value: out of range.")
            return value

        page = max(1, integer("page", 1))
        per_page = integer("perPage", 30)
        per_page = 30 if per_page <= 0 else min(per_page, MAX_PER_PAGE)
        return cls(
            page=page,
            perPage=per_page,
            sort=query.get("sort", ""),
            filter=query.get("filter", ""),
            expand=query.get("expand", ""),
            fields=query.get("fields", ""),
            skipTotal=query.get("skipTotal", "") in ("1", "true", "t", "True"),
            cursor=query.get("cursor"),
            search=query.get("search", "").strip(),
        )


@dataclass
class Reader:
    """What every read needs: the database (or a transaction's connection), the schema, the requester."""

    db: Reads  # the database, or a write transaction's connection
    registry: Registry
    req: RequestInfo
    secret: str = ""  # the install secret: signs list cursors (without it cursor paging is refused)
    stored: bool = True  # False: the rows read are versions carried by events, not the table's (realtime)

    async def where(
        self, coll: Collection, rule: str | None, extra: str = "", alias: str = "m"
    ) -> tuple[list[str], list[Any]]:
        """SQL conditions for ``rule`` (skipped for superusers) and a client ``filter``.

        A condition that reads no row (``@request.auth.id != ""`` and the like) is settled once
        by the database up front, so a list or count under it keeps its plain, indexed plan
        instead of evaluating a constant on every row."""
        parts: list[str] = []
        params: list[Any] = []
        exprs = []
        if rule and not self.req.is_superuser:
            exprs.append((rule, False))
        if extra:
            exprs.append((extra, True))
        for expr, client in exprs:
            try:
                sql = rules.compile_filter(
                    expr,
                    collection=coll,
                    lookup=self.registry.get,
                    request=self.req,
                    dialect=self.db.dialect,
                    alias=alias,
                    client=client,
                    stored=self.stored,
                )
            except rules.RuleForbidden as exc:
                raise Forbidden(str(exc)) from None
            except rules.RuleError as exc:
                if not client:  # the collection's own rule is broken: an admin's problem, not the client's
                    raise BadRequest(f"The collection's {coll.name!r} rule is invalid: {exc}") from None
                raise BadRequest(f"Something went wrong while processing your request. Invalid filter: {exc}") from None
            if _reads_no_row(sql.sql, alias):
                if await self.db.fetchval(f"SELECT CASE WHEN ({sql.sql}) THEN 1 ELSE 0 END", sql.params):
                    continue
                parts.append("(1 = 0)")
                continue
            parts.append(f"({sql.sql})")
            params.extend(sql.params)
        return parts, params

    def check_locked(self, rule: str | None) -> None:
        if rule is None and not self.req.is_superuser:
            raise Forbidden("Only superusers can perform this action.")

    async def finish(
        self, coll: Collection, records: list[dict[str, Any]], expand: str, fields: str, *, done: bool = False
    ) -> list[dict[str, Any]]:
        """Expand and project records for the answer. ``done``: the action already happened (a
        committed write, a sign-in), so an expand over the response bound is left out rather than
        answered with a 400 that would read as a failed action (PocketBase ignores expand errors
        there too)."""
        if expand:
            try:
                await expand_records(self, coll, records, expand)
            except ExpandTooLarge:
                if not done:
                    raise
                for rec in records:
                    rec["expand"] = {}
            for rec in records:  # PocketBase answers an asked-for expand with {} at least
                rec.setdefault("expand", {})
        if fields:
            tree = parse_fields(fields)
            records = [project(r, tree) for r in records]
        return records


def _reads_no_row(sql: str, alias: str) -> bool:
    """True for a compiled condition that refers to no column and no other table."""
    return f'"{alias}"' not in sql and "FROM" not in sql.upper()


def rowid(dialect: str, alias: str = "m") -> str:
    """The insertion order's column, spelled as the rule compiler spells ``@rowid``."""
    return f'{q(alias)}."_rowid"' if dialect == "postgresql" else f"{q(alias)}.rowid"


def _sort_keys(r: Reader, coll: Collection, spec: str) -> list[rules.SortKey]:
    """The ORDER BY keys of a client's ``sort``; an invalid or forbidden one is the client's 4xx."""
    try:
        return rules.sort_keys(
            spec, collection=coll, lookup=r.registry.get, request=r.req, dialect=r.db.dialect, alias="m"
        )
    except rules.RuleForbidden as exc:
        raise Forbidden(str(exc)) from None
    except rules.RuleError as exc:
        raise BadRequest(f"Something went wrong while processing your request. Invalid sort: {exc}") from None


async def list_records(r: Reader, coll: Collection, p: ListParams) -> dict[str, Any]:
    """One page of records that the list rule, the filter and the search let through."""
    r.check_locked(coll.listRule)
    conds, params = await r.where(coll, coll.listRule, p.filter)
    found = _search(r, coll, p.search) if p.search else None
    if p.cursor is not None:
        return await _list_after(r, coll, p, conds, params, found)
    join, listed, conds, params = _with_search(found, conds, params)
    where = f" WHERE {' AND '.join(conds)}" if conds else ""
    order = rowid(r.db.dialect) if coll.type != "view" else f"{q('m')}.{q('id')}"
    sort_params: list[Any] = []
    if p.sort:
        sort = rules.order_by(_sort_keys(r, coll, p.sort))
        order, sort_params = sort.sql, sort.params
    elif found:  # by relevance, ties in insertion order
        order, sort_params = f"{found.ranked.rank.sql}, {order}", found.ranked.rank.params
    cols, fields = select_list(coll)
    source = f"{q(coll.name)} AS {q('m')}{join.sql}"
    all_params = [*join.params, *params]
    sql = f"SELECT {cols} FROM {source}{where} ORDER BY {order} LIMIT ? OFFSET ?"
    rows = await r.db.fetch(sql, [*all_params, *sort_params, p.perPage, (p.page - 1) * p.perPage])
    items = rows_to_records(coll, fields, rows, r.req)
    if found:
        await _highlight(r, coll, found, items, p.fields, listed)
    items = await r.finish(coll, items, p.expand, p.fields)
    total, pages = await _total(r, p, source + where, all_params, len(rows))
    return {"page": p.page, "perPage": p.perPage, "totalPages": pages, "totalItems": total, "items": items}


@dataclass
class _Found:
    """A list's full-text search: its terms and what it adds to the statement."""

    terms: list[fulltext.Term]
    ranked: fulltext.Ranked


def _with_search(
    found: _Found | None, conds: list[str], params: list[Any]
) -> tuple[rules.SQL, rules.SQL, list[str], list[Any]]:
    """(the search's join, the rule and filter alone, and the conditions with the search's)."""
    listed = rules.SQL(" AND ".join(conds), list(params))
    if found is None:
        return rules.SQL("", []), listed, conds, params
    where = found.ranked.where
    return found.ranked.join, listed, [*conds, where.sql], [*params, *where.params]


def search_condition(r: Reader, coll: Collection, text: str) -> fulltext.Ranked:
    """A full-text search as a list's join and condition (400 for a bad search)."""
    return _search(r, coll, text).ranked


def _search(r: Reader, coll: Collection, text: str) -> _Found:
    if fulltext.config(coll) is None:
        raise BadRequest(f"Invalid search: the collection {coll.name!r} has no full-text search.")
    try:
        terms = fulltext.parse(text)
    except rules.RuleError as exc:
        raise BadRequest(f"Invalid search: {exc}.") from None
    return _Found(terms, fulltext.ranked(coll, terms, r.db.dialect, "m"))


async def _highlight(
    r: Reader, coll: Collection, found: _Found, items: list[dict[str, Any]], fields: str, listed: rules.SQL
) -> None:
    """The ``:highlight`` fields of a searched page: snippets with the matches marked, read in a
    statement of their own under ``listed`` (the rule and filter) again: a record changed since
    the page was read gives no snippet of a version the requester may not list."""
    cfg = fulltext.config(coll)
    names = [n for n in highlight_names(parse_fields(fields)) if cfg and n in cfg.fields] if fields else []
    if not names or not items:
        return
    snip = fulltext.snippets(coll, found.terms, r.db.dialect, names)
    ids = [rec["id"] for rec in items]
    marks = ", ".join("?" for _ in ids)
    cond = f" AND ({listed.sql})" if listed.sql else ""
    rows = await r.db.fetch(
        f"SELECT {snip.select.sql} {snip.source.sql} AND {q('m')}.{q('id')} IN ({marks}){cond}",
        [*snip.select.params, *snip.source.params, *ids, *listed.params],
    )
    by_id = {row[0]: row[1:] for row in rows}
    for rec in items:
        texts = by_id.get(rec["id"])
        for i, n in enumerate(names):
            rec[n] = Highlighted(fulltext.marked(texts[i], snip.entities[i]) if texts else "")


async def _list_after(
    r: Reader, coll: Collection, p: ListParams, conds: list[str], params: list[Any], found: _Found | None = None
) -> dict[str, Any]:
    """A page of cursor paging: the rows after the cursor's (all of them for ``cursor=``), in the
    sort's order with the rowid (a view's id) breaking ties, and the cursor after its last row."""
    if p.page != 1:
        raise BadRequest("Invalid page value: cursor paging goes by nextCursor, not by page.")
    if not r.secret:
        raise BadRequest("Cursor paging is not available here.")
    if found and not p.sort:
        raise BadRequest("Invalid sort: relevance has no next page; cursor paging with a search needs a sort.")
    keys = _sort_keys(r, coll, p.sort) if p.sort else []
    if any(k.desc is None for k in keys):
        raise BadRequest("Invalid sort: @random has no next page; cursor paging needs a stable order.")
    if coll.type != "view":
        tie = rules.SortKey(rules.SQL(rowid(r.db.dialect), []), False, " ASC", nullable=False)
    else:  # a view's id: NULLs placed as the keyset condition expects (first), on both databases
        nulls_first = " ASC NULLS FIRST" if r.db.dialect == "postgresql" else " ASC"
        tie = rules.SortKey(rules.SQL(f"{q('m')}.{q('id')}", []), False, nulls_first)
    if not keys or keys[-1].expr.sql != tie.expr.sql:
        keys.append(tie)
    listing = cursor.scope(coll.id, p.sort, p.filter + ("\x00" + p.search if p.search else ""))
    join, listed, conds, params = _with_search(found, conds, params)
    page_conds, page_params = list(conds), list(params)
    if p.cursor:
        past = cursor.after(keys, cursor.decode(r.secret, listing, p.cursor))
        page_conds.append(past.sql)
        page_params.extend(past.params)
    where = f" WHERE {' AND '.join(page_conds)}" if page_conds else ""
    shown = cat(*(part for k in keys for part in (", ", k.expr)))
    order = rules.order_by(keys)
    cols, fields = select_list(coll)
    source = f"{q(coll.name)} AS {q('m')}{join.sql}"
    rows = await r.db.fetch(
        f"SELECT {cols}{shown.sql} FROM {source}{where} ORDER BY {order.sql} LIMIT ?",
        [*shown.params, *join.params, *page_params, *order.params, p.perPage + 1],
    )
    more, rows = len(rows) > p.perPage, rows[: p.perPage]
    n = len(keys)
    items = rows_to_records(coll, fields, [row[:-n] for row in rows], r.req)
    if found:
        await _highlight(r, coll, found, items, p.fields, listed)
    items = await r.finish(coll, items, p.expand, p.fields)
    # The first page of a list that fits in it holds every row: its total needs no count.
    fits = len(rows) if p.cursor == "" and not more else None
    where = f" WHERE {' AND '.join(conds)}" if conds else ""
    total, pages = await _total(r, p, source + where, [*join.params, *params], fits)
    return {
        "perPage": p.perPage,
        "totalPages": pages,
        "totalItems": total,
        "items": items,
        "nextCursor": cursor.encode(r.secret, listing, list(rows[-1][-n:])) if more else None,
    }


def known_total(page: int, per_page: int, shown: int | None) -> int | None:
    """The total of a paged answer when its page tells it, else None. ``shown``: the items on
    page ``page`` (None: not counted from the first item). A page that is not full is the last
    one, so counting again (which reads every matching row a second time) is not needed."""
    if shown is not None and shown < per_page and (shown or page == 1):
        return (page - 1) * per_page + shown
    return None


async def _total(r: Reader, p: ListParams, source: str, params: list[Any], shown: int | None = None) -> tuple[int, int]:
    """(totalItems, totalPages) of a list, or (-1, -1) with skipTotal."""
    if p.skipTotal:
        return -1, -1
    total = known_total(p.page, p.perPage, shown)
    if total is None:
        total = int(await r.db.fetchval(f"SELECT count(*) FROM {source}", params) or 0)
    return total, (total + p.perPage - 1) // p.perPage


async def load_row(db: Reads, coll: Collection, record_id: str) -> tuple[Any, ...] | None:
    """A record's stored row by id, no rule applied (columns in `select_list` order)."""
    cols, _ = select_list(coll)
    row: tuple[Any, ...] | None = await db.fetchone(
        f"SELECT {cols} FROM {q(coll.name)} AS {q('m')} WHERE {q('m')}.{q('id')} = ?", [record_id]
    )
    return row


async def fetch_one(
    r: Reader, coll: Collection, record_id: str, rule: str | None, extra: str = ""
) -> dict[str, Any] | None:
    """One record as the requester may see it under ``rule``; None if missing or hidden."""
    conds, params = await r.where(coll, rule, extra)
    cols, fields = select_list(coll)
    where = " AND ".join([f"{q('m')}.{q('id')} = ?", *conds])
    row = await r.db.fetchone(f"SELECT {cols} FROM {q(coll.name)} AS {q('m')} WHERE {where}", [record_id, *params])
    return None if row is None else row_to_record(coll, fields, row, r.req)


async def view_record(
    r: Reader, coll: Collection, record_id: str, expand: str = "", fields: str = ""
) -> dict[str, Any]:
    """``GET …/records/{id}``: 404 when missing or hidden by the view rule."""
    r.check_locked(coll.viewRule)
    rec = await fetch_one(r, coll, record_id, coll.viewRule)
    if rec is None:
        raise NotFound()
    return (await r.finish(coll, [rec], expand, fields))[0]
