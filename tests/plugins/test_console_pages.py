"""A plugin adds a page to the web console (`PluginApp.console_page`): listed for superusers by
``GET /api/console/pages``, its files served under ``/_/plugins/<name>/`` from its own folder only,
with the console's headers; bad declarations stop the start with the plugin's name. The page in a
real browser: tests/console/test_console_browser_plugin.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from baas.plugins import PluginError
from tests.harness import app_for, unique, user_token
from tests.plugins.pagekit import PAGE_JS

PLUGIN = """from pathlib import Path

from baas.plugins import Plugin

plugin = Plugin()
plugin.console_page({name!r}, {title!r}, Path(__file__).parent / {folder!r}{entry})
"""

YAML = """collections:
  - name: notes
    listRule: ""
    createRule: ""
    fields:
      - {name: message, type: text}
"""


def project(tmp_path: Path, name: str = "notes-board", title: str = "Notes board", entry: str = "") -> tuple[str, str]:
    """A baas.yaml next to a plugin module adding one console page; (yaml path, module name)."""
    proj = tmp_path / "proj"
    mod = unique("board")
    (proj / f"{mod}_console").mkdir(parents=True)
    (proj / f"{mod}_console" / "page.js").write_text(PAGE_JS)
    (proj / f"{mod}_console" / "style.css").write_text("#notes-board { color: teal; }\n")
    (proj / f"{mod}_console" / "secret.py").write_text("TOKEN = 'not for the web'\n")
    (proj / "outside.js").write_text("export const x = 1;\n")
    (proj / f"{mod}.py").write_text(PLUGIN.format(name=name, title=title, folder=f"{mod}_console", entry=entry))
    (proj / "baas.yaml").write_text(YAML + f"plugins: [{mod}]\n")
    return str(proj / "baas.yaml"), mod


async def test_a_plugin_page_is_listed_for_superusers_and_served_from_its_folder(tmp_path, site):
    yaml, _ = project(tmp_path)
    async with app_for(tmp_path, yaml) as run:
        r = await run.client.get("/api/console/pages", headers={"Authorization": run.su})
        assert r.status_code == 200, r.text
        assert r.json() == {
            "pages": [{"name": "notes-board", "title": "Notes board", "module": "/_/plugins/notes-board/page.js"}]
        }

        assert (await run.client.get("/api/console/pages")).status_code == 401
        token, _ = await user_token(run)
        r = await run.client.get("/api/console/pages", headers={"Authorization": token})
        assert r.status_code == 403 and "pages" not in r.text

        r = await run.client.get("/_/plugins/notes-board/page.js")
        assert r.status_code == 200 and r.text == PAGE_JS
        assert r.headers["content-type"].startswith("text/javascript")
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY"
        assert (await run.client.get("/_/plugins/notes-board/style.css")).status_code == 200
        for path in (
            "/_/plugins/notes-board/secret.py",  # not a web file kind
            "/_/plugins/notes-board/../outside.js",  # outside the page's folder
            "/_/plugins/notes-board/%2e%2e/outside.js",
            "/_/plugins/notes-board/",
            "/_/plugins/other/page.js",  # no such page
            "/_/plugins/",
        ):
            r = await run.client.get(path)
            assert r.status_code == 404, (path, r.status_code)
            assert "not for the web" not in r.text and "export const x" not in r.text


async def test_without_plugin_pages_the_list_is_empty(tmp_path):
    async with app_for(tmp_path) as run:
        r = await run.client.get("/api/console/pages", headers={"Authorization": run.su})
        assert r.status_code == 200 and r.json() == {"pages": []}
        assert (await run.client.get("/_/plugins/x/page.js")).status_code == 404


@pytest.mark.parametrize(
    "name, title, entry, expected",
    [
        ("Notes Board", "Notes", "", "use a-z, 0-9"),
        ("../x", "Notes", "", "use a-z, 0-9"),
        ("notes", "  ", "", "needs a title"),
        ("notes", "Notes", ", 'missing.js'", "no module 'missing.js'"),
        ("notes", "Notes", ", 'secret.py'", "no module 'secret.py'"),
        ("notes", "Notes", ", '../outside.js'", "no module '../outside.js'"),
    ],
)
async def test_a_bad_console_page_stops_the_start_with_the_plugin_name(tmp_path, site, name, title, entry, expected):
    yaml, mod = project(tmp_path, name, title, entry)
    with pytest.raises(PluginError) as info:
        async with app_for(tmp_path, yaml):
            pass
    assert mod in str(info.value) and expected in str(info.value)
