"""Auth flows with the Python SDK: password and automatic refresh (baas and PocketBase 0.40.6),
the file-backed store, and on baas OTP, MFA, TOTP, OAuth2 code exchange and API keys."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from baas_client import Client, ClientError, FileAuthStore, MFARequiredError

from baas.auth.mail import read_mailbox
from tests.auth.oidc_provider import OIDCProvider
from tests.harness import eventually
from tests.sdk_python.kit import (
    PASSWORD,
    Backend,
    totp,
)

REDIRECT = "http://app.test/oauth-callback"


def only_baas(srv: Backend) -> None:
    if srv.kind != "baas":
        pytest.skip("a baas addition (PocketBase has no such route) or needs baas's dev mailbox")


def test_password_sign_in_and_automatic_refresh(srv: Backend) -> None:
    pb = srv.user(f"refresh-{srv.kind}@example.com")
    assert pb.auth_store.is_valid and pb.auth_store.record is not None
    assert not pb.auth_store.is_superuser
    changes: list[str] = []
    pb.auth_store.on_change(lambda token, record: changes.append(token))
    pb.collection("posts").get_list()
    assert changes == []  # a fresh 7-day token is not refreshed
    pb.refresh_margin = 10 * 365 * 86400  # now every token is "about to expire"
    pb.collection("posts").get_list()
    assert len(changes) == 1 and changes[0] == pb.auth_store.token  # refreshed before the request
    assert pb.auth_store.record is not None and pb.auth_store.record["email"] == f"refresh-{srv.kind}@example.com"
    with pytest.raises(ClientError) as err:
        pb.collection("users").auth_with_password(f"refresh-{srv.kind}@example.com", "wrong-password")
    assert err.value.status == 400
    admin = srv.admin()
    assert admin.auth_store.is_superuser
    admin.close()
    pb.close()


def test_impersonate_gives_a_new_client_and_leaves_the_superusers_alone(srv: Backend) -> None:
    email = f"imp-{srv.kind}@example.com"
    with srv.user(email) as pb, srv.admin() as admin:
        assert pb.auth_store.record is not None
        user_id = str(pb.auth_store.record["id"])
        with admin.collection("users").impersonate(user_id, 600) as other:
            assert other.auth_store.record is not None and other.auth_store.record["id"] == user_id
            assert not other.auth_store.is_superuser
            assert other.collection("users").get_one(user_id)["email"] == email  # the users view rule: only self
        assert admin.auth_store.is_superuser  # the superuser's own client is unchanged
        with pytest.raises(ClientError) as err:  # only superusers may impersonate
            pb.collection("users").impersonate(user_id)
        assert err.value.status == 403
        for bad in (-1, 1.5, True, "60"):  # refused before sending
            with pytest.raises(ValueError, match="duration"):
                admin.collection("users").impersonate(user_id, bad)  # type: ignore[arg-type]


def test_file_auth_store_keeps_a_script_signed_in(srv: Backend, tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    email = f"file-{srv.kind}@example.com"
    with Client(srv.url) as first:
        first.collection("users").create({"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD})
    with Client(srv.url, auth_store=FileAuthStore(path)) as first:
        first.collection("users").auth_with_password(email, PASSWORD)
    assert os.stat(path).st_mode & 0o777 == 0o600
    with Client(srv.url, auth_store=FileAuthStore(path)) as again:
        assert again.auth_store.is_valid and again.auth_store.record is not None
        me = again.collection("users").auth_refresh()
        assert me.record["email"] == email
        again.auth_store.clear()
    assert not path.exists()
    path.write_text("{not json")
    with pytest.raises(ValueError, match="auth store"):
        FileAuthStore(path)


def _members(srv: Backend) -> None:
    """An auth collection with OTP and MFA on (so other tests' users sign in with one factor)."""
    with srv.admin() as admin:
        admin.send(
            "/api/collections",
            method="POST",
            body={"name": "members", "type": "auth", "createRule": "", "fields": []},
        )
        admin.send(
            "/api/collections/members",
            method="PATCH",
            body={"otp": {"enabled": True, "duration": 180, "length": 8}, "mfa": {"enabled": True, "duration": 600}},
        )


async def _mailed_code(srv: Backend, email: str) -> str:
    # the server answers before it mails (the answer must not tell whether the address exists)
    await eventually(lambda: bool(read_mailbox(srv.server.data_dir, to=email)), f"the OTP mail to {email}")
    messages = read_mailbox(srv.server.data_dir, to=email)
    found = re.search(r"\b(\d{8})\b", messages[-1].text)
    assert found, messages[-1].text
    return found.group(1)


async def test_otp_and_mfa(srv: Backend) -> None:
    only_baas(srv)
    _members(srv)
    email = "mfa@example.com"
    with Client(srv.url) as pb:
        members = pb.collection("members")
        members.create({"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD})
        with pytest.raises(MFARequiredError) as err:
            members.auth_with_password(email, PASSWORD)
        assert err.value.status == 401 and err.value.mfa_id and not pb.auth_store.is_valid
        otp_id = members.request_otp(email)
        with pytest.raises(ClientError) as bad:
            members.auth_with_otp(otp_id, "00000000", mfa_id=err.value.mfa_id)
        assert bad.value.status == 400
        signed = members.auth_with_otp(otp_id, await _mailed_code(srv, email), mfa_id=err.value.mfa_id)
        assert signed.record["email"] == email and pb.auth_store.token == signed.token


def test_totp_enrol_and_sign_in_with_a_recovery_code(srv: Backend) -> None:
    only_baas(srv)
    email = "totp@example.com"
    pb = srv.user(email)
    users = pb.collection("users")
    enrolment = users.totp_enroll()
    assert enrolment["uri"].startswith("otpauth://")
    codes = users.totp_confirm(totp(enrolment["secret"]))
    assert len(codes) == 10 and users.totp_status()["enabled"] is True
    pb.auth_store.clear()
    with pytest.raises(MFARequiredError) as err:
        users.auth_with_password(email, PASSWORD)
    with pytest.raises(ValueError, match="exactly one"):
        users.auth_with_totp(err.value.mfa_id)
    signed = users.auth_with_totp(err.value.mfa_id, recovery_code=codes[0])
    assert signed.record["email"] == email
    users.totp_disable(password=PASSWORD)
    assert users.totp_status()["enabled"] is False
    pb.close()


def test_oauth2_code_exchange(srv: Backend) -> None:
    only_baas(srv)
    with OIDCProvider() as idp:
        idp.add_client("sdk-client", "sdk-client-secret-123")
        provider = {
            "name": "oidc",
            "clientId": "sdk-client",
            "clientSecret": "sdk-client-secret-123",
            "authURL": f"{idp.url}/authorize",
            "tokenURL": f"{idp.url}/token",
            "userInfoURL": f"{idp.url}/userinfo",
        }
        with srv.admin() as admin:
            admin.send(
                "/api/collections/users", method="PATCH", body={"oauth2": {"enabled": True, "providers": [provider]}}
            )
        with Client(srv.url) as pb:
            users = pb.collection("users")
            info = next(p for p in users.list_auth_methods()["oauth2"]["providers"] if p["name"] == "oidc")
            code, state = idp.authorize(info["authURL"] + quote(REDIRECT, safe=""))
            assert state == info["state"]
            signed = users.auth_with_oauth2_code("oidc", code, info["codeVerifier"], REDIRECT, {})
            assert signed.record["collectionName"] == "users" and pb.auth_store.is_valid
            assert signed.meta is not None and signed.meta.get("isNew") is True


def test_api_key_as_credential(srv: Backend) -> None:
    only_baas(srv)
    with srv.admin() as admin:
        made = admin.api_keys.create("importer", [{"collection": "posts", "actions": ["list", "create"]}])
        key = made["key"]
        assert key.startswith("baas_")
        listed = admin.api_keys.get_list(per_page=500)
        assert made["id"] in {k["id"] for k in listed.items}
        assert all("key" not in k for k in listed.items)  # the secret is answered once, by create
        assert admin.api_keys.get_one(made["id"])["name"] == "importer"
        with pytest.raises(ClientError) as bad:  # the server's own checks come back as field errors
            admin.api_keys.create("x", [{"collection": "nope", "actions": ["list"]}])
        assert bad.value.status == 400
        with pytest.raises(ValueError, match="name"):  # refused before sending
            admin.api_keys.create(" ", [])
        with pytest.raises(TypeError, match="scopes"):
            admin.api_keys.create("x", "posts")  # type: ignore[arg-type]
    with Client(srv.url) as script:
        script.use_api_key(key)
        rec = script.collection("posts").create({"title": "imported"})
        assert script.collection("posts").get_list(filter=script.filter("id = {:id}", {"id": rec["id"]})).items
        with pytest.raises(ClientError) as err:
            script.collection("posts").delete(rec["id"])
        assert err.value.status == 403
        script.collection("posts").get_list()  # an API key is never "refreshed"
        assert script.auth_store.token == key
        with srv.admin() as admin:
            admin.api_keys.delete(made["id"])
        with pytest.raises(ClientError) as gone:  # revoked: refused from then on
            script.collection("posts").get_list()
        assert gone.value.status == 401
