"""String literals that no backend can bind are a RuleError (a 400), not a driver error (a 500).

Found by the hypothesis property ``test_whatever_compiles_runs_on_the_database``: a lone surrogate
(``"\\ud800"``) compiled into a bound parameter that sqlite3 could not encode as UTF-8."""

from __future__ import annotations

import pytest

from baas.rules import RequestInfo, RuleError, compile_filter
from tests.rules.dataset import COLLECTIONS, POSTS

LOOKUP = {c.name: c for c in COLLECTIONS} | {c.id: c for c in COLLECTIONS}


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
@pytest.mark.parametrize(
    "value, message",
    [
        ("\x00", "NUL character"),
        ("a\ud800", "lone surrogate"),
        ("\udfff b", "lone surrogate"),
    ],
    ids=["NUL", "high surrogate", "low surrogate"],
)
def test_unbindable_text_is_a_rule_error(dialect: str, value: str, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        compile_filter(
            f'title = "{value}"',
            collection=POSTS,
            lookup=LOOKUP.get,
            request=RequestInfo(),
            dialect=dialect,
            alias="m",
            client=True,
        )


def test_text_outside_the_bmp_still_compiles() -> None:
    sql = compile_filter(
        'title = "\U0001f600"',
        collection=POSTS,
        lookup=LOOKUP.get,
        request=RequestInfo(),
        dialect="sqlite",
        alias="m",
        client=True,
    )
    assert "\U0001f600" in sql.params
