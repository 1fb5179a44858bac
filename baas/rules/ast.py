"""The syntax tree of a filter expression: comparisons joined by ``&&`` / ``||``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

#: comparison operators; the ``?`` forms match when any item of a multi-valued operand does.
OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "~", "!~",
             "?=", "?!=", "?>", "?>=", "?<", "?<=", "?~", "?!~")


@dataclass(frozen=True)
class Text:
    """A quoted string literal (quotes and escapes removed)."""

    value: str


@dataclass(frozen=True)
class Number:
    value: float
    raw: str


@dataclass(frozen=True)
class Ident:
    """A field path, ``@`` macro or ``@request``/``@collection`` path, ``null``/``true``/``false``."""

    name: str


Operand = Union[Text, Number, Ident]


@dataclass(frozen=True)
class Compare:
    left: Operand
    op: str
    right: Operand

    @property
    def any_of(self) -> bool:
        return self.op.startswith("?")

    @property
    def base_op(self) -> str:
        """The operator without its any-of ``?`` prefix."""
        return self.op[1:] if self.op.startswith("?") else self.op


@dataclass(frozen=True)
class Logic:
    """``&&`` (op ``AND``) or ``||`` (op ``OR``) over two or more items."""

    op: str
    items: tuple["Node", ...]


Node = Union[Compare, Logic]
