"""Cursor paging (``?cursor=``, baas/records/cursor.py, docs/api.md): every row exactly once
in the sort's order (ties broken by insertion), under the list rule and filter, while rows are
inserted between pages; cursors only for the listing they were made for; bad ones are 400s."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import Api

PER_PAGE = 7
# Values with ties (views), NULLs and mixed types (meta), empty and set dates, relations.
METAS: list[Any] = [None, 3, "b", 1.5, None, "a", {"x": 1}, 2]
# Text whose order depends on case and accents: the keyset comparison must follow the sort's collation.
WORDS = ["post", "Post", "émile", "Zeta", "ALPHA", "beta", "Émile"]


async def seed(api: Api, n: int = 40) -> list[str]:
    ids = []
    for i in range(n):
        author = "" if i % 7 == 0 else api.users["alice" if i % 3 else "bob"]  # no author: a NULL relation key
        body = {
            "title": f"{WORDS[i % len(WORDS)]} {i % 11:02d}",
            "views": i % 5,
            "score": (i * 7) % 13 / 2,
            "published": i % 4 != 0,
            "author": author,
            "meta": METAS[i % len(METAS)],
            "due": "" if i % 6 == 0 else f"2026-01-{1 + i % 9:02d} 10:00:00.000Z",
        }
        r = await api.call("POST", "/api/collections/posts/records", "su", json=body)
        assert r.status_code == 200, r.text
        ids.append(r.json()["id"])
    return ids


async def by_cursor(api: Api, who: str | None, **params: Any) -> list[dict[str, Any]]:
    """Every page, following nextCursor from ``cursor=``."""
    out: list[dict[str, Any]] = []
    cursor = ""
    for _ in range(1000):
        r = await api.call(
            "GET", "/api/collections/posts/records", who, params={"perPage": PER_PAGE, "cursor": cursor, **params}
        )
        assert r.status_code == 200, r.text
        page = r.json()
        assert set(page) == {"perPage", "totalItems", "totalPages", "items", "nextCursor"}
        assert len(page["items"]) <= PER_PAGE
        out.extend(page["items"])
        if page["nextCursor"] is None:
            return out
        assert len(page["items"]) == PER_PAGE  # a page short of perPage is the last
        cursor = page["nextCursor"]
    raise AssertionError("no last page")


async def by_offset(api: Api, who: str | None, sort: str, **params: Any) -> list[dict[str, Any]]:
    """The same listing in one offset page, with the cursor's tie-break spelled out."""
    tie = "@rowid" if not sort.endswith("@rowid") else ""
    full = ",".join(s for s in (sort, tie) if s)
    r = await api.call("GET", "/api/collections/posts/records", who, params={"perPage": 1000, "sort": full, **params})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


SORTS = [
    "",
    "-views",
    "views,-title",
    "title",
    "-title,views",
    "published",
    "score",
    "-meta",
    "meta",
    "due",
    "-due",
    "author.email",
    "-author.email,-views",
    "-@rowid",
    "-created",
]


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("who", ["su", "alice", None])
async def test_every_row_once_in_order(api: Api, sort: str, who: str | None) -> None:
    await seed(api)
    params = {"sort": sort} if sort else {}
    expected = await by_offset(api, who, sort)
    got = await by_cursor(api, who, **params)
    assert [r["id"] for r in got] == [r["id"] for r in expected]
    if who is None:
        # the list rule on every page (an author-less post matches "author = @request.auth.id": both "")
        assert all(r["published"] or not r["author"] for r in got) and len(got) == 32


async def test_filter_expand_fields_and_totals(api: Api) -> None:
    await seed(api)
    params = {
        "filter": "views >= 2 && author != ''",
        "sort": "-views",
        "expand": "author",
        "fields": "id,views,expand.author.email",
    }
    got = await by_cursor(api, "su", **params)
    assert len(got) == 21 and all(set(r) == {"id", "views", "expand"} for r in got)
    assert [r["views"] for r in got] == sorted((r["views"] for r in got), reverse=True)
    assert all(r["expand"]["author"]["email"].endswith("@example.com") for r in got)
    r = await api.call("GET", "/api/collections/posts/records", "su", params={"cursor": "", "perPage": 5, **params})
    assert r.json()["totalItems"] == 21 and r.json()["totalPages"] == 5
    r = await api.call("GET", "/api/collections/posts/records", "su", params={"cursor": "", "skipTotal": "1"})
    assert r.json()["totalItems"] == -1 and r.json()["totalPages"] == -1


async def test_rows_inserted_between_pages(api: Api) -> None:
    before = await seed(api)
    for sort in ("", "-views", "title"):
        seen: list[str] = []
        cursor = ""
        while cursor is not None:
            r = await api.call(
                "GET",
                "/api/collections/posts/records",
                "su",
                params={"perPage": PER_PAGE, "cursor": cursor, "sort": sort},
            )
            page = r.json()
            seen.extend(x["id"] for x in page["items"])
            cursor = page["nextCursor"]
            # Rows land before and after the reader's position while it pages.
            for views in (0, 4):
                body = {"title": "post 05", "views": views, "published": True}
                assert (await api.call("POST", "/api/collections/posts/records", "su", json=body)).status_code == 200
        assert len(seen) == len(set(seen)), f"a row repeated under sort {sort!r}"
        assert set(before) <= set(seen), f"a row was skipped under sort {sort!r}"


async def _first_cursor(api: Api, **params: Any) -> str:
    r = await api.call("GET", "/api/collections/posts/records", "su", params={"perPage": 3, "cursor": "", **params})
    assert r.status_code == 200, r.text
    return str(r.json()["nextCursor"])


async def test_bad_cursors_are_refused(api: Api) -> None:
    await seed(api, 10)
    good = await _first_cursor(api, sort="-views")
    body, _, sig = good.partition(".")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"cursor": "garbage", "sort": "-views"}, "posts", "Invalid cursor"),
        ({"cursor": "%%%.###", "sort": "-views"}, "posts", "Invalid cursor"),
        ({"cursor": f"{flipped}.{sig}", "sort": "-views"}, "posts", "Invalid cursor"),
        ({"cursor": good, "sort": "views"}, "posts", "Invalid cursor"),  # made for another sort
        ({"cursor": good, "sort": "-views", "filter": "views > 1"}, "posts", "Invalid cursor"),
        ({"cursor": good}, "comments", "Invalid cursor"),  # another collection
        ({"cursor": good, "sort": "-views", "page": "2"}, "posts", "Invalid page value"),
        ({"cursor": "", "sort": "@random"}, "posts", "@random"),
        ({"cursor": "", "sort": "nope"}, "posts", "Invalid sort"),
    ]
    for params, coll, message in cases:
        r = await api.call("GET", f"/api/collections/{coll}/records", "su", params=params)
        assert r.status_code == 400, (params, r.text)
        assert set(r.json()) == {"status", "message", "data"} and message in r.json()["message"], (params, r.text)
    r = await api.call("GET", "/api/collections/posts/records", "su", params={"cursor": good, "sort": "-views"})
    assert r.status_code == 200


async def test_a_cursor_made_for_a_superuser_shows_a_user_nothing_more(api: Api) -> None:
    await seed(api, 20)
    cursor = await _first_cursor(api)
    r = await api.call("GET", "/api/collections/posts/records", None, params={"cursor": cursor, "perPage": 100})
    assert r.status_code == 200, r.text
    assert all(x["published"] for x in r.json()["items"])
