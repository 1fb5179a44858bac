"""Tokens of the filter language (PocketBase's ``fexpr`` grammar).

Identifiers are ``[A-Za-z_@#][\\w.:@#]*``; numbers are ``-?digits[.digits]``; strings are single-
or double-quoted with ``\\"``, ``\\'`` and ``\\\\`` escapes (any other backslash stays as written,
as in PocketBase); ``//`` starts a comment to the end of line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from baas.rules.ast import OPERATORS
from baas.rules.errors import RuleError


@dataclass(frozen=True)
class Token:
    kind: str  # ident | number | text | op | join | lparen | rparen | eof
    value: str
    pos: int


_IDENT = re.compile(r"[A-Za-z_@#][\w.:@#]*")
_IDENT_OK = re.compile(r"^[\w.:@#]*\w$")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?(?![\w.])")  # ASCII digits only, as PocketBase
_SIGN_CHARS = "=!<>~?"
_DIGITS = "0123456789"  # str.isdigit() would let "١٢" and "²" in as numbers
_WS = " \t\n\r"


def tokenize(src: str) -> list[Token]:
    """Split an expression into tokens; raises `RuleError` on anything unexpected."""
    out: list[Token] = []
    i, n = 0, len(src)
    while i < n:
        ch = src[i]
        if ch in _WS:
            i += 1
        elif src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j + 1
        elif ch == "(":
            out.append(Token("lparen", ch, i))
            i += 1
        elif ch == ")":
            out.append(Token("rparen", ch, i))
            i += 1
        elif ch in "'\"":
            i = _text(src, i, out)
        elif ch in _DIGITS or (ch == "-" and i + 1 < n and src[i + 1] in _DIGITS):
            i = _number(src, i, out)
        elif ch in "&|":
            i = _symbols(src, i, "&|", ("&&", "||"), "join", "join operator", out)
        elif ch in _SIGN_CHARS:
            i = _symbols(src, i, _SIGN_CHARS, OPERATORS, "op", "operator", out)
        else:
            i = _ident(src, i, out)
    out.append(Token("eof", "", n))
    return out


def _number(src: str, start: int, out: list[Token]) -> int:
    m = _NUMBER.match(src, start)
    if not m:
        raise RuleError(f"invalid number at position {start}")
    out.append(Token("number", m.group(), start))
    return m.end()


def _symbols(src: str, start: int, chars: str, allowed: tuple[str, ...], kind: str, what: str, out: list[Token]) -> int:
    """The longest run of ``chars`` at ``start``, which must be one of ``allowed`` (``&&``, ``>=``, …)."""
    j = start
    while j < len(src) and src[j] in chars:
        j += 1
    lit = src[start:j]
    if lit not in allowed:
        raise RuleError(f"invalid {what} {lit!r} at position {start}")
    out.append(Token(kind, lit, start))
    return j


def _ident(src: str, start: int, out: list[Token]) -> int:
    m = _IDENT.match(src, start)
    if not m:
        raise RuleError(f"unexpected character {src[start]!r} at position {start}")
    if not _IDENT_OK.match(m.group()):
        raise RuleError(f"invalid identifier {m.group()!r} at position {start}")
    out.append(Token("ident", m.group(), start))
    return m.end()


def _text(src: str, start: int, out: list[Token]) -> int:
    """A quoted string: backslash-quote and backslash-backslash are escapes; other backslashes stay."""
    quote = src[start]
    buf: list[str] = []
    i = start + 1
    while i < len(src):
        ch = src[i]
        if ch == "\\" and i + 1 < len(src) and src[i + 1] in (quote, "\\"):
            buf.append(src[i + 1])
            i += 2
            continue
        if ch == quote:
            out.append(Token("text", "".join(buf), start))
            return i + 1
        buf.append(ch)
        i += 1
    raise RuleError(f"unterminated string starting at position {start}")
