"""Everything a user can name is documented, in the page where they would look (Datasette's
test_docs.py habit): hook points and the plugin API (docs/plugins.md), every CLI command with its
options and arguments (docs/cli.md), every stored setting, process setting and environment
variable (docs/settings.md).

What must be documented is read from the code (the ``Hooks`` object, the Typer app, the settings
defaults, the ``BAAS_*`` names in baas/), never listed here by hand. "Documented" means named in
a heading or in backticks in that page's prose and tables (fenced examples do not count).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import typer.main

from baas import hooks as hooks_module
from baas.cli.main import app as cli_app
from baas.hooks import Event, Hook, Hooks
from baas.plugins import Plugin, PluginApp, PluginDB
from baas.settings import Settings
from baas.settings_store import DEFAULTS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BAAS = ROOT / "baas"
ENV_NAME = re.compile(r"\bBAAS_[A-Z0-9]+(?:_[A-Z0-9]+)*\b")


def _prose(text: str) -> str:
    """The page without its fenced blocks."""
    return re.sub(r"^(\s*)```.*?^\1```\s*$", "", text, flags=re.S | re.M)


def _names(text: str) -> list[str]:
    """What a page names: its backticked spans and its heading lines."""
    prose = _prose(text)
    return re.findall(r"`([^`\n]+)`", prose) + re.findall(r"^#+ .*$", prose, flags=re.M)


def _named(name: str, spans: list[str]) -> bool:
    """``name`` as a whole token of some span (``bind`` in ``bind(fn, …)``, not in ``bind_for``)."""
    token = re.compile(rf"(?<![\w.-]){re.escape(name)}(?![\w-])")
    return any(token.search(span) for span in spans)


def _read(name: str) -> str:
    path = DOCS / name
    return path.read_text() if path.is_file() else ""


def _page(name: str) -> list[str]:
    return _names(_read(name))


def _public(obj: object) -> list[str]:
    return sorted(n for n in dir(obj) if not n.startswith("_"))


# --- hooks and the plugin API: docs/plugins.md ------------------------------------------------

HOOK_POINTS = sorted(Hooks().points())
EVENTS = sorted(
    (
        cls
        for _, cls in inspect.getmembers(hooks_module, inspect.isclass)
        if issubclass(cls, Event) and cls.__module__ == hooks_module.__name__
    ),
    key=lambda c: c.__name__,
)


def test_every_hook_point_is_documented() -> None:
    spans = _page("plugins.md")
    assert HOOK_POINTS and [p for p in HOOK_POINTS if not _named(p, spans)] == []


def test_every_event_and_its_attributes_are_documented() -> None:
    """Each event class by name, and each of its public attributes as ``e.<name>``."""
    spans = _page("plugins.md")
    missing = [cls.__name__ for cls in EVENTS if not _named(cls.__name__, spans)]
    for cls in EVENTS:
        attributes = {n for k in cls.__mro__ for n in getattr(k, "__slots__", ()) if not n.startswith("_")}
        attributes |= set(_public(cls))
        missing += [f"{cls.__name__}: e.{n}" for n in sorted(attributes) if not _named(f"e.{n}", spans)]
    assert missing == []


def _members(obj: Any) -> list[str]:
    """Public methods and properties of an object's class, plus the attributes it sets itself."""
    return sorted(set(_public(type(obj))) | {n for n in getattr(obj, "__dict__", {}) if not n.startswith("_")})


@pytest.mark.parametrize(
    "owner", [Hooks(), Hook("on_x"), PluginApp("x"), PluginDB(PluginApp("x")), Plugin()], ids=lambda o: type(o).__name__
)
def test_the_plugin_api_is_documented(owner: Any) -> None:
    """Every public member of what a plugin is handed (``app``, ``app.hooks``, a hook, ``app.db``,
    a module-level ``Plugin``)."""
    spans = _page("plugins.md")
    missing = [n for n in _members(owner) if not _named(n, spans)]
    assert missing == [], type(owner).__name__


# --- the command line: docs/cli.md ------------------------------------------------------------


def _commands(cmd: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every built-in command and group under ``cmd`` with its full path (``baas jobs run``).
    Commands that plugins add (their callback lives outside baas/) are documented by the plugin."""
    yield path, cmd
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        if _builtin(sub):
            yield from _commands(sub, f"{path} {name}")


def _builtin(cmd: Any) -> bool:
    """(Typer vendors its own click: commands are told apart by shape, not class.)"""
    if hasattr(cmd, "commands"):  # a group
        return any(_builtin(sub) for sub in cmd.commands.values())
    return getattr(cmd.callback, "__module__", "").startswith("baas.")


COMMANDS = dict(_commands(typer.main.get_command(cli_app), "baas"))


def _sections(text: str) -> dict[str, str]:
    """Heading text → the prose up to the next heading (fenced blocks included: usage lines)."""
    parts = re.split(r"^(#+ .*)$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def _section_of(path: str) -> str | None:
    for heading, body in _sections(_read("cli.md")).items():
        if f"`{path}`" in heading:
            return heading + body
    return None


def test_the_cli_has_commands_to_check() -> None:
    """Guards the walk: the groups and their subcommands are all found."""
    assert {"baas serve", "baas schema apply", "baas jobs history", "baas events tail"} <= set(COMMANDS)


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_command_is_documented_with_its_options(path: str) -> None:
    """A heading naming the command (``## `baas jobs run` ``); in its section every option (long
    name), every argument (its upper-case name) and every environment variable an option reads."""
    section = _section_of(path)
    assert section is not None, f"docs/cli.md has no heading with `{path}`"
    missing = []
    for param in COMMANDS[path].params:
        if param.param_type_name == "option":
            names = [max(param.opts, key=len)] + ([param.envvar] if isinstance(param.envvar, str) else [])
        else:
            names = [(param.name or "").upper()]
        missing += [n for n in names if not re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", section)]
    assert missing == [], path


def test_every_documented_command_exists() -> None:
    documented = {m for heading in _sections(_read("cli.md")) for m in re.findall(r"`(baas(?: [a-z-]+)*)`", heading)}
    assert sorted(documented - set(COMMANDS)) == []


# --- settings: docs/settings.md ---------------------------------------------------------------


def _keys(section: str, defaults: dict[str, Any]) -> Iterator[str]:
    for key, value in defaults.items():
        yield f"{section}.{key}"
        if isinstance(value, dict):
            yield from _keys(f"{section}.{key}", value)


STORED = sorted(DEFAULTS) + sorted(k for section, d in DEFAULTS.items() for k in _keys(section, d))


def test_every_stored_setting_is_documented() -> None:
    """Each section of ``/api/settings`` and each key in it (``smtp.host``, ``s3.bucket`` …)."""
    spans = _page("settings.md")
    assert [k for k in STORED if not _named(k, spans)] == []


def test_every_process_setting_is_documented() -> None:
    """Each field of `baas.settings.Settings` (the process's own settings, from options and env)."""
    spans = _page("settings.md")
    fields = [f.name for f in msgspec.structs.fields(Settings)]
    assert fields and [f for f in fields if not _named(f, spans)] == []


def _env_in_code() -> set[str]:
    return {name for path in BAAS.rglob("*.py") for name in ENV_NAME.findall(path.read_text())}


def test_every_environment_variable_is_documented() -> None:
    """Every ``BAAS_*`` name the code reads (or hands to its workers)."""
    spans = _page("settings.md")
    found = _env_in_code()
    assert "BAAS_SECRET" in found and sorted(n for n in found if not _named(n, spans)) == []


def test_every_documented_environment_variable_exists() -> None:
    """settings.md names no variable the code does not read (a renamed one would linger)."""
    documented = {n for span in _page("settings.md") for n in ENV_NAME.findall(span)}
    assert sorted(documented - _env_in_code()) == []
