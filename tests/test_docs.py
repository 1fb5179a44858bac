"""Every example in the docs runs, so a wrong example fails CI instead of a reader.

The fenced blocks of docs/*.md and README.md are collected in order; one test per block:

* every fence has a language tag (``text`` for output and listings);
* ``yaml`` blocks are whole schema files (``collections:`` / ``plugins:``), applied with the
  real loader and planner (``baas schema apply`` in the doc's own folder and database);
* ``sh`` blocks run with ``bash -e`` in the doc's folder. A block that starts ``baas serve`` runs
  its own server; the others that call one (curl, ``:8090``, ``$TOKEN``) share one server
  started for the doc (its blocks build on each other). ``localhost:8090`` / ``127.0.0.1:8090`` become
  that server's free port, and a ``baas`` wrapper first on ``PATH`` adds ``--http`` (serve) and, on PostgreSQL, ``--db``;
* ``http`` blocks (``METHOD /path``, headers, a JSON body) are sent to that server with a
  superuser token as ``Authorization`` and must not answer an error.

The docs' placeholders are provided: ``$TOKEN`` (a superuser token) and the sample files
``cover.png``, ``a.jpg``, ``b.jpg``. A block preceded by ``<!-- docs-test: skip REASON -->``
(installs packages, needs real SMTP/OAuth/S3, runs for ever) is skipped with that reason.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml

from tests.harness import PG_URL, create_pg_database, drop_pg_database
from tests.servers import baas_cmd, free_port

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUN = {"yaml", "sh", "http"}
SKIP_RE = re.compile(r"<!--\s*docs-test:\s*skip\s+(.*?)\s*-->")
SUPERUSER = ("docs@example.com", "docs-password-123")


@dataclass
class Block:
    doc: Path
    line: int  # of the opening fence
    lang: str
    text: str
    skip: str = ""

    @property
    def name(self) -> str:
        return f"{self.doc.name}:{self.line}:{self.lang or 'untagged'}"


def fenced_blocks(doc: Path) -> list[Block]:
    """The fenced blocks of ``doc``, each with the skip reason of a marker just above it."""
    blocks: list[Block] = []
    lines = doc.read_text().splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)```(\S*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start, indent, lang = i, m.group(1), m.group(2)
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        above = next((ln for ln in reversed(lines[:start]) if ln.strip()), "")
        skip = SKIP_RE.search(above)
        blocks.append(Block(doc, start + 1, lang, "\n".join(body) + "\n", skip.group(1) if skip else ""))
        i += 1
    return blocks


ALL_BLOCKS = [b for doc in DOCS for b in fenced_blocks(doc)]
RUNNABLE = [b for b in ALL_BLOCKS if b.lang in RUN]


def test_every_fence_has_a_language_tag() -> None:
    untagged = [b.name for b in ALL_BLOCKS if not b.lang]
    assert not untagged, f"fences without a language tag (use `text` for output): {untagged}"


def test_the_docs_have_runnable_examples() -> None:
    """Guards the collector itself: a parsing slip must not leave nothing to run."""
    langs = {b.lang for b in RUNNABLE if not b.skip}
    assert langs == RUN and len(RUNNABLE) >= 10, [b.name for b in RUNNABLE]


WRAPPER = '''#!{python}
"""`baas` for the docs' examples: the real command plus this doc's port and database."""
import os, sys
args = sys.argv[1:]
db = os.environ.get("DOCS_DB", "")
extra = []
if args[:1] == ["serve"] and "--http" not in args:
    extra += ["--http", "127.0.0.1:" + os.environ["DOCS_PORT"], "--workers", "1"]
takes_db = args[:1] in (["serve"], ["superuser"], ["files"], ["events"]) or args[:2] in (
    ["schema", "plan"], ["schema", "apply"], ["schema", "export"], ["schema", "advise"])
if db and takes_db and "--db" not in args and "--help" not in args:
    extra += ["--db", db]
os.execv({python!r}, [{python!r}, "-m", "baas.cli.main", *args, *extra])
'''


@dataclass
class DocRun:
    """One doc's folder, database, port, and the server its blocks share (started on demand)."""

    dir: Path
    db: str
    port: int = field(default_factory=free_port)
    groups: list[int] = field(default_factory=list)  # process groups to stop at the end
    token: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        bin_dir = self.dir / ".bin"
        if not bin_dir.exists():
            bin_dir.mkdir()
            (bin_dir / "baas").write_text(WRAPPER.format(python=sys.executable))
            (bin_dir / "baas").chmod(0o755)
        return {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "BAAS_FAST_HASH": "1",
            "DOCS_PORT": str(self.port),
            "DOCS_DB": self.db,
            "TOKEN": self.token,
        }

    def run(self, script: str, timeout: int = 120) -> str:
        """``bash -e`` in the doc's folder; background servers it starts are stopped at the end."""
        out_path = self.dir / ".out"
        with out_path.open("wb") as out:  # a file, not a pipe: a background server keeps a pipe open
            proc = subprocess.Popen(
                ["bash", "-e", "-c", script],
                cwd=self.dir,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self.groups.append(proc.pid)
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                code = -1
        output = out_path.read_text(errors="replace")
        assert code == 0, f"exit {code}:\n{script}\n--- output\n{output}"
        return output

    def server(self) -> None:
        """The shared server of this doc's blocks, with a superuser and its token in ``$TOKEN``."""
        if self.token:
            return
        self.run(f"baas superuser upsert {SUPERUSER[0]} {SUPERUSER[1]}")
        self.run(
            f"baas serve > serve.log 2>&1 &\nuntil curl -sf {self.url}/api/health >/dev/null; do sleep 0.1; done",
            timeout=60,
        )
        r = httpx.post(
            f"{self.url}/api/collections/_superusers/auth-with-password",
            json={"identity": SUPERUSER[0], "password": SUPERUSER[1]},
        )
        assert r.status_code == 200, r.text
        self.token = r.json()["token"]
        _sample_files(self.dir)

    def stop(self) -> None:
        """SIGTERM every group the blocks started; wait until each is gone (SIGKILL past 30 s)."""
        for pgid in self.groups:
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for pgid in self.groups:  # the server's own shutdown is bounded (baas/cli/serve.py)
            for _ in range(300):
                if not _alive_in_group(pgid):
                    break
                time.sleep(0.05)
            else:
                os.killpg(pgid, signal.SIGKILL)


def _alive_in_group(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs. A stopped server is an orphan (its shell has
    exited) and stays a zombie until PID 1 reaps it, which on some machines takes seconds: a zombie
    holds no port, file or connection, so it counts as gone."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # exited meanwhile
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # after the name: state, ppid, pgrp
            return True
    return False


def _sample_files(folder: Path) -> None:
    from PIL import Image

    Image.new("RGB", (32, 24), "red").save(folder / "cover.png")
    for name in ("a.jpg", "b.jpg"):
        Image.new("RGB", (24, 32), "blue").save(folder / name)


@pytest.fixture(scope="module")
def doc_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[Path, DocRun]]:
    runs: dict[Path, DocRun] = {}

    def get(doc: Path) -> DocRun:
        if doc not in runs:
            db = asyncio.run(create_pg_database()) if PG_URL else ""
            runs[doc] = DocRun(tmp_path_factory.mktemp(doc.stem), db)
        return runs[doc]

    yield get  # type: ignore[misc]
    for run in runs.values():
        run.stop()
    for run in runs.values():
        if run.db:
            asyncio.run(drop_pg_database(run.db))


def _rewrite_port(text: str, port: int) -> str:
    return re.sub(r"\b(localhost|127\.0\.0\.1):8090\b", f"127.0.0.1:{port}", text)


def _refuse_error_answers(output: str, block: Block) -> None:
    """curl without -f exits 0 on a 4xx: an answer in the API's error shape fails the example."""
    for line in output.splitlines():
        try:
            body = json.loads(line)
        except ValueError:
            continue
        if isinstance(body, dict) and isinstance(body.get("status"), int) and body["status"] >= 400:
            pytest.fail(f"{block.name} got an error answer: {line}")


def _run_yaml(block: Block, run: DocRun) -> None:
    doc = yaml.safe_load(block.text)
    # A fragment can't be checked (files.md's `fields:` fragment hid a hex-number thumb size):
    # show a whole schema file, or mark the block with a skip reason.
    assert isinstance(doc, dict) and {"collections", "plugins"} & doc.keys(), (
        f"{block.name}: a yaml example must be a whole schema file (collections: / plugins:)"
    )
    (run.dir / "example.yaml").write_text(block.text)
    out = run.run("baas schema apply example.yaml")
    assert "Applied." in out or "Nothing to apply." in out, out


def _run_sh(block: Block, run: DocRun) -> None:
    if "baas serve" not in block.text and re.search(r"curl|:8090|\$TOKEN", block.text):
        run.server()  # the block talks to a server it does not start itself
    output = run.run(_rewrite_port(block.text, run.port))
    _refuse_error_answers(output, block)


def _run_http(block: Block, run: DocRun) -> None:
    run.server()
    head, _, body = block.text.partition("\n\n") if "\n\n" in block.text else (block.text, "", "")
    lines = head.strip().splitlines()
    method, path = lines[0].split()[:2]
    body_lines = [ln for ln in lines[1:] if not re.match(r"^[A-Za-z-]+:\s", ln)]
    payload = "\n".join(body_lines) + body
    r = httpx.request(method, run.url + path, headers={"Authorization": run.token}, content=payload.strip() or None)
    assert r.status_code < 400, f"{block.name}: {method} {path} -> {r.status_code} {r.text}"


@pytest.mark.parametrize("block", RUNNABLE, ids=[b.name for b in RUNNABLE])
def test_doc_example_runs(block: Block, doc_runs) -> None:  # type: ignore[no-untyped-def]
    if block.skip:
        pytest.skip(f"{block.name}: {block.skip}")
    run = doc_runs(block.doc)
    {"yaml": _run_yaml, "sh": _run_sh, "http": _run_http}[block.lang](block, run)


# What the docs claim beyond their examples.

UNQUOTED_THUMBS = textwrap.dedent("""\
    collections:
      - name: albums
        fields:
          - {name: cover, type: file, thumbs: [100x100, 0x300]}
    """)


def test_an_unquoted_hex_like_thumb_size_is_a_clear_schema_error(tmp_path: Path) -> None:
    """files.md once showed `thumbs: [100x100, 0x300]`: YAML reads 0x300 as 768."""
    (tmp_path / "baas.yaml").write_text(UNQUOTED_THUMBS)
    r = subprocess.run(
        baas_cmd("schema", "plan", "baas.yaml"), cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 1, r.stdout
    assert "baas.yaml:4" in r.stderr and "thumbs[1]" in r.stderr and "quote" in r.stderr, r.stderr


def test_protected_files_follow_the_view_rule_as_files_md_says(doc_runs) -> None:  # type: ignore[no-untyped-def]
    """files.md: without a token a protected file is served where the view rule is "" and is 404
    where the rule needs an auth record."""
    run = doc_runs(ROOT / "docs" / "files.md")
    run.server()
    auth = {"Authorization": run.token}
    for name, rule in (("open_contracts", ""), ("signed_contracts", '@request.auth.id != ""')):
        r = httpx.post(
            run.url + "/api/collections",
            headers=auth,
            json={"name": name, "viewRule": rule, "fields": [{"name": "doc", "type": "file", "protected": True}]},
        )
        assert r.status_code == 200, r.text
        rec = httpx.post(
            f"{run.url}/api/collections/{name}/records", headers=auth, files={"doc": ("c.txt", b"terms", "text/plain")}
        ).json()
        url = f"{run.url}/api/files/{name}/{rec['id']}/{rec['doc']}"
        token = httpx.post(run.url + "/api/files/token", headers=auth).json()["token"]
        assert httpx.get(url, params={"token": token}).status_code == 200
        assert httpx.get(url).status_code == (200 if rule == "" else 404), name
