"""The query cache in one process (docs/cache.md): what it keeps, what it never keeps, and that any
committed write — the API's, a cascade, raw SQL, a schema change — is seen by the very next read.
The cross-process property is tests/cache/test_cache_processes.py's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from baas.db.cache import QueryCache
from baas.db.migrate import migrate
from baas.schema.loader import load_schema_text
from tests.harness import Api, samples

LIST = "/api/collections/{}/records"


@pytest.fixture
async def api(api: Api) -> AsyncIterator[Api]:
    """The app, its cache keeping every read, however cheap (the tables here are tiny)."""
    api.engine.cache.min_seconds = 0
    yield api


def stats(a: Api) -> dict[str, int]:
    hits, misses, bypassed, held, entries = a.engine.cache.stats()
    return {"hits": hits, "misses": misses, "bypassed": bypassed, "bytes": held, "entries": entries}


async def page(a: Api, coll: str, who: str | None = "su", **params: Any) -> dict[str, Any]:
    r = await a.call("GET", LIST.format(coll), who, params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def post(a: Api, who: str = "alice", **values: Any) -> str:
    body = {"title": "t", "published": True, "author": a.users[who], **values}
    r = await a.call("POST", LIST.format("posts"), who, json=body)
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


async def test_a_repeated_list_is_a_hit_and_any_write_is_seen_at_once(api: Api) -> None:
    pid = await post(api, views=1)
    first = await page(api, "posts", sort="-views", filter="views >= 0")
    before = stats(api)
    assert await page(api, "posts", sort="-views", filter="views >= 0") == first
    after = stats(api)
    assert after["hits"] - before["hits"] == 1  # the page (which holds the total: no count) from memory
    assert after["misses"] == before["misses"]

    r = await api.call("PATCH", f"{LIST.format('posts')}/{pid}", "alice", json={"views": 7})
    assert r.status_code == 200
    assert (await page(api, "posts", sort="-views", filter="views >= 0"))["items"][0]["views"] == 7

    # A write that is no API call: raw SQL in a transaction of its own (a plugin, a migration)
    await api.engine.db.write(lambda c: c.execute('UPDATE "posts" SET "views" = 9 WHERE "id" = ?', [pid]))
    assert (await page(api, "posts", sort="-views", filter="views >= 0"))["items"][0]["views"] == 9
    await api.engine.db.write(lambda c: c.execute('DELETE FROM "posts"'))
    assert (await page(api, "posts", sort="-views", filter="views >= 0"))["totalItems"] == 0


async def test_what_a_rule_reads_through_a_relation_invalidates_too(api: Api) -> None:
    """comments' list shows comments of posts the requester may see: no write to comments, yet
    unpublishing the post changes what the same comments list answers."""
    eng = api.engine
    posts = eng.registry.get("posts")
    comments = eng.registry.get("comments")
    rule = "post.published = true || post.author = @request.auth.id"
    changed = [c for c in eng.registry.all() if c.name != "comments"]
    await eng.apply([*changed, msgspec.structs.replace(comments, listRule=rule, viewRule=rule)])
    pid = await post(api, "alice")
    r = await api.call("POST", LIST.format("comments"), "alice", json={"post": pid, "message": "hi"})
    assert r.status_code == 200, r.text
    assert (await page(api, "comments", "bob"))["totalItems"] == 1
    assert (await page(api, "comments", "bob"))["totalItems"] == 1  # a hit
    r = await api.call("PATCH", f"{LIST.format('posts')}/{pid}", "alice", json={"published": False})
    assert r.status_code == 200
    assert (await page(api, "comments", "bob"))["totalItems"] == 0  # bob may no longer see it
    assert (await page(api, "comments", "alice"))["totalItems"] == 1  # alice wrote the post: she still may
    assert posts is not None


async def test_two_requesters_never_share_an_entry(api: Api) -> None:
    await post(api, "alice", published=False, title="alice's draft")
    assert [i["title"] for i in (await page(api, "posts", "alice"))["items"]] == ["alice's draft"]
    assert (await page(api, "posts", "bob"))["items"] == []
    assert (await page(api, "posts", None))["items"] == []
    assert [i["title"] for i in (await page(api, "posts", "alice"))["items"]] == ["alice's draft"]


async def test_the_cascade_of_a_delete_is_seen(api: Api) -> None:
    pid = await post(api)
    r = await api.call("POST", LIST.format("comments"), None, json={"post": pid, "message": "m"})
    assert r.status_code == 200
    assert (await page(api, "comments", None))["totalItems"] == 1
    r = await api.call("DELETE", f"{LIST.format('posts')}/{pid}", "alice")
    assert r.status_code == 204
    assert (await page(api, "comments", None))["totalItems"] == 0  # cascadeDelete, in the same transaction


async def test_views_cache_false_and_random_order_are_never_cached(api: Api) -> None:
    eng = api.engine
    schema = load_schema_text(
        """
collections:
  - name: stats
    type: view
    listRule: ""
    viewQuery: "SELECT id, title FROM posts"
  - name: live
    cache: false
    listRule: ""
    fields: [{name: v, type: number}]
"""
    ).collections
    await eng.apply([*eng.registry.all(), *schema])
    assert eng.registry.get("live").cache is False
    await post(api)
    for coll, params in (("stats", {}), ("live", {}), ("posts", {"sort": "@random"})):
        before = stats(api)
        await page(api, coll, **params)
        await page(api, coll, **params)
        after = stats(api)
        assert after["hits"] == before["hits"], coll
        assert after["bypassed"] > before["bypassed"], coll
    r = await api.call("GET", "/api/collections/live", "su")
    assert r.json()["cache"] is False
    assert "cache" not in (await api.call("GET", "/api/collections/posts", "su")).json()


async def test_a_rule_change_is_seen_at_once(api: Api) -> None:
    await post(api, published=False)
    assert (await page(api, "posts", None))["totalItems"] == 0
    eng = api.engine
    posts = eng.registry.get("posts")
    others = [c for c in eng.registry.all() if c.name != "posts"]
    await eng.apply([*others, msgspec.structs.replace(posts, listRule="")])
    assert (await page(api, "posts", None))["totalItems"] == 1


async def test_memory_stays_within_its_bound(api: Api) -> None:
    eng = api.engine
    eng.cache.max_bytes = 64 * 1024
    for i in range(30):
        await post(api, title=f"{i}-" + "x" * 90)
    for per in range(1, 40):
        await page(api, "posts", perPage=per)
        assert eng.cache.bytes <= eng.cache.max_bytes
    assert 0 < eng.cache.entries < 39 * 2  # the oldest went


async def test_metrics_report_hits_and_misses(api: Api) -> None:
    await page(api, "posts")
    await page(api, "posts")
    text = (await api.call("GET", "/metrics", "su")).text
    got = samples(text)
    assert got[("baas_query_cache_reads_total", (("result", "hit"),))] >= 1
    assert got[("baas_query_cache_reads_total", (("result", "miss"),))] >= 1
    assert got[("baas_query_cache_entries", ())] >= 1
    assert got[("baas_query_cache_bytes", ())] > 0


async def test_off_with_no_memory(api: Api) -> None:
    cache = QueryCache(api.engine.db, api.engine._cache_target, max_bytes=0)
    reads = cache.reads()
    assert await reads.fetchval('SELECT count(*) FROM "posts"') == 0
    assert cache.stats()[:3] == (0, 0, 1)


async def test_the_migration_gives_existing_tables_their_triggers(api: Api) -> None:
    """A data dir from before revision 0012: no _data_versions, no triggers. Migrating adds both,
    and writes are counted from then on."""
    eng = api.engine
    posts = eng.registry.get("posts")

    async def back_to_0011(conn: Any) -> None:
        if conn.dialect == "postgresql":
            for c in eng.registry.all():
                if c.type != "view":
                    await conn.execute(f'DROP TRIGGER IF EXISTS "_data_version" ON "{c.name}"')
        else:
            for c in eng.registry.all():
                for op in "iud":
                    await conn.execute(f'DROP TRIGGER IF EXISTS "_dv_{c.id}_{op}"')
        await conn.execute('DROP TABLE "_data_versions"')
        await conn.execute('UPDATE "_migrations" SET "version_num" = \'0011\'')

    await eng.db.write(back_to_0011)
    assert await eng.db.data_versions([posts.id]) is None
    await migrate(eng.db.url)
    await post(api)
    versions = await eng.db.data_versions([posts.id])
    assert versions is not None and versions[posts.id] >= 1


async def test_a_table_without_its_triggers_is_never_cached(api: Api) -> None:
    """A table made by hand or by an older version has no data-version triggers: writes to it
    would go unnoticed, so its reads always go to the database."""
    eng = api.engine
    posts = eng.registry.get("posts")

    async def drop(conn: Any) -> None:
        if conn.dialect == "postgresql":
            await conn.execute('DROP TRIGGER "_data_version" ON "posts"')
        else:
            for op in "iud":
                await conn.execute(f'DROP TRIGGER "_dv_{posts.id}_{op}"')

    await eng.db.write(drop)
    await eng._load_registry()
    await post(api, views=1)
    await page(api, "posts")
    before = stats(api)
    await page(api, "posts")
    after = stats(api)
    assert after["hits"] == before["hits"] and after["bypassed"] > before["bypassed"]


async def test_nothing_is_served_while_the_schema_changed_elsewhere(api: Api) -> None:
    """Another node changed the schema and this process has not loaded it yet: the names in its
    statements may mean other collections now, so it answers from the database until it reloads."""
    eng = api.engine
    if eng._watch is not None:  # this test reloads by hand: no reload of the schema watch in between
        eng._watch.cancel()
    await post(api)
    await page(api, "posts")
    await eng.db.write(
        lambda c: c.execute(
            'INSERT INTO "_schema_history" ("applied", "source", "changes", "schema") VALUES (?, ?, ?, ?)',
            ["2026-01-01 00:00:00.000Z", "elsewhere", "[]", "[]"],
        )
    )
    before = stats(api)
    await page(api, "posts")
    assert stats(api)["hits"] == before["hits"]
    await eng.refresh_schema()
    await page(api, "posts")
    await page(api, "posts")
    assert stats(api)["hits"] > before["hits"]


async def test_writers_of_the_same_collections_never_wait_on_the_versions(api: Api) -> None:
    """Transactions that write two collections in opposite orders, many at once: the version
    counters add no lock wait between them (PostgreSQL: each takes a shard no other holds), so
    none deadlocks, and every write is counted."""
    import asyncio

    eng = api.engine
    ids = [eng.registry.get(n).id for n in ("comments", "notes")]
    before = await eng.db.data_versions(ids)
    pid = await post(api)

    async def both(i: int) -> None:
        async def tx(conn: Any) -> None:
            first, second = ("comments", "notes") if i % 2 else ("notes", "comments")
            for table in (first, second):
                body = "message" if table == "comments" else "text"
                await conn.execute(
                    f'INSERT INTO "{table}" ("id", "post", "{body}") VALUES (?, ?, ?)',
                    [f"{table[0]}{i:014d}", pid, "x"],
                )
                await asyncio.sleep(0.005)  # hold the first table's shard while the others run

        await eng.db.write(tx)

    await asyncio.gather(*(both(i) for i in range(40)))
    after = await eng.db.data_versions(ids)
    assert before is not None and after is not None
    for cid in ids:
        assert after[cid] - before.get(cid, 0) == 40


async def test_a_read_cheaper_than_a_check_goes_to_the_database() -> None:
    """A statement timed below the bound is read directly for its next reads, then timed again."""
    from baas.db import cache as cache_module

    c = QueryCache(None, lambda name: None, min_seconds=50e-6)  # type: ignore[arg-type]  # no database needed
    c.timed("SELECT 1", 10e-6)
    c.timed("SELECT 2", 80e-6)
    assert not c.cheap("SELECT 2")
    assert all(c.cheap("SELECT 1") for _ in range(cache_module.CHEAP_FOR))
    assert not c.cheap("SELECT 1")  # timed again at its next miss
    c.checked(1.0)  # a slow version check (PostgreSQL far away): reads must beat two of them
    c.timed("SELECT 2", 80e-6)
    assert c.cheap("SELECT 2")
