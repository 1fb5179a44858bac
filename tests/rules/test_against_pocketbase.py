"""The filter table against the real PocketBase binary: the same expressions, the same ids.

One PocketBase process serves the whole module; rows that need a non-superuser request
(``pb=False``) are skipped. Skipped entirely when the ``pocketbase`` binary is not on PATH.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rules.cases import CASES, INVALID, SORTS
from tests.rules.dataset import short
from tests.rules.pocketbase import PocketBase, binary

pytestmark = pytest.mark.skipif(binary() is None, reason="the pocketbase binary is not on PATH")

COMPARED = [c for c in CASES if c.pb]
# PocketBase accepts these (it drops the macro call / treats them leniently); we reject them.
LENIENT_IN_POCKETBASE = {"@random = 1", "title.name = 1", "@request.method:lower = 'get'"}


@pytest.fixture(scope="module")
def pocketbase(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PocketBase]:
    pb = PocketBase(Path(tmp_path_factory.mktemp("pocketbase")))
    pb.start()
    try:
        pb.seed()
        yield pb
    finally:
        pb.stop()


def test_same_rows_as_pocketbase(pocketbase: PocketBase) -> None:
    failures = []
    for case in COMPARED:
        try:
            got = {short(i) for i in pocketbase.ids("posts", case.expr)}
        except ValueError as exc:
            failures.append(f"{case.expr!r}: PocketBase error {exc}")
            continue
        want = set(case.expected.split())
        if got != want:
            failures.append(f"{case.expr!r}: PocketBase {sorted(got)}, table {sorted(want)}")
    assert len(COMPARED) >= 120
    assert not failures, f"{len(failures)} of {len(COMPARED)} differ:\n" + "\n".join(failures)


def test_same_invalid_expressions(pocketbase: PocketBase) -> None:
    accepted = []
    for expr in INVALID:
        if expr in LENIENT_IN_POCKETBASE or not expr.strip() or expr.strip().startswith("//"):
            continue  # an empty filter means "no filter" to the list API
        try:
            pocketbase.ids("posts", expr)
            accepted.append(expr)
        except ValueError:
            pass
    assert not accepted, f"PocketBase accepted: {accepted}"


def test_same_sort_order(pocketbase: PocketBase) -> None:
    failures = []
    for spec, expected in SORTS:
        if "@rowid" in spec:
            continue  # the REST API has no @rowid sort
        got = " ".join(short(i) for i in pocketbase.ids("posts", 'id != ""', sort=spec))
        if got != expected:
            failures.append(f"{spec}: PocketBase {got}, table {expected}")
    assert not failures, "\n".join(failures)
