"""Mail: the dev mailbox, PocketBase-style templates, and real SMTP delivery to a local server."""

from __future__ import annotations

import email
import email.policy

import aiosmtplib
import pytest

from baas.auth import emails
from baas.auth.mail import Mailer, Message, html_to_text, read_mailbox
from baas.schema import defaults
from tests.auth.mailkit import SETTINGS, smtp_settings, token_for
from tests.auth.mailkit import smtp_server as smtp_server  # noqa: F401  (a fixture; tests/console uses it too)
from tests.harness import Api
from tests.servers import free_port

# -- dev mailbox ----------------------------------------------------------------------------------


async def test_dev_mailbox_stores_each_message(tmp_path):
    mailer = Mailer(tmp_path)
    await mailer.send(
        Message(to=["a@example.com"], subject="One", html="<p>Hi <a href='https://x.test/1'>go</a></p>"), SETTINGS
    )
    await mailer.send(Message(to=["B@example.com"], subject="Two", html="<p>Second</p>", text="plain two"), SETTINGS)
    files = sorted(p.name for p in (tmp_path / "mailbox").iterdir())
    assert len(files) == 4 and sum(f.endswith(".eml") for f in files) == 2
    msgs = read_mailbox(tmp_path)
    assert [m.subject for m in msgs] == ["One", "Two"]
    assert msgs[0].sender == "Acme Support <support@acme.test>"
    assert msgs[0].text == "Hi go (https://x.test/1)"
    assert msgs[1].text == "plain two"
    assert [m.subject for m in read_mailbox(tmp_path, "b@EXAMPLE.com")] == ["Two"]
    assert read_mailbox(tmp_path / "nowhere") == []
    # The .eml is a real MIME message with both bodies.
    eml = email.message_from_bytes((tmp_path / "mailbox" / files[0]).read_bytes(), policy=email.policy.default)
    assert eml["Subject"] == "One" and eml["To"] == "a@example.com" and "support@acme.test" in eml["From"]
    assert "go (https://x.test/1)" in eml.get_body(("plain",)).get_content()
    assert "href='https://x.test/1'" in eml.get_body(("html",)).get_content()


def test_html_to_text_drops_styles_and_keeps_links():
    text = html_to_text(
        "<html><head><style>p{color:red}</style></head><body><p>A &amp; B</p>"
        '<p><a href="https://x.test/?a=1&amp;b=2">Open</a></p></body></html>'
    )
    assert text == "A & B\n\nOpen (https://x.test/?a=1&b=2)"


# -- templates ------------------------------------------------------------------------------------


def test_default_templates_with_pocketbase_placeholders():
    coll = defaults.users()
    record = {"id": "abc", "email": "ann@example.com", "name": "<b>Ann</b>", "verified": False}
    msg = emails.render(coll, "verification", SETTINGS, record, "ann@example.com", {"{TOKEN}": "tok.en.x"})
    assert msg.subject == "Verify your Acme <Cloud> email"  # a subject is plain text: not escaped
    assert "Thank you for joining us at Acme &lt;Cloud&gt;." in msg.html
    assert 'href="https://acme.test/_/#/auth/confirm-verification/tok.en.x"' in msg.html
    assert "https://acme.test/_/#/auth/confirm-verification/tok.en.x" in msg.text
    assert msg.to == ["ann@example.com"] and msg.kind == "verification"
    otp_msg = emails.render(coll, "otp", SETTINGS, record, "ann@example.com", {"{OTP}": "12345678"})
    assert otp_msg.subject == "OTP for Acme <Cloud>" and "<strong>12345678</strong>" in otp_msg.html


def test_collection_templates_and_record_placeholders():
    coll = defaults.users()
    coll.resetPasswordTemplate = {
        "subject": "Reset for {RECORD:name}",
        "body": "<p>Hi {RECORD:name} ({RECORD:email}), {RECORD:tokenKey}{RECORD:password}"
        ' <a href="{APP_URL}/reset?t={TOKEN}">reset</a></p>',
    }
    record = {
        "id": "abc",
        "email": "ann@example.com",
        "name": "<script>x</script>",
        "tokenKey": "SECRET",
        "password": "HASH",
    }
    msg = emails.render(coll, "passwordReset", SETTINGS, record, "ann@example.com", {"{TOKEN}": "T1"})
    assert msg.subject == "Reset for <script>x</script>"
    assert "<script>" not in msg.html and "Hi &lt;script&gt;x&lt;/script&gt; (ann@example.com)" in msg.html
    # Hidden fields are no placeholders: their text stays as written.
    assert "SECRET" not in msg.html and "HASH" not in msg.html and "{RECORD:tokenKey}" in msg.html
    assert 'href="https://acme.test/reset?t=T1"' in msg.html


async def test_collection_template_is_used_by_the_api(api: Api):
    tpl = {"subject": "Welcome {RECORD:name}", "body": "<p>Confirm: {APP_URL}/verify/{TOKEN}</p>"}
    r = await api.call("PATCH", "/api/collections/users", "su", json={"verificationTemplate": tpl})
    assert r.status_code == 200, r.text
    api.engine.throttle.resend.clear()
    assert (
        await api.client.post("/api/collections/users/request-verification", json={"email": "alice@example.com"})
    ).status_code == 204
    await api.engine.tasks.drain()
    msg = read_mailbox(api.engine.settings.data_dir, "alice@example.com")[-1]
    assert msg.subject == "Welcome Alice"
    assert "http://127.0.0.1:8090/verify/ey" in msg.text


# -- SMTP -----------------------------------------------------------------------------------------


async def test_smtp_delivery(tmp_path, smtp_server):
    inbox, port = smtp_server
    msg = Message(to=["ann@example.com"], subject="Hello by SMTP", html="<p>Body <b>here</b></p>")
    await Mailer(tmp_path).send(msg, smtp_settings(port))
    assert inbox.received.wait(10)
    mail_from, rcpt, got = inbox.messages[0]
    assert mail_from == "support@acme.test" and rcpt == ["ann@example.com"]
    assert got["Subject"] == "Hello by SMTP" and got["From"] == "Acme Support <support@acme.test>"
    assert got.get_body(("plain",)).get_content().strip() == "Body here"
    assert "<b>here</b>" in got.get_body(("html",)).get_content()
    assert not (tmp_path / "mailbox").exists()  # SMTP on: nothing in the dev mailbox


async def test_smtp_wrong_password_fails(tmp_path, smtp_server):
    inbox, port = smtp_server
    with pytest.raises(aiosmtplib.SMTPAuthenticationError):
        await Mailer(tmp_path).send(
            Message(to=["a@example.com"], subject="x", html="<p>x</p>"), smtp_settings(port, password="wrong")
        )
    assert inbox.messages == []


async def test_smtp_unreachable_fails(tmp_path):
    with pytest.raises((aiosmtplib.SMTPException, OSError)):
        await Mailer(tmp_path).send(
            Message(to=["a@example.com"], subject="x", html="<p>x</p>"), smtp_settings(free_port())
        )


async def test_api_sends_through_smtp_when_enabled(api: Api, smtp_server):
    inbox, port = smtp_server
    smtp = smtp_settings(port)["smtp"]
    r = await api.call("PATCH", "/api/settings", "su", json={"smtp": smtp, "meta": {"appName": "Acme"}})
    assert r.status_code == 200, r.text
    api.engine.throttle.resend.clear()
    r = await api.client.post("/api/collections/users/request-password-reset", json={"email": "bob@example.com"})
    assert r.status_code == 204
    await api.engine.tasks.drain()
    assert inbox.received.wait(10)
    _, rcpt, got = inbox.messages[-1]
    assert rcpt == ["bob@example.com"] and got["Subject"] == "Reset your Acme password"
    assert "/_/#/auth/confirm-password-reset/ey" in got.get_body(("plain",)).get_content()
    assert read_mailbox(api.engine.settings.data_dir) == []


async def test_smtp_password_is_write_only(api: Api, smtp_server):
    """GET/PATCH /api/settings never show the SMTP password; sending the section back as it was read
    (no password, or an empty one) keeps the stored password, so mail still authenticates."""
    inbox, port = smtp_server
    r = await api.call("PATCH", "/api/settings", "su", json={"smtp": smtp_settings(port)["smtp"]})
    assert r.status_code == 200 and "password" not in r.json()["smtp"] and "s3cret" not in r.text
    got = await api.call("GET", "/api/settings", "su")
    shown = got.json()["smtp"]
    assert "password" not in shown and "s3cret" not in got.text and shown["username"] == "mailer"
    for sent_back in (shown, {**shown, "password": ""}):
        r = await api.call("PATCH", "/api/settings", "su", json={"smtp": sent_back})
        assert r.status_code == 200, r.text
    api.engine.throttle.resend.clear()
    r = await api.client.post("/api/collections/users/request-password-reset", json={"email": "bob@example.com"})
    assert r.status_code == 204
    await api.engine.tasks.drain()
    assert inbox.received.wait(10), "the stored password was lost: the SMTP server refused the sign-in"


async def test_a_failed_send_is_logged_without_secrets(api: Api, caplog):
    r = await api.call("PATCH", "/api/settings", "su", json={"smtp": smtp_settings(free_port())["smtp"]})
    assert r.status_code == 200
    api.engine.throttle.resend.clear()
    caplog.set_level("INFO")
    r = await api.client.post("/api/collections/users/request-password-reset", json={"email": "bob@example.com"})
    assert r.status_code == 204  # the client is never told
    await api.engine.tasks.drain()
    assert any("password reset email failed" in rec.getMessage() for rec in caplog.records)
    assert "s3cret" not in caplog.text and "ey" + "J" not in caplog.text


async def test_mailbox_log_line_has_no_token(api: Api, caplog):
    caplog.set_level("INFO", logger="baas.mail")
    api.engine.throttle.resend.clear()
    await api.client.post("/api/collections/users/request-verification", json={"email": "alice@example.com"})
    token = await token_for(api, "alice@example.com", "verification")
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "baas.mail"]
    assert lines and all(token not in line for line in lines)
    assert "(verification) stored in the dev mailbox" in lines[-1]
