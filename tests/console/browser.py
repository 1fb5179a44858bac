"""Shared helpers for the console's browser tests (Playwright + Debian's chromium against a real
``baas serve`` from tests/servers.py). Add functions here; don't change existing ones (several
test modules use them)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baas.auth.mail import Message, read_mailbox
from tests.servers import require_chromium

HOSTILE = ["<script>window.__xss = 1</script>", '<img src=x onerror="window.__xss=1">', "javascript:alert(1)"]
# Every control must have a label (or an aria-label): run in the page, returns the unlabelled ones.
UNLABELLED = """() => [...document.querySelectorAll('main input, main select, main textarea, main button')]
  .filter((c) => c.type !== 'hidden' && !(c.labels && c.labels.length) && !c.getAttribute('aria-label')
                 && !(c.tagName === 'BUTTON' && c.textContent.trim()))
  .map((c) => c.outerHTML.slice(0, 80))"""
VIEWPORT = {"width": 1280, "height": 800}  # also the screenshots' size (docs/console/*.png)


@dataclass
class Browser:
    """One chromium page, with what went wrong in it collected (script errors, dialogs)."""

    page: Any
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    async def no_unlabelled_controls(self) -> None:
        assert await self.page.evaluate(UNLABELLED) == []

    def real_errors(self) -> list[str]:
        """Script errors and CSP violations; 4xx answers provoked on purpose show up as failed loads."""
        return [e for e in self.errors if "Failed to load resource" not in e]


@asynccontextmanager
async def chromium_page(**context: Any) -> AsyncIterator[Browser]:
    """A fresh chromium page (1280x800) with generous auto-wait bounds for a busy machine (never a sleep)."""
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=require_chromium(), args=["--no-sandbox"])
        try:
            ctx = await browser.new_context(viewport=VIEWPORT, **context)
            page = await ctx.new_page()
            page.set_default_timeout(30_000)
            expect.set_options(timeout=30_000)
            b = Browser(page)
            page.on("dialog", lambda d: (b.dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: b.errors.append(str(e)))
            page.on("console", lambda m: b.errors.append(m.text) if m.type == "error" else None)
            yield b
        finally:
            await browser.close()


async def add_field(page: Any, index: int, type_: str, name: str) -> Any:
    """Add a field of ``type_`` in the collection editor and name it; its row locator."""
    await page.get_by_label("New field type").select_option(type_)
    await page.get_by_role("button", name="Add field").click()
    row = page.locator(f'[data-field-index="{index}"]')
    await row.get_by_label("Field name").fill(name)
    return row


def png(width: int = 300, height: int = 200, color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A real PNG image."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "PNG")
    return buf.getvalue()


async def screenshot(page: Any, name: str) -> None:
    """Save ``<BAAS_CONSOLE_SCREENSHOTS>/<name>.png`` (the viewport) when that variable is set."""
    where = os.environ.get("BAAS_CONSOLE_SCREENSHOTS")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(where) / f"{name}.png"))


async def wait_for_mail(data_dir: Path, to: str, subject: str, seen: int = 0, deadline_s: float = 60) -> Message:
    """The first message to ``to`` whose subject contains ``subject``, after the first ``seen`` such
    messages, from the dev mailbox (mails are sent in the background: poll until it is there)."""
    deadline = time.monotonic() + deadline_s
    while True:
        found = [m for m in read_mailbox(data_dir, to) if subject in m.subject]
        if len(found) > seen:
            return found[seen]
        if time.monotonic() > deadline:
            raise AssertionError(
                f"no mail {subject!r} to {to} in {deadline_s}s: {json.dumps([m.subject for m in found])}"
            )
        await asyncio.sleep(0.1)


def link_in(msg: Message, path: str) -> str:
    """The ``…/_/#/<path>/<token>`` link of a mail (from its HTML body)."""
    found = re.search(r'href="([^"]*/_/#/' + re.escape(path) + r'/[^"]+)"', msg.html)
    assert found, msg.html
    return found.group(1)
