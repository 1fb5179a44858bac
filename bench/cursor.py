"""Cursor paging at depth: the figures of docs/benchmarks.md "Cursor paging".

    python -m bench.cursor [--rows 200000] [--per-page 20] [--repeat 50] [--sort ""]

Seeds ``--rows`` posts like the benchmark, then pages through the whole collection with
``cursor`` while another thread keeps creating posts, and checks that every seeded post came back
exactly once. Then it times the same request at page 1 and at the deepest page (the cursor the
walk got there), ``--repeat`` times each, and offset paging (``page=N``) at the same depths for
comparison. Prints medians and p90s in milliseconds and the deep/first ratios.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.seed import seed
from bench.servers import Server, ServerSpec

POSTS = "/api/collections/posts/records"


def _walk(client: httpx.Client, per_page: int, sort: str) -> tuple[list[str], list[str]]:
    """Every post's id in cursor order, and the cursor of each page (the first is "")."""
    ids: list[str] = []
    cursors = [""]
    while True:
        params = {"perPage": per_page, "cursor": cursors[-1], "skipTotal": 1, "fields": "id"}
        if sort:
            params["sort"] = sort
        page = client.get(POSTS, params=params).raise_for_status().json()
        ids.extend(item["id"] for item in page["items"])
        if page["nextCursor"] is None:
            return ids, cursors
        cursors.append(page["nextCursor"])


def _time(client: httpx.Client, params: dict[str, object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        client.get(POSTS, params=params).raise_for_status()
        out.append((time.perf_counter() - t) * 1000)
    return sorted(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--per-page", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--sort", default="", help='e.g. "-created" (default: insertion order)')
    a = ap.parse_args()
    srv = Server(ServerSpec("baas", "baas", []), Path(tempfile.mkdtemp(prefix="bench-cursor-")))
    srv.start()
    try:
        seeded = seed(srv.url, a.rows, 20, log=lambda *_: None)
        stop = threading.Event()
        written = [0]

        def writer() -> None:  # creates while the walk goes on: they may show up, never twice
            with httpx.Client(base_url=srv.url, timeout=30) as w:
                while not stop.is_set():
                    body = {"title": "late", "body": "x", "views": written[0] % 1000, "published": True}
                    w.post(POSTS, json=body).raise_for_status()
                    written[0] += 1

        thread = threading.Thread(target=writer)
        with httpx.Client(base_url=srv.url, timeout=60) as client:
            thread.start()
            t0 = time.monotonic()
            try:
                ids, cursors = _walk(client, a.per_page, a.sort)
            finally:
                stop.set()
                thread.join()
            walk_s = time.monotonic() - t0
            once = len(ids) == len(set(ids))
            missing = set(seeded.post_ids) - set(ids)
            print(
                f"walk: {len(cursors)} pages of {a.per_page} in {walk_s:.1f} s, {len(ids)} rows "
                f"({written[0]} created during the walk), every row once: {once}, seeded rows missing: {len(missing)}"
            )
            deep = len(cursors) - 1
            common: dict[str, object] = {"perPage": a.per_page, "skipTotal": 1}
            if a.sort:
                common["sort"] = a.sort
            rows = {
                "cursor, page 1": _time(client, {**common, "cursor": ""}, a.repeat),
                f"cursor, page {deep + 1}": _time(client, {**common, "cursor": cursors[deep]}, a.repeat),
                "offset, page 1": _time(client, {**common, "page": 1}, a.repeat),
                f"offset, page {deep + 1}": _time(client, {**common, "page": deep + 1}, a.repeat),
            }
        for name, ms in rows.items():
            print(f"{name:22s} median {statistics.median(ms):7.2f} ms  p90 {ms[int(0.9 * len(ms))]:7.2f} ms")
        names = list(rows)
        for kind, first, last in (("cursor", names[0], names[1]), ("offset", names[2], names[3])):
            ratio = statistics.median(rows[last]) / statistics.median(rows[first])
            print(f"{kind}: deepest page / first page = {ratio:.2f}")
        if not once or missing:
            raise SystemExit("cursor paging lost or repeated rows")
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
