"""The engine without HTTP: the one service hub, as PocketBase's ``core.App``. The server and
the CLI both start one; every service is a typed attribute created in `Engine.__init__`
(see docs/architecture.md)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from baas.auth.apikeys import KeyUse
from baas.auth.mail import Mailer
from baas.auth.throttle import LoginThrottle
from baas.db import Database, open_database
from baas.db.cache import QueryCache
from baas.db.migrate import migrate
from baas.errors import SchemaError
from baas.events import EventBus
from baas.files import FileService
from baas.functions import Functions
from baas.functions.inbound import InboundWebhooks
from baas.hooks import Hooks, LifecycleEvent
from baas.jobs import Scheduler
from baas.limiter import Limiter
from baas.logs import RequestLog
from baas.metrics import Metrics
from baas.planner import Plan, apply_plan, make_plan, plan_jobs
from baas.plugin_loader import Loaded, load_plugins
from baas.push import Push
from baas.realtime import Broker
from baas.records.query import Reader
from baas.rules.context import SUPERUSER, RequestInfo
from baas.schema import defaults
from baas.schema.ddl import VERSION_TRIGGERS_SQL, data_version_triggers
from baas.schema.loader import load_schema
from baas.schema.model import Collection
from baas.schema.registry import Registry
from baas.schema.validate import field_error_message
from baas.secret import install_secret
from baas.settings import Settings
from baas.settings_store import SettingsStore
from baas.tasks import TaskGroup
from baas.webhooks import Webhooks

log = logging.getLogger("baas")


class Engine:
    """The service hub: the database, the schema registry, the signing secret and every service
    built on them. Services are created here, once, and nowhere else."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings  # the process's settings (env / CLI); the stored ones: settings_store
        self.db: Database = open_database(
            settings.database_url, readers=settings.readers, timeout=settings.query_timeout
        )
        self.registry = Registry()
        # API reads answered from memory while no write touched what they read (docs/cache.md)
        self.cache = QueryCache(
            self.db, self._cache_target, max_bytes=settings.cache_mb << 20, min_seconds=settings.cache_min_us / 1e6
        )
        self._cache_targets: dict[str, tuple[str, bool]] = {}  # see _load_cache_targets
        self.hooks = Hooks()  # record, auth and lifecycle hook chains (baas/hooks.py); plugins bind here
        self.events = EventBus(self.db)  # the durable event stream, tailed in this process
        self.settings_store = SettingsStore(self.db)  # /api/settings, kept in _params
        self.limiter = Limiter()  # rate-limit rules and counters of this process
        self.files = FileService(self.settings_store, settings.data_dir)  # local disk or S3, thumbnails
        self.mailer = Mailer(settings.data_dir)  # SMTP, or the dev mailbox under the data dir
        self.throttle = LoginThrottle()  # failed sign-ins per identity
        self.apikey_use = KeyUse()  # when this engine last wrote each API key's lastUsed
        self.tasks = TaskGroup()  # work after the response (mails); drained before the database closes
        self.realtime = Broker(self)  # SSE subscriptions fed by the event stream; started with the engine
        self.plugins = Loaded()  # none until load_plugins(): the server and some CLI commands load them
        # A settings change made in this process reaches its services at once.
        self.settings_store.listen(self.limiter.apply)
        self.settings_store.listen(self.files.invalidate)
        self.functions = Functions(self)  # callable functions (baas/functions), filled as plugins load
        self.jobs = Scheduler(self)  # scheduled jobs of baas.yaml (baas/jobs); ticks only once attached
        self.webhooks = Webhooks(self)  # outgoing webhooks (baas/webhooks); send only once attached
        self.push = Push(self)  # push notifications (baas/push); sent only once attached
        self.inbound = InboundWebhooks(self)  # POST /api/webhooks/in/{name} of baas.yaml (baas/functions/inbound.py)
        self.metrics = Metrics()  # what GET /metrics reports (baas/metrics.py)
        self.request_log = RequestLog(self)  # every answered API request, for /api/logs (baas/logs)
        self._plugins_loaded = False
        self.secret = ""
        self._watch: asyncio.Task[None] | None = None
        self._schema_lock = asyncio.Lock()
        # One reload at a time, and the mark moves only once the registry is loaded: a request that
        # asks for a refresh while the watcher is mid-reload waits for it instead of seeing old names.
        self._reload_lock = asyncio.Lock()
        self._schema_mark: int | None = None  # the newest _schema_history id this process has loaded
        self.schema_plan: Plan | None = None  # what start() applied from settings.schema_file

    async def start(self) -> None:
        self.jobs.load()  # checked before anything is applied: a bad job leaves nothing half-done
        self.webhooks.read_file()  # the same for webhooks; their collections are checked below
        self.inbound.load()
        Path(self.settings.data_dir).mkdir(parents=True, exist_ok=True)
        await migrate(self.settings.database_url)
        await self.db.connect()
        self.metrics.db_load = self.db.load
        self.metrics.cache_stats = self.cache.stats
        self.events.on_delivered = self.metrics.event_delivered
        self.secret = await install_secret(self.db, self.settings.data_dir)  # shared by the nodes of a database
        await self.registry.load(self.db)
        await self.request_log.start()
        if not self.registry.all():  # a new install: superusers and a users collection
            await self.apply([defaults.superusers(), defaults.users()], source="install")
        elif self.registry.get("_superusers") is None:
            await self.apply([*self.registry.all(), defaults.superusers()], source="install")
        if self.settings.schema_file:
            plan = await self.plan_file(self.settings.schema_file)
            self.webhooks.check(load_schema(self.settings.schema_file).collections)
            if plan.destructive and not self.settings.accept_data_loss:
                raise SchemaError(
                    f"{self.settings.schema_file}: the schema would lose data:\n{plan.describe()}\n"
                    "Start with --accept-data-loss to apply it anyway."
                )
            await apply_plan(self.db, plan, accept_data_loss=True, source=self.settings.schema_file)
            await self.registry.load(self.db)
            self.schema_plan = plan
        else:
            self.webhooks.check()
        await self.webhooks.sync()  # shared by every process: the catalog the dispatcher reads
        await self._load_registry()
        self._watch = asyncio.create_task(self._watch_schema(), name="schema-watch")
        await self.events.start()
        await self.realtime.start()  # before the plugins' on_start: their work may publish events
        if self.hooks.on_start.bound:  # plugins' startup work (their own tables, caches …)
            await self.hooks.on_start.trigger(LifecycleEvent("start"))

    async def stop(self) -> None:
        await self.realtime.stop()  # SSE streams end first, so clients reconnect elsewhere
        if self.hooks.on_stop.bound:
            try:
                await self.hooks.on_stop.trigger(LifecycleEvent("stop"))
            except Exception:  # shutting down regardless: the database must still be closed
                log.exception("on_stop hook failed")
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        await self.events.stop()
        await self.tasks.drain()  # mails still being sent read the database: let them finish first
        await self.request_log.stop()  # the last requests' entries, streams' included
        await self.db.close()

    async def _mark(self) -> int | None:
        mark: int | None = await self.db.fetchval('SELECT max("id") FROM "_schema_history"')
        return mark

    async def _watch_schema(self) -> None:
        """Pick up schema changes made by other processes or nodes (granian workers, a second
        server on the same PostgreSQL) within about a second."""
        while True:
            await asyncio.sleep(1.0)
            try:
                await self._refresh_schema()
            except asyncio.CancelledError:
                raise
            except Exception:  # a transient database error: try again on the next tick
                log.warning("schema watch failed", exc_info=True)

    def load_plugins(self) -> Loaded:
        """Discover the plugins and let each register on this engine (once, before `start`; their
        routes go into the app being built)."""
        if not self._plugins_loaded:
            self.plugins = load_plugins(self)
            self._plugins_loaded = True
        return self.plugins

    def reader(self, req: RequestInfo | None = None) -> Reader:
        return Reader(self.db, self.registry, req or SUPERUSER, self.secret)

    async def plan(self, wanted: list[Collection], *, prune: bool = False) -> Plan:
        return await make_plan(self.db, self.registry.all(), wanted, prune=prune)

    async def plan_file(self, path: str) -> Plan:
        schema = load_schema(path)
        try:
            plan = await self.plan(schema.collections)
            await plan_jobs(self.db, plan, schema.jobs)  # the jobs part: shown and recorded like the rest
            return plan
        except SchemaError as exc:
            detail = field_error_message(exc.errors) if exc.errors else exc.message
            lines = schema.lines
            line = next((lines[name] for name in exc.errors if lines.get(name)), None)
            raise SchemaError(detail, path=path, line=line) from None

    async def apply(
        self,
        wanted: list[Collection] | Callable[[], list[Collection]],
        *,
        prune: bool = False,
        accept_data_loss: bool = False,
        source: str = "api",
    ) -> Plan:
        """Plan and apply a schema change. ``wanted`` may be a function of the current registry,
        called under the schema lock, so concurrent changes in this process build on each other."""
        async with self._schema_lock:
            await self._refresh_schema()
            target = wanted() if callable(wanted) else wanted
            plan = await self.plan(target, prune=prune)
            await apply_plan(self.db, plan, accept_data_loss=accept_data_loss, source=source)
            async with self._reload_lock:
                await self._load_registry()
        return plan

    async def refresh_schema(self) -> None:
        """Load the schema again if another process or node changed it."""
        await self._refresh_schema()

    async def _refresh_schema(self) -> None:
        if await self._mark() == self._schema_mark:
            return  # the common case, without queueing behind a reload (the mark moves only after one)
        async with self._reload_lock:
            if await self._mark() != self._schema_mark:
                await self.db.schema_changed()
                await self._load_registry()

    async def _load_registry(self) -> None:
        """Load the registry and remember the schema mark it covers. The mark is read first: a change
        landing between the two is loaded again on the next refresh, never missed."""
        mark = await self._mark()
        await self.registry.load(self.db)
        await self._load_cache_targets()
        self.cache.loaded(mark)
        self._schema_mark = mark

    async def _load_cache_targets(self) -> None:
        """What the query cache may keep: collections by lower-case name (SQL names are not case
        sensitive), cacheable when a table with data-version triggers holds their rows (not a view,
        not ``cache: false``, not a table made without triggers by hand or by an older version)."""
        rows = await self.db.fetch(VERSION_TRIGGERS_SQL[self.db.dialect])
        triggers = {(str(r[0]), str(r[1])) for r in rows}
        targets: dict[str, tuple[str, bool]] = {}
        for c in self.registry.all():
            tracked = all((c.name, t) in triggers for t in data_version_triggers(c, self.db.dialect))
            targets[c.name.lower()] = (c.id, tracked and c.type != "view" and c.cache is not False)
        self._cache_targets = targets

    def _cache_target(self, name: str) -> tuple[str, bool] | None:
        """The query cache's view of a name in a statement: (collection id, may be cached)."""
        return self._cache_targets.get(name.lower())
