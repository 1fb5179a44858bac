"""A page a plugin adds to the console (`PluginApp.console_page`) in Debian's chromium against a
real ``baas serve --schema`` with the plugin next to its baas.yaml: its link in the navigation,
its module loaded under the console's CSP, its data fetched through the public API with the
superuser's token; a hostile page title stays text; an unknown plugin page says so."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.console.browser import chromium_page
from tests.plugins.pagekit import PAGE_JS
from tests.servers import running_server

pytestmark = pytest.mark.browser

SU = ("plugin-admin@example.com", "plugin-password-1")
XSS = '<img src=x onerror="window.__xss=1">'

PLUGIN = f"""from pathlib import Path

from baas.plugins import Plugin

plugin = Plugin()
plugin.console_page("notes-board", "Notes board", Path(__file__).parent / "board_console")
plugin.console_page("odd", {XSS!r}, Path(__file__).parent / "board_console")
"""

YAML = """collections:
  - name: notes
    listRule: ""
    createRule: ""
    fields:
      - {name: message, type: text}
plugins: [boardplugin]
"""


async def test_a_plugin_page_shows_in_the_console(tmp_path: Path) -> None:
    from playwright.async_api import expect

    (tmp_path / "board_console").mkdir()
    (tmp_path / "board_console" / "page.js").write_text(PAGE_JS)
    (tmp_path / "boardplugin.py").write_text(PLUGIN)
    (tmp_path / "baas.yaml").write_text(YAML)
    async with (
        running_server(tmp_path, "--schema", str(tmp_path / "baas.yaml"), superuser=SU) as srv,
        httpx.AsyncClient(base_url=srv.url) as client,
        chromium_page() as b,
    ):
        for message in ("first note", XSS):
            r = await client.post("/api/collections/notes/records", json={"message": message})
            assert r.status_code == 200, r.text
        page = b.page
        await page.goto(f"{srv.url}/_/#/login")
        await page.get_by_label("Email").fill(SU[0])
        await page.get_by_label("Password").fill(SU[1])
        await page.keyboard.press("Enter")
        await expect(page.locator("#signed-in-as")).to_have_text(SU[0])

        await page.get_by_role("link", name="Notes board").click()
        board = page.locator("#notes-board")
        await expect(board.get_by_role("heading", name="Notes board")).to_be_visible()
        await expect(board.locator("li")).to_have_text(["first note", XSS])
        await expect(page.locator('nav a[data-plugin="odd"]')).to_have_text(XSS)

        await page.goto(f"{srv.url}/_/#/plugins/nothing-here")
        await expect(page.get_by_role("alert")).to_contain_text('No console page named "nothing-here"')
        assert await page.evaluate("window.__xss") is None
        assert b.real_errors() == [] and b.dialogs == []
