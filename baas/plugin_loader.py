"""Finding and loading plugins (see `baas.plugins` for what a plugin is and docs/plugins.md).

Order: installed entry points of the group ``baas.plugins`` (by name), then the ``plugins:``
list of the project's ``baas.yaml``, then its ``functions:`` package. A module named twice loads
once (with the settings ``baas.yaml`` gives it). ``BAAS_DISABLE_PLUGINS=name,…`` (or ``*``)
keeps installed plugins from loading.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import importlib.metadata
import logging
import os
import pkgutil
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from litestar.types import ControllerRouterHandler

from baas.functions import Function
from baas.hooks import Hooks
from baas.plugins import GROUP, ConsolePage, Plugin, PluginApp, PluginError, RouteHelpers
from baas.schema.loader import load_schema
from baas.settings import Settings

if TYPE_CHECKING:  # the engine loads the plugins: it imports this module
    from baas.core import Engine

log = logging.getLogger("baas.plugins")


@dataclass
class Spec:
    """A plugin to load: ``load()`` gives the module (or register function)."""

    name: str
    source: str  # "entry point …", "baas.yaml", "functions"
    load: Callable[[], Any]
    settings: dict[str, Any] = field(default_factory=dict)
    optional: bool = False  # functions submodules may hold helpers only


@dataclass
class Loaded:
    """What loading gave: the apps (one per plugin), their routes and CLI apps."""

    apps: list[PluginApp] = field(default_factory=list)

    @property
    def routes(self) -> list[ControllerRouterHandler]:
        return [r for a in self.apps for r in a._routes]

    def serve(self, helpers: RouteHelpers) -> None:
        """Give every plugin's request helpers (``app.request_info`` …) the server's HTTP layer."""
        for a in self.apps:
            a._http = helpers

    @property
    def console_pages(self) -> list[ConsolePage]:
        """Every plugin's console pages; a name taken twice keeps the first plugin's page."""
        pages: dict[str, ConsolePage] = {}
        for a in self.apps:
            for page in a._console_pages:
                pages.setdefault(page.name, page)
        return list(pages.values())

    @property
    def cli_apps(self) -> list[typer.Typer]:
        return [a._cli for a in self.apps if a._cli is not None]


def _disabled() -> tuple[bool, set[str]]:
    raw = os.environ.get("BAAS_DISABLE_PLUGINS", "")
    names = {n.strip() for n in raw.split(",") if n.strip()}
    return "*" in names, names


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    return list(_entry_points_on(tuple((p, _mtime(p)) for p in sys.path)))


def _mtime(path: str) -> int:
    try:
        return os.stat(path or ".").st_mtime_ns
    except OSError:
        return 0


@functools.lru_cache(maxsize=4)
def _entry_points_on(path: tuple[tuple[str, int], ...]) -> tuple[importlib.metadata.EntryPoint, ...]:
    """The plugin entry points of the distributions on ``path`` (``sys.path`` with each folder's
    mtime, which changes when a distribution is installed there). Reading every distribution's
    metadata costs ~25 ms, and a process looks once per engine (the CLI and tests make many)."""
    del path  # the cache key: importlib reads sys.path itself
    return tuple(sorted(importlib.metadata.entry_points(group=GROUP), key=lambda ep: ep.name))


def discover(project_file: str = "") -> list[Spec]:
    """The plugins to load for a project (``project_file``: its baas.yaml, may be empty)."""
    all_off, off = _disabled()
    entries = []
    base: Path | None = None
    functions = ""
    if project_file:
        schema = load_schema(project_file)
        entries = schema.plugin_entries()
        base = Path(project_file).resolve().parent
        functions = schema.functions
    listed = {e.module: e for e in entries}
    specs: list[Spec] = []
    for ep in _entry_points():
        if all_off or ep.name in off or ep.module in off:
            continue
        entry = listed.pop(ep.module, None)
        specs.append(
            Spec(ep.name, f"entry point {ep.name} = {ep.value}", ep.load, dict(entry.settings) if entry else {})
        )
    for e in entries:
        if e.module not in listed:
            continue  # an installed entry point, loaded above with these settings
        specs.append(Spec(e.module, f"baas.yaml ({project_file})", _importer(e.module, base), dict(e.settings)))
    if functions and base is not None:
        specs.extend(_functions_specs(base, functions, project_file))
    return specs


def _importer(module: str, base: Path | None) -> Callable[[], Any]:
    def load() -> Any:
        if base is not None and str(base) not in sys.path:
            sys.path.append(str(base))  # after installed packages: a project file never shadows them
        return importlib.import_module(module)

    return load


def _functions_specs(base: Path, functions: str, project_file: str) -> list[Spec]:
    """The project's functions package: the package itself if it has ``register``, else each of
    its modules (sorted) that has ``register`` or a `Plugin`."""
    target = (base / functions.rstrip("/")).resolve()
    name = target.name
    is_pkg = (target / "__init__.py").is_file()
    if not is_pkg and not target.with_suffix(".py").is_file():
        raise PluginError(f"{project_file}: functions: no package {target}/ (with __init__.py) or module {target}.py")
    parent = str(target.parent)
    source = f"functions ({project_file})"

    def load_package() -> Any:
        _forget_other(name, target)
        if parent in sys.path:
            sys.path.remove(parent)
        sys.path.insert(0, parent)  # the project's own package wins over a same-named installed one
        return importlib.import_module(name)

    mod = _guard(load_package, f"{name} ({source})")
    if not is_pkg or _has_registration(mod):
        return [Spec(name, source, lambda: mod)]
    subs = sorted(m.name for m in pkgutil.iter_modules(mod.__path__))
    return [
        Spec(f"{name}.{sub}", source, functools.partial(importlib.import_module, f"{name}.{sub}"), optional=True)
        for sub in subs
    ]


def _forget_other(name: str, target: Path) -> None:
    """Drop an already-imported module of that name from another folder (another project in the
    same process, as in tests), so the import finds this project's."""
    mod = sys.modules.get(name)
    if mod is None:
        return
    where = getattr(mod, "__file__", None)
    here = target / "__init__.py" if target.is_dir() else target.with_suffix(".py")
    if where and Path(where).resolve() == here.resolve():
        return
    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        del sys.modules[key]
    importlib.invalidate_caches()


def _has_registration(obj: Any) -> bool:
    return callable(getattr(obj, "register", None)) or any(
        isinstance(v, (Plugin, Function)) for v in vars(obj).values()
    )


def _add_functions(obj: Any, spec: Spec, app: PluginApp) -> bool:
    """Module-level ``@function`` callables (docs/functions.md) join the engine's functions."""
    found = [v for v in vars(obj).values() if isinstance(v, Function)] if isinstance(obj, types.ModuleType) else []
    if app._engine is not None:
        for f in found:
            app._engine.functions.add(f, source=f"{spec.name} ({spec.source})")
    return bool(found)


def _guard(fn: Callable[[], Any], what: str) -> Any:
    try:
        return fn()
    except PluginError:
        raise
    except Exception as exc:
        log.exception("plugin %s failed to load", what)
        raise PluginError(f"plugin {what} failed to load: {type(exc).__name__}: {exc}") from exc


def _register(spec: Spec, app: PluginApp) -> bool:
    obj = spec.load()
    has_functions = _add_functions(obj, spec, app)
    if callable(obj) and not isinstance(obj, types.ModuleType):  # an entry point naming register itself
        result = obj(app)
    elif callable(getattr(obj, "register", None)):
        result = obj.register(app)
    else:
        found = [v for v in vars(obj).values() if isinstance(v, Plugin)]
        if not found:
            if has_functions:
                return True
            if spec.optional:
                return False
            raise PluginError(f"plugin {spec.name} ({spec.source}) has no register(app) and no Plugin()")
        for p in found:
            p.apply(app)
        return True
    if asyncio.iscoroutine(result):
        result.close()
        raise PluginError(f"plugin {spec.name}: register(app) must be a plain function (do async work in app.on_start)")
    return True


def load_specs(
    specs: list[Spec], *, engine: Engine | None = None, engine_factory: Callable[[Settings], Engine] | None = None
) -> Loaded:
    """Register each plugin with its own `PluginApp` (on ``engine``'s hooks, or detached ones;
    ``engine_factory``: what the apps' ``run`` starts, for CLI commands)."""
    loaded = Loaded()
    hooks = engine.hooks if engine is not None else Hooks()
    for spec in specs:
        app = PluginApp(spec.name, spec.settings, hooks=hooks, engine=engine, engine_factory=engine_factory)
        if _guard(functools.partial(_register, spec, app), f"{spec.name} ({spec.source})"):
            loaded.apps.append(app)
            log.info("plugin %s loaded (%s)", spec.name, spec.source)
    if engine is not None:
        engine.functions.loaded = True  # every @function is known now: jobs may check their targets
    return loaded


def load_plugins(engine: Engine) -> Loaded:
    """Discover and register every plugin for ``engine`` (before it starts; its routes go into
    the Litestar app being built)."""
    s = engine.settings
    return load_specs(discover(s.project_file or s.schema_file), engine=engine)


def add_cli_commands(
    cli: typer.Typer, project_file: str = "", *, engine_factory: Callable[[Settings], Engine] | None = None
) -> None:
    """Put the plugins' commands into the ``baas`` CLI. A plugin that fails to load is reported
    on stderr and skipped: the built-in commands keep working. ``engine_factory`` (the `Engine`
    class) is what their ``app.run`` starts."""
    builtin = {c.name or (c.callback.__name__ if c.callback else "") for c in cli.registered_commands}
    builtin |= {g.name for g in cli.registered_groups if g.name}
    try:
        specs = discover(project_file)
    except Exception as exc:
        if isinstance(exc, PluginError):  # a broken baas.yaml itself is reported by the schema commands
            print(f"warning: {exc}", file=sys.stderr)
        specs = discover("") if project_file else []
    for spec in specs:
        try:
            loaded = load_specs([spec], engine_factory=engine_factory)
        except PluginError as exc:
            print(f"warning: {exc}", file=sys.stderr)
            continue
        for sub in loaded.cli_apps:
            for cmd in sub.registered_commands:
                name = cmd.name or (cmd.callback.__name__.replace("_", "-") if cmd.callback else "")
                if name in builtin:
                    print(
                        f"warning: plugin {spec.name}: command {name!r} clashes with a built-in one; skipped",
                        file=sys.stderr,
                    )
                    continue
                cli.registered_commands.append(cmd)
            for grp in sub.registered_groups:
                if grp.name in builtin:
                    print(
                        f"warning: plugin {spec.name}: command group {grp.name!r} clashes with a built-in one; skipped",
                        file=sys.stderr,
                    )
                    continue
                cli.registered_groups.append(grp)
