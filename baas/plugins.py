"""Plugins: modules with ``register(app)`` that extend baas through the public `PluginApp` API.

Where they come from, in this order (a module is loaded once even if named twice):

1. installed packages declaring an entry point in the group ``baas.plugins``
   (``[project.entry-points."baas.plugins"] audit_log = "baas_audit_log"``);
2. the ``plugins:`` list of the project's ``baas.yaml`` (``- my_plugin`` or
   ``- {module: my_plugin, settings: {…}}``), importable from ``sys.path`` or the yaml's folder;
3. the project's own hooks: ``functions: functions`` in ``baas.yaml``, a package next to it.

``BAAS_DISABLE_PLUGINS=name,…`` (entry point or module names; ``*`` for every entry point)
keeps installed plugins from loading.

A plugin module provides ``register(app)``, or registers at module level with a `Plugin`::

    from baas.plugins import Plugin
    plugin = Plugin()

    @plugin.hook("on_record_create", "posts")
    async def stamp(e): ...

Modules import once per process (each granian worker imports them); ``register`` runs once
per engine — a server process has one, tests may build several — so keep it free of global
side effects. Everything public is documented in docs/plugins.md.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast, overload

import msgspec
import typer
from litestar import Request, Response
from litestar import route as make_route
from litestar.handlers import HTTPRouteHandler
from litestar.types import ControllerRouterHandler, Method

from baas.db import Conn, Database, Row
from baas.events import EventBus
from baas.hooks import Hook, Hooks, LifecycleEvent
from baas.rules.context import RequestInfo
from baas.schema.model import Collection
from baas.settings import Settings

if TYPE_CHECKING:
    from baas.core import Engine

GROUP = "baas.plugins"  # the entry point group (discovery: baas/plugin_loader.py)
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
_encoder = msgspec.json.Encoder()


class RouteHelpers(Protocol):
    """What `PluginApp`'s helpers for route handlers need from the HTTP layer: who is asking, as
    the record API sees it. The server (`baas.app.create_app`) attaches the implementation in
    `baas.api.plugin_routes` when it builds the app, so this module never imports the API."""

    async def request_info(self, request: Request[Any, Any, Any]) -> RequestInfo: ...

    def require_superuser(self, req: RequestInfo) -> None: ...


_PAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class ConsolePage:
    """A console page a plugin adds (`PluginApp.console_page`): the ES module ``entry`` in
    ``directory`` is served at ``/_/plugins/<name>/<entry>`` and shown at ``#/plugins/<name>``."""

    name: str
    title: str
    directory: Path
    entry: str

    @property
    def module(self) -> str:
        """The module's URL, as the console imports it."""
        return f"/_/plugins/{self.name}/{self.entry}"


class PluginError(ValueError):
    """A plugin could not be found or loaded; the message names it and where it came from."""


class PluginDB:
    """``app.db``: the engine's database once it has started (``on_start``, hooks, routes).

    Reads: ``fetch``, ``fetchone``, ``fetchval``; writes: ``execute(sql, params)`` (one
    statement, its own transaction) or ``write(fn)`` (``fn(conn)`` in one transaction). SQL uses
    ``?`` placeholders on SQLite and PostgreSQL alike. Inside a before-hook use ``e.db`` instead:
    it is the running transaction (``write`` there would wait for the transaction it is in)."""

    def __init__(self, app: PluginApp) -> None:
        self._app = app

    @property
    def _db(self) -> Database:
        eng = self._app._engine
        if eng is None:
            raise RuntimeError(
                "app.db is not available here: use it in hooks, routes and on_start "
                "(in CLI commands: app.run(fn, data_dir=…, db=…))"
            )
        return eng.db

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._db.dialect

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return await self._db.fetch(sql, params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return await self._db.fetchone(sql, params)

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return await self._db.fetchval(sql, params)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement in its own transaction; the number of rows it changed."""
        return await self._db.write(lambda conn: conn.execute(sql, params))

    async def write(self, fn: Callable[[Conn], Awaitable[T]], *, heavy: bool = False) -> T:
        """``fn(conn)`` in one transaction (``heavy=True`` for DDL and bulk work)."""
        return await self._db.write(fn, heavy=heavy)


class PluginApp:
    """What ``register(app)`` receives: the public plugin API.

    - ``name``: the plugin's module name; ``settings``: its settings section (a dict).
    - ``hooks``: the hook points (`baas.hooks.Hooks`).
    - ``route(handler)``: add Litestar route handlers (or ``route(path, methods=[…])`` as a decorator).
    - ``cli``: a Typer app; its commands and groups show in ``baas --help``.
    - ``db``: `PluginDB`; ``events``: the engine's event bus (``app.events.listen(cb)``).
    - ``push``: push notifications (``await app.push.notify(user, payload)``; a provider plugin
      registers with ``app.push.provider(p)``; docs/push.md).
    - ``on_start(fn)`` / ``on_stop(fn)``: ``async def fn() -> None`` when the engine starts/stops.
    - ``collection(name)``, ``request_info(request)``, ``require_superuser(request)``,
      ``json(data, status)``: for route handlers.
    - ``run(fn, data_dir=…, db=…)``: for CLI commands, ``await fn(app)`` with a started engine.
    - ``console_page(name, title, directory)``: a page in the web console (docs/plugins.md).
    """

    def __init__(
        self,
        name: str,
        settings: dict[str, Any] | None = None,
        *,
        hooks: Hooks | None = None,
        engine: Engine | None = None,
        engine_factory: Callable[[Settings], Engine] | None = None,
    ) -> None:
        self.name = name
        self.settings: dict[str, Any] = dict(settings or {})
        self._engine = engine
        # What `run` starts: the CLI hands in the Engine class (this module cannot import baas.core,
        # which loads the plugins); an app bound to an engine starts another of the same kind.
        self._engine_factory = engine_factory or (type(engine) if engine is not None else None)
        self.hooks: Hooks = engine.hooks if engine is not None else (hooks or Hooks())
        self.db = PluginDB(self)
        self._routes: list[ControllerRouterHandler] = []
        self._cli: typer.Typer | None = None
        self._http: RouteHelpers | None = None  # attached by the server (`Loaded.serve`)
        self._console_pages: list[ConsolePage] = []

    # --- routes -----------------------------------------------------------------------------
    @overload
    def route(
        self, handler: str, *, methods: Iterable[str] = ...
    ) -> Callable[[Callable[..., Any]], HTTPRouteHandler]: ...

    @overload
    def route(
        self, handler: ControllerRouterHandler, *more: ControllerRouterHandler, methods: Iterable[str] = ...
    ) -> ControllerRouterHandler: ...

    def route(
        self, handler: str | ControllerRouterHandler, *more: ControllerRouterHandler, methods: Iterable[str] = ("GET",)
    ) -> Callable[[Callable[..., Any]], HTTPRouteHandler] | ControllerRouterHandler:
        """Add Litestar route handlers (``@get(...)``-decorated functions, Routers, Controllers),
        or, given a path, return a decorator that makes one: ``@app.route("/api/x", methods=["POST"])``."""
        if isinstance(handler, str):
            path = handler
            # Litestar checks the names itself (an unknown method is refused with its own message).
            http_method = cast("list[Method]", [m.upper() for m in methods])

            def decorate(fn: Callable[..., Any]) -> HTTPRouteHandler:
                h = make_route(path, http_method=http_method)(fn)
                self._routes.append(h)
                return h

            return decorate
        self._routes.extend([handler, *more])
        return handler

    # --- console ----------------------------------------------------------------------------
    def console_page(self, name: str, title: str, directory: str | Path, entry: str = "page.js") -> ConsolePage:
        """Add a page to the web console: ``directory`` holds the ES module ``entry`` (and whatever
        it imports: .js, .css, .svg, .png, .json), served at ``/_/plugins/<name>/``. The module
        exports ``render(main, params)`` like the console's own pages and may import
        ``/_/js/dom.js`` and ``/_/js/api.js``; the page is listed for superusers only and its data
        comes through the public API with their token, as everything in the console."""
        if not _PAGE_NAME.match(name):
            raise PluginError(f"plugin {self.name}: console page name {name!r}: use a-z, 0-9, - and _ (max 40)")
        folder = Path(directory).resolve()
        if (
            not (folder / entry).is_file()
            or not entry.endswith(".js")
            or not (folder / entry).resolve().is_relative_to(folder)
        ):
            raise PluginError(f"plugin {self.name}: console page {name!r}: no module {entry!r} in {folder}")
        if not title.strip():
            raise PluginError(f"plugin {self.name}: console page {name!r} needs a title")
        page = ConsolePage(name, title.strip(), folder, entry)
        self._console_pages.append(page)
        return page

    # --- CLI --------------------------------------------------------------------------------
    @property
    def cli(self) -> typer.Typer:
        """Commands added here (``@app.cli.command()``, ``app.cli.add_typer(group, name=…)``)
        become ``baas`` commands."""
        if self._cli is None:
            self._cli = typer.Typer()
        return self._cli

    def run(self, fn: Callable[[PluginApp], Awaitable[T]], *, data_dir: str = "baas_data", db: str = "") -> T:
        """For CLI commands: start an engine on ``data_dir``/``db`` (like ``baas serve --dir --db``),
        ``await fn(app)`` with ``app.db`` ready, stop it; return what ``fn`` returned."""
        new_engine = self._engine_factory
        if new_engine is None:
            raise RuntimeError(f"plugin {self.name}: app.run works in `baas` CLI commands only")

        async def go() -> T:
            eng = new_engine(Settings(data_dir=data_dir, db_url=db))
            await eng.start()
            try:
                return await fn(PluginApp(self.name, self.settings, engine=eng))
            finally:
                await eng.stop()

        return asyncio.run(go())

    # --- engine -----------------------------------------------------------------------------
    @property
    def events(self) -> EventBus:
        """The engine's event bus (every committed record change; see docs/events)."""
        if self._engine is None:
            raise RuntimeError("app.events is available in the server only")
        return self._engine.events

    @property
    def push(self) -> Any:
        """The engine's push service (`baas.push.Push`): ``notify(to, payload, …)``, ``provider(p)``."""
        if self._engine is None:
            raise RuntimeError("app.push is available in the server only")
        return self._engine.push

    def collection(self, name_or_id: str) -> Collection | None:
        """The current `Collection` by name or id (read-only), or None."""
        if self._engine is None:
            return None
        return self._engine.registry.get(name_or_id)

    def on_start(self, fn: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """Run ``await fn()`` once the engine has started (database ready): create your tables
        here, idempotently (``CREATE TABLE IF NOT EXISTS``). An error stops the server's start."""
        self._lifecycle(self.hooks.on_start, fn)
        return fn

    def on_stop(self, fn: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """Run ``await fn()`` before the engine closes its database."""
        self._lifecycle(self.hooks.on_stop, fn)
        return fn

    def _lifecycle(self, hook: Hook[LifecycleEvent], fn: Callable[[], Awaitable[None]]) -> None:
        async def handler(e: LifecycleEvent) -> None:
            await fn()
            await e.next()

        handler.__qualname__ = f"{self.name}.{getattr(fn, '__qualname__', 'handler')}"
        hook.bind(handler)

    # --- helpers for route handlers ---------------------------------------------------------
    @property
    def _route_helpers(self) -> RouteHelpers:
        if self._http is None:
            raise RuntimeError(f"plugin {self.name}: request helpers work in the server's route handlers only")
        return self._http

    async def request_info(self, request: Request[Any, Any, Any]) -> RequestInfo:
        """The requester of a Litestar request (``.auth`` None for guests; ``.is_superuser``),
        from its auth token or API key, as the record routes see it."""
        return await self._route_helpers.request_info(request)

    async def require_superuser(self, request: Request[Any, Any, Any]) -> RequestInfo:
        """The requester, if a superuser; else 401 (no auth) or 403, in PocketBase's shape."""
        req = await self.request_info(request)
        self._route_helpers.require_superuser(req)
        return req

    @staticmethod
    def json(data: Any, status: int = 200) -> Response[bytes]:
        """A JSON response (msgspec-encoded, as the API's own)."""
        return Response(content=_encoder.encode(data), status_code=status, media_type="application/json")


class Plugin:
    """Module-level registration: record hooks, routes and commands at import, applied to every
    app the module is loaded into (a module has this or ``register(app)``)."""

    def __init__(self) -> None:
        self._steps: list[Callable[[PluginApp], object]] = []

    def hook(self, point: str, *tags: str, priority: int = 0, id: str | None = None) -> Callable[[F], F]:
        """``@plugin.hook("on_record_create", "posts", priority=5)``."""
        if not hasattr(Hooks(), point):
            raise PluginError(f"no hook point {point!r} (see baas.hooks.Hooks)")

        def decorate(fn: F) -> F:
            self._steps.append(
                lambda app: getattr(app.hooks, point).bind(fn, priority=priority, id=id, tags=list(tags) or None)
            )
            return fn

        return decorate

    @overload
    def route(self, handler: str, *, methods: Iterable[str] = ...) -> Callable[[F], F]: ...

    @overload
    def route(
        self, handler: ControllerRouterHandler, *more: ControllerRouterHandler, methods: Iterable[str] = ...
    ) -> ControllerRouterHandler: ...

    def route(
        self, handler: str | ControllerRouterHandler, *more: ControllerRouterHandler, methods: Iterable[str] = ("GET",)
    ) -> Callable[[F], F] | ControllerRouterHandler:
        """As `PluginApp.route`, applied when the module is loaded into an app."""
        if isinstance(handler, str):
            path = handler

            def decorate(fn: F) -> F:
                self._steps.append(lambda app: app.route(path, methods=methods)(fn))
                return fn

            return decorate
        self._steps.append(lambda app: app.route(handler, *more))
        return handler

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        """``@plugin.command("name")``: a ``baas`` CLI command (Typer)."""

        def decorate(fn: F) -> F:
            self._steps.append(lambda app: app.cli.command(*args, **kwargs)(fn))
            return fn

        return decorate

    def console_page(self, name: str, title: str, directory: str | Path, entry: str = "page.js") -> None:
        """As `PluginApp.console_page`, applied when the module is loaded into an app."""
        self._steps.append(lambda app: app.console_page(name, title, directory, entry))

    def on_start(self, fn: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """As `PluginApp.on_start`."""
        self._steps.append(lambda app: app.on_start(fn))
        return fn

    def on_stop(self, fn: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """As `PluginApp.on_stop`."""
        self._steps.append(lambda app: app.on_stop(fn))
        return fn

    def apply(self, app: PluginApp) -> None:
        """Run the module's registrations on ``app``."""
        for step in self._steps:
            step(app)
