"""A function's email: ``ctx.mail.send(...)`` through the engine's mailer, the one the auth emails use.

    await ctx.mail.send("ann@example.com", "Your invoice", "<p>Thanks for your order!</p>")

The ``smtp`` settings in force at the time of sending decide where it goes: SMTP when enabled,
else the dev mailbox (``<data_dir>/mailbox/``). The sender is the ``meta.senderName`` /
``meta.senderAddress`` settings unless the function names one.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import aiosmtplib

from baas.auth.mail import Message
from baas.errors import ApiError, BadRequest

if TYPE_CHECKING:
    from baas.core import Engine

log = logging.getLogger("baas.functions.mail")
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
MAX_RECIPIENTS = 50
FAILED = "Failed to send the email."


class MailFailed(ApiError):
    """The mail server refused the message or could not be reached (the reason is in the log)."""

    status = 502
    default_message = FAILED


def _invalid(field: str, code: str, message: str) -> BadRequest:
    return BadRequest(FAILED, {field: {"code": code, "message": message}})


def _recipients(to: str | list[str] | tuple[str, ...]) -> list[str]:
    addrs = [to] if isinstance(to, str) else list(to)
    if not addrs:
        raise _invalid("to", "validation_required", "Cannot be blank.")
    if len(addrs) > MAX_RECIPIENTS:
        raise _invalid("to", "validation_too_many_values", f"At most {MAX_RECIPIENTS} recipients.")
    for addr in addrs:
        if not isinstance(addr, str) or len(addr) > 255 or not _EMAIL.match(addr):
            raise _invalid("to", "validation_is_email", "Must be a valid email address.")
    return addrs


def _one_line(field: str, value: str) -> None:
    # A line break in a header would start another header (header injection).
    if "\r" in value or "\n" in value:
        raise _invalid(field, "validation_invalid_value", "Must be a single line.")


class MailService:
    """Sends email for one function (``ctx.mail``)."""

    def __init__(self, engine: Engine, function: str) -> None:
        self.engine = engine
        self.function = function

    async def send(
        self,
        to: str | list[str] | tuple[str, ...],
        subject: str,
        html: str = "",
        *,
        text: str = "",
        sender: str = "",
    ) -> str:
        """Send one message to ``to`` (an address or up to 50) now; its id. ``text`` defaults to
        ``html`` as plain text. Bad input raises `BadRequest` (400 ``{to|subject|html|sender:
        {code, message}}``) before anything is sent; a mail server that refuses or cannot be
        reached raises `MailFailed` (502; the reason goes to the server log only)."""
        addrs = _recipients(to)
        if not isinstance(subject, str) or not subject.strip():
            raise _invalid("subject", "validation_required", "Cannot be blank.")
        _one_line("subject", subject)
        if not isinstance(html, str) or not isinstance(text, str) or not (html.strip() or text.strip()):
            raise _invalid("html", "validation_required", "Give html or text.")
        if sender:
            _one_line("sender", sender)
        msg = Message(to=addrs, subject=subject, html=html, text=text, sender=sender, kind=f"function:{self.function}")
        settings = await self.engine.settings_store.load()
        try:
            await self.engine.mailer.send(msg, settings)
        except (aiosmtplib.SMTPException, OSError) as exc:
            password = str((settings.get("smtp") or {}).get("password") or "")
            reason = f"{type(exc).__name__}: {exc}"
            if password:
                reason = reason.replace(password, "***")
            log.warning("function %s: mail %s not sent: %s", self.function, msg.id, reason)
            raise MailFailed() from None
        return msg.id
