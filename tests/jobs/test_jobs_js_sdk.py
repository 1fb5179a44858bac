"""The official PocketBase JS SDK's ``pb.crons`` and ``pb.send`` against a real ``baas serve``."""

from __future__ import annotations

from tests.servers import require_node, run_js, running_server

YAML = """
functions: sdkfns
jobs:
  - name: greeter
    schedule: "0 0 1 1 *"
    function: greet
    args: {name: job}
"""

FUNCTIONS = """
from baas.functions import function


@function(rule="")
async def greet(ctx):
    return {"hello": ctx.body.get("name", "world")}
"""


async def test_the_js_sdk_lists_and_runs_crons_and_calls_functions(tmp_path):
    require_node()
    root = tmp_path / "proj"
    (root / "sdkfns").mkdir(parents=True)
    (root / "sdkfns" / "__init__.py").write_text(FUNCTIONS)
    (root / "baas.yaml").write_text(YAML)
    su = ("root@example.com", "root-password-1")
    async with running_server(tmp_path, "--schema", str(root / "baas.yaml"), superuser=su) as srv:
        run_js("crons_functions.mjs", srv.url, *su, srv=srv)
