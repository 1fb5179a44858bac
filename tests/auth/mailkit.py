"""Helpers for the email tests: read tokens and codes out of the dev mailbox, and a real local SMTP
server (aiosmtpd) with the settings that send to it (``smtp_server`` is a fixture: import it into the
test module that uses it)."""

from __future__ import annotations

import email
import email.policy
import re
import threading
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from baas.auth.mail import Message, read_mailbox
from baas.settings_store import DEFAULTS
from tests.servers import free_port

TOKEN_RE = re.compile(r"/auth/confirm-[a-z-]+/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)")
CODE_RE = re.compile(r"one-time password is:\s*(\d+)")


async def mails(api: Any, to: str | None = None) -> list[Message]:
    """Every message in the app's dev mailbox (after the background sends have finished)."""
    await api.engine.tasks.drain()
    return read_mailbox(api.engine.settings.data_dir, to)


async def last_mail(api: Any, to: str, kind: str) -> Message:
    found = [m for m in await mails(api, to) if m.kind == kind]
    assert found, f"no {kind} mail to {to}"
    return found[-1]


async def token_for(api: Any, to: str, kind: str) -> str:
    msg = await last_mail(api, to, kind)
    m = TOKEN_RE.search(msg.text)
    assert m, msg.text
    return m.group(1)


async def code_for(api: Any, to: str) -> str:
    msg = await last_mail(api, to, "otp")
    m = CODE_RE.search(msg.text)
    assert m, msg.text
    return m.group(1)


# -- a local SMTP server --------------------------------------------------------------------------


# App settings with a sender and a name that needs escaping in HTML.
SETTINGS = {
    **DEFAULTS,
    "meta": {
        **DEFAULTS["meta"],
        "appName": "Acme <Cloud>",
        "appURL": "https://acme.test/",
        "senderName": "Acme Support",
        "senderAddress": "support@acme.test",
    },
}


class Inbox:
    """An aiosmtpd handler that keeps what it receives; optionally requires a login."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self.received = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        self.received.set()
        return "250 OK"


def _authenticator(user: str, password: str):
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login == user.encode() and data.password == password.encode()
        return AuthResult(success=ok, handled=False)

    return check


@pytest.fixture
def smtp_server():
    """A local SMTP server (aiosmtpd) that requires the login mailer / s3cret: (its Inbox, its port)."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=_authenticator("mailer", "s3cret"), auth_require_tls=False
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def smtp_settings(port: int, **over: Any) -> dict[str, Any]:
    """SETTINGS with SMTP on, sending to ``smtp_server`` on ``port`` with its login (``over`` changes fields)."""
    return {
        **SETTINGS,
        "smtp": {
            **DEFAULTS["smtp"],
            "enabled": True,
            "host": "127.0.0.1",
            "port": port,
            "username": "mailer",
            "password": "s3cret",
            "localName": "baas.test",
            **over,
        },
    }
