"""The unmodified PocketBase JS SDK's realtime against a real ``baas serve`` (tests/js/realtime.mjs)."""

from __future__ import annotations

import pytest

from tests.servers import require_node, run_js, running_server

EMAIL, PASSWORD = "root@example.com", "root-password-1"


@pytest.mark.parametrize("workers", ["1", "2"])
async def test_js_sdk_realtime(tmp_path, workers):
    """Subscribe/unsubscribe (collection, one record, filter + fields), messages, rules and auth
    changes. With two workers the SSE stream, the subscription POSTs and the writes land on
    either process: the POSTs cross over through the mailbox, the events through the bus."""
    require_node()
    async with running_server(tmp_path, "--workers", workers, superuser=(EMAIL, PASSWORD)) as srv:
        out = run_js("realtime.mjs", srv.url, EMAIL, PASSWORD, srv=srv)
        assert "realtime: all steps passed" in out
