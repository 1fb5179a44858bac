"""Jobs in baas.yaml: a bad job is refused with its name and line before anything is applied."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from baas.app import create_app
from baas.core import Engine
from baas.errors import SchemaError
from baas.schema.loader import load_schema_text
from baas.settings import Settings
from tests.harness import PG_URL, create_pg_database, drop_pg_database, unique
from tests.servers import baas_cmd

HEAD = """collections:
  - name: orders
    fields:
      - {name: total, type: number}
jobs:
  - name: fine
    schedule: "*/5 * * * *"
    task: events.prune
"""  # the bad job below starts on line 9


BAD = [
    ("invalid cron field", 'schedule: "61 * * * *"\n    task: events.prune', "invalid schedule '61 * * * *'"),
    ("six cron fields", 'schedule: "0 * * * * *"\n    task: events.prune', "must have 5 fields"),
    ("an interval under a second", 'schedule: "@every 0s"\n    task: events.prune', "at least 1s"),
    ("unknown macro", 'schedule: "@sometimes"\n    task: events.prune', "unknown schedule"),
    (
        "unknown timezone",
        'schedule: "@hourly"\n    timezone: Mars/Olympus\n    task: events.prune',
        "unknown timezone 'Mars/Olympus'",
    ),
    ("unknown built-in task", 'schedule: "@hourly"\n    task: backups.make', "unknown task 'backups.make'"),
    ("no target", 'schedule: "@hourly"', "give exactly one target"),
    ("two targets", 'schedule: "@hourly"\n    task: events.prune\n    function: f', "give exactly one target"),
    ("zero timeout", 'schedule: "@hourly"\n    task: events.prune\n    timeout: 0', "timeout must be a positive"),
    ("negative retries", 'schedule: "@hourly"\n    task: events.prune\n    retries: -1', "retries must be"),
    ("bad overlap", 'schedule: "@hourly"\n    task: events.prune\n    overlap: both', "overlap"),
]


@pytest.mark.parametrize("desc,body,message", BAD, ids=[b[0] for b in BAD])
def test_a_bad_job_names_itself_and_its_line(desc, body, message):
    text = HEAD + "  - name: broken\n    " + body + "\n"
    with pytest.raises(SchemaError) as err:
        load_schema_text(text, "baas.yaml")
    assert err.value.path == "baas.yaml" and err.value.line == 9, err.value.describe()
    assert "job 'broken'" in err.value.message
    assert message.split("'")[0] in err.value.message, err.value.message


def test_a_job_declared_twice_is_refused():
    with pytest.raises(SchemaError, match="job 'fine': declared twice") as err:
        load_schema_text(HEAD + '  - name: fine\n    schedule: "@daily"\n    task: events.prune\n', "baas.yaml")
    assert err.value.line == 9


def _project(tmp_path: Path) -> Path:
    pkg = unique("nofns")
    root = tmp_path / "proj"
    (root / pkg).mkdir(parents=True)
    (root / pkg / "__init__.py").write_text(
        "from baas.functions import function\n\n@function()\nasync def real(ctx):\n    return 1\n"
    )
    path = root / "baas.yaml"
    path.write_text(HEAD + f'  - name: ghost\n    schedule: "@hourly"\n    function: missing\nfunctions: {pkg}\n')
    return path


async def test_an_unknown_function_stops_the_start_and_applies_nothing(tmp_path):
    path = _project(tmp_path)
    url = await create_pg_database() if PG_URL else f"sqlite:///{tmp_path / 'data.db'}"
    try:
        settings = Settings(data_dir=str(tmp_path / "data"), db_url=url, schema_file=str(path))
        eng = Engine(settings)
        create_app(settings, eng)  # loads the functions package, as serve does
        with pytest.raises(SchemaError) as err:
            await eng.start()
        assert "job 'ghost': unknown function 'missing' (functions: real)" in err.value.message
        assert err.value.path == str(path) and err.value.line == 9
        await eng.db.close()
        fresh = Engine(Settings(data_dir=str(tmp_path / "data"), db_url=url))
        await fresh.start()
        try:
            assert fresh.registry.get("orders") is None  # the collection of the same file was not created
        finally:
            await fresh.stop()
    finally:
        if PG_URL:
            await drop_pg_database(url)


def test_the_cli_reports_an_unknown_function_with_file_and_line(tmp_path):
    path = _project(tmp_path)
    db = ["--db", PG_URL] if PG_URL else []
    run = subprocess.run(
        baas_cmd("jobs", "list", "--project", str(path), "--dir", str(tmp_path / "d"), *db),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"{path}:9: job 'ghost': unknown function 'missing'" in run.stderr


async def test_an_engine_without_plugins_loads_the_jobs_without_checking_functions(tmp_path):
    """CLI engines (schema plan/apply, superuser …) never load the functions package: a job's
    function is checked by the server and ``baas jobs``, not by them."""
    path = _project(tmp_path)
    url = await create_pg_database() if PG_URL else f"sqlite:///{tmp_path / 'data.db'}"
    try:
        eng = Engine(Settings(data_dir=str(tmp_path / "data"), db_url=url, project_file=str(path)))
        await eng.start()
        try:
            assert sorted(eng.jobs.jobs) == ["fine", "ghost"]
        finally:
            await eng.stop()
    finally:
        if PG_URL:
            await drop_pg_database(url)
