"""Index advice (baas/admin/advice.py, docs/indexes.md): which index a slow record list's filter
and sort need (table-driven, over a schema of its own), which existing index already serves one,
then the advice over request logs of known entries through ``GET /api/schema/advise`` and
``baas schema advise`` on the backend under test (SQLite's log file, PostgreSQL's ``_logs``)."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml

from baas import rules
from baas.admin.advice import describe, parse_min_ms, parse_since, propose, served_by
from baas.errors import BadRequest
from baas.logs import store
from baas.rules import RuleError
from baas.rules.context import RequestInfo
from baas.schema.ddl import create_index_sql, create_table_sql
from baas.schema.loader import load_schema_text
from baas.schema.model import Collection, Index
from tests.harness import PG_URL, Api

SCHEMA = """
collections:
  - name: users
    type: auth
    fields:
      - {name: name, type: text}
  - name: posts
    fields:
      - {name: title, type: text}
      - {name: views, type: number}
      - {name: published, type: bool}
      - {name: kind, type: select, values: [news, blog]}
      - {name: tags, type: select, values: [a, b], maxSelect: 2}
      - {name: author, type: relation, collection: users}
      - {name: readers, type: relation, collection: users, maxSelect: 5}
      - {name: meta, type: json}
      - {name: due, type: date}
"""
POSTS = next(c for c in load_schema_text(SCHEMA).collections if c.name == "posts")


def _with(*indexes: str | Index) -> Collection:
    return Collection(name="posts", id="posts", fields=POSTS.fields, indexes=list(indexes))


@pytest.mark.parametrize(
    ("filter_expr", "sort", "columns"),
    [
        # equality columns first, in the filter's order, then the sort's columns
        ('kind = "news"', "-created", ["kind", "-created"]),
        ('kind = "news" && published = true', "title,-views", ["kind", "published", "title", "-views"]),
        ("published = true && kind = 'news' && kind = 'news'", "", ["published", "kind"]),
        ("views > 10", "", ["views"]),
        ('views > 10 && due < "2030-01-01" && kind = "blog"', "", ["kind", "views"]),  # one range column
        ('views > 10 && kind = "blog"', "-created", ["kind", "-created"]),  # the sort rather than the range
        ("10 < views", "", ["views"]),  # a constant on the left
        ("created >= @todayStart", "", ["created"]),  # a date macro is a constant
        ('kind = "news"', "kind,-views", ["kind", "-views"]),  # a column held equal needs no order
        ('kind = "news" || kind = "blog"', "-views", ["kind", "-views"]),  # an IN
        ('kind = "news" || title = "x"', "-views", ["-views"]),  # an OR of columns: no index part
        ('author.id = "u1"', "", ["author"]),  # a single relation's id is its column
        ('kind ?= "news"', "", ["kind"]),
        ("", "-views,author.name,title", ["-views"]),  # the sort up to a relation path
        ('title = "x"', "-views,id,title", ["title", "-views", "id"]),  # nothing after the unique id
        ('kind = "news"', "@random", ["kind"]),
        # nothing an index serves
        ('author.name = "Ann"', "", None),  # a relation path
        ('readers.id = "u1"', "", None),
        ("meta.a = 1", "", None),  # a JSON path
        ('tags ?= "a"', "", None),  # a multi-value field: a JSON array
        ('title:lower = "x"', "", None),  # a modifier
        ('title ~ "x"', "", None),
        ('kind != "news"', "", None),
        ("kind = null", "", None),
        ("kind = @request.auth.id", "", None),  # not the same for every request
        ("@request.auth.id = kind", "", None),
        ("@collection.users.name = title", "", None),
        ("nope = 1", "", None),  # no such field (any more)
        ("kind = title", "", None),  # two columns
        ("", "@random", None),
        ("", "@rowid", None),
        ("", "author.name", None),
        # the primary key's
        ('id = "abc" && kind = "news"', "-views", None),
        ('id > "abc"', "", None),
        ("", "-id", None),
        ("", "id,title", None),
    ],
)
def test_the_index_a_filter_and_sort_need(filter_expr: str, sort: str, columns: list[str] | None) -> None:
    p = propose(POSTS, filter_expr, sort)
    assert (p.columns if p else None) == columns


@pytest.mark.parametrize("bad", ["(((", "kind = ", "kind === 1", "x" * 4000])
def test_a_filter_that_does_not_parse_is_an_error(bad: str) -> None:
    with pytest.raises(RuleError):
        propose(POSTS, bad, "")


@pytest.mark.parametrize(
    ("index", "filter_expr", "sort", "serves"),
    [
        (Index(columns=["kind", "created"]), 'kind = "news"', "-created", True),  # read backwards
        (Index(columns=["kind", "-created", "title"]), 'kind = "news"', "-created", True),  # longer
        (Index(columns=["created", "kind"]), 'kind = "news"', "-created", False),  # not in that order
        (Index(columns=["published", "kind"]), 'kind = "news" && published = true', "", True),  # equalities: any order
        (Index(columns=["kind"]), 'kind = "news"', "-created", False),  # too short
        (Index(columns=["kind", "title", "-views"]), "kind = 'a'", "title,-views", True),
        (Index(columns=["kind", "-title", "views"]), "kind = 'a'", "title,-views", True),  # all directions reversed
        (Index(columns=["kind", "title", "views"]), "kind = 'a'", "title,-views", False),  # one reversed
        (Index(columns=["kind", "-views"]), "kind = 'a' && views > 3", "", True),  # a range: any direction
        (Index(columns=["kind"], where="kind != ''"), "kind = 'a'", "", False),  # partial: its rows only
        (Index(columns=["title"], nocase=["title"]), "title = 'a'", "", False),  # NOCASE: not for a binary =
        ("CREATE INDEX `idx_k` ON `posts` (`kind`, `views` DESC)", "kind = 'a'", "-views", True),
        ('CREATE INDEX IF NOT EXISTS "idx_k" ON "posts" ("kind")', "kind = 'a'", "", True),
        ("CREATE INDEX idx_lower ON posts (lower(title))", "title = 'a'", "", False),  # an expression
    ],
)
def test_an_existing_index_serves_a_proposal(index: str | Index, filter_expr: str, sort: str, serves: bool) -> None:
    p = propose(POSTS, filter_expr, sort)
    assert p is not None
    assert (served_by(_with(index), p) is not None) is serves


@pytest.mark.parametrize(
    ("filter_expr", "sort"),
    [('kind = "news"', "-created"), ('kind = "news" && published = true', "-views"), ("views > 10", "")],
)
def test_sqlite_uses_the_advised_index(filter_expr: str, sort: str) -> None:
    """The list's own WHERE and ORDER BY (the rule compiler's) find the advised index, and need no
    sort of their own."""
    p = propose(POSTS, filter_expr, sort)
    assert p is not None
    db = sqlite3.connect(":memory:")
    for statement in [*create_table_sql(POSTS, "sqlite"), create_index_sql("posts", Index(columns=p.columns))]:
        db.execute(statement)
    args: dict[str, Any] = {"collection": POSTS, "lookup": lambda _: None, "request": RequestInfo(), "alias": "m"}
    where = rules.compile_filter(filter_expr, dialect="sqlite", **args)
    order = rules.compile_sort(sort, dialect="sqlite", **args) if sort else None
    sql = f'SELECT * FROM "posts" AS "m" WHERE {where.sql}' + (f" ORDER BY {order.sql}" if order else "")
    plan = [
        row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql, [*where.params, *(order.params if order else [])])
    ]
    assert plan == [plan[0]] and f"USING INDEX idx_posts_{'_'.join(c.lstrip('-') for c in p.columns)}" in plan[0]


# -- over a request log --------------------------------------------------------------------------
H = 3_600_000


def _entry(ms: int, url: str, took_ms: float, status: int = 200, method: str = "GET") -> store.Entry:
    return (ms, method, url, status, int(took_ms * 1000), None, None, "t", "", "127.0.0.1", "127.0.0.1", None)


def _list(collection: str = "posts", **query: str) -> str:
    return f"/api/collections/{collection}/records" + (f"?{urlencode(query)}" if query else "")


NEWS = _list(filter='kind = "news"', sort="-created")


async def _log(api: Api, *entries: store.Entry) -> None:
    await api.engine.request_log.db.write(lambda conn: store.insert(conn, list(entries)))


async def _advise(api: Api, **params: Any) -> dict[str, Any]:
    r = await api.call("GET", "/api/schema/advise", "su", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _by_columns(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {",".join(i["columns"]): i for i in out["items"]}


async def test_advice_from_the_log(api: Api) -> None:
    now = int(time.time() * 1000)
    posts_id = (await api.call("GET", "/api/collections/posts", "su")).json()["id"]
    view = {"name": "titles", "type": "view", "viewQuery": "SELECT id, title FROM posts"}
    assert (await api.call("POST", "/api/collections", "su", json=view)).status_code == 200
    await _log(
        api,
        _entry(now - H, NEWS, 150),
        _entry(now - H, NEWS + "&page=2", 250),
        _entry(now - 2 * H, NEWS.replace("posts", posts_id), 400),  # by the collection's id
        _entry(now - H, _list(filter='kind = "blog"'), 120),  # served by (kind, created): counted there
        _entry(now - H, _list(filter="views > 10"), 300),
        _entry(now - H, _list(filter="views >= 5 && views < 9"), 200),
        _entry(now - H, _list(filter='slug = "a"'), 110),  # only a partial index on slug
        _entry(now - H, _list(filter='author.name = "x"'), 500),  # no index serves it
        _entry(now - H, _list(filter='id = "x"'), 500),  # the primary key's
        _entry(now - H, _list("nope", filter='kind = "x"'), 500),  # no such collection
        _entry(now - H, _list("titles", filter='title = "x"'), 500),  # nor a view to index
        # not counted: fast, refused, not a list, no filter nor sort, a search, too old, the future
        _entry(now - H, NEWS, 99),
        _entry(now - H, NEWS, 900, status=400),
        _entry(now - H, NEWS, 900, method="POST"),
        _entry(now - H, _list(), 900),
        _entry(now - H, _list(perPage="5"), 900),
        _entry(now - H, _list(filter='kind = "x"', search="words"), 900),
        _entry(now - H, "/api/collections/posts/records/abc?fields=kind", 900),
        _entry(now - 25 * H, NEWS, 900),
        _entry(now + H, NEWS, 900),
    )
    out = await _advise(api)
    assert out["minMs"] == 100 and out["slowRequests"] == 11, out
    assert out["skipped"] == {"indexed": 0, "unindexable": 2, "unknown": 2}
    items = _by_columns(out)
    assert list(items) == ["kind,-created", "views", "slug"]  # by their total time, the largest first
    news = items["kind,-created"]
    assert news["collection"] == "posts" and news["requests"] == 4
    assert news["totalMs"] == 920 and news["maxMs"] == 400 and 380 <= news["p99Ms"] <= 400
    assert news["example"] == NEWS.replace("posts", posts_id)  # the slowest one
    assert news["yaml"] == "- {columns: [kind, -created]}"
    assert yaml.safe_load(news["yaml"]) == [{"columns": ["kind", "-created"]}]
    assert "idx_posts_kind_created" in news["sql"] and news["sql"].startswith("CREATE INDEX")
    assert "DESC" in news["sql"]
    assert items["views"]["requests"] == 2 and items["views"]["totalMs"] == 500
    # the generated name is the partial unique index's: this one gets a name of its own
    assert items["slug"]["yaml"] == "- {name: idx_posts_slug_2, columns: [slug]}"
    assert bool(news["note"]) is bool(PG_URL) and not items["views"]["note"]  # PostgreSQL's text order

    # The last 30 minutes hold none of them; a threshold of 300 ms keeps three.
    assert (await _advise(api, since="30m"))["slowRequests"] == 0
    high = await _advise(api, minMs="300")
    assert high["slowRequests"] == 6 and list(_by_columns(high)) == ["kind,-created", "views"]

    # The advised statements, applied as the collection's indexes: nothing left to advise.
    coll = (await api.call("GET", "/api/collections/posts", "su")).json()
    indexes = coll["indexes"] + [news["sql"], items["views"]["sql"], items["slug"]["sql"]]
    r = await api.call("PATCH", "/api/collections/posts", "su", json={"indexes": indexes})
    assert r.status_code == 200, r.text
    after = await _advise(api)
    assert after["items"] == [] and after["skipped"] == {"indexed": 7, "unindexable": 2, "unknown": 2}, after
    text = describe(after)
    assert "7 served by an index already" in text and "No index to advise." in text


async def test_live_requests_are_advised(api: Api) -> None:
    """Requests made now, with any time counting as slow (minMs=0)."""
    for page in (1, 2):
        params = {"filter": 'kind = "news" && published = true', "sort": "-views", "page": str(page)}
        r = await api.call("GET", "/api/collections/posts/records", "alice", params=params)
        assert r.status_code == 200, r.text
    out = await _advise(api, minMs="0", since="1h")
    item = _by_columns(out)["kind,published,-views"]
    assert item["requests"] == 2 and item["collection"] == "posts"
    assert item["example"].startswith("/api/collections/posts/records?")


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("alice", 403)])
async def test_only_superusers_get_advice(api: Api, who: str | None, status: int) -> None:
    assert (await api.call("GET", "/api/schema/advise", who)).status_code == status


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"since": "24"}, "since"),
        ({"since": "0h"}, "since"),
        ({"since": "-1h"}, "since"),
        ({"since": "32d"}, "since"),
        ({"since": "9" * 50 + "h"}, "since"),
        ({"minMs": "fast"}, "minMs"),
        ({"minMs": "-1"}, "minMs"),
        ({"minMs": "1e3"}, "minMs"),
        ({"minMs": "nan"}, "minMs"),
        ({"minMs": "3600001"}, "minMs"),
    ],
)
async def test_bad_parameters_are_refused(api: Api, params: dict[str, str], field: str) -> None:
    r = await api.call("GET", "/api/schema/advise", "su", params=params)
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"status", "message", "data"} and body["status"] == 400
    assert list(body["data"]) == [field] and body["data"][field]["code"] == "validation_invalid_value"
    assert f"Invalid {field} value" in body["message"]


def test_parameters_without_http() -> None:
    assert parse_since("") == 24 * H and parse_since("90s") == 90_000 and parse_since("7d") == 7 * 24 * H
    assert parse_min_ms("") == 100 and parse_min_ms("0") == 0 and parse_min_ms("12.5") == 12.5
    with pytest.raises(BadRequest):
        parse_since("1w")


# -- the command line ------------------------------------------------------------------------------
def _cli(api: Api, *args: str) -> subprocess.CompletedProcess[str]:
    settings = api.engine.settings
    db = ["--db", settings.db_url] if PG_URL else []
    env = {**os.environ, "BAAS_FAST_HASH": "1"}
    cmd = [sys.executable, "-m", "baas.cli.main", "schema", "advise", *args, "--dir", settings.data_dir, *db]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)


async def test_the_command_line(api: Api) -> None:
    now = int(time.time() * 1000)
    await _log(api, _entry(now - H, NEWS, 150), _entry(now - H, NEWS, 250), _entry(now - H, _list(sort="-views"), 300))
    r = await asyncio.to_thread(_cli, api, "--since", "2h")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "Slow record lists (>= 100 ms)" in lines[0] and ": 3 (" in lines[0], r.stdout
    assert lines[2].split() == ["COLLECTION", "INDEX", "REQUESTS", "TOTAL", "MS", "P99", "MS", "MAX", "MS"]
    assert lines[3].split()[:3] == ["posts", "kind,", "created"] and lines[3].split()[4:6] == ["2", "400.0"]
    assert lines[4].split()[:4] == ["posts", "views", "DESC", "1"]
    assert "   yaml:    - {columns: [kind, -created]}   (under posts: indexes:)" in lines
    assert any(ln.startswith("   sql:     CREATE INDEX") and "idx_posts_views" in ln for ln in lines)

    r = await asyncio.to_thread(_cli, api, "--since", "2h", "--min-ms", "200", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["minMs"] == 200 and [i["columns"] for i in out["items"]] == [["-views"], ["kind", "-created"]]

    for bad in (["--since", "forever"], ["--min-ms", "-5"]):
        r = await asyncio.to_thread(_cli, api, *bad)
        assert r.returncode == 1 and r.stderr.startswith("error: Invalid"), r.stderr


def test_the_command_line_refuses_a_missing_data_dir(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "baas.cli.main", "schema", "advise", "--dir", str(tmp_path / "none")]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env={**os.environ})
    assert r.returncode == 1 and "no data directory" in r.stderr
    assert not (tmp_path / "none").exists()
