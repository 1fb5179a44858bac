"""Full-text search side by side: the figures of docs/benchmarks.md "Full-text search".

    python -m bench.search [--rows 200000] [--duration 10] [--rounds 3] [--connections 32,4] [--pg URL]
                           [--cache-mb 0]

Seeds ``--rows`` articles (a title of 6 words and a body of 40, drawn from a 4,000-word
vocabulary with a Zipf distribution, half of them published) in baas and in PocketBase, with
the list rule ``published = true`` on both. A rare word is planted in four records (three in a
title, one in a body) and a phrase in five bodies, its words shuffled in five more.

Checks first: for the planted queries, baas's ``search=`` returns exactly the records
PocketBase's closest equivalent (``filter=title ~ "w" || body ~ "w"``) returns, with the title
matches first. With ``--pg`` the same data is seeded in baas on PostgreSQL too, and its top
results must agree with SQLite's. Then ``wrk`` (32 connections, then 4) sends each server its
form of the same query set in turn (the planted queries and 30 vocabulary words of middling
frequency, each found in a few hundred to a few thousand records) as a guest, and prints the
medians of req/s, p50 and p99 over ``--rounds`` rounds and the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from bench.seed import Seeder
from bench.servers import Server, ServerSpec
from bench.wrk import run_wrk

ARTICLES = "/api/collections/articles/records"
VOCABULARY = 4000
TITLE_WORDS, BODY_WORDS = 6, 40
RARE = "zyxquor"
PHRASE = "amber falcon rising"
RARE_TITLES = (1000, 90_000, 150_000)  # published (even) records, if the collection is that large
RARE_BODY = 120_000
PHRASE_AT = (2_000, 40_000, 80_000, 130_000, 170_000)
SHUFFLED_AT = (4_000, 44_000, 84_000, 134_000, 174_000)  # "falcon amber rising": not the phrase
WORD_RANKS = range(600, 3600, 100)  # 30 query words


def word(k: int) -> str:
    """The vocabulary's word ``k``: 5-9 lowercase letters, deterministic."""
    digest = hashlib.sha256(f"word:{k}".encode()).digest()
    return "".join(chr(97 + b % 26) for b in digest[: 5 + digest[31] % 5])


def articles(rows: int) -> list[dict[str, Any]]:
    rng = random.Random(42)
    words = [word(k) for k in range(VOCABULARY)]
    weights = [1 / (k + 1) for k in range(VOCABULARY)]
    out = []
    for i in range(rows):
        title = rng.choices(words, weights, k=TITLE_WORDS)
        body = rng.choices(words, weights, k=BODY_WORDS)
        if i in RARE_TITLES:
            title[2] = RARE
        if i == RARE_BODY:
            body[17] = RARE
        if i in PHRASE_AT:
            body[10:13] = PHRASE.split()
        if i in SHUFFLED_AT:
            body[10:13] = ["falcon", "amber", "rising"]
        out.append({"title": " ".join(title).capitalize(), "body": " ".join(body) + ".", "published": i % 2 == 0})
    return out


def setup(url: str, rows: list[dict[str, Any]], baas: bool) -> None:
    s = Seeder(url, log=lambda *_: None)
    try:
        s.enable_batch()
        coll: dict[str, Any] = {
            "name": "articles",
            "type": "base",
            "listRule": "published = true",
            "viewRule": "published = true",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "body", "type": "text"},
                {"name": "published", "type": "bool"},
            ],
        }
        r = s.client.post("/api/collections", json=coll)
        r.raise_for_status()
        s.insert("articles", rows, use_batch=True)
        if baas:  # after the rows: the index is built over them in one go (what adding search later does)
            r = s.client.patch(
                "/api/collections/articles", json={"search": {"fields": ["title", "body"], "weights": {"title": 2}}}
            )
            r.raise_for_status()
    finally:
        s.close()


def queries(rows: int) -> list[str]:
    """The query set: the planted ones (when the collection is large enough) and middling words."""
    planted = [RARE, f'"{PHRASE}"'] if rows > max(*RARE_TITLES, RARE_BODY, *PHRASE_AT, *SHUFFLED_AT) else []
    return planted + [word(k) for k in WORD_RANKS]


def baas_path(q: str, per_page: int = 20) -> str:
    return ARTICLES + "?" + urlencode({"search": q, "perPage": per_page})


def pocketbase_path(q: str, per_page: int = 20) -> str:
    text = q.strip('"')
    return ARTICLES + "?" + urlencode({"filter": f'title ~ "{text}" || body ~ "{text}"', "perPage": per_page})


def check(baas: str, pocketbase: str, others: list[str], rows: int) -> None:
    """The planted queries answer the same records on every server, title matches first on baas."""
    if rows <= max(*RARE_TITLES, RARE_BODY, *PHRASE_AT, *SHUFFLED_AT):
        print("check: too few rows for the planted queries; skipped")
        return
    for q in (RARE, f'"{PHRASE}"'):
        want = httpx.get(pocketbase + pocketbase_path(q, 100), timeout=120).raise_for_status().json()
        want_ids = {(i["title"], i["body"]) for i in want["items"]}  # each server has its own record ids
        for url in (baas, *others):
            got = httpx.get(url + baas_path(q, 100), timeout=120).raise_for_status().json()
            ids = [(i["title"], i["body"]) for i in got["items"]]
            assert set(ids) == want_ids and got["totalItems"] == want["totalItems"], (url, q, ids, want_ids)
            if q == RARE:  # three title matches (weight 2), then the body's
                body_hit = {(i["title"], i["body"]) for i in got["items"] if RARE in i["body"]}
                assert len(ids) == 4 and set(ids[3:]) == body_hit, (url, got["items"])
        print(f"check: {q!r}: {len(want_ids)} records on every server, ranked as expected")
    for q in queries(rows)[2:5]:  # ordinary words: the same records found on SQLite and PostgreSQL
        ref = httpx.get(baas + baas_path(q, 5), timeout=120).raise_for_status().json()
        for url in others:
            got = httpx.get(url + baas_path(q, 5), timeout=120).raise_for_status().json()
            assert got["totalItems"] == ref["totalItems"], (q, got["totalItems"], ref["totalItems"])


def measure(
    servers: dict[str, tuple[str, Path]], duration: float, rounds: int, connections: int
) -> dict[str, list[Any]]:
    runs: dict[str, list[Any]] = {name: [] for name in servers}
    order = list(servers)
    for r in range(rounds):
        for name in order if r % 2 == 0 else reversed(order):
            url, paths = servers[name]
            args = {"paths": str(paths)}
            runs[name].append(
                run_wrk(url, "paths.lua", args, duration=duration, connections=connections, threads=min(2, connections))
            )
    return runs


def report(runs: dict[str, list[Any]], connections: int) -> None:
    med = {
        name: {k: statistics.median(getattr(r, k) for r in rs) for k in ("rps", "p50_ms", "p99_ms")}
        for name, rs in runs.items()
    }
    errors = {name: sum(r.errors for r in rs) for name, rs in runs.items()}
    print(f"wrk -c{connections}:")
    print(f"{'server':12s} {'req/s':>10s} {'p50 ms':>9s} {'p99 ms':>9s} {'errors':>7s}")
    for name, m in med.items():
        print(f"{name:12s} {m['rps']:10.1f} {m['p50_ms']:9.2f} {m['p99_ms']:9.2f} {errors[name]:7d}")
    for name in med:
        if name != "pocketbase" and "pocketbase" in med:
            print(f"{name} / pocketbase: {med[name]['rps'] / med['pocketbase']['rps']:.1f}x req/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", default="32,4", help="wrk connections, one run per value")
    ap.add_argument("--pg", default="", help="a PostgreSQL server URL: also run baas on a new database there")
    ap.add_argument(
        "--cache-mb", type=int, default=None, help="baas's query cache memory (BAAS_CACHE_MB; 0: off, the search alone)"
    )
    a = ap.parse_args()
    env = {} if a.cache_mb is None else {"BAAS_CACHE_MB": str(a.cache_mb)}
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    rows = articles(a.rows)
    qs = queries(a.rows)
    print(f"{a.rows} articles, {len(qs)} queries")
    started: list[Server] = []
    pg_db = ""
    try:
        specs = [
            ("baas", ServerSpec("baas", "baas", [], env=env)),
            ("pocketbase", ServerSpec("pocketbase", "pocketbase", [])),
        ]
        urls: dict[str, str] = {}
        for name, spec in specs:
            srv = Server(spec, work)
            srv.start()
            started.append(srv)
            t = time.monotonic()
            setup(srv.url, rows, baas=name == "baas")
            print(f"{name}: seeded in {time.monotonic() - t:.0f} s")
            urls[name] = srv.url
        others = []
        if a.pg:
            pg_db = f"bench_search_{secrets.token_hex(4)}"
            asyncio.run(_admin(a.pg, f'CREATE DATABASE "{pg_db}"'))
            os.environ["BAAS_DB"] = a.pg.rsplit("/", 1)[0] + "/" + pg_db
            srv = Server(ServerSpec("baas_pg", "baas", [], env=env), work)
            srv.start()
            started.append(srv)
            t = time.monotonic()
            setup(srv.url, rows, baas=True)
            print(f"baas_pg: seeded in {time.monotonic() - t:.0f} s")
            urls["baas_pg"] = srv.url
            others.append(srv.url)
        check(urls["baas"], urls["pocketbase"], others, a.rows)
        files = {}
        for name, url in urls.items():
            path = work / f"{name}.paths"
            form = pocketbase_path if name == "pocketbase" else baas_path
            path.write_text("\n".join(form(q) for q in qs) + "\n")
            files[name] = (url, path)
        for connections in (int(c) for c in a.connections.split(",")):
            report(measure(files, a.duration, a.rounds, connections), connections)
    finally:
        for srv in started:
            srv.stop()
        if pg_db:
            asyncio.run(_admin(a.pg, f'DROP DATABASE IF EXISTS "{pg_db}"'))


async def _admin(url: str, sql: str) -> None:
    import asyncpg  # PostgreSQL runs only

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
