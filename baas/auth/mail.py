"""Outgoing mail: SMTP (aiosmtplib) when the ``smtp`` settings enable it, else a dev mailbox.

The dev mailbox is a folder ``<data_dir>/mailbox/``: every message is written as
``<timestamp>-<id>.eml`` (the full MIME message) plus ``<timestamp>-<id>.json`` (to, from, subject,
text, html), so a developer, or a test in another process, can read the link a user would click::

    for msg in read_mailbox(data_dir):
        print(msg.to, msg.subject, msg.text)

The JSON sidecar is written last and atomically (a rename), so a reader never sees half a message.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiosmtplib

from baas.ids import new_id, now_str

log = logging.getLogger("baas.mail")
MAILBOX = "mailbox"


@dataclass
class Message:
    """One email: recipients, subject and both bodies (``text`` is derived from ``html`` if empty)."""

    to: list[str]
    subject: str
    html: str
    text: str = ""
    sender: str = ""
    id: str = field(default_factory=new_id)
    created: str = field(default_factory=now_str)
    kind: str = ""  # what the message is for (verification, otp, …): for logs, never shown


_FIELDS = set(Message.__dataclass_fields__)


class _TextExtractor(HTMLParser):
    """HTML to readable plain text: links keep their target, block elements become lines."""

    _BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._href: list[str | None] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "head", "title"):
            self._skip += 1
        elif tag == "a":
            self._href.append(dict(attrs).get("href"))
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "head", "title"):
            self._skip = max(0, self._skip - 1)
        elif tag == "a" and self._href:
            href = self._href.pop()
            if href:
                self.parts.append(f" ({href})")
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(body: str) -> str:
    parser = _TextExtractor()
    parser.feed(body)
    parser.close()
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(parser.parts).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def build_mime(msg: Message) -> EmailMessage:
    """The RFC 5322 message: a plain-text part and an HTML alternative."""
    mime = EmailMessage()
    mime["From"] = msg.sender
    mime["To"] = ", ".join(msg.to)
    mime["Subject"] = msg.subject
    mime["Date"] = formatdate(localtime=False)
    domain = msg.sender.rsplit("@", 1)[-1].strip(">") if "@" in msg.sender else "localhost"
    mime["Message-ID"] = make_msgid(idstring=msg.id, domain=domain)
    mime.set_content(msg.text or html_to_text(msg.html))
    if msg.html:
        mime.add_alternative(msg.html, subtype="html")
    return mime


def sender_of(settings: dict[str, Any]) -> str:
    meta = settings.get("meta") or {}
    return formataddr((str(meta.get("senderName") or ""), str(meta.get("senderAddress") or "")))


class Mailer:
    """Sends messages with the server settings in force at the time of sending."""

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.mailbox = Path(data_dir) / MAILBOX

    async def send(self, msg: Message, settings: dict[str, Any]) -> None:
        """Deliver ``msg`` by SMTP if ``settings["smtp"]["enabled"]``, else store it in the mailbox.

        Raises on an SMTP failure (``aiosmtplib.SMTPException``, ``OSError``): callers that send in
        the background log it."""
        if not msg.sender:
            msg.sender = sender_of(settings)
        if not msg.text:
            msg.text = html_to_text(msg.html)
        smtp = settings.get("smtp") or {}
        if smtp.get("enabled"):
            await self._smtp(msg, smtp)
            log.info("mail %s (%s) sent by SMTP to %d recipient(s)", msg.id, msg.kind or "mail", len(msg.to))
        else:
            path = self._store(msg)
            log.info("mail %s (%s) stored in the dev mailbox: %s", msg.id, msg.kind or "mail", path.name)

    async def _smtp(self, msg: Message, smtp: dict[str, Any]) -> None:
        tls = bool(smtp.get("tls"))
        await aiosmtplib.send(
            build_mime(msg),
            hostname=str(smtp.get("host") or "localhost"),
            port=int(smtp.get("port") or (465 if tls else 587)),
            username=smtp.get("username") or None,
            password=smtp.get("password") or None,
            # tls: implicit TLS (port 465); otherwise STARTTLS whenever the server offers it.
            use_tls=tls,
            start_tls=None if not tls else False,
            local_hostname=smtp.get("localName") or None,
            timeout=30,
        )

    def forget(self, addresses: list[str]) -> int:
        """Delete the dev mailbox's messages to any of ``addresses`` (a user's erase); how many went."""
        wanted = {a.lower() for a in addresses if a}
        if not wanted or not self.mailbox.is_dir():
            return 0
        gone = 0
        for meta in sorted(self.mailbox.glob("*.json")):
            try:
                data = json.loads(meta.read_text())
            except (OSError, ValueError):
                continue
            if not any(parseaddr(str(to))[1].lower() in wanted for to in data.get("to") or []):
                continue
            (self.mailbox / str(data.get("eml") or meta.with_suffix(".eml").name)).unlink(missing_ok=True)
            meta.unlink(missing_ok=True)
            gone += 1
        return gone

    def _store(self, msg: Message) -> Path:
        self.mailbox.mkdir(parents=True, exist_ok=True)
        stem = f"{time.time_ns():020d}-{msg.id}"
        eml = self.mailbox / f"{stem}.eml"
        eml.write_bytes(bytes(build_mime(msg)))
        meta = self.mailbox / f"{stem}.json"
        tmp = self.mailbox / f".{stem}.json.tmp"
        tmp.write_text(json.dumps({**asdict(msg), "eml": eml.name}, ensure_ascii=False, indent=1))
        os.replace(tmp, meta)
        return meta


def read_mailbox(data_dir: str | os.PathLike[str], to: str | None = None) -> list[Message]:
    """The dev mailbox's messages, oldest first (only those to ``to`` if given, case-insensitive)."""
    folder = Path(data_dir) / MAILBOX
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        msg = Message(**{k: v for k, v in data.items() if k in _FIELDS})
        if to is None or to.lower() in (addr.lower() for addr in msg.to):
            out.append(msg)
    return out
