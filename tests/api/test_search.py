"""Full-text search (baas/search, docs/search.md) on SQLite (FTS5) and PostgreSQL (tsvector + GIN):
relevance order for unambiguous queries, phrases, prefixes, stemming; the list rule, filters and
``@search`` in filters; highlights as safe HTML; the index following every write and schema
change; clear 400s for every bad search and search option."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.harness import Api

ARTICLES: dict[str, Any] = {
    "name": "articles",
    "type": "base",
    "listRule": "published = true || @request.auth.id != ''",
    "viewRule": "",
    "createRule": "",
    "updateRule": "",
    "deleteRule": "",
    "fields": [
        {"name": "title", "type": "text"},
        {"name": "body", "type": "editor"},
        {"name": "note", "type": "text"},
        {"name": "views", "type": "number"},
        {"name": "published", "type": "bool"},
        {"name": "secret", "type": "text", "hidden": True},
    ],
    "search": {"fields": ["title", "body"], "weights": {"title": 4}, "language": "english"},
}

DOCS = [
    # (key, title, body, views, published)
    ("title-hit", "The zyxquor report", "<p>Nothing else here.</p>", 5, True),
    ("body-hit", "Quarterly notes", "<p>One mention of <b>zyxquor</b> in the body.</p>", 9, True),
    ("phrase", "Animals", "<p>The quick brown fox jumps over the lazy dog.</p>", 1, True),
    ("shuffled", "More animals", "<p>The brown quick fox, a lazy dog jumps.</p>", 2, True),
    ("stems", "Runners", "<p>She was running every morning &amp; evening.</p>", 3, True),
    ("hidden", "zyxquor draft", "<p>Unpublished.</p>", 7, False),
    ("plain", "Other", "<p>Unrelated text about gardens.</p>", 4, True),
]


async def make(api: Api, schema: dict[str, Any] | None = None) -> dict[str, str]:
    r = await api.call("POST", "/api/collections", "su", json=schema or ARTICLES)
    assert r.status_code == 200, r.text
    ids = {}
    for key, title, body, views, published in DOCS:
        rec = {"title": title, "body": body, "views": views, "published": published, "secret": "zyxquor secret"}
        r = await api.call("POST", "/api/collections/articles/records", "su", json=rec)
        assert r.status_code == 200, r.text
        ids[key] = r.json()["id"]
    return ids


async def found(api: Api, who: str | None, **params: Any) -> list[str]:
    r = await api.call("GET", "/api/collections/articles/records", who, params=params)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["totalItems"] == len(page["items"]) or params.get("perPage")
    return [item["id"] for item in page["items"]]


async def test_relevance_phrases_prefixes_and_stems(api: Api) -> None:
    ids = await make(api)
    # The title weighs 4x: the record with the word in its title first; the unpublished one is not a guest's.
    assert await found(api, None, search="zyxquor") == [ids["title-hit"], ids["body-hit"]]
    signed_in = await found(
        api, "alice", search="zyxquor"
    )  # two title matches (their order: the engine's), then the body's
    assert set(signed_in[:2]) == {ids["title-hit"], ids["hidden"]} and signed_in[2:] == [ids["body-hit"]]
    assert await found(api, None, search='"quick brown fox"') == [ids["phrase"]]
    assert sorted(await found(api, None, search="quick brown fox")) == sorted([ids["phrase"], ids["shuffled"]])
    assert await found(api, None, search="zyxq*") == [ids["title-hit"], ids["body-hit"]]
    assert await found(api, None, search="runs") == [ids["stems"]]  # english: "runs" and "running" share a stem
    assert await found(api, None, search="ZYXQUOR report") == [ids["title-hit"]]  # every term, any case
    assert await found(api, None, search="zyxquor gardens") == []
    # the hidden field's words are not searched, for anybody
    assert await found(api, "su", search="secret") == []


async def test_with_filter_sort_paging_and_the_search_operator(api: Api) -> None:
    ids = await make(api)
    assert await found(api, None, search="zyxquor", filter="views > 6") == [ids["body-hit"]]
    assert await found(api, "su", search="zyxquor", sort="-views") == [ids["body-hit"], ids["hidden"], ids["title-hit"]]
    r = await api.call(
        "GET", "/api/collections/articles/records", "su", params={"search": "zyxquor", "perPage": 2, "page": 2}
    )
    assert r.json()["totalItems"] == 3 and r.json()["totalPages"] == 2 and len(r.json()["items"]) == 1
    # @search in a filter combines with anything
    flt = '@search ~ "zyxquor" || title = "Other"'
    assert sorted(await found(api, None, filter=flt)) == sorted([ids["title-hit"], ids["body-hit"], ids["plain"]])
    assert ids["title-hit"] not in await found(api, None, filter='@search !~ "zyxquor"')
    # a list rule may use it too: the operator is the rule language's
    r = await api.call("PATCH", "/api/collections/articles", "su", json={"listRule": '@search !~ "draft"'})
    assert r.status_code == 200, r.text
    assert ids["hidden"] not in await found(api, None) and len(await found(api, None)) == 6
    assert await found(api, None, search="zyxquor") == [ids["title-hit"], ids["body-hit"]]  # search options kept
    # cursor paging: with a sort, not by relevance
    r = await api.call("GET", "/api/collections/articles/records", None, params={"search": "zyxquor", "cursor": ""})
    assert r.status_code == 400 and "sort" in r.json()["message"]
    r = await api.call(
        "GET",
        "/api/collections/articles/records",
        None,
        params={"search": "zyxquor", "cursor": "", "sort": "views", "perPage": 1},
    )
    assert r.status_code == 200 and [i["id"] for i in r.json()["items"]] == [ids["title-hit"]]
    nxt = r.json()["nextCursor"]
    r = await api.call(
        "GET",
        "/api/collections/articles/records",
        None,
        params={"search": "zyxquor", "cursor": nxt, "sort": "views", "perPage": 1},
    )
    assert [i["id"] for i in r.json()["items"]] == [ids["body-hit"]]
    # a cursor is bound to its search
    r = await api.call(
        "GET",
        "/api/collections/articles/records",
        None,
        params={"search": "other", "cursor": nxt, "sort": "views", "perPage": 1},
    )
    assert r.status_code == 400


async def test_highlights_are_safe_html(api: Api) -> None:
    ids = await make(api)
    body = '<p>Beware <script>alert(1)</script> the zyxquor &lt;tag&gt; here &amp; there</p><img src=x onerror="x()">'
    r = await api.call("PATCH", f"/api/collections/articles/records/{ids['plain']}", "su", json={"body": body})
    assert r.status_code == 200, r.text
    r = await api.call(
        "GET",
        "/api/collections/articles/records",
        None,
        params={"search": "zyxquor", "fields": "id,title:highlight,body:highlight,views"},
    )
    items = {i["id"]: i for i in r.json()["items"]}
    assert items[ids["title-hit"]]["title"] == "The <mark>zyxquor</mark> report"
    assert items[ids["title-hit"]]["views"] == 5
    assert "<mark>zyxquor</mark>" in items[ids["body-hit"]]["body"]
    risky = items[ids["plain"]]["body"]
    assert "<mark>zyxquor</mark>" in risky
    assert "<script" not in risky and "<img" not in risky and "<p>" not in risky, risky
    assert "&lt;tag&gt;" in risky and "&amp;" in risky, risky  # the text's own characters, escaped
    # without a search, :highlight is the value escaped
    r = await api.call(
        "GET", f"/api/collections/articles/records/{ids['plain']}", None, params={"fields": "body:highlight"}
    )
    assert r.json()["body"].startswith("&lt;p&gt;Beware") and "<" not in r.json()["body"]


async def test_the_index_follows_writes_and_schema_changes(api: Api) -> None:
    ids = await make(api)
    url = "/api/collections/articles/records"
    r = await api.call("PATCH", f"{url}/{ids['plain']}", "su", json={"title": "now qwvrtz"})
    assert r.status_code == 200
    assert await found(api, None, search="qwvrtz") == [ids["plain"]]
    assert await found(api, None, search="gardens") == [ids["plain"]]  # the body is still indexed
    r = await api.call("PATCH", f"{url}/{ids['plain']}", "su", json={"body": "<p>new words</p>"})
    assert await found(api, None, search="gardens") == [] and await found(api, None, search="new") == [ids["plain"]]
    assert (await api.call("DELETE", f"{url}/{ids['plain']}", "su")).status_code == 204
    assert await found(api, None, search="qwvrtz") == []
    # batch writes: one transaction, the index with them
    await api.call("PATCH", "/api/settings", "su", json={"batch": {"enabled": True}})
    reqs = [{"method": "POST", "url": url, "body": {"title": f"batch plmkn {i}", "published": True}} for i in range(3)]
    r = await api.call("POST", "/api/batch", "su", json={"requests": reqs})
    assert r.status_code == 200, r.text
    assert len(await found(api, None, search="plmkn")) == 3
    # a failed batch leaves nothing in the index either
    bad = [*reqs, {"method": "POST", "url": url, "body": {"views": "not a number"}}]
    r = await api.call("POST", "/api/batch", "su", json={"requests": bad})
    assert r.status_code == 400
    assert len(await found(api, None, search="plmkn")) == 3
    # a searched field renamed, the collection renamed: still searched
    coll = (await api.call("GET", "/api/collections/articles", "su")).json()
    fields = [{**f, "name": "headline"} if f["name"] == "title" else f for f in coll["fields"]]
    r = await api.call("PATCH", "/api/collections/articles", "su", json={"name": "stories", "fields": fields})
    assert r.status_code == 200, r.text
    assert r.json()["search"] == {"fields": ["headline", "body"], "weights": {"headline": 4}, "language": "english"}
    r = await api.call("GET", "/api/collections/stories/records", None, params={"search": "zyxquor"})
    assert [i["id"] for i in r.json()["items"]] == [ids["title-hit"], ids["body-hit"]]
    # a new searched field: what is stored is indexed at once
    await api.call("PATCH", f"/api/collections/stories/records/{ids['phrase']}", "su", json={"note": "ybnote"})
    r = await api.call(
        "PATCH", "/api/collections/stories", "su", json={"search": {"fields": ["headline", "body", "note"]}}
    )
    assert r.status_code == 200, r.text
    r = await api.call("GET", "/api/collections/stories/records", None, params={"search": "ybnote"})
    assert [i["id"] for i in r.json()["items"]] == [ids["phrase"]]
    # search off: the index is gone, a search is a 400
    r = await api.call("PATCH", "/api/collections/stories", "su", json={"search": None})
    assert r.status_code == 200, r.text
    r = await api.call("GET", "/api/collections/stories/records", None, params={"search": "ybnote"})
    assert r.status_code == 400
    # and the collection dropped with it on: nothing left behind to clash with a new one
    r = await api.call("PATCH", "/api/collections/stories", "su", json={"search": {"fields": ["note"]}})
    assert r.status_code == 200
    assert (
        await api.call("DELETE", "/api/collections/stories", "su", params={"acceptDataLoss": "true"})
    ).status_code in (
        204,
        400,
    )


BAD_SEARCHES = [
    ("!!! ...", "no words"),
    ("x" * 501, "longer"),
    ("a\x00b", "NUL"),
    (" ".join(f"w{i}" for i in range(17)), "at most"),
]


@pytest.mark.parametrize(("text", "says"), BAD_SEARCHES, ids=[b[1] for b in BAD_SEARCHES])
async def test_bad_searches_are_400s(api: Api, text: str, says: str) -> None:
    await make(api)
    r = await api.call("GET", "/api/collections/articles/records", None, params={"search": text})
    assert r.status_code == 400 and says in r.json()["message"], r.text
    r = await api.call("GET", "/api/collections/articles/records", None, params={"filter": f'@search ~ "{text}"'})
    assert r.status_code == 400, r.text
    assert (await api.call("GET", "/api/collections/articles/records", None)).status_code == 200


async def test_search_on_a_collection_without_it_and_odd_operators(api: Api) -> None:
    await make(api)
    r = await api.call("GET", "/api/collections/posts/records", None, params={"search": "hello"})
    assert r.status_code == 400 and "no full-text search" in r.json()["message"]
    for flt in ('@search = "x"', "@search ~ title", '@search > "x"', '@search ~ "x"'):
        r = await api.call("GET", "/api/collections/posts/records", None, params={"filter": flt})
        assert r.status_code == 400, (flt, r.text)
    r = await api.call("GET", "/api/collections/articles/records", None, params={"filter": '@search = "x"'})
    assert r.status_code == 400


BAD_OPTIONS: list[tuple[dict[str, Any], str]] = [
    ({"fields": ["secret"]}, "hidden"),
    ({"fields": ["views"]}, "only text and editor"),
    ({"fields": ["nope"]}, "Unknown field"),
    ({"fields": []}, "Name the fields"),
    ({"fields": ["title", "title"]}, "each once"),
    ({"fields": ["title"], "weights": {"body": 2}}, "not searched"),
    ({"fields": ["title"], "weights": {"title": 0}}, "weight"),
    ({"fields": ["title"], "language": "klingon"}, ""),
    ({"fields": ["title"], "stemmer": "x"}, ""),
]


@pytest.mark.parametrize(("options", "says"), BAD_OPTIONS, ids=[str(b[0]) for b in BAD_OPTIONS])
async def test_bad_search_options_are_400s(api: Api, options: dict[str, Any], says: str) -> None:
    r = await api.call("POST", "/api/collections", "su", json={**ARTICLES, "search": options})
    assert r.status_code == 400, r.text
    assert says in r.text
    assert (await api.call("GET", "/api/collections/articles", "su")).status_code == 404  # nothing half-made


async def test_aggregates_take_the_search(api: Api) -> None:
    ids = await make(api)
    r = await api.call(
        "GET",
        "/api/collections/articles/aggregate",
        None,
        params={"search": "zyxquor", "sum": "views", "groupBy": "published"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["items"] == [{"group": {"published": True}, "count": 2, "sum": {"views": 14}}]
    r = await api.call("GET", "/api/collections/articles/aggregate", None, params={"search": "!!"})
    assert r.status_code == 400
    assert ids


async def test_realtime_filters_take_the_search_operator(api: Api) -> None:
    """``@search`` in a subscription's filter: an event passes when its record, as the database
    holds it now, has the words (events are checked after their write commits)."""
    from urllib.parse import quote

    from tests.harness import SSE, app_of, subscribe

    await make(api)
    topic = "articles/*?options=" + quote(json.dumps({"query": {"filter": '@search ~ "plover"'}}))
    async with SSE(app_of(api)) as sse:
        assert (await subscribe(api, sse, [topic])).status_code == 204
        url = "/api/collections/articles/records"
        await api.call("POST", url, "su", json={"title": "nothing", "published": True})
        hit = await api.call("POST", url, "su", json={"title": "a plover sighted", "published": True})
        name, msg = await sse.message()
        assert name == topic and msg["action"] == "create" and msg["record"]["id"] == hit.json()["id"]


async def test_a_rule_with_search_is_judged_on_each_event_version(api: Api) -> None:
    """Realtime checks each event's own version of a record; the index holds only the stored
    one, so ``@search`` holds for neither ~ nor !~ on a version that is not stored any more:
    two updates in one transaction send only the second (stored) one to a guest whose rule
    hides the first."""
    from tests.harness import SSE, app_of, subscribe

    ids = await make(api)
    rule = '@search !~ "confidential"'
    r = await api.call("PATCH", "/api/collections/articles", "su", json={"listRule": rule, "viewRule": rule})
    assert r.status_code == 200, r.text
    await api.call("PATCH", "/api/settings", "su", json={"batch": {"enabled": True}})
    url = f"/api/collections/articles/records/{ids['plain']}"
    async with SSE(app_of(api)) as sse:
        assert (await subscribe(api, sse, ["articles/*"])).status_code == 204
        reqs = [
            {"method": "PATCH", "url": url, "body": {"title": "confidential merger plan"}},
            {"method": "PATCH", "url": url, "body": {"title": "harmless again"}},
        ]
        r = await api.call("POST", "/api/batch", "su", json={"requests": reqs})
        assert r.status_code == 200, r.text
        name, msg = await sse.message()
        assert msg["record"]["title"] == "harmless again", msg
        r = await api.call("PATCH", url, "su", json={"title": "public"})
        name, msg = await sse.message()
        assert msg["record"]["title"] == "public"  # the confidential version never came


async def test_tokens_long_texts_odd_names_and_views(api: Api) -> None:
    schema = {
        **ARTICLES,
        "fields": [*ARTICLES["fields"], {"name": "rank", "type": "text"}],
        "search": {"fields": ["title", "body", "rank"]},
    }
    await make(api, schema)  # "rank" is a name FTS5 reserves: the index names its columns by position
    url = "/api/collections/articles/records"
    r = await api.call(
        "POST", url, "su", json={"title": "mail bob@example.com or see example.com, pi 3.14, v1.2.3", "published": True}
    )
    rec = r.json()["id"]
    for word in ("bob", "bob@example.com", "example", "3.14", "v1", "com"):
        assert await found(api, None, search=word) == [rec], word  # punctuation parts words on both databases
    words = " ".join(f"w{i}x" for i in range(150_000))  # past PostgreSQL's tsvector size: the start is indexed
    r = await api.call("POST", url, "su", json={"title": "long", "body": f"<p>{words}</p>", "published": True})
    assert r.status_code == 200, r.text
    assert await found(api, None, search="w17x") == [r.json()["id"]]
    r = await api.call("POST", url, "su", json={"title": "plover \x04 tail \x01 open \x02", "published": True})
    r = await api.call("GET", url, None, params={"search": "plover", "fields": "title:highlight"})
    shown = r.json()["items"][0]["title"]
    assert shown.count("<mark>") == shown.count("</mark>") == 1 and "\x01" not in shown, shown
    # a view reading every column: no storage column among its fields, and search off keeps it readable
    r = await api.call(
        "POST",
        "/api/collections",
        "su",
        json={"name": "all_articles", "type": "view", "listRule": "", "viewQuery": "SELECT * FROM articles"},
    )
    assert r.status_code == 200, r.text
    assert not {f["name"] for f in r.json()["fields"]} & {"_search", "_rowid"}
    for search in ({"fields": ["title"]}, None):
        r = await api.call("PATCH", "/api/collections/articles", "su", json={"search": search})
        assert r.status_code == 200, r.text
        r = await api.call("GET", "/api/collections/all_articles/records", None, params={"perPage": 1})
        assert r.status_code == 200 and "_search" not in r.json()["items"][0], r.text
