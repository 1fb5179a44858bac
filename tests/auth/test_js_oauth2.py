"""OAuth2 with the unmodified official PocketBase JS SDK: a real ``baas serve`` process, a real local
OAuth2/OIDC provider on 127.0.0.1, and ``tests/js/oauth2.mjs`` doing listAuthMethods(), the
browser's trip to the provider, and authWithOAuth2Code()."""

from __future__ import annotations

from tests.auth.oidc_provider import OIDCProvider
from tests.servers import require_node, run_js, running_server

EMAIL, PASSWORD = "sdk-oauth@example.com", "sdk-password-123"
CLIENT_ID, CLIENT_SECRET = "sdk-client", "sdk-client-secret-123"


async def test_js_sdk_oauth2_code_flow(tmp_path):
    require_node()
    with OIDCProvider() as idp:
        idp.add_client(CLIENT_ID, CLIENT_SECRET)
        async with running_server(tmp_path, superuser=(EMAIL, PASSWORD)) as srv:
            out = run_js("oauth2.mjs", srv.url, EMAIL, PASSWORD, idp.url, CLIENT_ID, CLIENT_SECRET, srv=srv)
            assert "all OAuth2 SDK steps passed" in out
            assert CLIENT_SECRET not in srv.log_text()
        # The server really went to the provider: token exchange and user info, per sign-in.
        assert idp.requests.count(("POST", "/token")) >= 3
        assert idp.requests.count(("GET", "/userinfo")) == 2
