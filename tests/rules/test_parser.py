"""The filter language without a database: tokens, precedence, errors and limits."""

from __future__ import annotations

import pytest

from baas.rules import RuleError, ast, parse
from baas.rules.compile import like_pattern
from baas.rules.lexer import tokenize
from baas.rules.parser import MAX_COMPARISONS, MAX_DEPTH, MAX_LENGTH

C, I, T, N = ast.Compare, ast.Ident, ast.Text, ast.Number  # noqa: E741  (short node names for the tables)


def test_single_comparison() -> None:
    assert parse('title = "x"') == C(I("title"), "=", T("x"))


@pytest.mark.parametrize("op", ast.OPERATORS)
def test_every_operator(op: str) -> None:
    node = parse(f"a {op} 1")
    assert isinstance(node, C) and node.op == op and node.any_of == op.startswith("?")
    assert node.base_op == op.lstrip("?")


def test_and_binds_tighter_than_or() -> None:
    node = parse("a = 1 || b = 2 && c = 3")
    assert node == ast.Logic(
        "OR",
        (C(I("a"), "=", N(1.0, "1")), ast.Logic("AND", (C(I("b"), "=", N(2.0, "2")), C(I("c"), "=", N(3.0, "3"))))),
    )


def test_parentheses_group() -> None:
    node = parse("(a = 1 || b = 2) && c = 3")
    assert isinstance(node, ast.Logic) and node.op == "AND"
    assert isinstance(node.items[0], ast.Logic) and node.items[0].op == "OR"


def test_flat_chains() -> None:
    node = parse("a=1 && b=2 && c=3")
    assert isinstance(node, ast.Logic) and len(node.items) == 3


@pytest.mark.parametrize(
    "src,value",
    [
        ('"plain"', "plain"),
        ("'single'", "single"),
        (r'"say \"hi\""', 'say "hi"'),
        (r"'it\'s'", "it's"),
        (r'"a\\b"', "a\\b"),
        (r'"keep \s and \%"', r"keep \s and \%"),
        ('"日本 ü"', "日本 ü"),
        ('""', ""),
        ("'\"'", '"'),
        ('"\'"', "'"),
    ],
)
def test_strings(src: str, value: str) -> None:
    assert parse(f"a = {src}") == C(I("a"), "=", T(value))


@pytest.mark.parametrize("src,value", [("0", 0.0), ("42", 42.0), ("-1", -1.0), ("4.25", 4.25), ("-0.5", -0.5)])
def test_numbers(src: str, value: float) -> None:
    assert parse(f"a > {src}") == C(I("a"), ">", N(value, src))


@pytest.mark.parametrize(
    "name",
    [
        "title",
        "author.team.name",
        "tags:each",
        "tags:length",
        "title:lower",
        "@request.auth.id",
        "@request.body.tags:each",
        "@collection.users:u.name",
        "comments_via_post.message",
        "_x",
        "@now",
        "meta.list.0",
    ],
)
def test_identifiers(name: str) -> None:
    assert parse(f"{name} = 1").left == I(name)


def test_whitespace_and_comments() -> None:
    assert parse("  a\t=\n1 // trailing\n") == C(I("a"), "=", N(1.0, "1"))
    assert parse("// first\n a = 1") == C(I("a"), "=", N(1.0, "1"))


def test_literal_on_the_left() -> None:
    assert parse('"x" != a') == C(T("x"), "!=", I("a"))


@pytest.mark.parametrize(
    "src,message",
    [
        ("", "empty"),
        ("  // nothing", "empty"),
        ("a =", "expected a field"),
        ("a 1", "expected an operator"),
        ("a == 1", "invalid operator"),
        ("a & 1", "invalid join"),
        ("a = 1 b = 2", "expected && or ||"),
        ("(a = 1", "missing closing"),
        ("a = 1)", "unexpected '\\)'"),
        ("()", "empty parentheses"),
        ("a = 'x", "unterminated"),
        ("a = 1.", "invalid number"),
        ("a = .5", "unexpected character"),
        ("a = 1e5", "invalid number"),
        ("a = 1 &&", "expected a field"),
        ("a ! 1", "invalid operator"),
        ("a.= 1", "invalid identifier"),
        ("a = $x", "unexpected character"),
        ("a = 1;", "unexpected character"),
    ],
)
def test_syntax_errors(src: str, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        parse(src)


def test_length_limit() -> None:
    parse("a = '" + "x" * (MAX_LENGTH - 10) + "'")
    with pytest.raises(RuleError, match="too long"):
        parse("a = '" + "x" * MAX_LENGTH + "'")


def test_comparison_limit() -> None:
    parse(" && ".join(["a=1"] * MAX_COMPARISONS))
    with pytest.raises(RuleError, match="too many comparisons"):
        parse(" && ".join(["a=1"] * (MAX_COMPARISONS + 1)))


def test_depth_limit() -> None:
    parse("(" * MAX_DEPTH + "a=1" + ")" * MAX_DEPTH)
    with pytest.raises(RuleError, match="nested too deeply"):
        parse("(" * (MAX_DEPTH + 1) + "a=1" + ")" * (MAX_DEPTH + 1))


def test_parse_is_cached() -> None:
    assert parse("cached = 1") is parse("cached = 1")


def test_tokens_carry_positions() -> None:
    toks = tokenize('ab >= "c"')
    assert [(t.kind, t.value, t.pos) for t in toks] == [
        ("ident", "ab", 0),
        ("op", ">=", 3),
        ("text", "c", 6),
        ("eof", "", 9),
    ]


@pytest.mark.parametrize(
    "value,pattern",
    [
        ("hello", "%hello%"),
        ("100%", "100%"),
        ("_", r"%\_%"),
        ("a_b", r"%a\_b%"),
        ("\\", r"%\\%"),
        (r"back\s", r"%back\\s%"),
        (r"\%", r"%\%%"),
        (r"\_", r"%\_%"),
    ],
)
def test_like_patterns(value: str, pattern: str) -> None:
    assert like_pattern(value) == pattern
