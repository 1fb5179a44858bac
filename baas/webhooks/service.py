"""``Engine.webhooks``: outgoing webhooks (docs/webhooks.md) — the declared ones synced from
``baas.yaml``, the API's CRUD, the delivery log, replays and test sends; and, in ``baas serve``,
the dispatcher (fan-out of the event stream) and the worker (sending) as background tasks."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from baas.errors import BadRequest, NotFound, SchemaError
from baas.hooks import LifecycleEvent
from baas.ids import format_dt, new_id, parse_dt
from baas.rules import RuleError, parse
from baas.schema.loader import load_schema
from baas.schema.model import Collection
from baas.schema.webhooks import Webhook, to_config, webhook_problem
from baas.webhooks import store
from baas.webhooks.catalog import Catalog, Entry, check_against_schema, compile_for, special_problem
from baas.webhooks.dispatch import CONSUMER, Dispatcher
from baas.webhooks.http import HEADER_MASK, MaskWithoutValue, unmask_headers
from baas.webhooks.payload import test_body
from baas.webhooks.worker import Worker, env_float

if TYPE_CHECKING:
    from baas.core import Engine

log = logging.getLogger("baas.webhooks")
_encode = msgspec.json.Encoder().encode
REPLAY_LIMIT = 10_000  # deliveries one range replay may create


class Webhooks:
    """The engine's webhooks; background work only once attached (``baas serve``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.catalog = Catalog()
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{new_id(6)}"
        self.log_days = env_float("BAAS_WEBHOOKS_LOG_DAYS", 30.0)
        self.dispatcher = Dispatcher(self)
        self.worker = Worker(self)
        self.declared: list[Webhook] = []
        self._lines: dict[str, int | None] = {}
        self._path = ""
        self._tasks: list[asyncio.Task[None]] = []
        self._reload = asyncio.Event()

    # -- configuration -------------------------------------------------------------------------
    def read_file(self) -> None:
        """The webhooks of the project's ``baas.yaml`` (syntax checked by the loader)."""
        s = self.engine.settings
        path = s.project_file or s.schema_file
        self.declared, self._lines, self._path = [], {}, path or ""
        if path and Path(path).is_file():
            schema = load_schema(path)
            self.declared, self._lines = list(schema.webhooks), dict(schema.webhook_lines)

    def check(self, planned: list[Collection] | None = None) -> None:
        """Check the declared webhooks against the schema about to be applied (``planned``) or the
        applied one; a problem names the webhook and its line, before anything is applied."""
        eng = self.engine
        extra = {c.name: c for c in planned or []}
        for hook in self.declared:
            problem = webhook_problem(hook, check_env=True) or _schema_problem(hook, eng, extra)
            if problem:
                raise SchemaError(f"webhook {hook.name!r}: {problem}", path=self._path, line=self._lines.get(hook.name))

    async def sync(self) -> None:
        """Store the declared webhooks (shared by every process) and load the catalog."""
        await store.sync_declared(
            self.engine.db, {h.name: (_encode(to_config(h)).decode(), h.enabled) for h in self.declared}
        )
        await self.catalog.reload(self.engine)
        await self._register()

    async def _register(self) -> None:
        """Register the dispatcher's consumer once a webhook exists, so events from now on are kept
        for it even before a dispatcher runs (a new consumer starts "now")."""
        if self.catalog.entries:
            await self.engine.events.consumer(CONSUMER).position()

    def catalog_changed(self) -> None:
        self._reload.set()

    # -- lifecycle -----------------------------------------------------------------------------
    def attach(self) -> None:
        """Dispatch and send while the engine runs (``baas serve``); CLI engines never call this."""

        async def started(e: LifecycleEvent) -> None:
            self.start()
            await e.next()

        async def stopping(e: LifecycleEvent) -> None:
            await self.stop()
            await e.next()

        self.engine.hooks.on_start.bind(started, id="baas.webhooks.start")
        self.engine.hooks.on_stop.bind(stopping, id="baas.webhooks.stop", priority=-100)

    def start(self) -> None:
        if self._tasks:
            return
        self._tasks = [asyncio.create_task(self._watch(), name="webhooks-catalog")]
        # BAAS_WEBHOOKS_SEND=0: this process serves the API but leaves fanning out and sending to
        # the other processes or nodes (say, one node dedicated to deliveries).
        if os.environ.get("BAAS_WEBHOOKS_SEND", "1").strip().lower() not in ("0", "false", "no"):
            self._tasks += [
                asyncio.create_task(self.dispatcher.run(), name="webhooks-dispatch"),
                asyncio.create_task(self.worker.run(), name="webhooks-send"),
            ]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            try:
                await t
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks = []

    async def _watch(self) -> None:
        """Reload the catalog every second (other processes change it too) and prune the log hourly."""
        pruned = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.catalog.reload(self.engine)
                if loop.time() - pruned > 3600:
                    pruned = loop.time()
                    await store.prune(self.engine.db, self.log_days)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("webhooks: reloading failed", exc_info=True)
            self._reload.clear()
            try:
                async with asyncio.timeout(1.0):
                    await self._reload.wait()
            except TimeoutError:
                pass

    # -- the API's operations ------------------------------------------------------------------
    async def all(self) -> list[dict[str, Any]]:
        await self.catalog.reload(self.engine)
        return [_view(name, e) for name, e in sorted(self.catalog.entries.items())]

    async def get(self, name: str) -> dict[str, Any]:
        return _view(name, await self._entry(name))

    async def _entry(self, name: str) -> Entry:
        await self.catalog.reload(self.engine)
        entry = self.catalog.entries.get(name)
        if entry is None:
            raise NotFound("Missing webhook.")
        return entry

    async def create(self, body: object) -> dict[str, Any]:
        if isinstance(body, dict):
            body = {**body, "headers": _keep_headers(body.get("headers"), {})}
        hook = self._validate(body)
        if not await store.create_webhook(self.engine.db, hook.name, _encode(to_config(hook)).decode(), hook.enabled):
            raise BadRequest(f"webhook {hook.name!r}: the name is taken", {"name": _field("taken", "Name taken.")})
        await self.catalog.reload(self.engine)
        await self._register()
        self.catalog_changed()
        return await self.get(hook.name)

    async def update(self, name: str, body: object) -> dict[str, Any]:
        entry = await self._entry(name)
        if not isinstance(body, dict):
            raise BadRequest("The body must be a JSON object.")
        if entry.source == "yaml":
            if set(body) - {"enabled"} or not isinstance(body.get("enabled"), bool):
                raise BadRequest(
                    f"webhook {name!r} is declared in baas.yaml: change it there (over the API only "
                    '{"enabled": true|false} can be set)'
                )
            await store.update_webhook(self.engine.db, name, None, body["enabled"])
        else:
            merged = {**to_config(entry.hook), **body, "name": name}
            if "headers" in body:
                merged["headers"] = _keep_headers(body["headers"], entry.hook.headers)
            hook = self._validate(merged)
            await store.update_webhook(self.engine.db, name, _encode(to_config(hook)).decode(), hook.enabled)
        self.catalog_changed()
        return await self.get(name)

    async def delete(self, name: str) -> None:
        entry = await self._entry(name)
        if entry.source == "yaml":
            raise BadRequest(f"webhook {name!r} is declared in baas.yaml: remove it there")
        await store.delete_webhook(self.engine.db, name)
        self.catalog_changed()

    def _validate(self, body: object) -> Webhook:
        if not isinstance(body, dict):
            raise BadRequest("The body must be a JSON object.")
        label = body.get("name") if isinstance(body.get("name"), str) else "?"
        try:
            hook = msgspec.convert(body, Webhook)
        except msgspec.ValidationError as exc:
            raise BadRequest(f"webhook {label!r}: {exc}") from None
        problem = webhook_problem(hook, check_env=True) or _schema_problem(hook, self.engine, {})
        if problem:
            raise BadRequest(f"webhook {hook.name!r}: {problem}")
        return hook

    async def deliveries(
        self, name: str, *, state: str = "", page: int = 1, per_page: int = 30
    ) -> list[dict[str, Any]]:
        await self._entry(name)
        rows = await store.deliveries(self.engine.db, name, state=state, limit=per_page, offset=(page - 1) * per_page)
        return [_delivery_view(d) for d in rows]

    async def replay(self, name: str, delivery_id: str) -> dict[str, Any]:
        """Send a delivery again, as a new delivery (its own webhook-id) with the same body."""
        await self._entry(name)
        old = await store.delivery(self.engine.db, name, delivery_id)
        if old is None:
            raise NotFound("Missing delivery.")
        row = store.delivery_row(name, "replay", old["type"], old["payload"], replay_of=old["id"])
        await store.insert(self.engine.db, [row])
        self.worker.wake()
        return {"id": row["id"], "replayOf": old["id"]}

    async def replay_range(self, name: str, body: object) -> dict[str, Any]:
        """Replay every event delivery created between ``from`` and ``to`` (inclusive)."""
        await self._entry(name)
        if not isinstance(body, dict):
            raise BadRequest("The body must be a JSON object with from and to.")
        start = parse_dt(str(body.get("from", "")))
        end = parse_dt(str(body.get("to", ""))) if body.get("to") else store.now()
        if start is None or end is None or end < start:
            raise BadRequest("from and to must be dates (from <= to), like 2026-01-02 03:04:05Z.")
        old = await store.in_range(self.engine.db, name, format_dt(start), format_dt(end), REPLAY_LIMIT)
        rows = [store.delivery_row(name, "replay", d["type"], d["payload"], replay_of=d["id"]) for d in old]
        await store.insert(self.engine.db, rows)
        self.worker.wake()
        return {"replayed": len(rows)}

    async def send_test(self, name: str) -> dict[str, Any]:
        await self._entry(name)
        stamp = format_dt(store.now())
        row = store.delivery_row(name, "test", "webhook.test", "", stamp=stamp)
        row["payload"] = test_body(name, stamp, row["id"]).decode()
        await store.insert(self.engine.db, [row])
        self.worker.wake()
        return {"id": row["id"]}


def _schema_problem(hook: Webhook, eng: Engine, planned: dict[str, Collection]) -> str | None:
    """Like `check_against_schema`, with the collections of ``planned`` (about to be applied) first."""
    if hook.filter.strip():
        try:
            parse(hook.filter)
        except RuleError as exc:
            return f"filter syntax error: {exc}"
    if not planned:
        return check_against_schema(hook, eng)
    problem = special_problem(hook)
    if problem:
        return problem

    def lookup(name: str) -> Collection | None:
        return planned.get(name) or eng.registry.get(name)

    for name in sorted(hook.collections()):
        coll = lookup(name)
        if coll is None or coll.name != name:
            return f"unknown collection {name!r} in events"
        if hook.filter.strip():
            try:
                compile_for(hook, coll, lookup, eng.db.dialect)
            except RuleError as exc:
                return f"filter does not fit collection {name!r}: {exc}"
    return None


def _field(code: str, message: str) -> dict[str, str]:
    return {"code": f"validation_{code}", "message": message}


def _keep_headers(sent: object, stored: dict[str, str]) -> object:
    """``headers`` as sent, a value equal to `HEADER_MASK` replaced by the stored value of that
    header (the API answers masks, so a client that sends the view back keeps the values)."""
    if not isinstance(sent, dict):
        return {} if sent is None else sent  # a wrong type is reported by the validation
    try:
        return unmask_headers(sent, stored)
    except MaskWithoutValue as exc:
        raise BadRequest(str(exc), {"headers": _field("invalid_value", "Type the header's value.")}) from None


def _view(name: str, e: Entry) -> dict[str, Any]:
    """A webhook as the API shows it: never a secret."""
    h = e.hook
    return {
        "id": name,
        "name": name,
        "url": h.url,
        "events": h.events,
        "filter": h.filter,
        "headers": {k: HEADER_MASK for k in h.headers},  # values may be credentials: write-only
        "enabled": e.enabled,
        "timeout": h.timeout,
        "retryWindow": h.retryWindow,
        "disableAfter": h.disableAfter,
        "allowPrivate": h.allowPrivate,
        "previousSecretUntil": h.previousSecretUntil if h.previousSecret else "",
        "source": e.source,
        "failures": e.failures,
        "disabledReason": e.disabled_reason,
        "created": e.created,
        "updated": e.updated,
    }


def _delivery_view(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": d["id"],
        "webhook": d["webhook"],
        "origin": d["origin"],
        "eventId": d["event_id"],
        "type": d["type"],
        "state": d["state"],
        "attempts": d["attempts"],
        "nextAttempt": d["next_attempt"] if d["state"] == "pending" else "",
        "lastStatus": d["last_status"],
        "lastError": d["last_error"],
        "replayOf": d["replay_of"],
        "created": d["created"],
        "updated": d["updated"],
        "log": [
            {
                "attempt": a["attempt"],
                "at": a["started"],
                "status": a["status"],
                "latencyMs": a["latency_ms"],
                "response": a["response"],
                "error": a["error"],
            }
            for a in d.get("attempt_log", [])
        ],
    }
