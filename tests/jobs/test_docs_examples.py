"""docs/jobs.md's examples, run: its baas.yaml loads and schedules, the API answers as shown, and
the documented error lines are the real ones."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from baas.errors import SchemaError
from baas.schema.loader import load_schema_text
from tests.harness import app_for, unique, wait_runs

DOC = Path(__file__).resolve().parents[2] / "docs" / "jobs.md"
FUNCTIONS = """
from baas.functions import function


@function()
async def nightly_report(ctx):
    return {"format": ctx.body["format"], "job": ctx.run["job"]}
"""


def doc() -> str:
    return DOC.read_text()


def yaml_example() -> str:
    return re.search(r"```yaml\n(.*?)```", doc(), re.S).group(1)


async def test_the_documented_jobs_schedule_and_run(tmp_path):
    pkg = unique("docjobs")
    root = tmp_path / "proj"
    (root / pkg).mkdir(parents=True)
    (root / pkg / "__init__.py").write_text(FUNCTIONS)
    (root / "baas.yaml").write_text(yaml_example().replace("functions: functions", f"functions: {pkg}"))
    async with app_for(tmp_path, str(root / "baas.yaml")) as run:
        su = {"Authorization": run.su}
        r = await run.client.get("/api/crons", headers=su)
        jobs = {j["id"]: j for j in r.json()}
        assert jobs["nightly-report"]["expression"] == "0 3 * * *"
        assert jobs["nightly-report"]["target"] == "function:nightly_report"
        assert jobs["prune-events"]["expression"] == "@every 6h"
        for name in ("nightly-report", "prune-events"):
            assert (await run.client.post(f"/api/crons/{name}", headers=su)).status_code == 204
            runs = await wait_runs(run, name, 1)
            assert runs[0]["status"] == "success" and runs[0]["trigger"] == "manual", runs
        runs = await wait_runs(run, "nightly-report", 1)
        assert runs[0]["output"] == '{"format":"pdf","job":"nightly-report"}'
        assert (await run.client.post("/api/crons/unknown", headers=su)).json()[
            "message"
        ] == "Missing or invalid cron job"


@pytest.mark.parametrize(
    "bad,good",
    [
        ('schedule: "0 25 * * *"', 'schedule: "0 3 * * *"'),
        ("timezone: Europe/Pariss", "timezone: Europe/Paris"),
    ],
)
def test_the_documented_errors_are_the_real_ones(bad, good):
    text = yaml_example().replace(good, bad, 1)
    with pytest.raises(SchemaError) as err:
        load_schema_text(text, "baas.yaml")
    assert f"error: {err.value.describe()}" in doc()


def json_examples() -> list[Any]:
    return [json.loads(b) for b in re.findall(r"```json\n(.*?)```", doc(), re.S)]


async def test_the_documented_api_job_and_error_are_the_real_ones(tmp_path):
    pkg = unique("docapijobs")
    root = tmp_path / "proj"
    (root / pkg).mkdir(parents=True)
    (root / pkg / "__init__.py").write_text(FUNCTIONS)
    (root / "baas.yaml").write_text(yaml_example().replace("functions: functions", f"functions: {pkg}"))
    create, error = json_examples()
    bad = json.loads(re.search(r"For\n`(\{.*?\})`:", doc(), re.S).group(1))
    async with app_for(tmp_path, str(root / "baas.yaml")) as run:
        su = {"Authorization": run.su}
        r = await run.client.post("/api/jobs", json=create, headers=su)
        assert r.status_code == 200, r.text
        job = r.json()
        assert job["source"] == "api" and job["target"] == "task:events.prune" and job["retries"] == 2, job
        assert {"id", "nextRun", "created", "updated"} <= set(job)
        assert (await run.client.post(f"/api/crons/{create['name']}", headers=su)).status_code == 204
        runs = await wait_runs(run, create["name"], 1)
        assert runs[0]["status"] == "success", runs
        r = await run.client.post("/api/jobs", json=bad, headers=su)
        assert r.status_code == 400 and r.json() == error, r.text
        r = await run.client.patch("/api/jobs/nightly-report", json={"enabled": False}, headers=su)
        assert r.status_code == 400 and "job 'nightly-report' is declared in baas.yaml: change it there" in r.text
