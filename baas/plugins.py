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
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable, Sequence

from baas.hooks import Hooks, LifecycleEvent

if TYPE_CHECKING:
    import typer

    from baas.core import Engine
    from baas.rules.context import RequestInfo
    from baas.schema.model import Collection

GROUP = "baas.plugins"  # the entry point group (discovery: baas/plugin_loader.py)


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
    def _db(self) -> Any:
        eng = self._app._engine
        if eng is None:
            raise RuntimeError("app.db is not available here: use it in hooks, routes and on_start "
                               "(in CLI commands: app.run(fn, data_dir=…, db=…))")
        return eng.db

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._db.dialect

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return await self._db.fetch(sql, params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        return await self._db.fetchone(sql, params)

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return await self._db.fetchval(sql, params)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement in its own transaction; the number of rows it changed."""
        return await self._db.write(lambda conn: conn.execute(sql, params))

    async def write(self, fn: Callable[[Any], Awaitable[Any]], *, heavy: bool = False) -> Any:
        """``fn(conn)`` in one transaction (``heavy=True`` for DDL and bulk work)."""
        return await self._db.write(fn, heavy=heavy)


class PluginApp:
    """What ``register(app)`` receives: the public plugin API.

    - ``name``: the plugin's module name; ``settings``: its settings section (a dict).
    - ``hooks``: the hook points (`baas.hooks.Hooks`).
    - ``route(handler)``: add Litestar route handlers (or ``route(path, methods=[…])`` as a decorator).
    - ``cli``: a Typer app; its commands and groups show in ``baas --help``.
    - ``db``: `PluginDB`; ``events``: the engine's event bus (``app.events.listen(cb)``).
    - ``on_start(fn)`` / ``on_stop(fn)``: ``async def fn() -> None`` when the engine starts/stops.
    - ``collection(name)``, ``request_info(request)``, ``require_superuser(request)``,
      ``json(data, status)``: for route handlers.
    - ``run(fn, data_dir=…, db=…)``: for CLI commands, ``await fn(app)`` with a started engine.
    """

    def __init__(self, name: str, settings: dict[str, Any] | None = None, *, hooks: Hooks | None = None,
                 engine: Engine | None = None) -> None:
        self.name = name
        self.settings: dict[str, Any] = dict(settings or {})
        self._engine = engine
        self.hooks: Hooks = engine.hooks if engine is not None else (hooks or Hooks())
        self.db = PluginDB(self)
        self._routes: list[Any] = []
        self._cli: typer.Typer | None = None

    # --- routes -----------------------------------------------------------------------------
    def route(self, handler: Any, *more: Any, methods: Iterable[str] = ("GET",)) -> Any:
        """Add Litestar route handlers (``@get(...)``-decorated functions, Routers, Controllers),
        or, given a path, return a decorator that makes one: ``@app.route("/api/x", methods=["POST"])``."""
        if isinstance(handler, str):
            from litestar import route as make_route

            path = handler

            def decorate(fn: Callable[..., Any]) -> Any:
                h = make_route(path, http_method=[m.upper() for m in methods])(fn)
                self._routes.append(h)
                return h
            return decorate
        self._routes.extend([handler, *more])
        return handler

    # --- CLI --------------------------------------------------------------------------------
    @property
    def cli(self) -> typer.Typer:
        """Commands added here (``@app.cli.command()``, ``app.cli.add_typer(group, name=…)``)
        become ``baas`` commands."""
        if self._cli is None:
            import typer

            self._cli = typer.Typer()
        return self._cli

    def run(self, fn: Callable[[PluginApp], Awaitable[Any]], *, data_dir: str = "baas_data", db: str = "") -> Any:
        """For CLI commands: start an engine on ``data_dir``/``db`` (like ``baas serve --dir --db``),
        ``await fn(app)`` with ``app.db`` ready, stop it; return what ``fn`` returned."""
        from baas.core import Engine
        from baas.settings import Settings

        async def go() -> Any:
            eng = Engine(Settings(data_dir=data_dir, db_url=db))
            await eng.start()
            try:
                return await fn(PluginApp(self.name, self.settings, engine=eng))
            finally:
                await eng.stop()

        return asyncio.run(go())

    # --- engine -----------------------------------------------------------------------------
    @property
    def events(self) -> Any:
        """The engine's event bus (every committed record change; see docs/events)."""
        if self._engine is None:
            raise RuntimeError("app.events is available in the server only")
        return self._engine.events

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

    def _lifecycle(self, hook: Any, fn: Callable[[], Awaitable[None]]) -> None:
        async def handler(e: LifecycleEvent) -> None:
            await fn()
            await e.next()

        handler.__qualname__ = f"{self.name}.{getattr(fn, '__qualname__', 'handler')}"
        hook.bind(handler)

    # --- helpers for route handlers ---------------------------------------------------------
    async def request_info(self, request: Any) -> RequestInfo:
        """The requester of a Litestar request (``.auth`` None for guests; ``.is_superuser``),
        from its auth token or API key, as the record routes see it."""
        from baas.api.deps import request_info

        return await request_info(request)

    async def require_superuser(self, request: Any) -> RequestInfo:
        """The requester, if a superuser; else 401 (no auth) or 403, in PocketBase's shape."""
        from baas.api.deps import require_superuser

        req = await self.request_info(request)
        require_superuser(req)
        return req

    @staticmethod
    def json(data: Any, status: int = 200) -> Any:
        """A JSON response (msgspec-encoded)."""
        from baas.api.deps import json_response

        return json_response(data, status)


class Plugin:
    """Module-level registration: record hooks, routes and commands at import, applied to every
    app the module is loaded into (a module has this or ``register(app)``)."""

    def __init__(self) -> None:
        self._steps: list[Callable[[PluginApp], Any]] = []

    def hook(self, point: str, *tags: str, priority: int = 0, id: str | None = None) -> Callable[[Any], Any]:
        """``@plugin.hook("on_record_create", "posts", priority=5)``."""
        if not hasattr(Hooks(), point):
            raise PluginError(f"no hook point {point!r} (see baas.hooks.Hooks)")

        def decorate(fn: Any) -> Any:
            self._steps.append(lambda app: getattr(app.hooks, point).bind(fn, priority=priority, id=id,
                                                                          tags=list(tags) or None))
            return fn
        return decorate

    def route(self, handler: Any, *more: Any, methods: Iterable[str] = ("GET",)) -> Any:
        if isinstance(handler, str):
            def decorate(fn: Any) -> Any:
                self._steps.append(lambda app: app.route(handler, methods=methods)(fn))
                return fn
            return decorate
        self._steps.append(lambda app: app.route(handler, *more))
        return handler

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        """``@plugin.command("name")``: a ``baas`` CLI command (Typer)."""
        def decorate(fn: Any) -> Any:
            self._steps.append(lambda app: app.cli.command(*args, **kwargs)(fn))
            return fn
        return decorate

    def on_start(self, fn: Any) -> Any:
        self._steps.append(lambda app: app.on_start(fn))
        return fn

    def on_stop(self, fn: Any) -> Any:
        self._steps.append(lambda app: app.on_stop(fn))
        return fn

    def apply(self, app: PluginApp) -> None:
        for step in self._steps:
            step(app)
