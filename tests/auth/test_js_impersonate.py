"""The official PocketBase JS SDK against a real ``baas serve``: ``impersonate(id, duration)``
and API keys saved in the SDK's auth store (``tests/js/impersonate_apikeys.mjs``)."""

from __future__ import annotations

from tests.servers import require_node, run_js, running_server

EMAIL, PASSWORD = "imp-su@example.com", "imp-password-123"


async def test_js_sdk_impersonate_and_api_keys(tmp_path):
    require_node()
    async with running_server(tmp_path, superuser=(EMAIL, PASSWORD)) as srv:
        run_js("impersonate_apikeys.mjs", srv.url, EMAIL, PASSWORD, srv=srv)
