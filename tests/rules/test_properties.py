"""Property-based tests of the filter language (hypothesis), bounded to a few seconds.

- any text is either parsed and compiled, or refused with a `RuleError`: nothing else escapes;
- values never reach the SQL text: every generated string and number literal is a bound parameter;
- printing is faithful: parse -> print -> parse gives the same tree;
- whatever compiles also runs on the backend under test (SQLite, or PostgreSQL when configured).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baas.db import open_database
from baas.db.postgres import to_pg
from baas.rules import RequestInfo, RuleError, ast, compile_filter, compile_sort, parse
from baas.rules.ast import to_text
from baas.schema.ddl import create_table_sql
from tests.harness import PG_URL, create_pg_database, drop_pg_database, seed
from tests.rules.dataset import COLLECTIONS, POSTS, ROWS, record

BOUNDED = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
MARK = "\x01"  # every generated string literal carries it: it must never show up in SQL text
LOOKUP = {c.name: c for c in COLLECTIONS} | {c.id: c for c in COLLECTIONS}
REQUESTS = [
    RequestInfo(),
    RequestInfo(
        auth={"id": "user00000000001", "collectionName": "users", "collectionId": "pbc_users000001"},
        body={"title": "x"},
    ),
]

PATHS = [
    "id",
    "title",
    "body",
    "views",
    "score",
    "published",
    "tags",
    "status",
    "author",
    "editors",
    "meta",
    "published_at",
    "author.name",
    "author.email",
    "author.team.name",
    "editors.name",
    "editors.age",
    "meta.a.b",
    "meta.list.0",
    "tags:length",
    "tags:each",
    "title:lower",
    "editors:length",
    "comments_via_post.message",
    "comments_via_post.author.name",
    "author.comments_via_author.message",
    "@now",
    "@todayStart",
    "@request.auth.id",
    "@request.body.title",
    "@request.method",
    "@collection.users.name",
    "null",
    "true",
    "false",
    "nope",
    "title:nope",
    "author.nope",
    "@nope",
]
IDENT_RE = r"[A-Za-z_][A-Za-z0-9_]{0,6}(\.[A-Za-z_][A-Za-z0-9_]{0,5}){0,2}(:[a-z]{2,6})?"

idents = st.one_of(st.sampled_from(PATHS), st.from_regex(IDENT_RE, fullmatch=True)).map(ast.Ident)
# NUL is refused in strings (no backend can store it), so generated literals never hold one
texts = st.text(st.characters(blacklist_characters="\x00"), max_size=12).map(lambda s: ast.Text(MARK + s))
numbers = st.integers(1_000_003, 9_999_999).map(lambda n: ast.Number(float(n), str(n))) | st.integers(
    1_000_003, 9_999_999
).map(lambda n: ast.Number(float(-n), str(-n)))
operands = st.one_of(idents, texts, numbers)
compares = st.builds(ast.Compare, operands, st.sampled_from(ast.OPERATORS), operands)


def _logic(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.builds(ast.Logic, st.sampled_from(["AND", "OR"]), st.lists(children, min_size=2, max_size=3).map(tuple))


trees = st.recursive(compares, _logic, max_leaves=6)

# token soup: mostly near-valid text, to reach deep into the lexer, parser and compiler
TOKENS = (
    PATHS
    + list(ast.OPERATORS)
    + [
        "&&",
        "||",
        "(",
        ")",
        '"a"',
        "'b'",
        '"x\\"y"',
        "'\\\\'",
        "1",
        "-2.5",
        "1.",
        "&",
        "|",
        "!",
        "//c\n",
        '"',
        "'",
        "=",
        "..",
        "a:",
        "@",
        "#",
    ]
)


def _mutate(src: str, token: str, at: int, cut: int) -> str:
    """A valid expression with one token spliced in and a few characters cut out."""
    i = at % (len(src) + 1)
    return src[:i] + token + src[i + cut :]


soup = st.one_of(
    st.lists(st.sampled_from(TOKENS), max_size=12).map(" ".join),
    st.builds(
        _mutate,
        st.deferred(lambda: trees).map(to_text),
        st.sampled_from(TOKENS),
        st.integers(0, 300),
        st.integers(0, 3),
    ),
)


# -- backends to run compiled SQL on ----------------------------------------------------------------
class Backend:
    """The seeded dataset on SQLite (in memory) or PostgreSQL, runnable from a sync test."""

    def __init__(self) -> None:
        self.dialect = "postgresql" if PG_URL else "sqlite"
        self.sqlite: sqlite3.Connection | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.url = ""

    def start(self) -> None:
        if self.dialect == "sqlite":
            self.sqlite = sqlite3.connect(":memory:", check_same_thread=False)
            for coll in COLLECTIONS:
                for stmt in create_table_sql(coll, "sqlite"):
                    self.sqlite.execute(stmt)
                for row in ROWS[coll.name]:
                    rec = record(coll, row)
                    cols = ["id"] + [f.name for f in coll.fields if f.name in rec]
                    vals = [rec["id"]] + [
                        coll.field(c).to_db(coll.field(c).prepare(rec[c]), "sqlite") for c in cols[1:]
                    ]
                    self.sqlite.execute(
                        f'INSERT INTO "{coll.name}" ({", ".join(map(repr, cols))}) '
                        f"VALUES ({', '.join('?' * len(cols))})",
                        vals,
                    )
            return
        # PostgreSQL: a loop of our own in a thread, so sync hypothesis tests can call into it
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.url = self.run(create_pg_database())
        self.run(self._seed_pg())
        self.conn = self.run(asyncpg.connect(self.url))

    async def _seed_pg(self) -> None:
        db = open_database(self.url)
        await db.connect()
        try:
            await seed(db)
        finally:
            await db.close()

    def run(self, coro: Any) -> Any:
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def query(self, sql: str, params: list[Any]) -> None:
        if self.sqlite is not None:
            self.sqlite.execute(sql, params).fetchall()
        else:
            self.run(self.conn.fetch(to_pg(sql), *params))

    def stop(self) -> None:
        if self.loop is not None:
            self.run(self.conn.close())
            self.run(drop_pg_database(self.url))
            self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture(scope="module")
def backend() -> Iterator[Backend]:
    b = Backend()
    b.start()
    yield b
    b.stop()


def compile_all(expr: str, dialects: tuple[str, ...] = ("sqlite", "postgresql")) -> Iterator[tuple[str, Any]]:
    """Every compilation of ``expr`` over ``posts`` that succeeds: (dialect, SQL)."""
    for dialect in dialects:
        for req in REQUESTS:
            for client in (False, True):
                try:
                    sql = compile_filter(
                        expr,
                        collection=POSTS,
                        lookup=LOOKUP.get,
                        request=req,
                        dialect=dialect,
                        alias="m",
                        client=client,
                    )
                except RuleError:
                    continue
                yield dialect, sql


def literals(node: ast.Node | ast.Operand) -> Iterator[ast.Text | ast.Number]:
    if isinstance(node, (ast.Text, ast.Number)):
        yield node
    elif isinstance(node, ast.Compare):
        yield from literals(node.left)
        yield from literals(node.right)
    elif isinstance(node, ast.Logic):
        for item in node.items:
            yield from literals(item)


# -- properties -------------------------------------------------------------------------------------
@BOUNDED
@given(st.one_of(st.text(max_size=80), soup))
def test_any_text_parses_compiles_or_is_refused_with_a_rule_error(src: str):
    try:
        parse(src)
    except RuleError:
        return
    for _ in compile_all(src):
        pass
    try:
        compile_sort(src, collection=POSTS, lookup=LOOKUP.get, request=REQUESTS[0], dialect="sqlite", alias="m")
    except RuleError:
        pass


@BOUNDED
@given(trees)
def test_round_trip_of_generated_trees(tree: ast.Node):
    assert parse(to_text(tree)) == tree


@BOUNDED
@given(soup)
def test_round_trip_of_parsed_text(src: str):
    try:
        tree = parse(src)
    except RuleError:
        return
    assert parse(to_text(tree)) == tree


@BOUNDED
@given(trees)
def test_values_are_bound_parameters_never_sql_text(tree: ast.Node):
    values = list(literals(tree))
    for _, sql in compile_all(to_text(tree)):
        assert MARK not in sql.sql, sql.sql
        for v in values:  # (a comparison folded to a constant may leave a literal out of params too)
            if isinstance(v, ast.Number):
                assert v.raw.lstrip("-") not in sql.sql, (v.raw, sql.sql)


@BOUNDED
@given(st.one_of(trees.map(to_text), soup))
def test_whatever_compiles_runs_on_the_database(backend: Backend, src: str):
    try:
        parse(src)
    except RuleError:
        return
    for _, sql in compile_all(src, (backend.dialect,)):
        backend.query(f'SELECT count(*) FROM "posts" AS "m" WHERE {sql.sql}', sql.params)
