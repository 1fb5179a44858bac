"""The first-party audit log plugin (plugins/audit_log), installed as a package and found through
its ``baas.plugins`` entry point — as an operator would run it."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import tomllib
from pathlib import Path

import httpx
import pytest

from baas.errors import Forbidden
from baas.hooks import RecordEvent
from tests.harness import SU_EMAIL, SU_PASS, app_for
from tests.servers import baas_cmd, running_server

SCHEMA = """
collections:
  - name: notes
    listRule: ""
    viewRule: ""
    createRule: ""
    updateRule: ""
    deleteRule: ""
    fields:
      - {name: message, type: text}
      - {name: tags, type: json}
  - name: drafts
    createRule: ""
    fields:
      - {name: text, type: text}
"""
N = "/api/collections/notes/records"


PLUGIN_DIR = Path(__file__).resolve().parents[2] / "plugins" / "audit_log"


@pytest.fixture(autouse=True)
def installed(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plugin as pip would install it, for this test only: its package importable and its
    ``baas.plugins`` entry point declared (read from plugins/audit_log/pyproject.toml), in this
    process and in the servers it starts. Installing it into the environment instead would load
    it into every other test's app too."""
    entry = tomllib.loads((PLUGIN_DIR / "pyproject.toml").read_text())["project"]["entry-points"]["baas.plugins"]
    info = site / "baas_audit_log-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: baas-audit-log\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[baas.plugins]\n" + "".join(f"{k} = {v}\n" for k, v in entry.items()))
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(site), str(PLUGIN_DIR), os.environ.get("PYTHONPATH", "")]))
    )
    assert [ep.name for ep in importlib.metadata.entry_points(group="baas.plugins", name="audit_log")]


def project(tmp_path: Path, extra: str = "") -> str:
    path = tmp_path / "baas.yaml"
    path.write_text(SCHEMA + extra)
    return str(path)


async def audit(client: httpx.AsyncClient, token: str | None, query: str = "") -> httpx.Response:
    return await client.get(f"/api/audit{query}", headers={"Authorization": token} if token else {})


async def test_every_write_is_logged_with_who_what_when_and_changed_fields(tmp_path):
    async with app_for(tmp_path, project(tmp_path)) as run:
        c = run.client
        r = await c.post(
            "/api/collections/users/records",
            headers={"Authorization": run.su},
            json={
                "email": "ann@example.com",
                "password": "password-123",
                "passwordConfirm": "password-123",
                "name": "Ann",
            },
        )
        assert r.status_code == 200, r.text
        ann_id = r.json()["id"]
        login = await c.post(
            "/api/collections/users/auth-with-password",
            json={"identity": "ann@example.com", "password": "password-123"},
        )
        ann = login.json()["token"]
        note = (await c.post(N, headers={"Authorization": ann}, json={"message": "hi", "tags": ["a"]})).json()
        await c.patch(f"{N}/{note['id']}", json={"message": "hello"})  # a guest edits
        await c.patch(
            f"/api/collections/users/records/{ann_id}",
            headers={"Authorization": ann},
            json={"oldPassword": "password-123", "password": "password-456", "passwordConfirm": "password-456"},
        )
        assert (await c.delete(f"{N}/{note['id']}", headers={"Authorization": run.su})).status_code == 204

        r = await audit(c, run.su)
        assert r.status_code == 200, r.text
        body = r.json()
        # the set-up's superuser is logged too: its creation writes through the record service, hooks included
        assert body["totalItems"] == 6 and body["page"] == 1 and body["totalPages"] == 1
        assert (body["items"][-1]["action"], body["items"][-1]["collectionName"]) == ("create", "_superusers")
        assert "password" not in body["items"][-1]["changes"] or body["items"][-1]["changes"]["password"][1] == "***"
        items = body["items"][:-1]  # newest first
        assert [(i["action"], i["collectionName"]) for i in items] == [
            ("delete", "notes"),
            ("update", "users"),
            ("update", "notes"),
            ("create", "notes"),
            ("create", "users"),
        ]
        delete, pw, edit, create, user = items
        assert delete["auth"] == {"collectionName": "_superusers", "id": delete["auth"]["id"]}
        assert delete["changes"] == {"id": [note["id"], None], "message": ["hello", None], "tags": [["a"], None]}
        assert pw["auth"] == {"collectionName": "users", "id": ann_id}
        assert pw["fields"] == ["password"] and pw["changes"] == {"password": ["***", "***"]}
        assert edit["auth"] == {"collectionName": "", "id": ""} and edit["changes"] == {"message": ["hi", "hello"]}
        assert create["auth"]["id"] == ann_id and create["record"] == note["id"]
        assert create["fields"] == ["id", "message", "tags"]
        assert user["changes"]["password"] == [None, "***"] and "tokenKey" not in user["changes"]
        assert "password-123" not in r.text
        assert create["created"].endswith("Z") and create["collectionId"] == note["collectionId"]


async def test_the_route_is_superusers_only_filters_and_pages(tmp_path):
    async with app_for(tmp_path, project(tmp_path)) as run:
        c = run.client
        ids = [(await c.post(N, json={"message": f"m{i}"})).json()["id"] for i in range(3)]
        await c.post("/api/collections/drafts/records", json={"text": "d"})
        assert (await audit(c, None)).status_code == 401
        await c.post(
            "/api/collections/users/records",
            headers={"Authorization": run.su},
            json={"email": "u@example.com", "password": "password-123", "passwordConfirm": "password-123"},
        )
        user = (
            await c.post(
                "/api/collections/users/auth-with-password",
                json={"identity": "u@example.com", "password": "password-123"},
            )
        ).json()["token"]
        r = await audit(c, user)
        assert r.status_code == 403 and r.json()["status"] == 403
        r = await audit(c, run.su, "?collection=notes&perPage=2&page=2")
        assert r.json()["totalItems"] == 3 and r.json()["totalPages"] == 2
        assert [i["record"] for i in r.json()["items"]] == [ids[0]]
        coll_id = r.json()["items"][0]["collectionId"]
        assert (await audit(c, run.su, f"?collection={coll_id}")).json()["totalItems"] == 3
        r = await audit(c, run.su, f"?record={ids[1]}")
        assert [i["record"] for i in r.json()["items"]] == [ids[1]]
        for bad, field in (
            ("?perPage=0", "perPage"),
            ("?perPage=x", "perPage"),
            ("?page=-1", "page"),
            ("?perPage=501", "perPage"),
        ):
            r = await audit(c, run.su, bad)
            assert r.status_code == 400, bad
            assert field in r.json()["data"] and r.json()["message"].startswith(f"Invalid {field}")


async def test_a_rolled_back_write_leaves_no_audit_entry_and_batches_are_logged(tmp_path):
    async with app_for(tmp_path, project(tmp_path)) as run:
        c = run.client

        async def veto(e: RecordEvent) -> None:
            await e.next()  # the write and the audit row happen (the audit hook is innermost) …
            if e.record["message"] == "veto":
                raise Forbidden("Vetoed.")  # … and are rolled back together

        run.engine.hooks.on_record_create.bind_for("notes", veto)
        assert (await c.post(N, json={"message": "veto"})).status_code == 403
        assert (await c.post(N, json={"message": "ok"})).status_code == 200
        notes = [i for i in (await audit(c, run.su)).json()["items"] if i["collectionName"] == "notes"]
        assert [i["changes"]["message"][1] for i in notes] == ["ok"]

        await c.patch("/api/settings", headers={"Authorization": run.su}, json={"batch": {"enabled": True}})
        r = await c.post(
            "/api/batch",
            json={
                "requests": [
                    {"method": "POST", "url": N, "body": {"message": "b1"}},
                    {"method": "POST", "url": N, "body": {"message": "b2"}},
                ]
            },
        )
        assert r.status_code == 200, r.text
        r = await c.post(
            "/api/batch",
            json={
                "requests": [
                    {"method": "POST", "url": N, "body": {"message": "b3"}},
                    {"method": "POST", "url": N, "body": {"message": "veto"}},
                ]
            },
        )
        assert r.status_code == 400
        items = (await audit(c, run.su)).json()["items"]
        msgs = [i["changes"]["message"][1] for i in items if i["collectionName"] == "notes"]
        assert msgs == ["b2", "b1", "ok"]


async def test_settings_from_baas_yaml_limit_the_collections(tmp_path):
    proj = project(tmp_path, "plugins:\n  - module: baas_audit_log\n    settings: {exclude: [drafts]}\n")
    async with app_for(tmp_path, proj) as run:
        await run.client.post(N, json={"message": "x"})
        await run.client.post("/api/collections/drafts/records", json={"text": "d"})
        items = (await audit(run.client, run.su)).json()["items"]
        assert [i["collectionName"] for i in items] == ["notes", "_superusers"]  # the set-up's superuser
    proj = project(tmp_path, "plugins:\n  - {module: baas_audit_log, settings: {collections: [drafts]}}\n")
    async with app_for(tmp_path / "b", proj) as run:
        await run.client.post(N, json={"message": "x"})
        await run.client.post("/api/collections/drafts/records", json={"text": "d"})
        items = (await audit(run.client, run.su)).json()["items"]
        assert [i["collectionName"] for i in items] == ["drafts"]


async def test_a_real_server_logs_writes_and_the_cli_lists_them(tmp_path):
    async with running_server(tmp_path, "--schema", project(tmp_path), superuser=(SU_EMAIL, SU_PASS)) as srv:
        async with httpx.AsyncClient(base_url=srv.url, timeout=10) as c:
            note = (await c.post(N, json={"message": "from the server"})).json()
            await c.patch(f"{N}/{note['id']}", json={"message": "changed"})
            su = (
                await c.post(
                    "/api/collections/_superusers/auth-with-password", json={"identity": SU_EMAIL, "password": SU_PASS}
                )
            ).json()["token"]
            assert (await audit(c, su)).json()["totalItems"] == 2
        out = srv.cli("audit", "list", "--collection", "notes")
        lines = [json.loads(line) for line in out.stdout.splitlines()]
        assert [(x["action"], x["record"]) for x in lines] == [("update", note["id"]), ("create", note["id"])]
        assert lines[0]["changes"] == {"message": ["from the server", "changed"]}
    help_text = subprocess.run(
        baas_cmd("--help"), env=srv.env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    ).stdout
    assert "audit" in help_text
    off = subprocess.run(
        baas_cmd("--help"),
        env={**os.environ, "BAAS_DISABLE_PLUGINS": "audit_log"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    ).stdout
    assert "audit" not in off
