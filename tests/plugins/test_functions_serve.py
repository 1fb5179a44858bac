"""A project's ``functions/`` package under a real ``baas serve --schema baas.yaml``: the serve
process and its granian workers each load it (the yaml is applied once, its hooks everywhere)."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.servers import running_server

SCHEMA = """
collections:
  - name: tasks
    listRule: ""
    viewRule: ""
    createRule: ""
    updateRule: ""
    fields:
      - {name: title, type: text, required: true}
      - {name: slug, type: text}
      - {name: done, type: bool}
plugins:
  - module: project_settings
    settings: {greeting: hello from baas.yaml}
functions: app/functions
"""

TASKS = """
import re

from baas.errors import BadRequest


def register(app):
    async def slugify(e):
        if e.record["title"].lower() == "forbidden":
            raise BadRequest("That title is not allowed.", {"title": {"code": "validation_forbidden_title",
                                                                      "message": "Pick another title."}})
        e.record["slug"] = re.sub(r"[^a-z0-9]+", "-", e.record["title"].lower()).strip("-")
        await e.next()

    async def only_open(e):
        await e.next()
        e.result["items"] = [t for t in e.result["items"] if not t["done"]]

    app.hooks.on_record_create.bind_for("tasks", slugify)
    app.hooks.on_record_list_request.bind_for("tasks", only_open)
"""

SETTINGS_PLUGIN = """
from litestar import get


def register(app):
    @get("/api/greeting")
    async def greeting() -> dict:
        return {"greeting": app.settings["greeting"]}

    app.route(greeting)
"""


def write_project(root: Path) -> Path:
    (root / "app" / "functions").mkdir(parents=True)
    (root / "app" / "functions" / "__init__.py").write_text("")
    (root / "app" / "functions" / "tasks.py").write_text(TASKS)
    (root / "project_settings.py").write_text(SETTINGS_PLUGIN)
    schema = root / "baas.yaml"
    schema.write_text(SCHEMA)
    return schema


async def test_functions_package_and_yaml_plugin_in_a_real_server(tmp_path):
    schema = write_project(tmp_path / "project")
    async with running_server(tmp_path, "--schema", str(schema), "--workers", "2") as srv:
        async with httpx.AsyncClient(base_url=srv.url, timeout=10) as c:
            r = await c.post("/api/collections/tasks/records", json={"title": "Write the Docs!"})
            assert r.status_code == 200, r.text
            assert r.json()["slug"] == "write-the-docs"
            r = await c.post("/api/collections/tasks/records", json={"title": "forbidden"})
            assert r.status_code == 400
            assert r.json()["data"]["title"]["code"] == "validation_forbidden_title"
            await c.post("/api/collections/tasks/records", json={"title": "old", "done": True})
            r = await c.get("/api/collections/tasks/records")
            assert [t["title"] for t in r.json()["items"]] == ["Write the Docs!"]
        for _ in range(10):  # new connections, which either worker may take: each loaded the plugins
            async with httpx.AsyncClient(base_url=srv.url, timeout=10) as c:
                r = await c.get("/api/greeting")
                assert r.status_code == 200 and r.json()["greeting"] == "hello from baas.yaml"
        assert "Traceback" not in srv.log_text()
