"""Parse a filter expression into `baas.rules.ast` nodes (cached; with size limits).

Precedence as in PocketBase (whose expression becomes SQL text): ``&&`` binds tighter than
``||``; parentheses group.
"""

from __future__ import annotations

from functools import lru_cache

from baas.rules import ast
from baas.rules.errors import RuleError
from baas.rules.lexer import Token, tokenize

MAX_LENGTH = 3500  # characters of one expression
MAX_COMPARISONS = 200  # comparisons in one expression
MAX_DEPTH = 32  # nested parentheses


@lru_cache(maxsize=1024)
def parse(expr: str) -> ast.Node:
    """Parse ``expr``; raises `RuleError` with a message naming what is wrong and where."""
    if len(expr) > MAX_LENGTH:
        raise RuleError(f"expression too long ({len(expr)} characters, the limit is {MAX_LENGTH})")
    tokens = tokenize(expr)
    if tokens[0].kind == "eof":
        raise RuleError("empty expression")
    return _Parser(tokens).run()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.toks = tokens
        self.i = 0
        self.count = 0

    def peek(self) -> Token:
        return self.toks[self.i]

    def take(self) -> Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def run(self) -> ast.Node:
        node = self.expr(0)
        tok = self.peek()
        if tok.kind != "eof":
            raise RuleError(f"unexpected {_describe(tok)} at position {tok.pos} (expected && or ||)")
        return node

    def expr(self, depth: int) -> ast.Node:
        items = [self.conj(depth)]
        while self.peek().kind == "join" and self.peek().value == "||":
            self.take()
            items.append(self.conj(depth))
        return items[0] if len(items) == 1 else ast.Logic("OR", tuple(items))

    def conj(self, depth: int) -> ast.Node:
        items = [self.primary(depth)]
        while self.peek().kind == "join" and self.peek().value == "&&":
            self.take()
            items.append(self.primary(depth))
        return items[0] if len(items) == 1 else ast.Logic("AND", tuple(items))

    def primary(self, depth: int) -> ast.Node:
        tok = self.peek()
        if tok.kind == "lparen":
            if depth >= MAX_DEPTH:
                raise RuleError(f"expression nested too deeply (the limit is {MAX_DEPTH} levels)")
            self.take()
            if self.peek().kind == "rparen":
                raise RuleError(f"empty parentheses at position {tok.pos}")
            node = self.expr(depth + 1)
            close = self.take()
            if close.kind != "rparen":
                raise RuleError(f"missing closing parenthesis for the one at position {tok.pos}")
            return node
        left = self.operand()
        op = self.take()
        if op.kind != "op":
            raise RuleError(f"expected an operator after {_describe(tok)}, got {_describe(op)} at position {op.pos}")
        right = self.operand()
        self.count += 1
        if self.count > MAX_COMPARISONS:
            raise RuleError(f"too many comparisons in one expression (the limit is {MAX_COMPARISONS})")
        return ast.Compare(left, op.value, right)

    def operand(self) -> ast.Operand:
        tok = self.take()
        if tok.kind == "ident":
            return ast.Ident(tok.value)
        if tok.kind == "text":
            return ast.Text(tok.value)
        if tok.kind == "number":
            return ast.Number(float(tok.value), tok.value)
        raise RuleError(f"expected a field, string or number, got {_describe(tok)} at position {tok.pos}")


def _describe(tok: Token) -> str:
    return "end of expression" if tok.kind == "eof" else repr(tok.value)
