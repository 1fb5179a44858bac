"""The syntax tree of a filter expression: comparisons joined by ``&&`` / ``||``."""

from __future__ import annotations

from dataclasses import dataclass

#: comparison operators; the ``?`` forms match when any item of a multi-valued operand does.
OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "~", "!~", "?=", "?!=", "?>", "?>=", "?<", "?<=", "?~", "?!~")


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


Operand = Text | Number | Ident


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
    items: tuple[Node, ...]


Node = Compare | Logic

_JOIN = {"AND": "&&", "OR": "||"}


def to_text(node: Node | Operand) -> str:
    """The expression as filter text that parses back to an equal tree.

    Strings are double-quoted with ``\\`` and ``\"`` escaped (the lexer's only escapes); parentheses
    are written only where the tree needs them (an ``||`` inside ``&&``, or a group the parser
    would otherwise flatten), so the text is never nested deeper than the one it came from."""
    if isinstance(node, Text):
        return '"' + node.value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(node, Number):
        return node.raw
    if isinstance(node, Ident):
        return node.name
    if isinstance(node, Compare):
        return f"{to_text(node.left)} {node.op} {to_text(node.right)}"
    parts = []
    for item in node.items:
        text = to_text(item)
        if isinstance(item, Logic) and (item.op == node.op or item.op == "OR"):
            text = f"({text})"
        parts.append(text)
    return f" {_JOIN[node.op]} ".join(parts)
