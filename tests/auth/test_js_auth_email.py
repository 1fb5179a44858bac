"""The email auth flows, OTP and MFA through the unmodified official PocketBase JS SDK.

``tests/js/auth_email.mjs`` drives a real ``baas serve`` process (on PostgreSQL when
``BAAS_TEST_POSTGRES_URL`` is set) and reads tokens and codes from the server's dev mailbox.
"""

from __future__ import annotations

from tests.servers import require_node, run_js, running_server

EMAIL, PASSWORD = "sdk-root@example.com", "sdk-root-password-1"


async def test_js_sdk_email_flows_otp_and_mfa(tmp_path):
    require_node()
    async with running_server(tmp_path, superuser=(EMAIL, PASSWORD)) as srv:
        out = run_js("auth_email.mjs", srv.url, str(srv.data_dir), EMAIL, PASSWORD, srv=srv)
        assert "all auth email steps passed" in out
