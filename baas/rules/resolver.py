"""Resolve the operands of a comparison: field paths, ``@request.*``, ``@collection.*``, macros.

Field paths follow PocketBase's record field resolver: each relation hop (forward, multiple,
back-relation ``coll_via_field``, ``@collection.name[:alias]``, the auth record) becomes a
LEFT JOIN registered once per path in a shared `Joins` list, so comparisons on the same path
see the same joined row (as PocketBase's shared joins do). A path that can yield several rows
per record is marked ``multi``; the compiler then adds PocketBase's "every item" check.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import partial
from typing import Any

from baas.rules import ast
from baas.rules.context import RequestInfo
from baas.rules.errors import RuleError, RuleForbidden
from baas.rules.macros import macro_value
from baas.rules.sql import SQL, Operand, cat, frag, literal, qi
from baas.schema.fields import Field, JSONField, MultiValueField, RelationField, TextField
from baas.schema.model import Collection, parse_index

MAX_NESTED_RELATIONS = 6
_VIA = re.compile(r"^(\w+)_via_(\w+)$")
_ID_FIELD = TextField(name="id")
_PLAIN_AUTH = {"id", "collectionId", "collectionName", "email", "emailVisibility", "verified"}
_FIELD_MODIFIERS = {"each", "length", "lower"}


class Joins:
    """LEFT JOINs shared by a group of comparisons, each registered once under a path key."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.by_key: dict[str, str] = {}
        self.items: list[SQL] = []

    def add(self, key: str, make: Callable[[str], SQL]) -> str:
        if key not in self.by_key:
            alias = qi(f"{self.prefix}{len(self.by_key) + 1}")
            self.by_key[key] = alias
            self.items.append(make(alias))
        return self.by_key[key]

    def sql(self) -> SQL:
        return cat(*[cat(" ", j) for j in self.items])


class Resolver:
    """Turns operand nodes into typed `Operand`s for one collection and one request."""

    def __init__(
        self,
        collection: Collection,
        lookup: Callable[[str], Collection | None],
        request: RequestInfo,
        dialect: str,
        alias: str,
        changed: Callable[[Operand, Operand], SQL],
        client: bool = False,
        restrict: Callable[[Collection, str], SQL] | None = None,
    ) -> None:
        self.coll = collection
        # A requester's own filter (not an admin's rule) is held to what PocketBase allows it.
        self.client = client and not request.is_superuser
        self.lookup = lookup
        self.req = request
        self.pg = dialect == "postgresql"
        self.dialect = dialect
        self.alias = qi(alias)
        self.changed = changed  # builds "body value differs from stored value" (compile.py)
        self.restrict = restrict  # compiles a related collection's list rule over a join alias

    # -- entry -------------------------------------------------------------------------------
    def operand(self, node: ast.Operand, joins: Joins) -> Operand:
        if isinstance(node, ast.Text):
            return literal(node.value, self.dialect)
        if isinstance(node, ast.Number):
            return literal(node.value, self.dialect)
        name = node.name
        props = name.split(".")
        if props[0] in ("@collection", "@request") and self.client:
            raise RuleForbidden(f"Only superusers can filter by {props[0]}.")
        if props[0] == "@collection":
            return self._collection(props, joins)
        if props[0] == "@request":
            return self._request(props, joins)
        if name.startswith("@"):
            if len(props) == 1 and (value := macro_value(name)) is not None:
                return literal(value, self.dialect)
            raise RuleError(f"unknown identifier {name!r}")
        try:
            return self._path(self.coll, self.alias, props, joins, multi=False, nullify=False)
        except RuleError:
            if name.lower() in ("null", "true", "false"):  # constants unless a field has the name
                return literal({"null": None, "true": True, "false": False}[name.lower()], self.dialect)
            raise

    def lookup_or_fail(self, name_or_id: str, what: str) -> Collection:
        c = self.coll if name_or_id in (self.coll.name, self.coll.id) else self.lookup(name_or_id)
        if c is None:
            raise RuleError(f"unknown collection {name_or_id!r} in {what}")
        return c

    # -- field paths -------------------------------------------------------------------------
    def _path(
        self, coll: Collection, alias: str, props: list[str], joins: Joins, *, multi: bool, nullify: bool
    ) -> Operand:
        for i, prop in enumerate(props):
            if i == len(props) - 1:
                return self._last(coll, alias, prop, joins, multi=multi, nullify=nullify)
            if ":" in prop:
                raise RuleError(f"modifiers are only allowed on the last part of {'.'.join(props)!r}")
            f = _field(coll, prop)
            self._check_hidden(f)  # a hidden JSON field or relation is no way through, as at the end
            if isinstance(f, JSONField):
                return self._json(alias, f, props[i + 1 :], multi)
            if i >= MAX_NESTED_RELATIONS:
                raise RuleError(f"too many nested relations in {'.'.join(props)!r}")
            if f is None:
                step = self._back_relation(coll, alias, prop, joins)
                if step is None:
                    if nullify:
                        return literal(None, self.dialect)
                    raise RuleError(f"unknown field {prop!r}")
                coll, alias, many = step
                multi = multi or many
                continue
            if not isinstance(f, RelationField):
                raise RuleError(f"field {prop!r} is not a relation")
            target = self.lookup_or_fail(f.collectionId, f"relation {prop!r}")
            col = f"{alias}.{qi(f.name)}"
            if not f.is_multi() and i == len(props) - 2 and props[i + 1] == "id":
                return self._last(coll, alias, prop, joins, multi=multi, nullify=nullify)  # "rel.id" is "rel"
            self._reachable(target, prop)
            # partial binds this iteration's values (Joins.add calls the factory at once or never).
            if f.is_multi():
                je = joins.add(f"{alias}.{f.name}#each", partial(self._each_column, col))
                alias = joins.add(f"{alias}.{f.name}", partial(self._join_listed, target, f'{je}."value"'))
            else:
                alias = joins.add(f"{alias}.{f.name}", partial(self._join_listed, target, col))
            coll, multi = target, multi or f.is_multi()
        raise RuleError("empty field path")

    def _back_relation(
        self, coll: Collection, alias: str, prop: str, joins: Joins
    ) -> tuple[Collection, str, bool] | None:
        m = _VIA.match(prop)
        if not m:
            return None
        back = self.lookup(m.group(1)) if m.group(1) != self.coll.name else self.coll
        bf = back.field(m.group(2)) if back else None
        if back is None or not isinstance(bf, RelationField) or bf.collectionId not in (coll.id, coll.name):
            raise RuleError(f"invalid back relation {prop!r}")
        self._check_hidden(bf)
        self._reachable(back, prop)
        many = bf.is_multi() or not _has_unique_index(back, bf.name)
        col = f"{{a}}.{qi(bf.name)}"
        if not bf.is_multi():
            on = f'{col} = {alias}."id"'
        elif self.pg:
            on = f'{col} @> jsonb_build_array({alias}."id")'
        else:
            on = f'{alias}."id" IN (SELECT "value" FROM json_each({col}))'
        new = joins.add(
            f"{alias}.{prop}",
            lambda a: cat(frag(f"LEFT JOIN {qi(back.name)} AS {a} ON " + on.format(a=a)), self._listed(back, a)),
        )
        return back, new, many

    # -- what a client expression may reach ----------------------------------------------------
    def _check_hidden(self, f: Field | None) -> None:
        """Hidden fields are superusers' alone, wherever they stand in a client's path: the last
        part, a JSON path's field, a relation hop or the relation behind a back-relation."""
        if f is not None and f.hidden and self.client:
            raise RuleForbidden(f"Only superusers can filter by the hidden field {f.name!r}.")

    def _reachable(self, coll: Collection, prop: str) -> None:
        """A client may not filter or sort through a collection it may not list at all: any answer,
        even a count, would be an oracle for values it cannot read (PocketBase answers 400)."""
        if self.client and (coll.listRule is None or not _key_may_list(self.req, coll)):
            raise RuleError(f"{prop!r} leads to a collection that you may not list")

    def _each_column(self, col: str, alias: str) -> SQL:
        """The join over the elements of a multi-value column (a JSON array of ids)."""
        return self._each_join(frag(col), alias, True)

    def _join_listed(self, target: Collection, id_expr: str, alias: str) -> SQL:
        """``LEFT JOIN target AS alias`` on ``id = id_expr``, limited to rows the requester may list."""
        return cat(
            frag(f'LEFT JOIN {qi(target.name)} AS {alias} ON {alias}."id" = {id_expr}'), self._listed(target, alias)
        )

    def _listed(self, coll: Collection, alias: str) -> SQL:
        """The extra join condition that keeps, for a client, only the related rows its list rule
        lets this requester see; hidden rows join as NULL, exactly as a missing record would."""
        if not self.client or not coll.listRule or self.restrict is None:
            return frag("")
        return cat(" AND (", self.restrict(coll, alias.strip('"')), ")")

    def _last(self, coll: Collection, alias: str, prop: str, joins: Joins, *, multi: bool, nullify: bool) -> Operand:
        name, mod = _split_modifier(prop, _FIELD_MODIFIERS)
        f = _field(coll, name)
        if f is None:
            if nullify:
                return literal(None, self.dialect)
            raise RuleError(f"unknown field {name!r}")
        self._check_hidden(f)
        col = frag(f"{alias}.{qi(f.name)}")
        if self.client and coll.type == "auth" and f.name == "email":
            # Emails the owner keeps private read as empty to everybody else; masked before any
            # modifier (:lower, :length, …) so no modifier can see past it. "The owner" is a record
            # of this very collection: ids are only unique per collection, and clients may choose
            # them on sign-up, so an equal id in another auth collection proves nothing.
            auth = self.req.auth or {}
            if auth.get("collectionId") == coll.id and auth.get("id"):
                col = frag(
                    f'(CASE WHEN {alias}."emailVisibility" OR {alias}."id" = {self._text_param()} '
                    f"THEN {col.sql} ELSE '' END)",
                    str(auth["id"]),
                )
            else:
                col = frag(f"(CASE WHEN {alias}.\"emailVisibility\" THEN {col.sql} ELSE '' END)")
        if mod == "length" and isinstance(f, MultiValueField):
            if f.is_multi():
                sql = cat("jsonb_array_length(" if self.pg else "json_array_length(", col, ")")
            else:
                sql = cat("(CASE WHEN ", col, " = '' OR ", col, " IS NULL THEN 0 ELSE 1 END)")
            return Operand(sql, "number", multi=multi)
        if mod == "each" and isinstance(f, MultiValueField):
            je = joins.add(f"{alias}.{f.name}#each", lambda a: self._each_join(col, a, f.is_multi()))
            return Operand(frag(f'{je}."value"'), "text", multi=multi or f.is_multi())
        op = self._column(f, col, multi)
        if mod == "lower":
            op = self.lower(op)
        return op

    def _column(self, f: Field, col: SQL, multi: bool) -> Operand:
        kind = f.kind()
        if kind == "number":
            return Operand(col, "number", "NUMERIC", multi=multi)
        if kind == "bool":
            return Operand(cat("CAST(", col, " AS INTEGER)") if self.pg else col, "number", "NUMERIC", multi=multi)
        if kind == "json" and isinstance(f, JSONField):
            return self._json_value(col.sql, [], multi)
        if kind == "json":  # multi-value select/relation/file compared as its JSON text, as PocketBase does
            return Operand(cat("CAST(", col, " AS TEXT)") if self.pg else col, "text", "TEXT", multi=multi)
        return Operand(col, "text", "TEXT", multi=multi)

    def _json(self, alias: str, f: Field, path: list[str], multi: bool) -> Operand:
        for p in path:
            if not re.fullmatch(r"\w+", p):
                raise RuleError(f"invalid JSON path part {p!r}")
        return self._json_value(f"{alias}.{qi(f.name)}", path, multi)

    def _json_value(self, col: str, path: list[str], multi: bool) -> Operand:
        if self.pg:
            # a JSON null reads as SQL NULL, as SQLite's json_extract gives
            inner = frag(f"{col} #> CAST(? AS TEXT[])", list(path)) if path else frag(col)
            expr = cat("NULLIF(", inner, ", CAST('null' AS JSONB))")
        else:
            jp = "$" + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in path)
            expr = frag(f"json_extract({col}, ?)", jp)
        return Operand(expr, "json", no_coalesce=True, multi=multi)

    def _each_join(self, src: SQL, alias: str, is_array: bool) -> SQL:
        if self.pg:
            arr = src if is_array else cat("jsonb_build_array(", src, ")")
            return cat("LEFT JOIN LATERAL jsonb_array_elements_text(", arr, f') AS {alias}("value") ON 1=1')
        arr = src if is_array else cat("json_array(", src, ")")
        return cat("LEFT JOIN json_each(", arr, f") AS {alias} ON 1=1")

    def lower(self, op: Operand) -> Operand:
        """``:lower``: ASCII-only lower-casing, as SQLite's LOWER()."""
        if self.pg:
            text = op.expr if op.kind == "text" else cat("CAST(", op.expr, " AS TEXT)")
            expr = cat("translate(", text, ", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')")
        else:
            expr = cat("LOWER(", op.expr, ")")
        return Operand(expr, "text", multi=op.multi)

    # -- @collection and @request ------------------------------------------------------------
    def _collection(self, props: list[str], joins: Joins) -> Operand:
        if len(props) < 3:
            raise RuleError(f"invalid @collection path {'.'.join(props)!r}")
        name, _, alias_name = props[1].partition(":")
        coll = self.lookup_or_fail(name, "@collection")
        alias = joins.add(
            f"@collection:{alias_name or '=' + coll.name}", lambda a: frag(f"LEFT JOIN {qi(coll.name)} AS {a} ON 1=1")
        )
        return self._path(coll, alias, props[2:], joins, multi=True, nullify=False)

    def _request(self, props: list[str], joins: Joins) -> Operand:
        ns = props[1] if len(props) > 1 else ""
        if ns in ("method", "context") and len(props) == 2:
            return literal(self.req.method if ns == "method" else self.req.context, self.dialect)
        if ns not in ("auth", "body", "query", "headers") or len(props) < 3:
            raise RuleError(f"unknown request field {'.'.join(props)!r}")
        if ns == "auth":
            auth = self.req.auth
            if not auth:
                return literal(None, self.dialect)
            auth_coll = self.lookup(str(auth.get("collectionName") or auth.get("collectionId") or ""))
            if len(props) == 3 or auth_coll is None or props[2] in _PLAIN_AUTH:
                return self._static(auth, props[2:], auth_coll)
            alias = joins.add(
                "@request.auth",
                lambda a: frag(
                    f'LEFT JOIN {qi(auth_coll.name)} AS {a} ON {a}."id" = ' + self._text_param(),
                    str(auth.get("id", "")),
                ),
            )
            return self._path(auth_coll, alias, props[2:], joins, multi=False, nullify=True)
        if ns == "body":
            return self._body(props[2:], joins)
        return self._static(self.req.query if ns == "query" else self.req.headers, props[2:], None)

    def _body(self, props: list[str], joins: Joins) -> Operand:
        body = self.req.body
        name, mod = _split_modifier(props[0], {"isset", "each", "length", "lower", "changed"})
        f = self.coll.field(name)
        if isinstance(f, RelationField) and len(props) > 1:
            ids = [str(v) for v in _as_list(body.get(name)) if v not in (None, "")]
            if not ids:
                return literal(None, self.dialect)
            target = self.lookup_or_fail(f.collectionId, f"relation {name!r}")
            marks = ", ".join(self._text_param() for _ in ids)
            alias = joins.add(
                f"@request.body.{name}",
                lambda a: frag(f'LEFT JOIN {qi(target.name)} AS {a} ON {a}."id" IN ({marks})', *ids),
            )
            return self._path(target, alias, props[1:], joins, multi=f.is_multi(), nullify=True)
        if len(props) == 1 and mod == "changed":
            if f is None:
                raise RuleError(f"unknown field {name!r}")
            if name not in body:
                return literal(0, self.dialect)
            value = self._static(body, [name], self.coll)
            stored = self._column(f, frag(f"{self.alias}.{qi(f.name)}"), False)
            return Operand(cat("(CASE WHEN ", self.changed(value, stored), " THEN 1 ELSE 0 END)"), "number")
        if len(props) == 1 and isinstance(f, MultiValueField) and mod in ("each", "length"):
            items = _as_list(body.get(name))
            if mod == "length":
                return literal(len(items), self.dialect)
            src = frag("CAST(? AS JSONB)" if self.pg else "?", json.dumps(items, separators=(",", ":")))
            je = joins.add(f"@request.body.{name}#each", lambda a: self._each_join(src, a, True))
            return Operand(frag(f'{je}."value"'), "text", multi=f.is_multi())
        return self._static(body, props, self.coll)

    def _static(self, data: Any, props: list[str], coll: Collection | None) -> Operand:
        """A value read from the request: a bound constant (missing keys are null)."""
        last, mod = _split_modifier(props[-1], {"isset", "lower", "length", "each", "changed"})
        found, value = _extract(data, props[:-1] + [last])
        if mod == "isset":
            return literal(found, self.dialect)
        if mod in ("length", "each", "changed"):
            raise RuleError(f"the :{mod} modifier is not supported on {'.'.join(props)!r}")
        f = coll.field(last) if coll is not None else None
        if isinstance(value, str) and f is not None and f.kind() == "number":
            try:  # form bodies send numbers as text
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, (list, dict)):
            value = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        elif value is not None and not isinstance(value, (str, int, float, bool)):
            value = str(value)
        if mod == "lower" and value is not None:
            value = str(value).translate(_ASCII_LOWER)
        return literal(value, self.dialect)

    def _text_param(self) -> str:
        return "CAST(? AS TEXT)" if self.pg else "?"


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _key_may_list(req: RequestInfo, coll: Collection) -> bool:
    """An API key may only reach collections its scopes let it list (as ``rules.scopes.check_scope``
    decides for the collection it asks for; rules cannot import the auth package)."""
    auth = req.auth
    if not auth or auth.get("collectionName") != "_apikeys":
        return True
    return any(
        sc.get("collection") in ("*", coll.name) and "list" in (sc.get("actions") or ())
        for sc in auth.get("scopes") or ()
        if isinstance(sc, dict)
    )


def _field(coll: Collection, name: str) -> Field | None:
    f = coll.field(name)
    return _ID_FIELD if f is None and name == "id" else f


def _split_modifier(prop: str, allowed: set[str]) -> tuple[str, str]:
    name, sep, mod = prop.partition(":")
    if sep and (mod not in allowed or ":" in mod):
        raise RuleError(f"unknown modifier in {prop!r}")
    return name, mod


def _has_unique_index(coll: Collection, field_name: str) -> bool:
    for raw in coll.indexes:
        try:
            idx = parse_index(raw, coll.name)
        except ValueError:
            continue
        if idx.unique and not idx.where and [c.lstrip("-") for c in idx.columns] == [field_name]:
            return True
    return False


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _extract(data: Any, keys: list[str]) -> tuple[bool, Any]:
    cur = data
    for k in keys:
        if isinstance(cur, dict) and k in cur:
            cur = cur[k]
        elif isinstance(cur, (list, tuple)) and k.isdigit() and int(k) < len(cur):
            cur = cur[int(k)]
        else:
            return False, None
    return True, cur
