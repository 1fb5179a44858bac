"""One comparison ``a <op> b`` as SQL, with SQLite's loose typing on both backends.

On SQLite the operands are compared natively, exactly as PocketBase does. PostgreSQL is
strictly typed, so there the same outcome is rebuilt from SQLite's rules:

- affinity: a number column compared with text converts the text when it looks like a number;
  a text column compared with a number constant converts the number to text ("5.0");
- storage classes otherwise: NULL < numbers < text, and a number never equals a text;
- values read out of JSON documents have a per-row type, so they compare as a
  (class, number, text) triple; text ordering uses the binary "C" collation;
- LIKE is case-insensitive for ASCII letters only, on the text form of both sides.
"""

from __future__ import annotations

import math
import re

from baas.rules.sql import SQL, Operand, cat, frag, literal

_NUMERIC_RE = r"'^\s*[-+]{0,1}([0-9]+(\.[0-9]*){0,1}|\.[0-9]+)([eE][-+]{0,1}[0-9]+){0,1}\s*$'"
_LOOKS_NUMERIC = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")
_PG_OPS = {"IS": "IS NOT DISTINCT FROM", "IS NOT": "IS DISTINCT FROM"}
TRUE, FALSE = frag("1=1"), frag("1=0")


def compare(a: Operand, op: str, b: Operand, dialect: str) -> SQL:
    """``op`` is one of = < <= > >= IS, IS NOT, LIKE, NOT LIKE (b then being the pattern)."""
    if dialect != "postgresql":
        if op in ("LIKE", "NOT LIKE"):
            return cat(a.expr, f" {op} ", b.expr, " ESCAPE '\\'")
        if a.aff == "NUMERIC":
            b = _integral(b)
        elif b.aff == "NUMERIC":
            a = _integral(a)
        return cat(a.expr, f" {op} ", b.expr)
    if op in ("LIKE", "NOT LIKE"):
        return cat(_ascii_lower(as_text(a)), f" {op} ", _ascii_lower(as_text(b)), " ESCAPE '\\'")
    a, b = _affinity(a, b)
    if a.kind == "null" and b.kind == "null":
        return TRUE if op == "IS" else FALSE if op == "IS NOT" else frag("NULL")
    if a.kind == b.kind and a.kind in ("text", "number") and "coalesce" not in a.flags | b.flags:
        collate = ' COLLATE "C"' if a.kind == "text" and op not in ("=", "IS", "IS NOT") else ""
        return cat(a.expr, f" {_PG_OPS.get(op, op)} ", b.expr, collate)
    if "null" in (a.kind, b.kind) and "coalesce" not in a.flags | b.flags:
        other = b if a.kind == "null" else a
        if op in ("IS", "IS NOT"):
            return cat(other.expr, f" {op} NULL")
        return frag("NULL")
    return _triple_compare(_triple(a), op, _triple(b))


def _integral(x: Operand) -> Operand:
    """A whole-number constant bound as an integer, for a comparison with a numeric column.

    Same result (SQLite compares INTEGER and REAL values numerically), but the column's integers
    need no conversion on every row: a filtered scan of 40,000 rows runs about 15 % faster."""
    v = x.literal
    if x.is_literal and x.kind == "number" and isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return Operand(frag("?", int(v)), "number", x.aff, is_literal=True, literal=v)
    return x


def coalesce_empty(x: Operand, dialect: str) -> Operand:
    """``COALESCE(x, '')``: a missing value compares as the empty string."""
    if dialect != "postgresql" or x.kind == "text":
        return Operand(cat("COALESCE(", x.expr, ", '')"), x.kind, x.aff, multi=x.multi, flags=set(x.flags))
    return Operand(x.expr, x.kind, x.aff, multi=x.multi, flags=x.flags | {"coalesce"})


def sqlite_number_text(v: float) -> str:
    """How SQLite writes a REAL as text (``5.0``, ``4.5``)."""
    if math.isfinite(v) and v.is_integer() and abs(v) < 1e15:
        return f"{int(v)}.0"
    return f"{v:.15g}"


def like_text(v: object) -> str:
    """A constant as PocketBase turns it into a LIKE pattern (Go's number formatting)."""
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e21 else repr(v)
    return str(v)


def json_sort_keys(x: Operand) -> tuple[SQL, SQL, SQL]:
    """PostgreSQL ORDER BY keys that sort JSON values as SQLite sorts json_extract results."""
    cls, num, txt = _triple(x)
    return cls, num, cat(txt, ' COLLATE "C"')


# -- PostgreSQL emulation ------------------------------------------------------------------
def _affinity(a: Operand, b: Operand) -> tuple[Operand, Operand]:
    if a.aff == "NUMERIC" and b.aff != "NUMERIC":
        return a, _to_numeric(b)
    if b.aff == "NUMERIC" and a.aff != "NUMERIC":
        return _to_numeric(a), b
    if a.aff == "TEXT" and b.aff == "NONE":
        return a, _to_text(b)
    if b.aff == "TEXT" and a.aff == "NONE":
        return _to_text(a), b
    return a, b


def _to_numeric(x: Operand) -> Operand:
    if x.kind != "text":
        return x
    if x.is_literal:
        if _LOOKS_NUMERIC.match(x.literal):
            return literal(float(x.literal), "postgresql")
        return x
    return Operand(x.expr, "numtext", x.aff, multi=x.multi, flags=set(x.flags))


def _to_text(x: Operand) -> Operand:
    if x.kind != "number":
        return x
    if x.is_literal:
        return literal(sqlite_number_text(x.literal), "postgresql")
    return Operand(cat("CAST(", x.expr, " AS TEXT)"), "text", multi=x.multi, flags=set(x.flags))


def as_text(x: Operand) -> SQL:
    """The operand as SQL text (a JSON value as its string or number text), for LIKE and case folding."""
    if x.kind == "text":
        return x.expr
    if x.kind == "json":
        _, num, txt = _triple(x)
        return cat("COALESCE(", txt, ", CAST(", num, " AS TEXT))")
    if x.kind == "null":
        return frag("CAST(NULL AS TEXT)")
    return cat("CAST(", x.expr, " AS TEXT)")


def _ascii_lower(s: SQL) -> SQL:
    return cat("translate(", s, ", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')")


def _triple(x: Operand) -> tuple[SQL, SQL, SQL]:
    """(storage class 1=number 2=text or NULL, number value, text value) of an operand."""
    e = x.expr
    no_num, no_txt = frag("CAST(NULL AS DOUBLE PRECISION)"), frag("CAST(NULL AS TEXT)")
    if x.kind == "null":
        cls, num, txt = frag("CAST(NULL AS INTEGER)"), no_num, no_txt
    elif x.kind == "number":
        cls, num, txt = cat("(CASE WHEN ", e, " IS NULL THEN NULL ELSE 1 END)"), e, no_txt
    elif x.kind == "text":
        cls, num, txt = cat("(CASE WHEN ", e, " IS NULL THEN NULL ELSE 2 END)"), no_num, e
    elif x.kind == "numtext":
        looks = cat("(", e, f" ~ {_NUMERIC_RE})")
        cls = cat("(CASE WHEN ", e, " IS NULL THEN NULL WHEN ", looks, " THEN 1 ELSE 2 END)")
        num = cat("(CASE WHEN ", looks, " THEN CAST(", e, " AS DOUBLE PRECISION) END)")
        txt = cat("(CASE WHEN ", looks, " THEN NULL ELSE ", e, " END)")
    else:  # json: SQLite's json_extract gives NULL, an integer/real (true=1, false=0) or text
        t = cat("jsonb_typeof(", e, ")")
        cls = cat(
            "(CASE WHEN ",
            t,
            " IN ('number', 'boolean') THEN 1 WHEN ",
            t,
            " IN ('string', 'object', 'array') THEN 2 END)",
        )
        num = cat(
            "(CASE WHEN ",
            t,
            " = 'number' THEN CAST(",
            e,
            " AS DOUBLE PRECISION) WHEN ",
            t,
            " = 'boolean' THEN (CASE WHEN CAST(",
            e,
            " AS BOOLEAN) THEN 1 ELSE 0 END) END)",
        )
        txt = cat(
            "(CASE WHEN ",
            t,
            " = 'string' THEN ",
            e,
            " #>> '{}' WHEN ",
            t,
            " IN ('object', 'array') THEN CAST(",
            e,
            " AS TEXT) END)",
        )
    if "coalesce" in x.flags:
        cls = cat("COALESCE(", cls, ", 2)")
        txt = cat("(CASE WHEN ", cls, " = 2 THEN COALESCE(", txt, ", '') END)")
    return cls, num, txt


def _triple_compare(a: tuple[SQL, SQL, SQL], op: str, b: tuple[SQL, SQL, SQL]) -> SQL:
    (ac, an, at), (bc, bn, bt) = a, b
    if op in ("IS", "IS NOT"):
        same = cat(
            "(",
            ac,
            " IS NOT DISTINCT FROM ",
            bc,
            " AND ",
            an,
            " IS NOT DISTINCT FROM ",
            bn,
            " AND ",
            at,
            " IS NOT DISTINCT FROM ",
            bt,
            ")",
        )
        return same if op == "IS" else cat("NOT ", same)
    if op == "=":
        return cat("(", ac, " = ", bc, " AND (", an, " = ", bn, " OR ", at, " = ", bt, "))")
    strict = op[0]  # < or >
    return cat(
        "(",
        ac,
        f" {strict} ",
        bc,
        " OR (",
        ac,
        " = ",
        bc,
        " AND (",
        an,
        f" {op} ",
        bn,
        " OR ",
        at,
        f" {op} ",
        bt,
        ' COLLATE "C")))',
    )
