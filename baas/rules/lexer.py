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
            m = _NUMBER.match(src, i)
            if not m:
                raise RuleError(f"invalid number at position {i}")
            out.append(Token("number", m.group(), i))
            i = m.end()
        elif ch in "&|":
            j = i
            while j < n and src[j] in "&|":
                j += 1
            lit = src[i:j]
            if lit not in ("&&", "||"):
                raise RuleError(f"invalid join operator {lit!r} at position {i}")
            out.append(Token("join", lit, i))
            i = j
        elif ch in _SIGN_CHARS:
            j = i
            while j < n and src[j] in _SIGN_CHARS:
                j += 1
            lit = src[i:j]
            if lit not in OPERATORS:
                raise RuleError(f"invalid operator {lit!r} at position {i}")
            out.append(Token("op", lit, i))
            i = j
        else:
            m = _IDENT.match(src, i)
            if not m:
                raise RuleError(f"unexpected character {ch!r} at position {i}")
            if not _IDENT_OK.match(m.group()):
                raise RuleError(f"invalid identifier {m.group()!r} at position {i}")
            out.append(Token("ident", m.group(), i))
            i = m.end()
    out.append(Token("eof", "", n))
    return out


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
