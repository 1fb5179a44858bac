"""``POST /api/functions/{name}``: the project's ``@function`` callables over HTTP, with the
caller's auth, call rules, errors in the API shape, timeouts, the concurrency cap, and records
read and written as the caller or as the system (docs/functions.md)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Running, app_for, unique, user_token

SCHEMA = """
collections:
  - name: notes
    listRule: ""
    viewRule: ""
    createRule: "@request.auth.id != ''"
    fields:
      - {name: message, type: text}
  - name: ledger
    fields:
      - {name: entry, type: text}
functions: %s
"""

FUNCTIONS = '''
import asyncio

from baas.errors import BadRequest
from baas.functions import function

GATE_ENTERED = asyncio.Event()
GATE_OPEN = asyncio.Event()


@function(rule="")
async def echo(ctx):
    """Answers what it was sent and who sent it."""
    auth = ctx.auth or {}
    return {"body": ctx.body, "auth": auth.get("id"), "collection": auth.get("collectionName"),
            "superuser": ctx.request.is_superuser}


@function()
async def admin_only(ctx):
    return "for superusers"


@function(name="pay", rule="@request.auth.id != '' && @request.body.amount > 0")
async def pay_handler(ctx):
    return {"paid": ctx.body["amount"]}


@function(rule="")
async def refuses(ctx):
    raise BadRequest("No such order.", {"order": {"code": "validation_missing", "message": "Unknown order."}})


@function(rule="")
async def crashes(ctx):
    raise RuntimeError("secret internal detail")


@function(rule="", timeout=0.2)
async def hangs(ctx):
    await asyncio.Event().wait()   # never set: only the timeout ends it


@function(rule="")
def plain(ctx):
    return {"sum": sum(ctx.body.get("numbers", []))}


@function(rule="")
async def not_json(ctx):
    return object()


@function(rule="", max_concurrency=1)
async def gate(ctx):
    GATE_ENTERED.set()
    await GATE_OPEN.wait()
    return "through"


@function(rule="@request.auth.id != ''")
async def note_as_caller(ctx):
    return await ctx.records.create("notes", {"message": ctx.body["message"]})


@function(rule="")
async def ledger_as_caller(ctx):
    return await ctx.records.create("ledger", {"entry": "by caller"})


@function(rule="")
async def ledger_as_system(ctx):
    rec = await ctx.system.create("ledger", {"entry": ctx.body.get("entry", "by system")})
    page = await ctx.system.list("ledger", filter=f'id = "{rec["id"]}"')
    return {"id": rec["id"], "found": page["totalItems"]}
'''


async def _project(tmp_path: Path) -> tuple[str, str]:
    name = unique("fns")
    root = tmp_path / "proj"
    (root / name).mkdir(parents=True)
    (root / name / "__init__.py").write_text(FUNCTIONS)
    (root / "baas.yaml").write_text(SCHEMA % name)
    return str(root / "baas.yaml"), name


async def _api_key(run: Running) -> tuple[str, str]:
    r = await run.client.post(
        "/api/apikeys",
        headers={"Authorization": run.su},
        json={"name": "fn-key", "scopes": [{"collection": "ledger", "actions": ["create"]}]},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    return body["key"], body["id"]


def _h(token: str | None) -> dict[str, str]:
    return {"Authorization": token} if token else {}


# (description, function, who, body, status, expected answer or error message fragment)
SCENARIOS: list[tuple[str, str, str, Any, int, Any]] = [
    (
        "guest calls an open function",
        "echo",
        "guest",
        {"x": 1},
        200,
        {"body": {"x": 1}, "auth": None, "collection": None, "superuser": False},
    ),
    ("unknown function is a 404", "nope", "guest", {}, 404, "wasn't found"),
    ("superuser-only function refuses a guest", "admin_only", "guest", {}, 403, "Only superusers"),
    ("superuser-only function refuses a user", "admin_only", "user", {}, 403, "Only superusers"),
    ("superuser-only function refuses an API key", "admin_only", "key", {}, 403, "Only superusers"),
    ("superuser-only function lets a superuser in", "admin_only", "su", {}, 200, "for superusers"),
    ("rule over auth and body: guest refused", "pay", "guest", {"amount": 5}, 400, "call rule"),
    ("rule over auth and body: bad amount refused", "pay", "user", {"amount": 0}, 400, "call rule"),
    ("rule over auth and body: user with amount passes", "pay", "user", {"amount": 5}, 200, {"paid": 5}),
    ("a function's own ApiError keeps its status and data", "refuses", "guest", {}, 400, "No such order."),
    ("a raising function is a plain 500", "crashes", "guest", {}, 500, "Something went wrong"),
    ("a function past its timeout is a 504", "hangs", "guest", {}, 504, "did not finish"),
    ("a plain (sync) function runs on a thread", "plain", "guest", {"numbers": [1, 2, 3]}, 200, {"sum": 6}),
    ("an answer that is not JSON is a 500", "not_json", "guest", {}, 500, "JSON"),
    ("a non-object body is a 400", "echo", "guest", [1, 2], 400, "JSON object"),
]


@pytest.mark.parametrize("desc,name,who,body,status,expected", SCENARIOS, ids=[s[0] for s in SCENARIOS])
async def test_call_scenarios(tmp_path, desc, name, who, body, status, expected):
    project, _ = await _project(tmp_path)
    async with app_for(tmp_path, project) as run:
        token = {"guest": None, "su": run.su}.get(who)
        if who == "user":
            token = (await user_token(run))[0]
        elif who == "key":
            token = (await _api_key(run))[0]
        r = await run.client.post(f"/api/functions/{name}", json=body, headers=_h(token))
        assert r.status_code == status, r.text
        data = r.json()
        if status >= 400:
            assert data["status"] == status and expected in data["message"], data
            assert "secret internal detail" not in r.text and "Traceback" not in r.text
            if name == "refuses":
                assert data["data"] == {"order": {"code": "validation_missing", "message": "Unknown order."}}
        else:
            assert data == expected


async def test_the_caller_is_in_context_user_and_api_key(tmp_path):
    project, _ = await _project(tmp_path)
    async with app_for(tmp_path, project) as run:
        token, user_id = await user_token(run)
        r = await run.client.post("/api/functions/echo", json={}, headers=_h(token))
        assert r.json()["auth"] == user_id and r.json()["collection"] == "users"
        key, key_id = await _api_key(run)
        r = await run.client.post("/api/functions/echo", json={}, headers=_h(key))
        assert r.json()["auth"] == key_id and r.json()["collection"] == "_apikeys"
        r = await run.client.post("/api/functions/echo", json={}, headers=_h(run.su))
        assert r.json()["superuser"] is True


async def test_records_as_the_caller_follow_rules_and_as_the_system_do_not(tmp_path):
    project, _ = await _project(tmp_path)
    async with app_for(tmp_path, project) as run:
        token, user_id = await user_token(run)
        r = await run.client.post("/api/functions/note_as_caller", json={"message": "hi"}, headers=_h(token))
        assert r.status_code == 200 and r.json()["message"] == "hi", r.text
        # ledger's createRule is null: the caller may not write it, the system may.
        r = await run.client.post("/api/functions/ledger_as_caller", json={}, headers=_h(token))
        assert r.status_code == 403, r.text
        r = await run.client.post("/api/functions/ledger_as_system", json={"entry": "e1"})
        assert r.status_code == 200 and r.json()["found"] == 1, r.text
        # an API key is held to its scopes: ledger create is in them, but the rule is still null.
        key, _ = await _api_key(run)
        r = await run.client.post("/api/functions/ledger_as_caller", json={}, headers=_h(key))
        assert r.status_code == 403, r.text
        count = await run.engine.db.fetchval('SELECT count(*) FROM "ledger"')
        assert count == 1  # nothing half-written by the refused calls


async def test_over_the_concurrency_cap_answers_429_and_the_running_call_finishes(tmp_path):
    project, name = await _project(tmp_path)
    async with app_for(tmp_path, project) as run:
        mod = sys.modules[name]
        mod.GATE_ENTERED.clear()
        mod.GATE_OPEN.clear()
        first = asyncio.create_task(run.client.post("/api/functions/gate", json={}))
        await mod.GATE_ENTERED.wait()
        r = await run.client.post("/api/functions/gate", json={})
        assert r.status_code == 429 and r.json()["status"] == 429, r.text
        mod.GATE_OPEN.set()
        r = await first
        assert r.status_code == 200 and r.json() == "through"
        r = await run.client.post("/api/functions/gate", json={})  # the slot is free again
        assert r.status_code == 200


async def test_the_function_list_is_for_superusers(tmp_path):
    project, _ = await _project(tmp_path)
    async with app_for(tmp_path, project) as run:
        r = await run.client.get("/api/functions")
        assert r.status_code == 401
        r = await run.client.get("/api/functions", headers=_h(run.su))
        assert r.status_code == 200
        by_name = {f["name"]: f for f in r.json()}
        assert by_name["pay"]["rule"].startswith("@request.auth.id") and by_name["admin_only"]["rule"] is None
        assert by_name["echo"]["description"] == "Answers what it was sent and who sent it."
