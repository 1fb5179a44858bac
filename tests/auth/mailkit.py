"""Helpers for the email-flow tests: read tokens and codes out of the dev mailbox."""

from __future__ import annotations

import re
from typing import Any

from baas.auth.mail import Message, read_mailbox

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
