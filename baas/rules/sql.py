"""SQL fragments that carry their bound parameters, and typed operands for comparisons.

Every value goes into ``params`` behind a ``?``; only validated identifiers, fixed keywords and
fixed constants are ever written into the SQL text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from baas.rules.errors import RuleError

_SURROGATE = re.compile("[\ud800-\udfff]")  # half of a UTF-16 pair: no valid text holds one alone


class SQL(NamedTuple):
    """A SQL fragment with ``?`` placeholders and its parameters, in order."""

    sql: str
    params: list[Any]


def frag(sql: str, *params: Any) -> SQL:
    return SQL(sql, list(params))


def cat(*parts: SQL | str) -> SQL:
    """Concatenate fragments (and fixed SQL text), keeping parameter order."""
    sql: list[str] = []
    params: list[Any] = []
    for p in parts:
        if isinstance(p, str):
            sql.append(p)
        else:
            sql.append(p.sql)
            params.extend(p.params)
    return SQL("".join(sql), params)


def qi(name: str) -> str:
    """Quote an identifier that was already validated as ``\\w+``."""
    if not name.replace("_", "a").isalnum():
        raise RuleError(f"invalid name {name!r}")
    return '"' + name + '"'


@dataclass
class Operand:
    """One side of a comparison.

    ``kind`` is the SQLite storage class the value has (``text``, ``number``, ``json`` for a
    value read out of a JSON document whose type is known only per row, ``null``); ``aff`` is
    the SQLite affinity that drives implicit conversions (``TEXT``/``NUMERIC`` for columns,
    ``NONE`` for expressions and literals). ``literal`` holds the Python value of a constant.
    ``multi`` marks a value read through a multi-valued path (several rows per record).
    """

    expr: SQL
    kind: str
    aff: str = "NONE"
    is_literal: bool = False
    literal: Any = None
    no_coalesce: bool = False
    multi: bool = False
    flags: set[str] = field(default_factory=set)

    @property
    def is_empty(self) -> bool:
        """PocketBase's "empty" operand: ``null`` or an empty string constant."""
        return self.kind == "null" or (self.is_literal and self.literal in (None, ""))

    @property
    def known_nonempty(self) -> bool:
        return self.is_literal and not self.is_empty


def literal(value: Any, dialect: str) -> Operand:
    """A constant: str, int/float, bool (as 1/0, as SQLite stores it) or None."""
    if value is None:
        return Operand(frag("NULL"), "null", is_literal=True, literal=None)
    if isinstance(value, bool):
        value = 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        v = float(value)
        sql = "CAST(? AS DOUBLE PRECISION)" if dialect == "postgresql" else "?"
        return Operand(frag(sql, v), "number", is_literal=True, literal=v)
    if not isinstance(value, str):
        raise TypeError(f"unsupported literal {value!r}")
    if "\x00" in value:  # no stored text can hold NUL (PostgreSQL refuses it): say so, on every backend
        raise RuleError("NUL character in a string value")
    if _SURROGATE.search(value):  # not UTF-8 encodable: both drivers would raise while binding it (a 500)
        raise RuleError("lone surrogate character in a string value")
    sql = "CAST(? AS TEXT)" if dialect == "postgresql" else "?"
    return Operand(frag(sql, value), "text", is_literal=True, literal=value)
