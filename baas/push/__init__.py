"""``Engine.push``: push notifications (docs/push.md).

Users register their devices (``/api/push/subscriptions``: a browser's Web Push subscription, or a
provider plugin's token) and set their preferences (opt out of everything, or mute topics).
Server code calls ``notify(to, payload)`` — hooks as ``app.push``, functions, jobs and inbound
webhooks as ``ctx.push`` — and superusers ``POST /api/push/send``. A message becomes one delivery
per device in the transaction that accepts it (`baas.push.store`); in ``baas serve`` every process
claims and sends due deliveries (`baas.push.worker`), retries what may succeed later, and removes a
device its push service says is gone (404/410). The deliveries stay as the log.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from typing import TYPE_CHECKING, Any

import httpx

from baas.errors import BadRequest, FieldError, Forbidden, NotFound, Unauthorized
from baas.hooks import LifecycleEvent
from baas.ids import new_id
from baas.push import store
from baas.push.providers import (
    MAX_PAYLOAD,
    URGENCIES,
    Message,
    Outcome,
    Provider,
    Subscription,
    WebPush,
    collapse_ok,
)
from baas.push.vapid import Vapid, load
from baas.push.worker import Worker
from baas.records.query import ListParams, list_records
from baas.rules.context import SUPERUSER, RequestInfo
from baas.rules.scopes import APIKEYS
from baas.webhooks.http import checked_client
from baas.webhooks.worker import env_float

if TYPE_CHECKING:
    from baas.core import Engine

__all__ = ["Message", "Outcome", "Provider", "Push", "Subscription"]

MAX_TTL = 28 * 86400  # what push services keep at most
MAX_DEVICES = 20  # per user; past it the least recently registered go
MAX_RECIPIENTS = 10_000  # users one notify may reach: its deliveries are written in one transaction
_TOPIC_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def _topic_problem(topic: Any) -> str | None:
    if not isinstance(topic, str) or len(topic) > 64 or not set(topic) <= _TOPIC_CHARS:
        return "topic must be up to 64 letters, digits, '_', '.' or '-'"
    return None


def _bad(field: str, message: str) -> BadRequest:
    return BadRequest(f"Invalid {field}: {message}.", {field: FieldError("validation_invalid_value", message)})


def _page(items: list[dict[str, Any]], total: int, page: int, per_page: int) -> dict[str, Any]:
    """A list page in the records API's shape."""
    return {"page": page, "perPage": per_page, "totalItems": total, "totalPages": -(-total // per_page), "items": items}


def owner_of(req: RequestInfo) -> tuple[str, str]:
    """The signed-in auth record as (collection id, record id); 401 for guests."""
    auth = req.auth or {}
    if auth.get("collectionName") == APIKEYS:
        raise Forbidden("Push devices and preferences belong to users: an API key cannot manage them.")
    if not auth.get("id") or not auth.get("collectionId"):
        raise Unauthorized("The request requires valid record authorization token.")
    return str(auth["collectionId"]), str(auth["id"])


class Push:
    """The engine's push service; sends only once attached (``baas serve``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{new_id(6)}"
        self.log_days = env_float("BAAS_PUSH_LOG_DAYS", 30.0)
        self.providers: dict[str, Provider] = {}
        self._vapid: Vapid | None = None
        self._vapid_lock = asyncio.Lock()
        self.client: httpx.AsyncClient | None = None
        self.worker = Worker(self)
        self.provider(WebPush(self.vapid, self.subject, self._http))
        self._task: asyncio.Task[None] | None = None

    # -- configuration -------------------------------------------------------------------------
    def provider(self, provider: Provider) -> Provider:
        """Add a provider (a plugin's FCM, APNs …); its ``name`` is what subscriptions name."""
        if not getattr(provider, "name", "") or not isinstance(provider.name, str):
            raise ValueError("a push provider needs a name")
        self.providers[provider.name] = provider
        return provider

    async def vapid(self) -> Vapid:
        """The install's VAPID key pair (made on first use)."""
        if self._vapid is None:
            async with self._vapid_lock:
                if self._vapid is None:
                    self._vapid = await load(self.engine.db, self.engine.secret)
        return self._vapid

    async def subject(self) -> str:
        """VAPID's ``sub``: ``BAAS_PUSH_SUBJECT``, else the mail sender's address, else the app URL."""
        configured = os.environ.get("BAAS_PUSH_SUBJECT", "").strip()
        if configured:
            return configured
        stored = self.engine.settings_store
        meta = (stored.cached or await stored.load()).get("meta", {})
        sender = str(meta.get("senderAddress") or "")
        if sender:
            return f"mailto:{sender}"
        return str(meta.get("appURL") or "mailto:admin@localhost")

    def _http(self) -> httpx.AsyncClient:
        """One client, made on first use (loading the CA bundle costs CPU a server that never sends
        should not pay)."""
        if self.client is None:
            self.client = checked_client(self.worker.concurrency)
        return self.client

    # -- lifecycle -----------------------------------------------------------------------------
    def attach(self) -> None:
        """Send while the engine runs (``baas serve``; ``BAAS_PUSH_SEND=0`` leaves it to other processes)."""

        async def started(e: LifecycleEvent) -> None:
            if os.environ.get("BAAS_PUSH_SEND", "1").strip().lower() not in ("0", "false", "no"):
                self._task = asyncio.create_task(self.worker.run(), name="push-send")
            await e.next()

        async def stopping(e: LifecycleEvent) -> None:
            if self._task is not None:
                self._task.cancel()
                try:
                    await self._task
                except (asyncio.CancelledError, Exception):
                    pass
                self._task = None
            if self.client is not None:
                await self.client.aclose()
                self.client = None
            await e.next()

        self.engine.hooks.on_start.bind(started, id="baas.push.start")
        self.engine.hooks.on_stop.bind(stopping, id="baas.push.stop", priority=-100)

    # -- devices -------------------------------------------------------------------------------
    async def subscribe(self, req: RequestInfo, body: dict[str, Any]) -> dict[str, Any]:
        """Register the requester's device from a browser's ``PushSubscription.toJSON()`` (plus an
        optional ``label``; ``provider`` for a plugin's devices)."""
        owner = owner_of(req)
        provider_name = body.get("provider", "webpush")
        if not isinstance(provider_name, str) or provider_name not in self.providers:
            raise _bad("provider", f"must be one of {', '.join(sorted(self.providers))}")
        endpoint = body.get("endpoint")
        if not isinstance(endpoint, str) or not endpoint or len(endpoint) > 2048 or "\x00" in endpoint:
            raise _bad("endpoint", "must be a URL (or a provider's token) of up to 2048 characters")
        keys = body.get("keys", {})
        if not isinstance(keys, dict) or len(json.dumps(keys)) > 1024 or "\x00" in json.dumps(keys, ensure_ascii=False):
            raise _bad("keys", "must be an object (p256dh and auth for Web Push)")
        label = body.get("label", "")
        if not isinstance(label, str) or len(label) > 200 or "\x00" in label:
            raise _bad("label", "must be text of up to 200 characters")
        expires = body.get("expirationTime")
        if expires is not None and (not isinstance(expires, int | float) or isinstance(expires, bool)):
            raise _bad("expirationTime", "must be null or a time in milliseconds")
        try:
            self.providers[provider_name].check(endpoint, keys)
        except ValueError as exc:
            field = "endpoint" if "endpoint" in str(exc) else "keys"
            raise _bad(field, str(exc)) from None
        row = await store.subscribe(
            self.engine.db,
            owner,
            provider_name,
            endpoint,
            {k: keys[k] for k in sorted(keys)},
            label,
            "" if expires is None else str(int(expires)),
            MAX_DEVICES,
        )
        return self._sub_view(row)

    def _sub_view(self, row: dict[str, Any]) -> dict[str, Any]:
        coll = self.engine.registry.get(row["collectionRef"])
        return {
            "id": row["id"],
            "collectionId": row["collectionRef"],
            "collectionName": coll.name if coll else "",
            "recordId": row["recordRef"],
            "provider": row["provider"],
            "endpoint": row["endpoint"],
            "label": row["label"],
            "expirationTime": int(row["expires"]) if row["expires"] else None,
            "lastSent": row["lastSent"],
            "created": row["created"],
            "updated": row["updated"],
        }

    async def subscriptions(self, req: RequestInfo, page: int, per_page: int) -> dict[str, Any]:
        """The requester's devices (a superuser's: everybody's) as a list page."""
        owner = None if req.is_superuser else owner_of(req)
        rows, total = await store.subscriptions(self.engine.db, owner, page, per_page)
        items = [self._sub_view(r) for r in rows]
        return _page(items, total, page, per_page)

    async def unsubscribe(self, req: RequestInfo, sub_id: str) -> None:
        """Remove one of the requester's devices (a superuser: anyone's); 404 for anything else."""
        owner = None if req.is_superuser else owner_of(req)
        row = await store.subscription(self.engine.db, sub_id)
        if row is None or (owner is not None and (row["collectionRef"], row["recordRef"]) != owner):
            raise NotFound()
        await store.unsubscribe(self.engine.db, sub_id)

    # -- preferences ---------------------------------------------------------------------------
    async def preferences(self, req: RequestInfo) -> dict[str, Any]:
        return await store.preferences(self.engine.db, owner_of(req))

    async def set_preferences(self, req: RequestInfo, body: dict[str, Any]) -> dict[str, Any]:
        """Change ``enabled`` and/or ``mutedTopics`` (the whole list) of the requester."""
        owner = owner_of(req)
        unknown = sorted(set(body) - {"enabled", "mutedTopics"})
        if unknown:
            raise _bad(unknown[0], "unknown preference (enabled, mutedTopics)")
        current = await store.preferences(self.engine.db, owner)
        enabled = body.get("enabled", current["enabled"])
        if not isinstance(enabled, bool):
            raise _bad("enabled", "must be true or false")
        muted = body.get("mutedTopics", current["mutedTopics"])
        if not isinstance(muted, list) or len(muted) > 100 or any(_topic_problem(t) or not t for t in muted):
            raise _bad("mutedTopics", "must be a list of up to 100 topics (letters, digits, '_', '.', '-')")
        await store.set_preferences(self.engine.db, owner, enabled, sorted(set(muted)))
        return await store.preferences(self.engine.db, owner)

    # -- sending -------------------------------------------------------------------------------
    async def notify(
        self,
        to: Any,
        payload: Any,
        *,
        filter: str | None = None,
        topic: str = "",
        ttl: int = 86400,
        urgency: str = "normal",
        collapse: str = "",
    ) -> dict[str, Any]:
        """Queue ``payload`` (a JSON-able value or text, at most 3993 bytes encoded) for every device
        of the users ``to`` names — a record (as the API or hooks give it), ``(collection, id)``, or a
        list of those; or, with ``filter``, the auth collection ``to`` and the filter its users must
        match. Users who opted out, or muted ``topic``, get nothing. Returns ``{message, queued,
        optedOut, noDevice}``; `BadRequest` for anything malformed. Sending happens after the commit."""
        body = self._encode(payload)
        problem = _topic_problem(topic)
        if problem:
            raise _bad("topic", problem)
        if not isinstance(ttl, int) or isinstance(ttl, bool) or not 0 <= ttl <= MAX_TTL:
            raise _bad("ttl", f"must be whole seconds from 0 to {MAX_TTL}")
        if urgency not in URGENCIES:
            raise _bad("urgency", f"must be one of {', '.join(URGENCIES)}")
        if not isinstance(collapse, str) or (collapse and not collapse_ok(collapse)):
            raise _bad("collapse", "must be 1-32 letters, digits, '-' or '_'")
        owners = await self._recipients(to, filter)
        message = "pm_" + new_id(15)
        counts = await store.enqueue(
            self.engine.db, message, owners, body, topic, ttl, urgency, collapse, set(self.providers)
        )
        if counts["queued"]:
            self.worker.wake()
        return {"message": message, **counts}

    def _encode(self, payload: Any) -> str:
        if isinstance(payload, bytes):
            try:
                payload = payload.decode()
            except UnicodeDecodeError:
                raise _bad("payload", "must be text or JSON") from None
        text = payload if isinstance(payload, str) else None
        if text is None:
            try:
                text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
            except (TypeError, ValueError):
                raise _bad("payload", "must be text or a JSON value") from None
        if "\x00" in text:  # PostgreSQL text cannot hold NUL; JSON payloads escape it
            raise _bad("payload", "must not contain NUL characters (send JSON: it escapes them)")
        if len(text.encode()) > MAX_PAYLOAD:
            raise _bad("payload", f"must be at most {MAX_PAYLOAD} bytes encoded")
        return text

    async def _recipients(self, to: Any, filter: str | None) -> list[tuple[str, str]]:
        if filter is not None:
            coll = self.engine.registry.get(to) if isinstance(to, str) else None
            if coll is None or coll.type != "auth":
                raise _bad("to", "with a filter, must name an auth collection")
            owners: list[tuple[str, str]] = []
            page = 1
            while True:
                params = ListParams(page=page, perPage=1000, filter=filter, sort="id", fields="id", skipTotal=True)
                items = (await list_records(self.engine.reader(SUPERUSER), coll, params))["items"]
                owners += [(coll.id, str(it["id"])) for it in items]
                if len(owners) > MAX_RECIPIENTS:
                    raise _bad("filter", f"matches more than {MAX_RECIPIENTS} users")
                if len(items) < 1000:
                    return owners
                page += 1
        targets = to if isinstance(to, list) else [to]
        if len(targets) > MAX_RECIPIENTS:
            raise _bad("to", f"names more than {MAX_RECIPIENTS} users")
        out = []
        for t in targets:
            if isinstance(t, dict):
                coll_ref, rec_id = t.get("collectionId") or t.get("collectionName") or t.get("collection"), t.get("id")
            elif isinstance(t, list | tuple) and len(t) == 2:
                coll_ref, rec_id = t
            else:
                raise _bad("to", "must be records, [collection, id] pairs, or an auth collection with a filter")
            coll = self.engine.registry.get(coll_ref) if isinstance(coll_ref, str) else None
            if coll is None or coll.type != "auth" or not isinstance(rec_id, str) or not rec_id:
                raise _bad("to", f"{coll_ref!s:.40}/{rec_id!s:.40} is not a user of an auth collection")
            out.append((coll.id, rec_id))
        return out

    async def send(self, req: RequestInfo, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /api/push/send`` (superusers): ``notify`` with the body's ``to``, ``filter``,
        ``payload``, ``topic``, ``ttl``, ``urgency`` and ``collapse``."""
        if not req.is_superuser:
            raise Forbidden("Only superusers can send push messages through the API.")
        unknown = sorted(set(body) - {"to", "filter", "payload", "topic", "ttl", "urgency", "collapse"})
        if unknown:
            raise _bad(unknown[0], "unknown field (to, filter, payload, topic, ttl, urgency, collapse)")
        if "payload" not in body:
            raise _bad("payload", "is required")
        flt = body.get("filter")
        if flt is not None and not isinstance(flt, str):
            raise _bad("filter", "must be a filter expression")
        kwargs = {k: body[k] for k in ("topic", "ttl", "urgency", "collapse") if k in body}
        return await self.notify(body.get("to"), body["payload"], filter=flt, **kwargs)

    async def deliveries(
        self, *, message: str, state: str, owner: tuple[str, str] | None, page: int, per_page: int
    ) -> dict[str, Any]:
        """A page of the delivery log (superusers)."""
        if state and state not in store.STATES:
            raise _bad("state", f"must be one of {', '.join(store.STATES)}")
        rows, total = await store.deliveries(
            self.engine.db, message=message, state=state, owner=owner, page=page, per_page=per_page
        )
        items = [
            {
                "id": r["id"],
                "message": r["message"],
                "subscription": r["subscription"],
                "collectionId": r["collectionRef"],
                "recordId": r["recordRef"],
                "provider": r["provider"],
                "topic": r["topic"],
                "collapse": r["collapse"],
                "payload": r["payload"],
                "ttl": r["ttl"],
                "urgency": r["urgency"],
                "state": r["state"],
                "attempts": r["attempts"],
                "nextAttempt": r["next_attempt"] if r["state"] == "pending" else "",
                "lastStatus": r["last_status"],
                "lastError": r["last_error"],
                "created": r["created"],
                "updated": r["updated"],
            }
            for r in rows
        ]
        return _page(items, total, page, per_page)
