"""The filter table on the backend under test: each expression returns exactly its rows."""

from __future__ import annotations

from typing import Any

import pytest

from baas.rules import RuleError, compile_filter, compile_sort
from tests.rules.cases import CASES, EVIL_CASES, INVALID, REQUESTS, SORTS, Case
from tests.rules.dataset import POSTS, lookup, short


async def run_filter(db: Any, expr: str, req: str = "super", collection: Any = POSTS) -> set[str]:
    sql = compile_filter(
        expr, collection=collection, lookup=lookup, request=REQUESTS[req], dialect=db.dialect, alias="m"
    )
    rows = await db.fetch(f'SELECT "id" FROM "{collection.name}" AS "m" WHERE {sql.sql}', sql.params)
    return {short(r[0]) for r in rows}


async def check_all(db: Any, cases: list[Case]) -> None:
    failures = []
    for case in cases:
        try:
            got = await run_filter(db, case.expr, case.req)
        except Exception as exc:  # report every failing row at once
            failures.append(f"{case.expr!r} [{case.req}]: raised {type(exc).__name__}: {exc}")
            continue
        want = set(case.expected.split())
        if got != want:
            failures.append(f"{case.expr!r} [{case.req}]: got {sorted(got)}, want {sorted(want)}")
    assert not failures, f"{len(failures)} of {len(cases)} expressions failed:\n" + "\n".join(failures)


def test_table_is_big_enough() -> None:
    assert len(CASES) + len(EVIL_CASES) >= 120
    assert len({(c.expr, c.req) for c in CASES}) == len(CASES), "duplicate rows in the table"


async def test_filter_table(seeded: Any) -> None:
    await check_all(seeded, CASES)


async def test_request_values_stay_values(seeded: Any) -> None:
    await check_all(seeded, EVIL_CASES)
    assert await seeded.fetchval('SELECT count(*) FROM "posts"') == 8


async def test_no_duplicate_rows(seeded: Any) -> None:
    sql = compile_filter(
        'editors.name ?~ "o" || comments_via_post.id != "" || @collection.users.age ?> 0',
        collection=POSTS,
        lookup=lookup,
        request=REQUESTS["super"],
        dialect=seeded.dialect,
        alias="m",
    )
    rows = await seeded.fetch(f'SELECT "id" FROM "posts" AS "m" WHERE {sql.sql}', sql.params)
    assert len(rows) == len({r[0] for r in rows}) == 8


@pytest.mark.parametrize("expr", INVALID)
def test_invalid_expressions_raise(expr: str) -> None:
    with pytest.raises(RuleError):
        compile_filter(expr, collection=POSTS, lookup=lookup, request=REQUESTS["super"], dialect="sqlite", alias="m")


def test_sql_has_no_pasted_values() -> None:
    for case in CASES + EVIL_CASES:
        for dialect in ("sqlite", "postgresql"):
            sql = compile_filter(
                case.expr, collection=POSTS, lookup=lookup, request=REQUESTS[case.req], dialect=dialect, alias="m"
            )
            assert sql.sql.count("?") == len(sql.params), case.expr
            for bad in ("DROP", "OR 1=1", "user0000", "Hello", "$1"):
                assert bad not in sql.sql, (case.expr, sql.sql)


@pytest.mark.parametrize("spec,expected", SORTS)
async def test_sort(seeded: Any, spec: str, expected: str) -> None:
    sql = compile_sort(
        spec, collection=POSTS, lookup=lookup, request=REQUESTS["super"], dialect=seeded.dialect, alias="m"
    )
    rows = await seeded.fetch(f'SELECT "id" FROM "posts" AS "m" ORDER BY {sql.sql}', sql.params)
    assert " ".join(short(r[0]) for r in rows) == expected


async def test_sort_random_and_errors(seeded: Any) -> None:
    sql = compile_sort(
        "@random", collection=POSTS, lookup=lookup, request=REQUESTS["super"], dialect=seeded.dialect, alias="m"
    )
    rows = await seeded.fetch(f'SELECT "id" FROM "posts" AS "m" ORDER BY {sql.sql}', sql.params)
    assert len(rows) == 8
    for bad in ("", "nope", "-author.nope", "@bogus", "views;DROP"):
        with pytest.raises(RuleError):
            compile_sort(bad, collection=POSTS, lookup=lookup, request=REQUESTS["super"], dialect="sqlite", alias="m")
