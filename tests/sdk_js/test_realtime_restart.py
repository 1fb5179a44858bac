"""Realtime survives a server restart: the SDK's subscription reconnects and receives the next
event with no user code (sdk/js/test/restart.mjs). The server is stopped and started again on
the same port and data (SQLite, or PostgreSQL when ``BAAS_TEST_POSTGRES_URL`` is set)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.sdk_js.kit import SDK_DIR, SU, require_sdk, server_env
from tests.servers import baas_cmd, running_server, stop_server, wait_healthy


def _fail(node: subprocess.Popen[str], why: str, log: str) -> None:
    node.kill()
    out, err = node.communicate()
    pytest.fail(f"{why}\n--- stdout\n{out}\n--- stderr\n{err}\n--- server log\n{log[-20000:]}", pytrace=False)


async def test_realtime_reconnects_after_restart(tmp_path: Path) -> None:
    node_exe = require_sdk()
    async with running_server(tmp_path, superuser=SU) as srv:
        node = subprocess.Popen(
            [node_exe, "test/restart.mjs"],
            cwd=SDK_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **server_env(srv.url, "baas", srv.data_dir)},
        )
        try:
            assert node.stdout is not None and node.stdin is not None
            line = node.stdout.readline()  # blocks until the script subscribed (or died: "")
            if line.strip() != "READY":
                _fail(node, f"restart.mjs did not get ready: {line!r}", srv.log_text())
            assert srv.proc is not None
            stop_server(srv.proc)
            host_port = srv.url.removeprefix("http://")
            with srv.log.open("ab") as out:
                srv.proc = subprocess.Popen(  # running_server stops this one
                    baas_cmd("serve", "--http", host_port, "--dir", str(srv.data_dir), *srv.db_args, "--workers", "1"),
                    env=srv.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            wait_healthy(srv)
            node.stdin.write("RESTARTED\n")
            node.stdin.flush()
            try:
                out, err = node.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                _fail(node, "restart.mjs hung", srv.log_text())
            if node.returncode != 0 or not out.strip().endswith("OK"):
                pytest.fail(
                    f"restart.mjs exited {node.returncode}\n{out}\n{err}\n{srv.log_text()[-20000:]}", pytrace=False
                )
        finally:
            if node.poll() is None:
                node.kill()
                node.wait()
