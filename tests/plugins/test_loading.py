"""Plugin discovery and the public API: entry points, ``plugins:`` in baas.yaml, the project's
``functions:`` package, settings, routes, hooks, on_start, CLI commands, and clear load errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from baas.errors import SchemaError
from baas.plugins import PluginError
from baas.schema.loader import load_schema_text
from tests.harness import app_for, install_dist, unique
from tests.servers import baas_cmd

COLLECTIONS = """
collections:
  - name: notes
    listRule: ""
    viewRule: ""
    createRule: ""
    fields:
      - {name: message, type: text}
"""

HELLO = '''
from __future__ import annotations

import typer
from litestar import Request, get

from baas.hooks import RecordEvent


def register(app):
    prefix = app.settings.get("prefix", "[hello]")

    async def stamp(e: RecordEvent) -> None:
        e.record["message"] = f"{prefix} {e.record['message']}"
        await e.next()

    app.hooks.on_record_create.bind_for("notes", stamp)

    @get("/api/hello/{name:str}")
    async def hello(request: Request, name: str) -> dict:
        req = await app.request_info(request)
        notes = await app.db.fetchval('SELECT count(*) FROM "notes"')
        return {"hello": name, "notes": notes, "superuser": req.is_superuser, "settings": app.settings,
                "plugin": app.name, "started": STARTED}

    app.route(hello)

    @app.on_start
    async def started() -> None:
        STARTED.append(await app.db.fetchval('SELECT count(*) FROM "_collections"') > 0)

    @app.cli.command("hello")
    def hello_cmd(name: str) -> None:
        """Say hello."""
        typer.echo(f"hello {name} {prefix}")


STARTED: list[bool] = []
'''


def project(tmp_path: Path, extra: str = "") -> str:
    path = tmp_path / "proj" / "baas.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(COLLECTIONS + extra)
    return str(path)


async def test_an_installed_entry_point_plugin_adds_hooks_routes_and_startup_work(tmp_path, site):
    mod = unique("hello")
    install_dist(site, mod, HELLO, "hello_" + mod)
    async with app_for(tmp_path, project(tmp_path)) as run:
        r = await run.client.post("/api/collections/notes/records", json={"message": "hi"})
        assert r.status_code == 200 and r.json()["message"] == "[hello] hi"
        r = await run.client.get("/api/hello/ann", headers={"Authorization": run.su})
        assert r.status_code == 200, r.text
        assert r.json() == {
            "hello": "ann",
            "notes": 1,
            "superuser": True,
            "settings": {},
            "plugin": "hello_" + mod,
            "started": [True],
        }
        assert (await run.client.get("/api/hello/ann")).json()["superuser"] is False


async def test_baas_yaml_gives_an_entry_point_plugin_its_settings_and_it_loads_once(tmp_path, site):
    mod = unique("hello")
    install_dist(site, mod, HELLO, "hello_" + mod)
    proj = project(tmp_path, f"plugins:\n  - module: {mod}\n    settings: {{prefix: '[yaml]', level: 2}}\n")
    async with app_for(tmp_path, proj) as run:
        r = await run.client.post("/api/collections/notes/records", json={"message": "hi"})
        assert r.json()["message"] == "[yaml] hi"  # stamped once: one registration
        r = await run.client.get("/api/hello/x")
        assert r.json()["settings"] == {"prefix": "[yaml]", "level": 2}


async def test_installed_plugins_can_be_disabled(tmp_path, site, monkeypatch):
    mod = unique("hello")
    install_dist(site, mod, HELLO, "hello_" + mod)
    monkeypatch.setenv("BAAS_DISABLE_PLUGINS", f"other, hello_{mod}")
    async with app_for(tmp_path, project(tmp_path)) as run:
        assert (await run.client.get("/api/hello/x")).status_code == 404
        r = await run.client.post("/api/collections/notes/records", json={"message": "hi"})
        assert r.json()["message"] == "hi"


async def test_an_entry_point_may_name_the_register_function(tmp_path, site):
    mod = unique("hello")
    install_dist(site, mod, HELLO.replace("def register(app):", "def setup(app):"), "h_" + mod, f"{mod}:setup")
    async with app_for(tmp_path, project(tmp_path)) as run:
        assert (await run.client.get("/api/hello/x")).status_code == 200


MODULE_LEVEL = """
from baas.errors import BadRequest
from baas.plugins import Plugin

plugin = Plugin()


@plugin.hook("on_record_create", "notes", priority=-1)
async def no_shouting(e):
    if e.record["message"].isupper():
        raise BadRequest("No shouting.")
    await e.next()


@plugin.route("/api/ping", methods=["GET"])
async def ping() -> dict:
    return {"pong": True}
"""


async def test_a_module_listed_in_baas_yaml_next_to_it_with_module_level_registration(tmp_path, site):
    proj = project(tmp_path)
    mod = unique("guard")
    (Path(proj).parent / f"{mod}.py").write_text(MODULE_LEVEL)
    Path(proj).write_text(Path(proj).read_text() + f"plugins: [{mod}]\n")
    async with app_for(tmp_path, proj) as run:
        r = await run.client.post("/api/collections/notes/records", json={"message": "HEY"})
        assert r.status_code == 400 and r.json()["message"] == "No shouting."
        assert (await run.client.post("/api/collections/notes/records", json={"message": "hey"})).status_code == 200
        assert (await run.client.get("/api/ping")).json() == {"pong": True}


def write_functions(base: Path, name: str = "functions") -> None:
    pkg = base / name
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""The project\'s hooks."""\n')
    (pkg / "helpers.py").write_text("def tidy(s):\n    return ' '.join(s.split())\n")  # no registration: skipped
    (pkg / "notes.py").write_text("""
from baas.hooks import RecordEvent, RecordViewEvent

from .helpers import tidy


def register(app):
    async def clean(e: RecordEvent) -> None:
        e.record["message"] = tidy(e.record["message"])
        await e.next()

    async def mark(e: RecordViewEvent) -> None:
        await e.next()
        e.result["viewedVia"] = "functions"

    app.hooks.on_record_create.bind_for("notes", clean)
    app.hooks.on_record_view_request.bind_for("notes", mark)
""")


async def test_the_functions_package_from_baas_yaml(tmp_path, site):
    proj = project(tmp_path, "functions: functions\n")
    write_functions(Path(proj).parent)
    async with app_for(tmp_path, proj) as run:
        r = await run.client.post("/api/collections/notes/records", json={"message": "  too   many  spaces "})
        assert r.status_code == 200 and r.json()["message"] == "too many spaces"
        r = await run.client.get(f"/api/collections/notes/records/{r.json()['id']}")
        assert r.json()["viewedVia"] == "functions"


async def test_a_second_project_in_the_same_process_gets_its_own_functions(tmp_path, site):
    first = tmp_path / "one"
    first.mkdir()
    proj = project(first, "functions: functions\n")
    write_functions(Path(proj).parent)
    async with app_for(first, proj):
        pass
    second = tmp_path / "two"
    second.mkdir()
    proj2 = project(second, "functions: functions\n")
    pkg = Path(proj2).parent / "functions"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("""
def register(app):
    async def upper(e):
        e.record["message"] = e.record["message"].upper()
        await e.next()
    app.hooks.on_record_create.bind(upper, tags="notes")
""")
    async with app_for(second, proj2) as run:
        r = await run.client.post("/api/collections/notes/records", json={"message": "a  b"})
        assert r.json()["message"] == "A  B"  # this project's register, not the first one's submodules


@pytest.mark.parametrize(
    "case, source, expected",
    [
        ("missing", None, "No module named"),
        ("no-register", "X = 1\n", "has no register(app) and no Plugin()"),
        ("async-register", "async def register(app):\n    pass\n", "must be a plain function"),
        ("broken", "raise RuntimeError('boom at import')\n", "boom at import"),
        ("bad-hook", "def register(app):\n    app.hooks.on_record_create.bind(42)\n", "must be an async function"),
    ],
)
async def test_a_plugin_that_cannot_load_stops_the_start_with_its_name(tmp_path, site, case, source, expected):
    mod = unique("bad")
    if source is not None:
        (site / f"{mod}.py").write_text(source)
    proj = project(tmp_path, f"plugins: [{mod}]\n")
    with pytest.raises(PluginError) as info:
        async with app_for(tmp_path, proj):
            pass
    assert mod in str(info.value) and expected in str(info.value)


async def test_a_missing_functions_package_is_named(tmp_path, site):
    proj = project(tmp_path, "functions: hooks\n")
    with pytest.raises(PluginError) as info:
        async with app_for(tmp_path, proj):
            pass
    assert "functions: no package" in str(info.value) and "hooks" in str(info.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("plugins: [{module: a, setting: 1}]", "unknown field `setting`"),
        ("plugins: [{settings: {}}]", "missing required field `module`"),
        ("plugins: ['a-b']", "is not a module name"),
        ("plugins: [a, {module: a}]", "listed twice"),
        ("plugins: a", "Expected `array`"),
        ("functions: '../x y'", "must be a package path"),
    ],
)
def test_bad_plugin_entries_in_baas_yaml(text, message):
    with pytest.raises(SchemaError) as info:
        load_schema_text(text)
    assert message in str(info.value)


def test_plugin_commands_show_in_baas_help_and_run(tmp_path):
    site = tmp_path / "site"
    mod = unique("hello")
    install_dist(site, mod, HELLO, "hello_" + mod)
    clash = unique("clash")
    install_dist(
        site,
        clash,
        "import typer\n\ndef register(app):\n    @app.cli.command('serve')\n"
        "    def serve():\n        typer.echo('hijacked')\n",
        "clash_" + clash,
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(baas_cmd("--help"), env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "hello" in out.stdout and "Say hello." in out.stdout
    assert "clashes with a built-in one" in out.stderr
    out = subprocess.run(baas_cmd("hello", "World"), env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == "hello World [hello]", out.stderr
    out = subprocess.run(
        [sys.executable, "-c", "import baas.cli.main"],
        env={**env, "BAAS_DISABLE_PLUGINS": "*"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and "clashes" not in out.stderr


LISTENER = """
import asyncio

SEEN = []
GOT = asyncio.Event()


def register(app):
    @app.on_start
    async def subscribe() -> None:
        def on_events(events) -> None:
            SEEN.extend((e.action, e.collection, e.record.get("message")) for e in events)
            GOT.set()

        app.events.listen(on_events)
"""


async def test_a_plugin_listens_to_the_event_bus(tmp_path, site):
    import asyncio
    import importlib

    mod = unique("listener")
    (site / f"{mod}.py").write_text(LISTENER)
    proj = project(tmp_path, f"plugins: [{mod}]\n")
    async with app_for(tmp_path, proj) as run:
        plugin = importlib.import_module(mod)
        r = await run.client.post("/api/collections/notes/records", json={"message": "evented"})
        assert r.status_code == 200

        async def delivered() -> None:
            while ("create", "notes", "evented") not in plugin.SEEN:
                plugin.GOT.clear()  # no await between the check and this: no wake-up is lost
                await plugin.GOT.wait()

        await asyncio.wait_for(delivered(), 30)  # a bound on waiting, not a timing assertion
