"""``GET /api/collections/{c}/aggregate`` (baas/records/aggregate.py, docs/aggregates.md): every
answer equals a recomputation in Python over the records the same requester lists through the
records API (and, for keys through a relation, the related records it lists), for a guest, a
user and a superuser; bad group keys, functions, fields, having and sort are 400s."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest

from tests.harness import Api

KINDS = ["news", "blog", ""]


async def seed(api: Api, n: int = 36) -> None:
    for i in range(n):
        author = "" if i % 7 == 0 else api.users["alice" if i % 3 else "bob"]
        body = {
            "title": f"post {i % 5}",
            "views": (i * 5) % 11,
            "score": (i * 7) % 13 / 4,
            "published": i % 4 != 0,
            "kind": KINDS[i % 3],
            "tags": ["a", "b"][: i % 3],
            "author": author,
            "due": "" if i % 6 == 0 else f"2026-01-{1 + i % 9:02d} 10:00:00.000Z",
            "meta": {"n": i},
        }
        r = await api.call("POST", "/api/collections/posts/records", "su", json=body)
        assert r.status_code == 200, r.text


async def listed(api: Api, who: str | None, collection: str, filter: str = "") -> list[dict[str, Any]]:
    params = {"perPage": 1000, **({"filter": filter} if filter else {})}
    r = await api.call("GET", f"/api/collections/{collection}/records", who, params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def _empty(v: Any) -> bool:
    return v is None or v == ""


def recompute(
    rows: list[dict[str, Any]], keys: dict[str, Callable[[dict[str, Any]], Any]], values: dict[str, list[str]]
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Groups by ``keys`` (path -> getter), with count and each function over each path."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[tuple(get(row) for get in keys.values())].append(row)
    out = {}
    for key, members in groups.items():
        item: dict[str, Any] = {"group": dict(zip(keys, key)), "count": len(members)}
        for fn, paths in values.items():
            for path in paths:
                vals = [m[path] for m in members]
                present = [v for v in vals if not _empty(v)]
                if fn == "sum":
                    result: Any = sum(float(v) for v in vals)
                elif fn == "avg":
                    result = sum(float(v) for v in vals) / len(vals)
                elif fn == "min":
                    result = min(present) if present else None
                elif fn == "max":
                    result = max(present) if present else None
                else:
                    result = len(set(present))
                item.setdefault(fn, {})[path] = result
        out[key] = item
    return out


async def aggregate(api: Api, who: str | None, **params: Any) -> dict[str, Any]:
    r = await api.call("GET", "/api/collections/posts/aggregate", who, params={"perPage": 1000, **params})
    assert r.status_code == 200, r.text
    return dict(r.json())


def same(got: dict[str, Any], expected: dict[str, Any]) -> None:
    assert set(got) == set(expected), (got, expected)
    for k, v in expected.items():
        if isinstance(v, dict):
            same(got[k], v)
        elif isinstance(v, float):
            assert got[k] == pytest.approx(v), (k, got, expected)
        else:
            assert got[k] == v, (k, got, expected)


CASES: list[dict[str, Any]] = [
    {"groupBy": "published", "sum": "views,score", "avg": "views", "min": "due,views", "max": "due,score"},
    {"groupBy": "kind,published", "max": "views", "distinct": "author"},
    {"groupBy": "author.name", "sum": "views", "min": "title"},
    {"groupBy": "author", "avg": "score"},
    {"groupBy": "author.email", "sum": "views"},  # emails read as the list shows them
    {"sum": "views,published", "avg": "score", "distinct": "author,kind"},  # one group: everything
    {"groupBy": "kind", "filter": "views > 3 && published = true", "sum": "views"},
]


def _getter(path: str, users: dict[str, dict[str, Any]]) -> Callable[[dict[str, Any]], Any]:
    if path.startswith("author."):
        name = path.split(".", 1)[1]
        # a key through a relation the requester can't list reads null, as a missing record
        return lambda row: users[row["author"]].get(name, "") if row["author"] in users else None
    return lambda row: row[path]


@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
@pytest.mark.parametrize("who", ["su", "alice", None])
async def test_equals_a_recomputation_over_what_the_requester_lists(
    api: Api, case: dict[str, Any], who: str | None
) -> None:
    await seed(api)
    rows = await listed(api, who, "posts", case.get("filter", ""))
    users = {u["id"]: u for u in await listed(api, who, "users")}
    keys = {p: _getter(p, users) for p in (case["groupBy"].split(",") if "groupBy" in case else [])}
    values = {fn: case[fn].split(",") for fn in ("sum", "avg", "min", "max", "distinct") if fn in case}
    expected = recompute(rows, keys, values)
    if not keys:  # no groupBy: one group, even over no rows
        expected = expected or {(): {"group": {}, "count": 0}}
    page = await aggregate(api, who, **case)
    assert page["totalItems"] == len(expected) == len(page["items"])
    got = {tuple(item["group"][k] for k in keys): item for item in page["items"]}
    assert set(got) == set(expected)
    for key, item in expected.items():
        same(got[key], item)
    if who is None:  # the guest aggregates published posts only
        assert sum(item["count"] for item in page["items"]) == len(rows) < 36
    if who is None and "author.name" in keys:
        assert all(item["group"]["author.name"] is None for item in page["items"])  # users hides every user
    if who == "alice" and "author.name" in keys:
        assert {item["group"]["author.name"] for item in page["items"]} == {"Alice", None}


async def test_having_sort_and_paging(api: Api) -> None:
    await seed(api)
    rows = await listed(api, "su", "posts")
    counts: dict[tuple[str, bool], int] = defaultdict(int)
    views: dict[tuple[str, bool], int] = defaultdict(int)
    for row in rows:
        counts[row["kind"], row["published"]] += 1
        views[row["kind"], row["published"]] += row["views"]
    kept = [k for k in counts if counts[k] > 4 and views[k] >= 20]
    order = sorted(kept, key=lambda k: (-counts[k], k[0], k[1]))
    params = {"groupBy": "kind,published", "sum": "views", "having": "count > 4 && sum.views >= 20", "sort": "-count"}
    page = await aggregate(api, "su", **params)
    assert [(i["group"]["kind"], i["group"]["published"]) for i in page["items"]] == order
    assert page["totalItems"] == len(order)
    # paging: every group once, totals counted when the page is full
    seen = []
    for n in (1, 2, 3):
        r = await api.call("GET", "/api/collections/posts/aggregate", "su", params={**params, "perPage": 2, "page": n})
        body = r.json()
        assert r.status_code == 200 and body["totalItems"] == len(order) and body["totalPages"] == (len(order) + 1) // 2
        seen += [(i["group"]["kind"], i["group"]["published"]) for i in body["items"]]
    assert seen == order
    # sort by a group key, descending, and by an aggregate not asked for
    page = await aggregate(api, "su", groupBy="kind", sort="-group.kind")
    assert [i["group"]["kind"] for i in page["items"]] == ["news", "blog", ""]
    page = await aggregate(api, "su", groupBy="kind", sort="max.views,kind")
    maxes = [max(r["views"] for r in rows if r["kind"] == i["group"]["kind"]) for i in page["items"]]
    assert maxes == sorted(maxes) and "max" not in page["items"][0]
    # having over a text aggregate and a group key; skipTotal
    page = await aggregate(api, "su", groupBy="kind", having="kind != '' && min.due >= '2026-01-01'", skipTotal="1")
    assert {i["group"]["kind"] for i in page["items"]} == {"news", "blog"} and page["totalItems"] == -1


async def test_an_empty_collection_and_a_locked_one(api: Api) -> None:
    page = await aggregate(api, "su", sum="views", avg="views", max="due")
    assert page["items"] == [
        {"group": {}, "count": 0, "sum": {"views": 0}, "avg": {"views": None}, "max": {"due": None}}
    ]
    page = await aggregate(api, "su", groupBy="kind")
    assert page["items"] == [] and page["totalItems"] == 0
    # vault: no list rule, superusers only
    r = await api.call("GET", "/api/collections/vault/aggregate", "alice")
    assert r.status_code == 403, r.text
    r = await api.call("GET", "/api/collections/vault/aggregate", "su", params={"groupBy": "secret"})
    assert r.status_code == 200 and r.json()["items"] == []
    r = await api.call("GET", "/api/collections/nope/aggregate", "su")
    assert r.status_code == 404


BAD: list[tuple[dict[str, str], str, int]] = [
    ({"groupBy": "nope"}, "groupBy", 400),
    ({"groupBy": "tags"}, "groupBy", 400),  # several values per record
    ({"groupBy": "meta"}, "groupBy", 400),  # JSON
    ({"groupBy": "meta.n"}, "groupBy", 400),
    ({"groupBy": "comments_via_post.message"}, "groupBy", 400),  # a back-relation: several rows
    ({"groupBy": "kind,kind"}, "groupBy", 400),
    ({"groupBy": "a,b,c,d,e,f"}, "groupBy", 400),
    ({"groupBy": "@request.auth.id"}, "", 403),  # a client may not read @request
    ({"groupBy": "@collection.users.name"}, "", 403),
    ({"groupBy": "author.nope"}, "groupBy", 400),
    ({"sum": "title"}, "sum", 400),  # sum needs numbers
    ({"avg": "due"}, "avg", 400),
    ({"max": "nope"}, "max", 400),
    ({"min": "tags"}, "min", 400),
    ({"having": "count >"}, "having", 400),
    ({"having": "nope > 1"}, "having", 400),
    ({"having": "count ?> 1"}, "having", 400),
    ({"having": "sum.title > 1"}, "having", 400),
    ({"having": '@search ~ "x"'}, "having", 400),  # a records' condition: in filter
    ({"groupBy": "kind:each"}, "groupBy", 400),  # several values per record
    ({"max": "tags:each"}, "max", 400),
    ({"sort": "nope"}, "sort", 400),
    ({"sort": "-sum.title"}, "sort", 400),
    ({"filter": "nope = 1"}, "", 400),
    ({"sum": ",".join(f"views,score,published,views{i}" for i in range(6))}, "aggregate", 400),
]


@pytest.mark.parametrize(("params", "field", "status"), BAD, ids=[str(b[0]) for b in BAD])
async def test_bad_requests_are_clear_4xx(api: Api, params: dict[str, str], field: str, status: int) -> None:
    r = await api.call("GET", "/api/collections/posts/aggregate", "alice", params=params)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["status"] == status and body["message"]
    if field:
        assert body["data"][field]["code"] == "validation_invalid_aggregate", body
        assert body["data"][field]["message"]
    ok = await api.call("GET", "/api/collections/posts/aggregate", "alice")  # the server keeps serving
    assert ok.status_code == 200


async def test_hidden_fields_are_superusers_alone(api: Api) -> None:
    r = await api.call(
        "POST",
        "/api/collections",
        "su",
        json={
            "name": "salaries",
            "type": "base",
            "listRule": "",
            "fields": [{"name": "team", "type": "text"}, {"name": "pay", "type": "number", "hidden": True}],
        },
    )
    assert r.status_code == 200, r.text
    for team, pay in (("a", 10), ("a", 30), ("b", 5)):
        await api.call("POST", "/api/collections/salaries/records", "su", json={"team": team, "pay": pay})
    for params in ({"sum": "pay"}, {"groupBy": "pay"}, {"groupBy": "team", "having": "max.pay > 1"}):
        r = await api.call("GET", "/api/collections/salaries/aggregate", "alice", params=params)
        assert r.status_code == 403, r.text
    page = await aggregate_of(api, "salaries", "su", groupBy="team", sum="pay")
    assert [(i["group"]["team"], i["sum"]["pay"]) for i in page["items"]] == [("a", 40), ("b", 5)]


async def aggregate_of(api: Api, collection: str, who: str | None, **params: Any) -> dict[str, Any]:
    r = await api.call("GET", f"/api/collections/{collection}/aggregate", who, params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())
