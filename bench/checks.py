"""Check once per server that each workload's request returns the right data.

A fast wrong answer (an empty list, an unexpanded relation, an ignored rule) would make
a ratio meaningless, so a workload whose check fails is not measured on that server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from bench.seed import Seeded, post_body


class CheckFailed(AssertionError):
    """A workload's response does not have the expected content."""


def _get(client: httpx.Client, path: str, token: str = "", params: dict[str, Any] | None = None) -> dict[str, Any]:
    resp = client.get(path, params=params, headers={"Authorization": token} if token else {})
    if resp.status_code != 200:
        raise CheckFailed(f"GET {path}: HTTP {resp.status_code} {resp.text[:300]}")
    return dict(resp.json())


def _expect(cond: bool, msg: str) -> None:
    if not cond:
        raise CheckFailed(msg)


def _page(data: dict[str, Any], total: int, rows: int) -> list[dict[str, Any]]:
    items = data.get("items")
    _expect(isinstance(items, list), f"no items list in {str(data)[:200]}")
    _expect(len(items) == min(20, rows), f"expected {min(20, rows)} items, got {len(items)}")
    _expect(data.get("totalItems") == total, f"expected totalItems {total}, got {data.get('totalItems')}")
    return list(items)


def check(name: str, client: httpx.Client, seeded: Seeded, rows: int) -> None:
    """Raise `CheckFailed` unless workload `name` answers correctly on `client`'s server."""
    CHECKS[name](client, seeded, rows)


def _create(client: httpx.Client, s: Seeded, rows: int) -> None:
    body = {"title": "check", "body": "b", "views": 7, "published": True, "author": s.user_ids[0]}
    resp = client.post("/api/collections/posts_new/records", json=body)
    _expect(resp.status_code == 200, f"create: HTTP {resp.status_code} {resp.text[:300]}")
    rec = resp.json()
    _expect(
        len(rec.get("id", "")) == 15 and rec.get("author") == s.user_ids[0] and rec.get("views") == 7,
        f"create returned {rec}",
    )


def _view(client: httpx.Client, s: Seeded, rows: int) -> None:
    i = rows // 2
    rec = _get(client, f"/api/collections/posts/records/{s.post_ids[i]}")
    want = post_body(i, s.user_ids[i % len(s.user_ids)])
    for key in ("id", "title", "body", "views", "published", "author"):
        _expect(rec.get(key) == want[key], f"view {key}: {rec.get(key)!r} != {want[key]!r}")


def _list(client: httpx.Client, s: Seeded, rows: int) -> None:
    _page(_get(client, "/api/collections/posts/records?perPage=20"), rows, rows)


def _list_skiptotal(client: httpx.Client, s: Seeded, rows: int) -> None:
    _page(_get(client, "/api/collections/posts/records?perPage=20&skipTotal=1"), -1, rows)


def _filter_sort(client: httpx.Client, s: Seeded, rows: int) -> None:
    data = _get(
        client,
        "/api/collections/posts/records",
        params={
            "filter": "views>500 && published=true",
            "sort": "-views",
            "perPage": 20,
        },
    )
    total = sum(1 for i in range(rows) if i % 1000 > 500 and i % 2 == 0)
    items = data.get("items", [])
    _expect(data.get("totalItems") == total, f"filter totalItems {data.get('totalItems')} != {total}")
    _expect(len(items) == min(20, total), f"filter returned {len(items)} items")
    views = [it["views"] for it in items]
    _expect(
        all(v > 500 for v in views) and all(it["published"] for it in items), "filter returned rows that do not match"
    )
    _expect(views == sorted(views, reverse=True), "sort=-views not applied")


def _list_authed(client: httpx.Client, s: Seeded, rows: int) -> None:
    path = "/api/collections/posts_private/records?perPage=20"
    _page(_get(client, path, s.user_token), rows, rows)
    anon = httpx.get(str(client.base_url).rstrip("/") + path, timeout=30)
    _expect(
        anon.status_code == 200 and anon.json().get("items") == [],
        f"rule not applied: anonymous list gave HTTP {anon.status_code} {anon.text[:200]}",
    )


def _list_expand(client: httpx.Client, s: Seeded, rows: int) -> None:
    items = _page(
        _get(client, "/api/collections/posts/records?perPage=20&skipTotal=1&expand=author"),
        -1,
        rows,
    )
    for it in items:
        author = (it.get("expand") or {}).get("author") or {}
        _expect(author.get("id") == it.get("author"), f"expand=author missing or wrong: {str(it)[:300]}")


def _update(client: httpx.Client, s: Seeded, rows: int) -> None:
    rid = s.post_ids[-1]
    resp = client.patch(f"/api/collections/posts/records/{rid}", json={"views": 3})
    _expect(
        resp.status_code == 200 and resp.json().get("views") == 3, f"update: HTTP {resp.status_code} {resp.text[:300]}"
    )
    _expect(_get(client, f"/api/collections/posts/records/{rid}")["views"] == 3, "update not visible to a later read")
    client.patch(f"/api/collections/posts/records/{rid}", json={"views": (rows - 1) % 1000})


def _mixed(client: httpx.Client, s: Seeded, rows: int) -> None:
    _view(client, s, rows)
    _update(client, s, rows)


def _realtime(client: httpx.Client, s: Seeded, rows: int) -> None:
    from bench.realtime import check_realtime

    try:
        check_realtime(str(client.base_url).rstrip("/"))
    except (AssertionError, RuntimeError, OSError) as exc:
        raise CheckFailed(str(exc)) from None


def _patch(client: httpx.Client, rid: str, body: dict[str, Any]) -> None:
    resp = client.patch(f"/api/collections/posts/records/{rid}", json=body)
    _expect(resp.status_code == 200, f"update: HTTP {resp.status_code} {resp.text[:300]}")


_FILTER_SORT = {"filter": "views>500 && published=true", "sort": "-views", "perPage": 20}


def _filter_sort_mix(client: httpx.Client, s: Seeded, rows: int) -> None:
    """The filtered, sorted page reads every write at once (a cache must not answer what was):
    the top record unpublished leaves the page and the total, published again comes back."""
    _filter_sort(client, s, rows)
    before = _get(client, "/api/collections/posts/records", params=_FILTER_SORT)
    top = before["items"][0]
    _patch(client, top["id"], {"published": False})
    after = _get(client, "/api/collections/posts/records", params=_FILTER_SORT)
    _expect(after["totalItems"] == before["totalItems"] - 1, "a write did not show in the next read's total")
    _expect(top["id"] not in [it["id"] for it in after["items"]], "a write did not show in the next read's page")
    _patch(client, top["id"], {"published": True})
    again = _get(client, "/api/collections/posts/records", params=_FILTER_SORT)
    _expect(
        again["totalItems"] == before["totalItems"] and [it["id"] for it in again["items"]][0] == top["id"],
        "a write did not show in the next read (published again)",
    )


def _list_mix(client: httpx.Client, s: Seeded, rows: int) -> None:
    """The list reads every write at once: a record's new views show on the next read."""
    _list(client, s, rows)
    first = _get(client, "/api/collections/posts/records?perPage=20")["items"][0]
    _patch(client, first["id"], {"views": first["views"] + 1})
    now = _get(client, "/api/collections/posts/records?perPage=20")["items"][0]
    _expect(now["views"] == first["views"] + 1, "a write did not show in the next read")
    _patch(client, first["id"], {"views": first["views"]})


CHECKS: dict[str, Callable[[httpx.Client, Seeded, int], None]] = {
    "create": _create,
    "view": _view,
    "list": _list,
    "list_skiptotal": _list_skiptotal,
    "filter_sort": _filter_sort,
    "list_authed": _list_authed,
    "list_expand": _list_expand,
    "filter_sort_mix": _filter_sort_mix,
    "list_mix": _list_mix,
    "update": _update,
    "mixed": _mixed,
    "realtime": _realtime,
}
