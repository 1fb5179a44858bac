"""The plugin API below the HTTP layer: its request helpers come from the server (baas.app hands
them over), and ``app.run`` starts the engine class it was given, so baas.plugins imports neither
baas.api nor baas.core."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from baas.core import Engine
from baas.plugin_loader import Loaded, Spec, load_specs
from baas.plugins import PluginApp
from baas.rules.context import RequestInfo

PLUGINS = Path(__file__).resolve().parents[2] / "baas" / "plugins.py"


def test_the_plugin_api_imports_neither_the_http_layer_nor_the_engine_at_run_time() -> None:
    tree = ast.parse(PLUGINS.read_text())
    type_only = {
        id(n)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
        for n in ast.walk(block)
    }
    imported = [
        (n.lineno, n.module) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and id(n) not in type_only
    ]
    assert [i for i in imported if (i[1] or "").startswith(("baas.api", "baas.app", "baas.cli", "baas.core"))] == []
    assert any(
        module == "baas.core"
        for module in (n.module for n in ast.walk(tree) if id(n) in type_only and isinstance(n, ast.ImportFrom))
    )


async def test_request_helpers_work_only_once_the_server_attached_them() -> None:
    app = PluginApp("p")
    with pytest.raises(RuntimeError, match="route handlers"):
        await app.request_info(object())  # never read: no helpers are attached

    seen: list[Any] = []

    class Helpers:
        async def request_info(self, request: Any) -> RequestInfo:
            seen.append(request)
            return RequestInfo(auth={"id": "u1", "collectionName": "users", "collectionId": "c"})

        def require_superuser(self, req: RequestInfo) -> None:
            seen.append(req.auth)

    loaded = Loaded(apps=[app])
    loaded.serve(Helpers())
    req = await app.require_superuser("the request")  # the fake helpers take anything
    assert req.auth and req.auth["id"] == "u1"
    assert seen == ["the request", req.auth]


def test_json_is_a_msgspec_encoded_response() -> None:
    resp = PluginApp.json({"a": [1, "é"]}, 201)
    assert resp.status_code == 201 and resp.media_type == "application/json"
    assert resp.content == '{"a":[1,"é"]}'.encode()


def test_run_starts_the_engine_class_it_was_given(tmp_path: Path) -> None:
    started: list[str] = []

    class Recording(Engine):
        async def start(self) -> None:
            started.append(self.settings.data_dir)
            await super().start()

    loaded = load_specs([Spec("p", "test", lambda: lambda app: None)], engine_factory=Recording)
    app = loaded.apps[0]

    async def count(a: PluginApp) -> int:
        return int(await a.db.fetchval('SELECT count(*) FROM "_collections"') or 0)

    assert app.run(count, data_dir=str(tmp_path / "d")) >= 2  # _superusers and users
    assert started == [str(tmp_path / "d")]
    with pytest.raises(RuntimeError, match="CLI commands"):
        PluginApp("detached").run(count)
