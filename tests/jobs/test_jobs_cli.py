"""``baas jobs list|run|history`` against a real data directory (and PostgreSQL when set)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.harness import PG_URL, create_pg_database, drop_pg_database
from tests.servers import baas_cmd

FUNCTIONS = """
from baas.functions import function


@function()
async def add(ctx):
    return {"sum": ctx.body["a"] + ctx.body["b"]}


@function()
async def broken(ctx):
    raise ValueError("no luck")
"""

YAML = """
functions: clifns
jobs:
  - name: adder
    schedule: "@daily"
    function: add
    args: {a: 2, b: 3}
  - name: breaks
    schedule: "@hourly"
    function: broken
"""


async def test_list_run_and_history(tmp_path: Path):
    root = tmp_path / "proj"
    (root / "clifns").mkdir(parents=True)
    (root / "clifns" / "__init__.py").write_text(FUNCTIONS)
    (root / "baas.yaml").write_text(YAML)
    db_url = await create_pg_database() if PG_URL else ""
    where = ["--dir", str(tmp_path / "data"), *(["--db", db_url] if db_url else [])]
    env = {**os.environ, "BAAS_PROJECT": ""}

    def baas(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            baas_cmd(*args, *where), capture_output=True, text=True, timeout=120, env=env, cwd=root
        )  # ./baas.yaml is the default project

    try:
        run = baas("jobs", "run", "adder")
        assert run.returncode == 0, run.stdout + run.stderr
        assert "adder" in run.stdout and "success" in run.stdout and '{"sum":5}' in run.stdout
        run = baas("jobs", "run", "breaks")
        assert run.returncode == 1 and "failed" in run.stdout and "ValueError: no luck" in run.stdout, run.stdout
        run = baas("jobs", "run", "nope")
        assert run.returncode == 1 and "no job 'nope'" in run.stderr
        hist = baas("jobs", "history")
        assert hist.returncode == 0, hist.stderr
        lines = hist.stdout.strip().splitlines()
        assert len(lines) == 2 and "breaks" in lines[0] and "adder" in lines[1], hist.stdout
        listed = baas("jobs", "list")
        assert listed.returncode == 0, listed.stderr
        rows = {ln.split()[0]: ln for ln in listed.stdout.strip().splitlines()}
        assert (
            " yaml " in rows["adder"]
            and "@daily" in rows["adder"]
            and "function:add" in rows["adder"]
            and rows["adder"].endswith("success")
        )
        assert rows["breaks"].endswith("failed")
    finally:
        if db_url:
            await drop_pg_database(db_url)


async def test_list_and_run_show_jobs_made_over_the_api(tmp_path: Path):
    from baas.core import Engine
    from baas.jobs import manage
    from baas.settings import Settings

    db_url = await create_pg_database() if PG_URL else ""
    where = ["--dir", str(tmp_path / "data"), *(["--db", db_url] if db_url else [])]
    env = {**os.environ, "BAAS_PROJECT": ""}
    try:
        eng = Engine(Settings(data_dir=str(tmp_path / "data"), db_url=db_url))
        await eng.start()
        try:
            await manage.create(eng, {"name": "api-prune", "schedule": "@every 2h", "task": "events.prune"})
        finally:
            await eng.stop()
        # No baas.yaml here: jobs made over the API need none.
        listed = subprocess.run(
            baas_cmd("jobs", "list", *where), capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path
        )
        assert listed.returncode == 0, listed.stderr
        row = listed.stdout.strip().splitlines()[0].split()
        assert row[:4] == ["api-prune", "api", "@every", "2h"], listed.stdout
        assert "task:events.prune" in listed.stdout and listed.stdout.strip().endswith("last -")
        run = subprocess.run(
            baas_cmd("jobs", "run", "api-prune", *where),
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=tmp_path,
        )
        assert run.returncode == 0 and "success" in run.stdout and '{"pruned":' in run.stdout, run.stdout + run.stderr
        missing = subprocess.run(
            baas_cmd("jobs", "list", "--project", str(tmp_path / "nope.yaml"), *where),
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert missing.returncode == 1 and "no such project file" in missing.stderr
    finally:
        if db_url:
            await drop_pg_database(db_url)
