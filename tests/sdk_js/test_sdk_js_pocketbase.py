"""The TypeScript SDK against the PocketBase 0.40.6 binary: sdk/js/test/api.test.mjs, the calls
PocketBase has (records, filters, files, auth, batch, realtime), run exactly as against baas — so
the SDK's wire format is checked from both sides."""

from __future__ import annotations

from pathlib import Path

from tests.sdk_js.kit import require_sdk, run_node, server_env
from tests.servers import running_pocketbase


async def test_sdk_against_pocketbase(tmp_path: Path) -> None:
    require_sdk()
    async with running_pocketbase(tmp_path) as pb:
        run_node("test/run-pocketbase.mjs", env=server_env(pb.url, "pocketbase", su=(pb.email, pb.password)))
