"""The unmodified official PocketBase JS SDK drives a real ``baas serve`` process.

``tests/js/sdk_flow.mjs`` does the work (auth, collections, records CRUD with filter/sort/expand/
fields, modifiers, batch, error shapes) and asserts every answer; this test starts the server on
a free port (on a fresh PostgreSQL database when ``BAAS_TEST_POSTGRES_URL`` is set), runs the
script and checks it exits 0. Under ``CI=true`` a missing node or ``tests/js/node_modules`` fails
the test instead of skipping it (``.ci/run`` installs both).
"""

from __future__ import annotations

from tests.servers import require_node, run_js, running_server

EMAIL, PASSWORD = "sdk@example.com", "sdk-password-123"


async def test_official_js_sdk_flow(tmp_path):
    require_node()
    async with running_server(tmp_path, superuser=(EMAIL, PASSWORD)) as srv:
        run_js("sdk_flow.mjs", srv.url, EMAIL, PASSWORD, srv=srv)
