"""``/api/jobs``: jobs created, changed and deleted over the API (in-process, on SQLite and
PostgreSQL). Each kind of bad input answers 400 with an error on its field naming the job, and
leaves nothing stored; jobs of baas.yaml are listed but read-only; an API job is scheduled, run
now and listed by ``/api/crons`` without a restart."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from baas.jobs import defs
from tests.harness import Running, app_for, unique, user_token, wait_runs

FUNCTIONS = """
from baas.functions import function


@function()
async def echo(ctx):
    return {"got": ctx.body, "trigger": ctx.run["trigger"]}
"""

YAML = """
functions: {pkg}
jobs:
  - name: from-file
    schedule: "0 3 * * *"
    function: echo
"""


@pytest_asyncio.fixture(scope="module")
async def run(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Running]:
    tmp = tmp_path_factory.mktemp("jobsapi")
    pkg = unique("apijobfns")
    root = tmp / "proj"
    (root / pkg).mkdir(parents=True)
    (root / pkg / "__init__.py").write_text(FUNCTIONS)
    (root / "baas.yaml").write_text(YAML.format(pkg=pkg))
    async with app_for(tmp, str(root / "baas.yaml")) as r:
        yield r


def su(run: Running) -> dict[str, str]:
    return {"Authorization": run.su}


async def create(run: Running, body: dict[str, Any]) -> Any:
    return await run.client.post("/api/jobs", json=body, headers=su(run))


async def test_an_api_job_is_scheduled_changed_and_deleted_without_a_restart(run: Running) -> None:
    r = await create(run, {"name": "api-echo", "schedule": "@every 1s", "function": "echo", "args": {"v": 1}})
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["source"] == "api" and job["target"] == "function:echo" and job["nextRun"], job
    assert job["created"] and job["timeout"] == 60 and job["overlap"] == "skip" and job["http"] is None

    listed = (await run.client.get("/api/jobs", headers=su(run))).json()
    sources = {j["name"]: j["source"] for j in listed["items"]}
    assert sources["api-echo"] == "api" and sources["from-file"] == "yaml", sources
    crons = {c["id"]: c for c in (await run.client.get("/api/crons", headers=su(run))).json()}
    assert crons["api-echo"]["source"] == "api" and crons["api-echo"]["expression"] == "@every 1s"
    assert crons["from-file"]["source"] == "yaml"

    runs = await wait_runs(run, "api-echo", 2)  # ticks of the new job, scheduled without a restart
    done = [x for x in runs if x["status"] == "success" and x["trigger"] == "schedule"]
    assert done and json.loads(done[0]["output"])["got"] == {"v": 1}, runs

    r = await run.client.patch("/api/jobs/api-echo", json={"args": {"v": 2}}, headers=su(run))
    assert r.status_code == 200, r.text
    assert r.json()["args"] == {"v": 2} and r.json()["schedule"] == "@every 1s"
    for _ in range(300):  # a later tick runs with the new options
        runs = await wait_runs(run, "api-echo", 1)
        if any(x["status"] == "success" and json.loads(x["output"])["got"] == {"v": 2} for x in runs):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"no run with the changed args: {runs}")

    r = await run.client.post("/api/crons/api-echo", headers=su(run))  # run now, as PocketBase's API
    assert r.status_code == 204, r.text
    await _wait_manual(run, "api-echo")

    r = await run.client.patch(
        "/api/jobs/api-echo", json={"function": "", "task": "events.prune", "enabled": False}, headers=su(run)
    )
    assert r.status_code == 200, r.text
    assert r.json()["target"] == "task:events.prune" and r.json()["nextRun"] == "" and not r.json()["enabled"]

    r = await run.client.delete("/api/jobs/api-echo", headers=su(run))
    assert r.status_code == 204, r.text
    assert (await run.client.get("/api/jobs/api-echo", headers=su(run))).status_code == 404
    assert "api-echo" not in run.engine.jobs.jobs
    assert (await run.client.post("/api/crons/api-echo", headers=su(run))).status_code == 404
    assert await defs.rows(run.engine.db) == []


async def _wait_manual(run: Running, name: str) -> None:
    for _ in range(300):
        runs = await wait_runs(run, name, 1)
        if any(x["trigger"] == "manual" and x["status"] == "success" for x in runs):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no finished manual run of {name}")


GOOD = {"name": "bad-one", "schedule": "*/5 * * * *", "function": "echo"}
BAD = [
    ({"schedule": "0 25 * * *"}, "schedule", "higher than the maximum"),
    ({"schedule": "* * * *"}, "schedule", "must have 5 fields"),
    ({"schedule": "@every 0.5s"}, "schedule", "at least 1s"),
    ({"schedule": "@fortnightly"}, "schedule", "unknown schedule"),
    ({"timezone": "Europe/Pariss"}, "timezone", "Unknown time zone 'Europe/Pariss'"),
    ({"function": "nope"}, "function", "Unknown function 'nope' (functions: echo"),
    ({"function": "", "task": "backup.now"}, "task", "Unknown task 'backup.now'"),
    ({"function": ""}, "target", "exactly one target"),
    ({"task": "events.prune"}, "target", "exactly one target"),
    ({"function": "", "http": {"url": "example.com/x"}}, "http", "must be an absolute http:// or https:// URL"),
    ({"function": "", "http": {"url": "ftp://example.com/x"}}, "http", "must be an absolute http"),
    ({"function": "", "http": {"url": "https://example.com", "headers": {"Bad Name": "x"}}}, "http", "not a valid"),
    ({"function": "", "http": {"url": "https://example.com", "method": "BREW"}}, "http", "Invalid enum value"),
    ({"function": "", "http": {"url": "https://example.com", "headers": {"X-K": "******"}}}, "http", "header's value"),
    ({"retries": -1}, "retries", "between 0 and 100"),
    ({"retries": 101}, "retries", "between 0 and 100"),
    ({"retries": "3"}, "retries", "Expected `int`, got `str`"),
    ({"timeout": 0}, "timeout", "positive number"),
    ({"timeout": -5}, "timeout", "positive number"),
    ({"backoff": -1}, "backoff", ">= 0"),
    ({"misfireGrace": 0}, "misfireGrace", "> 0"),
    ({"overlap": "parallel"}, "overlap", "Invalid enum value"),
    ({"name": "has space"}, "name", "letters, digits"),
    ({"name": ""}, "name", "letters, digits"),
    ({"args": [1]}, "args", "Expected `object`"),
    ({"cron": "* * * * *"}, "cron", "Unknown key"),
]


@pytest.mark.parametrize("change,field,text", BAD, ids=[f"{f}-{i}" for i, (_, f, _) in enumerate(BAD)])
async def test_bad_input_is_a_400_on_its_field_and_stores_nothing(
    run: Running, change: dict[str, Any], field: str, text: str
) -> None:
    body = {**GOOD, **change}
    r = await create(run, body)
    assert r.status_code == 400, r.text
    err = r.json()
    assert err["status"] == 400 and field in err["data"], err
    assert text in err["data"][field]["message"] or text in err["message"], err
    assert err["data"][field]["code"].startswith("validation_")
    assert err["message"].startswith(f"job {body['name'] or '?'!r}") or field == "name", err
    assert (await run.client.get(f"/api/jobs/{body['name'] or 'x'}", headers=su(run))).status_code == 404
    assert await defs.rows(run.engine.db) == []


async def test_missing_schedule_and_non_object_bodies(run: Running) -> None:
    r = await create(run, {"name": "no-schedule", "function": "echo"})
    assert r.status_code == 400 and r.json()["data"]["schedule"]["code"] == "validation_required", r.text
    r = await run.client.post("/api/jobs", json=[1, 2], headers=su(run))
    assert r.status_code == 400, r.text
    r = await run.client.post(
        "/api/jobs", content=b"{not json", headers={**su(run), "content-type": "application/json"}
    )
    assert r.status_code == 400, r.text
    assert await defs.rows(run.engine.db) == []


async def test_several_bad_fields_are_each_reported(run: Running) -> None:
    r = await create(run, {**GOOD, "schedule": "0 25 * * *", "timezone": "Mars/Base", "retries": 500})
    assert r.status_code == 400
    assert {"schedule", "timezone", "retries"} <= set(r.json()["data"]), r.json()


async def test_names_are_unique_and_yaml_jobs_are_read_only(run: Running) -> None:
    r = await create(run, {**GOOD, "name": "from-file"})
    assert r.status_code == 400 and "baas.yaml" in r.json()["message"], r.text
    assert r.json()["data"]["name"]["code"] == "validation_taken"
    assert (await create(run, {**GOOD, "name": "twice"})).status_code == 200
    r = await create(run, {**GOOD, "name": "twice", "schedule": "@daily"})
    assert r.status_code == 400 and r.json()["data"]["name"]["code"] == "validation_taken", r.text
    assert (await run.client.get("/api/jobs/twice", headers=su(run))).json()["schedule"] == GOOD["schedule"]

    for method, body in (("PATCH", {"schedule": "@daily"}), ("PATCH", {"enabled": False}), ("DELETE", None)):
        r = await run.client.request(method, "/api/jobs/from-file", json=body, headers=su(run))
        assert r.status_code == 400, r.text
        assert "declared in baas.yaml: change it there" in r.json()["message"]
    view = (await run.client.get("/api/jobs/from-file", headers=su(run))).json()
    assert view["source"] == "yaml" and view["schedule"] == "0 3 * * *" and view["enabled"]

    # A bad change leaves the job as it was; the name cannot change.
    for body, field in (({"schedule": "61 * * * *"}, "schedule"), ({"name": "renamed"}, "name")):
        r = await run.client.patch("/api/jobs/twice", json=body, headers=su(run))
        assert r.status_code == 400 and field in r.json()["data"], r.text
    r = await run.client.patch("/api/jobs/twice", json=[1], headers=su(run))
    assert r.status_code == 400, r.text
    assert (await run.client.get("/api/jobs/twice", headers=su(run))).json()["schedule"] == GOOD["schedule"]
    for method in ("GET", "PATCH", "DELETE"):
        r = await run.client.request(
            method, "/api/jobs/missing", json={} if method == "PATCH" else None, headers=su(run)
        )
        assert r.status_code == 404, (method, r.text)
    assert (await run.client.delete("/api/jobs/twice", headers=su(run))).status_code == 204


async def test_http_header_values_are_write_only(run: Running) -> None:
    body = {
        "name": "pinger",
        "schedule": "@hourly",
        "http": {"url": "https://example.com/hook", "headers": {"Authorization": "Bearer s3cret"}, "body": {"a": 1}},
    }
    r = await create(run, body)
    assert r.status_code == 200, r.text
    assert r.json()["http"]["headers"] == {"Authorization": "******"} and "s3cret" not in r.text
    assert r.json()["target"] == "http:POST https://example.com/hook"
    r = await run.client.patch(
        "/api/jobs/pinger",
        json={"http": {**r.json()["http"], "url": "https://example.com/other"}, "timeout": 5},
        headers=su(run),
    )
    assert r.status_code == 200, r.text
    assert "s3cret" not in r.text and "s3cret" in run.engine.jobs.jobs["pinger"].http.headers["Authorization"]
    assert run.engine.jobs.jobs["pinger"].http.url == "https://example.com/other"
    assert (await run.client.delete("/api/jobs/pinger", headers=su(run))).status_code == 204


async def test_only_superusers(run: Running) -> None:
    token, _ = await user_token(run, email=f"{unique('u')}@example.com")
    for method, path in (("GET", "/api/jobs"), ("POST", "/api/jobs"), ("GET", "/api/jobs/from-file")):
        assert (await run.client.request(method, path)).status_code == 401
        r = await run.client.request(
            method, path, json=GOOD if method == "POST" else None, headers={"Authorization": token}
        )
        assert r.status_code == 403, r.text
    for method in ("PATCH", "DELETE"):
        assert (
            await run.client.request(method, "/api/jobs/from-file", headers={"Authorization": token})
        ).status_code == 403
    assert await defs.rows(run.engine.db) == []
