"""Operating ``baas serve``: shutdown on SIGTERM in any state, a taken port, what it prints.

Real processes only. Waits are on events (a line printed, a health answer, the process exit);
the bounded waits only turn a hang into a failure."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest

from tests.harness import PG_URL, fresh_db_url
from tests.servers import baas_cmd, free_port

SCHEMA = """collections:
  - name: posts
    listRule: ""
    viewRule: ""
    createRule: ""
    fields:
      - {name: title, type: text, required: true, max: 200}
      - {name: views, type: number, onlyInt: true}
"""
EXIT_BOUND = 30  # seconds; the server's own bound is 5 s of grace — this only catches a hang


@pytest.fixture
def pg_or_sqlite(db_url: str) -> str:
    return db_url if PG_URL else ""


@pytest.fixture
async def pg_or_sqlite_each(tmp_path: Path) -> AsyncIterator[list[str]]:
    """One database per SIGTERM moment (PostgreSQL), or none (each server's own SQLite file)."""
    if not PG_URL:
        yield [""] * len(SIGTERM_MOMENTS)
        return
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(fresh_db_url(tmp_path / m[0])) for m in SIGTERM_MOMENTS]


class Serve:
    """A ``baas serve`` in its own process group, its output collected line by line."""

    def __init__(self, cwd: Path, *args: str, db: str = "", env: dict[str, str] | None = None) -> None:
        """``env``: configure by environment only (its ``BAAS_HTTP`` gives the port; no options added)."""
        self.lines: list[str] = []
        self._seen = threading.Condition()
        if env is not None:
            self.port = int(env["BAAS_HTTP"].rpartition(":")[2])
            cmd = baas_cmd("serve", *args)
        else:
            self.port = free_port()
            cmd = baas_cmd("serve", "--http", f"127.0.0.1:{self.port}", *args, *(["--db", db] if db else []))
        self.proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            env={**os.environ, "BAAS_FAST_HASH": "1", **(env or {})},
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._seen:
                self.lines.append(line.rstrip("\n"))
                self._seen.notify_all()
        with self._seen:
            self.lines.append("<eof>")
            self._seen.notify_all()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_line(self, text: str) -> None:
        with self._seen:
            ok = self._seen.wait_for(lambda: any(text in ln for ln in self.lines) or "<eof>" in self.lines, 60)
        assert ok and any(text in ln for ln in self.lines), f"never printed {text!r}:\n{self.output()}"

    def wait_healthy(self) -> None:
        self.wait_line("baas serving on")
        while True:
            assert self.proc.poll() is None, self.output()
            try:
                if httpx.get(self.url + "/api/health", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)

    def terminate(self) -> int:
        """SIGTERM to the whole group (as a container runtime or a terminal's Ctrl-C does)."""
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            return self.proc.wait(timeout=EXIT_BOUND)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            pytest.fail(f"baas serve did not exit after SIGTERM:\n{self.output()}")

    def output(self) -> str:
        with self._seen:
            return "\n".join(self.lines)


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for srv in started:
        if srv.proc.poll() is None:
            os.killpg(srv.proc.pid, signal.SIGKILL)
            srv.proc.wait()


# Where start-up is when SIGTERM arrives: before the master is done, during the workers'
# imports and ASGI lifespan start-up (where granian 2.8 workers could miss the signal), serving.
SIGTERM_MOMENTS = [
    ("at_spawn", None, 0.0),
    ("banner", "baas serving on", 0.0),
    ("banner_plus_50ms", "baas serving on", 0.05),
    ("banner_plus_100ms", "baas serving on", 0.1),
    ("banner_plus_200ms", "baas serving on", 0.2),
    ("banner_plus_500ms", "baas serving on", 0.5),
    ("ready", "ready", 0.0),
]


def test_sigterm_ends_the_server_in_every_start_up_state(
    tmp_path: Path, pg_or_sqlite_each: list[str], serving: list[Serve]
) -> None:
    """Two workers, SIGTERM at each moment. Measured before the fix (granian without a kill
    timeout): the master waited for ever at 50 ms and 200 ms after the banner, in most runs.
    The moments run side by side, each on its own folder, port and database: most of each one's
    time is waiting for its start or its exit."""

    def one(name: str, line: str | None, delay: float, db: str) -> None:
        cwd = tmp_path / name
        cwd.mkdir()
        srv = Serve(cwd, "--workers", "2", db=db)
        serving.append(srv)
        if line == "ready":
            srv.wait_healthy()
        elif line:
            srv.wait_line(line)
        if delay:
            time.sleep(delay)  # a point in start-up to hit, not something waited for
        srv.terminate()
        assert not any("Traceback" in ln for ln in srv.lines), f"{name}:\n{srv.output()}"

    with ThreadPoolExecutor(len(SIGTERM_MOMENTS)) as pool:
        for done in [pool.submit(one, *m, db) for m, db in zip(SIGTERM_MOMENTS, pg_or_sqlite_each, strict=True)]:
            done.result()  # a failed moment fails the test with its own message


def test_a_taken_port_is_a_start_up_error(tmp_path: Path, pg_or_sqlite: str, serving: list[Serve]) -> None:
    first = Serve(tmp_path, "--dir", "first", "--workers", "2", db=pg_or_sqlite)
    serving.append(first)
    first.wait_healthy()
    second = subprocess.run(
        baas_cmd("serve", "--http", f"127.0.0.1:{first.port}", "--dir", "second"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode != 0
    assert f"127.0.0.1:{first.port}" in second.stderr and "already in use" in second.stderr, second.stderr
    assert not (tmp_path / "second").exists(), "nothing may be written before the port is known to be free"
    assert httpx.get(first.url + "/api/health").status_code == 200
    assert first.terminate() == 0


def test_dev_start_up_prints_migrations_once_plan_superuser_hint_and_a_safe_request_log(
    tmp_path: Path, pg_or_sqlite: str, serving: list[Serve]
) -> None:
    (tmp_path / "baas.yaml").write_text(SCHEMA)
    srv = Serve(tmp_path, "--schema", "baas.yaml", "--dev", "--workers", "2", db=pg_or_sqlite)
    serving.append(srv)
    srv.wait_healthy()
    r = httpx.get(
        srv.url + "/api/collections/posts/records?filter=views>1&token=query-secret",
        headers={"Authorization": "header-secret"},
    )
    assert r.status_code == 200
    srv.wait_line("GET /api/collections/posts/records 200")
    assert srv.terminate() == 0
    out = srv.output()
    assert "Schema baas.yaml: applied\n+ posts: create" in out, out
    assert "baas superuser upsert EMAIL PASSWORD" in out, out
    migrations = [ln for ln in srv.lines if ln.startswith("migration: Running upgrade")]
    assert migrations and len(migrations) == len(set(migrations)), out  # once, not once per worker
    assert "alembic" not in out and "Context impl" not in out, out
    assert "query-secret" not in out and "header-secret" not in out and "views>1" not in out, out
    if pg_or_sqlite:
        assert pg_or_sqlite not in out  # a database URL may hold a password


def test_every_serve_option_can_come_from_the_environment(
    tmp_path: Path, pg_or_sqlite: str, serving: list[Serve]
) -> None:
    """As a container runs it: no options, only BAAS_* variables; other commands read the same ones."""
    (tmp_path / "baas.yaml").write_text(SCHEMA)
    env = {
        "BAAS_HTTP": f"127.0.0.1:{free_port()}",
        "BAAS_DIR": str(tmp_path / "data"),
        "BAAS_SCHEMA": "baas.yaml",
        "BAAS_WORKERS": "2",
        "BAAS_DEV": "1",
        **({"BAAS_DB": pg_or_sqlite} if pg_or_sqlite else {}),
    }
    srv = Serve(tmp_path, env=env)
    serving.append(srv)
    srv.wait_healthy()
    assert httpx.get(srv.url + "/api/collections/posts/records").status_code == 200  # the schema was applied
    srv.wait_line("GET /api/collections/posts/records 200")  # dev mode's request log
    upsert = subprocess.run(
        baas_cmd("superuser", "upsert", "env@example.com", "env-password-1"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "BAAS_FAST_HASH": "1", **env},
    )
    assert upsert.returncode == 0, upsert.stderr
    r = httpx.post(
        srv.url + "/api/collections/_superusers/auth-with-password",
        json={"identity": "env@example.com", "password": "env-password-1"},
    )
    assert r.status_code == 200, r.text  # the same database as the server's
    # The data dir is BAAS_DIR's (on PostgreSQL the install secret is in the database, not there).
    assert (tmp_path / "data" / ".metrics").is_dir() and not (tmp_path / "baas_data").exists()
    assert (tmp_path / "data" / ".secret").exists() == (not pg_or_sqlite)
    assert srv.terminate() == 0
    out = srv.output()
    assert out.count("Schema baas.yaml: applied") == 1 and "Traceback" not in out, out


def test_serve_schema_prints_the_plan_it_applied_even_a_dropped_empty_field(
    tmp_path: Path, pg_or_sqlite: str, serving: list[Serve]
) -> None:
    db = ["--db", pg_or_sqlite] if pg_or_sqlite else []
    (tmp_path / "baas.yaml").write_text(SCHEMA)
    assert (
        subprocess.run(
            baas_cmd("schema", "apply", "baas.yaml", *db), cwd=tmp_path, timeout=60, capture_output=True
        ).returncode
        == 0
    )
    (tmp_path / "smaller.yaml").write_text(SCHEMA.replace("      - {name: views, type: number, onlyInt: true}\n", ""))
    srv = Serve(tmp_path, "--schema", "smaller.yaml", "--workers", "1", db=pg_or_sqlite)
    serving.append(srv)
    srv.wait_healthy()
    assert srv.terminate() == 0
    out = srv.output()
    assert "Schema smaller.yaml: applied" in out and "views" in out.split("Schema smaller.yaml: applied")[1], out
    again = Serve(tmp_path, "--schema", "smaller.yaml", "--workers", "1", db=pg_or_sqlite)
    serving.append(again)
    again.wait_healthy()
    assert again.terminate() == 0
    assert "Schema smaller.yaml: no changes." in again.output()


@pytest.mark.parametrize("command", [["serve"], ["schema", "apply"], ["events", "tail"], ["files", "sweep"]])
def test_help_shows_flags_as_flags(tmp_path: Path, command: list[str]) -> None:
    r = subprocess.run(
        baas_cmd(*command, "--help"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert r.returncode == 0 and "--help" in r.stdout, r.stderr
    assert "<bool>" not in r.stdout and "BOOLEAN" not in r.stdout, r.stdout


def test_schema_export_in_an_empty_folder_creates_nothing(tmp_path: Path) -> None:
    r = subprocess.run(baas_cmd("schema", "export"), cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "no data directory" in r.stderr and "baas_data" in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == []
