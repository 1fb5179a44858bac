"""``POST /api/settings/test/email`` and ``/api/settings/test/s3``, the settings page's two tests,
against the real things: the dev mailbox and a local SMTP server (aiosmtpd) for mail, a moto S3
server that checks keys and signatures for S3. Success, every bad input, refusals; both databases.
Also: ``GET /api/settings`` shows which write-only secrets are set, never their values."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from baas.auth.mail import read_mailbox
from tests.auth.mailkit import smtp_server as smtp_server  # noqa: F401  (a fixture; tests/auth uses it too)
from tests.auth.mailkit import smtp_settings
from tests.console.s3kit import S3
from tests.harness import Console
from tests.servers import free_port

USER = {"email": "user@example.com", "password": "user-password-1", "passwordConfirm": "user-password-1"}
SECRET_PATTERN = "moto-secret"  # never in an answer


# The ``s3`` fixture (a moto S3 server that checks credentials) is in tests/console/conftest.py.
def bucket_keys(s3: S3, bucket: str = "probe-bucket") -> list[str]:
    return [o.object_name for o in s3.client().list_objects(bucket, recursive=True)]


async def tokens(console: Console) -> tuple[str, str]:
    """A superuser's and a user's token."""
    su = await console.sign_in()
    r = await console.call("POST", "/api/collections/users/records", su, json=USER)
    assert r.status_code == 200, r.text
    return su, await console.sign_in(USER["email"], USER["password"], "users")


def assert_400(r: Any, message: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"status", "message", "data"} and body["status"] == 400
    assert body["message"].startswith(message), body
    if data is not None:
        assert body["data"] == data, body
    return dict(body)


# -- test email -----------------------------------------------------------------------------------
EMAIL_CASES: dict[str, tuple[str, str, str]] = {
    # name -> (template, collection, what the subject says)
    "verification to a superuser": ("verification", "", "Verify your Acme email"),
    "password reset to a user": ("password-reset", "users", "Reset your Acme password"),
    "email change": ("email-change", "users", "Confirm your Acme new email address"),
    "otp": ("otp", "_superusers", "OTP for Acme"),
    "login alert": ("login-alert", "users", "Login from a new location"),
}


@pytest.mark.parametrize("case", EMAIL_CASES.values(), ids=EMAIL_CASES.keys())
async def test_test_email_goes_to_the_dev_mailbox(console: Console, case: tuple[str, str, str]) -> None:
    template, collection, subject = case
    su = await console.sign_in()
    assert (await console.call("PATCH", "/api/settings", su, json={"meta": {"appName": "Acme"}})).status_code == 200
    body = {"email": "probe@example.com", "template": template, **({"collection": collection} if collection else {})}
    r = await console.call("POST", "/api/settings/test/email", su, json=body)
    assert r.status_code == 204, r.text
    [msg] = read_mailbox(console.engine.settings.data_dir, "probe@example.com")
    assert msg.subject == subject and msg.to == ["probe@example.com"] and msg.kind
    assert "support@example.com" in msg.sender
    if template == "otp":
        assert "123456" in msg.text
    if template in ("verification", "password-reset", "email-change"):
        assert "/_/#/auth/" in msg.text and "__test_token__" in msg.text


async def test_test_email_uses_the_collections_own_template(console: Console) -> None:
    su = await console.sign_in()
    tpl = {"subject": "Hi {RECORD:email} at {APP_NAME}", "body": "<p>Custom {TOKEN}</p>"}
    r = await console.call("PATCH", "/api/collections/users", su, json={"verificationTemplate": tpl})
    assert r.status_code == 200, r.text
    r = await console.call(
        "POST",
        "/api/settings/test/email",
        su,
        json={"email": "me@example.com", "template": "verification", "collection": "users"},
    )
    assert r.status_code == 204, r.text
    [msg] = read_mailbox(console.engine.settings.data_dir)
    assert msg.subject == "Hi me@example.com at baas" and msg.text == "Custom __test_token__"


async def test_test_email_through_smtp(console: Console, smtp_server: Any) -> None:
    inbox, port = smtp_server
    su = await console.sign_in()
    smtp = smtp_settings(port)["smtp"]
    assert (await console.call("PATCH", "/api/settings", su, json={"smtp": smtp})).status_code == 200
    r = await console.call("POST", "/api/settings/test/email", su, json={"email": "x@example.com", "template": "otp"})
    assert r.status_code == 204, r.text
    assert inbox.received.wait(10)
    _, rcpt, got = inbox.messages[-1]
    assert rcpt == ["x@example.com"] and got["Subject"] == "OTP for baas"
    assert read_mailbox(console.engine.settings.data_dir) == []
    # A wrong password: 400 with the server's refusal, never the password itself.
    smtp_bad = {**smtp, "password": "not-the-s3cret-pw"}
    assert (await console.call("PATCH", "/api/settings", su, json={"smtp": smtp_bad})).status_code == 200
    r = await console.call("POST", "/api/settings/test/email", su, json={"email": "x@example.com", "template": "otp"})
    body = assert_400(r, "Failed to send the test email. SMTPAuthenticationError")
    assert "not-the-s3cret-pw" not in r.text and body["data"] == {}
    # Nobody listening: 400 naming the failure.
    unreachable = {**smtp, "port": free_port()}
    assert (await console.call("PATCH", "/api/settings", su, json={"smtp": unreachable})).status_code == 200
    r = await console.call("POST", "/api/settings/test/email", su, json={"email": "x@example.com", "template": "otp"})
    assert_400(r, "Failed to send the test email. SMTP")
    assert len(inbox.messages) == 1


BAD_EMAIL_BODIES: dict[str, tuple[dict[str, Any], str, str]] = {
    # name -> (body, field, code)
    "no email": ({"template": "otp"}, "email", "validation_required"),
    "email not a string": ({"email": 5, "template": "otp"}, "email", "validation_required"),
    "not an address": ({"email": "not-an-address", "template": "otp"}, "email", "validation_is_email"),
    "address too long": ({"email": "a" * 250 + "@example.com", "template": "otp"}, "email", "validation_is_email"),
    "no template": ({"email": "a@example.com"}, "template", "validation_in_invalid"),
    "unknown template": ({"email": "a@example.com", "template": "welcome"}, "template", "validation_in_invalid"),
    "our name, not PocketBase's": (
        {"email": "a@example.com", "template": "passwordReset"},
        "template",
        "validation_in_invalid",
    ),
    "unknown collection": (
        {"email": "a@example.com", "template": "otp", "collection": "nope"},
        "collection",
        "validation_invalid_auth_collection",
    ),
    "not an auth collection": (
        {"email": "a@example.com", "template": "otp", "collection": "plain"},
        "collection",
        "validation_invalid_auth_collection",
    ),
    "collection not a string": (
        {"email": "a@example.com", "template": "otp", "collection": ["users"]},
        "collection",
        "validation_invalid_auth_collection",
    ),
}


@pytest.mark.parametrize("case", BAD_EMAIL_BODIES.values(), ids=BAD_EMAIL_BODIES.keys())
async def test_test_email_bad_input(console: Console, case: tuple[dict[str, Any], str, str]) -> None:
    body, field, code = case
    su = await console.sign_in()
    r = await console.call("POST", "/api/collections", su, json={"name": "plain", "type": "base", "fields": []})
    assert r.status_code == 200, r.text
    r = await console.call("POST", "/api/settings/test/email", su, json=body)
    out = assert_400(r, "Failed to send the test email.")
    assert list(out["data"]) == [field] and out["data"][field]["code"] == code
    assert read_mailbox(console.engine.settings.data_dir) == []


async def test_test_email_not_json(console: Console) -> None:
    su = await console.sign_in()
    r = await console.client.post(
        "/api/settings/test/email", content=b"{nope", headers={"Authorization": su, "Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["status"] == 400
    assert read_mailbox(console.engine.settings.data_dir) == []


async def test_tests_are_for_superusers_only(console: Console) -> None:
    _, user = await tokens(console)
    for path, body in [
        ("/api/settings/test/email", {"email": "a@example.com", "template": "otp"}),
        ("/api/settings/test/s3", {"filesystem": "storage"}),
    ]:
        assert (await console.call("POST", path, "", json=body)).status_code == 401
        r = await console.call("POST", path, user, json=body)
        assert r.status_code == 403 and set(r.json()) == {"status", "message", "data"}
    assert read_mailbox(console.engine.settings.data_dir) == []


# -- test S3 --------------------------------------------------------------------------------------
async def test_s3_with_the_stored_settings(console: Console, s3: S3) -> None:
    su = await console.sign_in()
    r = await console.call("PATCH", "/api/settings", su, json={"s3": s3.settings("probe-bucket")})
    assert r.status_code == 200, r.text
    before = bucket_keys(s3)
    r = await console.call("POST", "/api/settings/test/s3", su, json={"filesystem": "storage"})
    assert r.status_code == 204, r.text
    assert bucket_keys(s3) == before  # the probe was written and deleted


async def test_s3_of_the_backups_store(console: Console, s3: S3) -> None:
    su = await console.sign_in()
    r = await console.call("POST", "/api/settings/test/s3", su, json={"filesystem": "backups"})
    assert_400(r, "Failed to test the S3 storage. S3 storage is not enabled")
    r = await console.call("PATCH", "/api/settings", su, json={"backups": {"s3": s3.settings("probe-bucket")}})
    assert r.status_code == 200, r.text
    assert r.json()["s3"]["enabled"] is False  # the files' storage is another section
    r = await console.call("POST", "/api/settings/test/s3", su, json={"filesystem": "backups"})
    assert r.status_code == 204, r.text
    bad = s3.settings("no-such-bucket")
    r = await console.call("POST", "/api/settings/test/s3", su, json={"filesystem": "backups", "s3": bad})
    assert "NoSuchBucket" in assert_400(r, "Failed to test the S3 storage.")["message"]
    assert bucket_keys(s3) == []


async def test_s3_with_unsaved_values_keeps_the_stored_secret(console: Console, s3: S3) -> None:
    su = await console.sign_in()
    # Nothing stored, storage off: the body's values are tested, nothing is saved.
    r = await console.call("POST", "/api/settings/test/s3", su, json={"filesystem": "storage"})
    assert_400(r, "Failed to test the S3 storage. S3 storage is not enabled")
    draft = s3.settings("probe-bucket", enabled=False)
    r = await console.call("POST", "/api/settings/test/s3", su, json={"filesystem": "storage", "s3": draft})
    assert r.status_code == 204, r.text
    got = (await console.call("GET", "/api/settings", su)).json()
    assert got["s3"]["bucket"] == "" and got["secretsSet"] == {
        "s3.secret": False,
        "smtp.password": False,
        "backups.s3.secret": False,
    }
    # Stored with the secret; a draft sent back as read (no secret, or an empty one) uses the stored one.
    assert (await console.call("PATCH", "/api/settings", su, json={"s3": draft})).status_code == 200
    shown = (await console.call("GET", "/api/settings", su)).json()
    assert "secret" not in shown["s3"] and shown["secretsSet"]["s3.secret"] is True
    assert s3.secret not in json.dumps(shown)
    for sent_back in (shown["s3"], {**shown["s3"], "secret": ""}):
        r = await console.call("POST", "/api/settings/test/s3", su, json={"filesystem": "storage", "s3": sent_back})
        assert r.status_code == 204, r.text
    assert bucket_keys(s3) == []


S3_FAILURES: dict[str, tuple[dict[str, Any], str]] = {
    # name -> (changes to the good settings, what the message says)
    "wrong bucket": ({"bucket": "no-such-bucket"}, "NoSuchBucket (the bucket does not exist"),
    "wrong secret": ({"secret": "wrong-" + SECRET_PATTERN}, "SignatureDoesNotMatch (the secret key"),
    "unknown access key": ({"accessKey": "AKIAUNKNOWNUNKNOWN01"}, "InvalidAccessKeyId (the access key"),
    "unreachable endpoint": ({"endpoint": "http://127.0.0.1:{port}"}, "Cannot reach http://127.0.0.1:"),
}


@pytest.mark.parametrize("case", S3_FAILURES.values(), ids=S3_FAILURES.keys())
async def test_s3_failures_say_what_failed(console: Console, s3: S3, case: tuple[dict[str, Any], str]) -> None:
    change, says = dict(case[0]), case[1]
    bucket = change.pop("bucket", "probe-bucket")
    if "endpoint" in change:
        change = {"endpoint": change["endpoint"].format(port=free_port())}
    su = await console.sign_in()
    bad = s3.settings(bucket, **change)
    assert (await console.call("PATCH", "/api/settings", su, json={"s3": bad})).status_code == 200
    r = await console.call("POST", "/api/settings/test/s3", su, json={"filesystem": "storage"})
    body = assert_400(r, "Failed to test the S3 storage.")
    assert says in body["message"], body
    assert s3.secret not in r.text and SECRET_PATTERN not in r.text
    # The same through unsaved values.
    r = await console.call("POST", "/api/settings/test/s3", su, json={"filesystem": "storage", "s3": bad})
    assert says in assert_400(r, "Failed to test the S3 storage.")["message"]
    assert bucket_keys(s3) == []


BAD_S3_BODIES: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {
    # name -> (body, data of the 400; None: a message only)
    "no filesystem": (
        {},
        {"filesystem": {"code": "validation_in_invalid", "message": 'Must be "storage" or "backups".'}},
    ),
    "an unknown filesystem": (
        {"filesystem": "files"},
        {"filesystem": {"code": "validation_in_invalid", "message": 'Must be "storage" or "backups".'}},
    ),
    "s3 not an object": (
        {"filesystem": "storage", "s3": "bucket"},
        {"s3": {"code": "validation_invalid_value", "message": "Must be an object."}},
    ),
    "blank fields": (
        {"filesystem": "storage", "s3": {"bucket": "", "region": "r", "endpoint": "http://x"}},
        {
            "s3": {
                k: {"code": "validation_required", "message": "Cannot be blank."}
                for k in ("bucket", "accessKey", "secret")
            }
        },
    ),
    "endpoint with a path": (
        {
            "filesystem": "storage",
            "s3": {"bucket": "b", "region": "r", "endpoint": "http://x/y", "accessKey": "a", "secret": "s"},
        },
        None,
    ),
}


@pytest.mark.parametrize("case", BAD_S3_BODIES.values(), ids=BAD_S3_BODIES.keys())
async def test_s3_bad_input(console: Console, case: tuple[dict[str, Any], dict[str, Any] | None]) -> None:
    body, data = case
    su = await console.sign_in()
    r = await console.call("POST", "/api/settings/test/s3", su, json=body)
    out = assert_400(r, "Failed to test the S3 storage.", data)
    if data is None:
        assert out["data"]["s3"]["endpoint"]["code"] == "validation_invalid_url"
    # nothing was saved
    assert (await console.call("GET", "/api/settings", su)).json()["s3"]["bucket"] == ""


async def test_settings_never_show_a_secret(console: Console, s3: S3) -> None:
    su = await console.sign_in()
    smtp = {"enabled": False, "host": "smtp.example.com", "username": "me", "password": "pw-" + SECRET_PATTERN}
    backups = {"s3": {**s3.settings("probe-bucket"), "secret": "bk-" + SECRET_PATTERN}}
    r = await console.call(
        "PATCH", "/api/settings", su, json={"smtp": smtp, "s3": s3.settings("probe-bucket"), "backups": backups}
    )
    assert r.status_code == 200 and SECRET_PATTERN not in r.text and s3.secret not in r.text
    got = await console.call("GET", "/api/settings", su)
    assert SECRET_PATTERN not in got.text and s3.secret not in got.text
    assert got.json()["secretsSet"] == {"s3.secret": True, "smtp.password": True, "backups.s3.secret": True}
    # Sending the whole document back as read changes nothing (secretsSet is not a section).
    r = await console.call("PATCH", "/api/settings", su, json=got.json())
    assert r.status_code == 200 and r.json() == got.json()
    stored = await console.engine.settings_store.load()
    assert stored["smtp"]["password"] == "pw-" + SECRET_PATTERN and "secretsSet" not in stored
    assert stored["backups"]["s3"]["secret"] == "bk-" + SECRET_PATTERN


def test_bucket_probe_helper_sees_objects(s3: S3) -> None:
    """The check above (`bucket_keys`) would see a leftover probe: it lists what is there."""
    s3.client().put_object("probe-bucket", "x/left.txt", io.BytesIO(b"x"), 1)
    try:
        assert bucket_keys(s3) == ["x/left.txt"]
    finally:
        s3.client().remove_object("probe-bucket", "x/left.txt")
