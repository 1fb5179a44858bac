"""The console's records page on 100,000 records, in chromium (``python -m bench.console``).

Starts a real ``baas serve`` on a fresh data dir (SQLite, or PostgreSQL with ``--db URL``: its
database must be empty), seeds ``--records`` records through the batch API, then opens the
records page in Debian's chromium (Playwright) and measures, ``--runs`` times each:

- first contentful paint and the time until the first page of rows is in the table (from the
  navigation's start, Performance API);
- a page turn (*Next page* until the new rows are shown), a filter and a sort (submit until the
  table shows the answer), each timed in the page from the click to the rows changing;

and prints the medians as a markdown table (``--out`` also writes it to a file). It checks that
the page never asks for more than one page of records (every records request carries a
``perPage`` of at most 100) and reports the largest page asked for.

Not a test: the figures depend on the machine (and on what else runs on it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

SU = ("bench-console@example.com", "bench-console-password-1")
COLLECTION = "items"
BATCH = 500
CHROMIUM = "/usr/bin/chromium"

# Run in the page: click `selector` and resolve with the milliseconds until the table's first row
# is another record (or the table's row count changes): what a user waits for.
CLICK_AND_WAIT = """async (selector) => {
  const first = () => { const r = document.querySelector('#records tbody tr'); return r ? r.dataset.id : null; };
  const before = first();
  const t0 = performance.now();
  document.querySelector(selector).click();
  await new Promise((resolve) => {
    const check = () => { if (first() && first() !== before) { obs.disconnect(); resolve(); } };
    const obs = new MutationObserver(check);
    obs.observe(document.getElementById('main'), {childList: true, subtree: true});
    check();
  });
  return performance.now() - t0;
}"""
# The first page of rows, timed from the navigation's start.
TABLE_SHOWN = """() => {
  const rows = document.querySelectorAll('#records tbody tr').length;
  return rows >= 30 ? performance.now() : false;
}"""
FCP = """() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _baas(*args: str) -> list[str]:
    exe = shutil.which("baas")
    return [exe, *args] if exe else [sys.executable, "-m", "baas.cli.main", *args]


@contextmanager
def serve(data_dir: Path, db: str) -> Iterator[str]:
    """A ``baas serve`` with a superuser, until the block ends; its URL."""
    db_args = ["--db", db] if db else []
    env = {**os.environ, "BAAS_FAST_HASH": "1"}
    subprocess.run(_baas("superuser", "upsert", *SU, "--dir", str(data_dir), *db_args), env=env, check=True)
    port = _free_port()
    log = (data_dir.parent / "serve.log").open("wb")
    proc = subprocess.Popen(
        _baas("serve", "--http", f"127.0.0.1:{port}", "--dir", str(data_dir), *db_args),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"baas serve exited with {proc.returncode}")
            try:
                if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("baas serve did not start in 120 s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def seed(url: str, count: int) -> str:
    """Create ``items`` and ``count`` records through the batch API; the superuser's token."""
    with httpx.Client(base_url=url, timeout=120) as c:
        r = c.post("/api/collections/_superusers/auth-with-password", json={"identity": SU[0], "password": SU[1]})
        r.raise_for_status()
        token = r.json()["token"]
        c.headers["Authorization"] = token
        c.patch("/api/settings", json={"batch": {"enabled": True, "maxRequests": 1000, "timeout": 120}})
        c.post(
            "/api/collections",
            json={
                "name": COLLECTION,
                "type": "base",
                "fields": [
                    {"name": "title", "type": "text"},
                    {"name": "views", "type": "number"},
                    {"name": "published", "type": "bool"},
                ],
            },
        ).raise_for_status()
        start = time.monotonic()
        for lo in range(0, count, BATCH):
            requests = [
                {
                    "method": "POST",
                    "url": f"/api/collections/{COLLECTION}/records",
                    "body": {"title": f"Item number {i}", "views": (i * 7919) % 100_000, "published": i % 2 == 0},
                }
                for i in range(lo, min(lo + BATCH, count))
            ]
            c.post("/api/batch", json={"requests": requests}).raise_for_status()
        total = c.get(f"/api/collections/{COLLECTION}/records", params={"perPage": 1}).json()["totalItems"]
        if total != count:
            raise SystemExit(f"seeded {total} records, expected {count}")
        print(f"seeded {count} records in {time.monotonic() - start:.0f} s", file=sys.stderr)
        return str(token)


async def measure(url: str, token: str, runs: int) -> tuple[dict[str, list[float]], int]:
    """Each measure ``runs`` times (ms), and the largest perPage the page asked for."""
    from playwright.async_api import async_playwright  # import here: only the benchmark needs it

    out: dict[str, list[float]] = {k: [] for k in ("fcp", "table", "page", "filter", "sort")}
    per_page: list[int] = []

    def seen(request: Any) -> None:
        parts = urlparse(request.url)
        if parts.path == f"/api/collections/{COLLECTION}/records":
            q = parse_qs(parts.query)
            if "perPage" not in q:
                raise SystemExit(f"records request without perPage: {request.url}")
            per_page.append(int(q["perPage"][0]))

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for _ in range(runs):
                ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
                page = await ctx.new_page()
                page.set_default_timeout(120_000)
                page.on("request", seen)
                # A signed-in console: the token where the console keeps it, before its scripts run.
                await page.add_init_script(
                    f"localStorage.setItem('baas_console_auth', JSON.stringify({{token: {json.dumps(token)}, record: {{}}}}))"
                )
                await page.goto(f"{url}/_/#/collections/{COLLECTION}/records")
                shown = await page.wait_for_function(TABLE_SHOWN, polling="raf")
                out["table"].append(float(await shown.json_value()))
                out["fcp"].append(float(await page.evaluate(FCP) or 0))
                out["page"].append(float(await page.evaluate(CLICK_AND_WAIT, "#next-page")))
                await page.get_by_label("Filter").fill("views > 50000 && published = true")
                out["filter"].append(float(await page.evaluate(CLICK_AND_WAIT, "#records-query button[type=submit]")))
                await page.get_by_label("Filter").fill("")
                await page.get_by_label("Sort").fill("-views,title")
                out["sort"].append(float(await page.evaluate(CLICK_AND_WAIT, "#records-query button[type=submit]")))
                await ctx.close()
        finally:
            await browser.close()
    return out, max(per_page) if per_page else 0


def table(figures: dict[str, list[float]], count: int, db: str, biggest_page: int, runs: int) -> str:
    names = {
        "fcp": "First contentful paint",
        "table": "First page of rows shown (from navigation start)",
        "page": "Page turn (Next page → new rows)",
        "filter": "Filter `views > 50000 && published = true` → rows",
        "sort": "Sort `-views,title` → rows",
    }
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Records page on {count:,} records ({'PostgreSQL' if db else 'SQLite'}), chromium {runs} runs, "
        f"{when}, {platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs, shared with other work). "
        f"Largest page asked for: perPage={biggest_page}.",
        "",
        "| Measure | Median (ms) | Min (ms) | Max (ms) |",
        "|---|---:|---:|---:|",
    ]
    for key, label in names.items():
        v = figures[key]
        lines.append(f"| {label} | {statistics.median(v):.0f} | {min(v):.0f} | {max(v):.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--db", default="", help="a PostgreSQL URL (an empty database); default SQLite")
    ap.add_argument("--out", type=Path, help="also write the markdown table here")
    args = ap.parse_args()
    if not os.path.exists(CHROMIUM):
        raise SystemExit(f"{CHROMIUM} is missing (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        with serve(Path(tmp) / "data", args.db) as url:
            token = seed(url, args.records)
            figures, biggest = asyncio.run(measure(url, token, args.runs))
    if biggest > 100:
        raise SystemExit(f"the records page asked for {biggest} records at once")
    md = table(figures, args.records, args.db, biggest, args.runs)
    print(md)
    if args.out:
        args.out.write_text(md)


if __name__ == "__main__":
    main()
