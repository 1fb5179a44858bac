"""The realtime broker: this process's SSE clients, their topics, and the delivery of events.

Events come from the engine's event bus (`baas.events`), which hands every process each
committed record write — from this process or any other, on this node or another — once, in
order. The broker queues them and a single task delivers them, so the bus is never held up:

1. Auth first: an update of an auth record that a client subscribed as refreshes that client's
   ``@request.auth``, or — when the record's tokenKey changed (password change, sign-out of all
   devices) — drops the client back to guest; a deleted auth record does the same.
2. Per collection of the batch, the subscriptions that could match (``posts/*``, ``posts/ID``
   by name or id) are grouped by what decides their answer: the topic kind (list rule for
   collection topics, view rule for record topics), the requester as far as the rule and
   filter read it, and the filter. Each group costs ONE query over the batch's records
   (`baas.realtime.access`), however many subscribers share it: 1,000 guests on ``posts/*`` cost
   one query per batch (none when the rule is ``""`` and there is no filter).
3. Each passing (event, subscriber) is rendered for that subscriber (`baas.realtime.render`,
   shared among subscribers who would see the same bytes) and queued on the client in event
   order.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from baas.db.tables import q
from baas.events.stream import Event
from baas.ids import now_str
from baas.realtime import access
from baas.realtime.client import AuthState, Client, random_id
from baas.realtime.mailbox import Mailbox
from baas.realtime.render import render, render_key
from baas.realtime.topics import OAUTH2, Topic, parse_topic
from baas.rules.context import RequestInfo
from baas.schema.model import Collection

if TYPE_CHECKING:  # the engine creates the broker; the broker only uses it
    from baas.core import Engine

log = logging.getLogger("baas.realtime")
_encode = msgspec.json.Encoder().encode
INSTANCE_LEN = 8  # a client id starts with the id of the process that holds it
CLIENT_ID_LEN = 40
SWEEP_EVERY = 30.0  # seconds between re-checks of API-key clients (revoked, expired)


def fingerprint(secret: str) -> str:
    """A one-way tag of a tokenKey: equal while the key is unchanged, useless for signing."""
    return hashlib.sha256(("baas-realtime:" + secret).encode()).hexdigest()[:32]


@dataclass
class Config:
    idle_timeout: float = 300.0  # PocketBase: 5 minutes without a message ends the connection
    buffer_limit: int = 512 * 1024  # bytes a client may fall behind before it is dropped

    @classmethod
    def from_env(cls) -> Config:
        cfg = cls()
        try:
            cfg.idle_timeout = float(os.environ.get("BAAS_REALTIME_IDLE_TIMEOUT") or cfg.idle_timeout)
            cfg.buffer_limit = int(os.environ.get("BAAS_REALTIME_BUFFER") or cfg.buffer_limit)
        except ValueError:
            log.warning("realtime: ignoring a malformed BAAS_REALTIME_* setting")
        return cfg


@dataclass
class _Change:
    """A subscription change waiting in the delivery queue."""

    client_id: str
    auth: AuthState | None
    keys: list[str]
    done: asyncio.Future[int]


RenderKey = tuple[Any, ...]  # equal keys: equal bytes for the same event (`baas.realtime.render.render_key`)
# A subscription as a group member: (client, topic, SSE event name, @request, render key).
Member = tuple[Client, Topic, bytes, RequestInfo, RenderKey]
# What decides a group's answer: (kind, who asks as far as the rule reads it, filter, query/headers read).
GroupKey = tuple[str, Any, str, Any]
Delivery = tuple[int, Client, bytes, bytes]  # (event ordinal, client, SSE event name, data)
Rendered = dict[tuple[int, RenderKey], bytes]  # the batch's renderings, shared among subscribers


@dataclass
class _Group:
    """Subscriptions that get the same answer for the same records."""

    kind: str  # "list" | "view"
    rule: str | None
    req: RequestInfo  # a member's: the one the group's query runs with
    lists: list[Member] = field(default_factory=list)  # every record of the batch
    views: dict[tuple[str, str], tuple[Member, set[int]]] = field(default_factory=dict)  # some records


@dataclass
class _Plan:
    """The collection-topic groups of one collection, kept while nothing they depend on changes
    (subscriptions, auth, the collection's schema, a token's expiry)."""

    coll: Collection
    version: int
    until: float  # the earliest token expiry among the members
    groups: list[_Group]


class Broker:
    """Owned by the engine (``eng.realtime``), started and stopped with it."""

    def __init__(self, eng: Engine, config: Config | None = None) -> None:
        self.eng = eng
        self.config = config or Config.from_env()
        self.instance = random_id(INSTANCE_LEN)
        self.clients: dict[str, Client] = {}
        self._index: dict[str, dict[tuple[str, str], tuple[Client, Topic]]] = {}
        self._by_auth: dict[tuple[str, str], set[Client]] = {}
        self._pending: list[Event | _Change] = []
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._unlisten: Callable[[], None] | None = None
        self.mailbox = Mailbox(self)
        self.delivered = 0  # messages queued to clients (for tests and stats)
        self._version = 0  # bumped by every change of subscriptions or auth: plans are rebuilt
        self._plans: dict[str, _Plan] = {}

    # -- life -----------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._tasks:
            return
        self._unlisten = self.eng.events.listen(self._on_events)
        self._tasks = [
            asyncio.create_task(self._run(), name="realtime-dispatch"),
            asyncio.create_task(self._sweep(), name="realtime-sweep"),
            asyncio.create_task(self._idle(), name="realtime-idle"),
        ]
        self.mailbox.start()

    async def stop(self) -> None:
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        self.end_streams()
        await self.mailbox.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks = []
        for item in self._pending:
            if isinstance(item, _Change) and not item.done.done():
                item.done.set_result(404)
        self._pending = []

    def end_streams(self) -> None:
        """End every stream of this process with a reconnect hint (the server is stopping): the HTTP
        server waits for open requests before it stops, and a stream would otherwise keep it waiting
        until it is killed."""
        for client in list(self.clients.values()):
            client.close("shutdown")

    # -- clients ----------------------------------------------------------------------------------
    def connect(self) -> Client:
        client = Client(self.instance + random_id(CLIENT_ID_LEN - INSTANCE_LEN), self.config.buffer_limit)
        self.clients[client.id] = client
        self.eng.metrics.realtime_clients.inc()
        self.mailbox.wake()
        return client

    def disconnect(self, client: Client) -> None:
        client.close(client.reason or "gone")
        if self.clients.get(client.id) is client:
            del self.clients[client.id]
            self.eng.metrics.realtime_clients.dec()
        self._unindex(client)
        self._set_auth(client, None)

    async def subscribe(self, client_id: str, auth: AuthState | None, keys: list[str]) -> int:
        """Replace a client's auth and topics (``POST /api/realtime``): 204, 404 for an unknown
        client, 403 when the client already has another auth (only guest -> auth is allowed).

        The change takes its place in the delivery queue: every event committed before the call
        is delivered under the old topics, every later one under the new."""
        if client_id not in self.clients:
            return 404
        if not self._tasks:  # an engine started without create_app's hooks
            await self.start()
        await self.eng.events.sync()  # everything committed so far is queued ahead of the change
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append(_Change(client_id, auth, keys, done))
        self._wake.set()
        return await done

    def _apply(self, change: _Change) -> int:
        client = self.clients.get(change.client_id)
        if client is None or client.closed:
            return 404
        old = client.current_auth()
        auth = change.auth
        if old is not None and (auth is None or auth.identity != old.identity):
            return 403
        self._set_auth(client, auth)
        self._unindex(client)
        client.topics = {k: parse_topic(k) for k in change.keys}
        for key, topic in client.topics.items():
            self._index.setdefault(topic.base, {})[(client.id, key)] = (client, topic)
        self._version += 1
        return 204

    def send_oauth2(self, client_id: str, data: dict[str, Any]) -> bool:
        """Hand an OAuth2 redirect to the client subscribed to ``@oauth2`` with this id."""
        client = self.clients.get(client_id)
        if client is None or client.closed or OAUTH2 not in client.topics:
            return False
        return client.push(OAUTH2.encode(), _encode(data))

    async def forward_oauth2(self, state: str, data: dict[str, Any]) -> bool:
        """Hand an OAuth2 redirect (``/api/oauth2-redirect``) to the client ``state`` names,
        subscribed to ``@oauth2``: held by this process or, through the mailbox, by another."""
        if state in self.clients:
            return self.send_oauth2(state, data)
        if len(state) != CLIENT_ID_LEN or state.startswith(self.instance):
            return False
        return await self.mailbox.ask(state, "oauth2", {"data": data}) == 200

    def _unindex(self, client: Client) -> None:
        self._version += 1
        for key, topic in client.topics.items():
            subs = self._index.get(topic.base)
            if subs is not None:
                subs.pop((client.id, key), None)
                if not subs:
                    del self._index[topic.base]

    def _set_auth(self, client: Client, auth: AuthState | None) -> None:
        self._version += 1
        if client.indexed is not None:
            holders = self._by_auth.get(client.indexed)
            if holders is not None:
                holders.discard(client)
                if not holders:
                    del self._by_auth[client.indexed]
            client.indexed = None
        client.set_auth(auth)
        if auth is not None and not client.closed:
            client.indexed = auth.identity
            self._by_auth.setdefault(auth.identity, set()).add(client)

    # -- events -----------------------------------------------------------------------------------
    def _on_events(self, events: list[Event]) -> None:
        """The bus listener: queue and return at once (the bus serves other listeners too)."""
        if self.clients:
            # auth.* and job.* events (baas/events/emit.py) are for the server's consumers, never for clients.
            self._pending.extend(e for e in events if e.is_record)
            self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            items, self._pending = self._pending, []
            batch: list[Event] = []
            for item in items:
                if isinstance(item, _Change):
                    await self._deliver(batch)
                    batch = []
                    if not item.done.done():
                        item.done.set_result(self._apply(item))
                else:
                    batch.append(item)
            await self._deliver(batch)

    async def _deliver(self, events: list[Event]) -> None:
        if not events:
            return
        try:
            await self.dispatch(events)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("realtime: delivering %d event(s) failed", len(events))

    async def dispatch(self, events: list[Event]) -> None:
        """Deliver a batch of events (in order) to every client allowed to see them."""
        await self._reauthorize(events)
        if not self._index:
            return
        by_coll: dict[str, list[tuple[int, Event]]] = {}
        for i, ev in enumerate(events):
            by_coll.setdefault(ev.collection_id, []).append((i, ev))
        out: list[Delivery] = []
        cache: Rendered = {}
        await asyncio.gather(*(self._collection(cid, evs, out, cache) for cid, evs in by_coll.items()))
        out.sort(key=lambda d: d[0])
        for _, client, name, data in out:
            if client.push(name, data):
                self.delivered += 1

    async def _collection(
        self, coll_id: str, evs: list[tuple[int, Event]], out: list[Delivery], cache: Rendered
    ) -> None:
        coll: Collection | None = self.eng.registry.get(coll_id)
        if coll is None or coll.id != coll_id:
            coll = await self._fresh_collection(coll_id)
            if coll is None:
                return
        groups = list(self._list_plan(coll).groups)
        views: dict[GroupKey, _Group] = {}
        index = self._index
        for i, ev in evs:
            for base in (f"{coll.name}/{ev.record_id}", f"{coll.id}/{ev.record_id}"):
                for client, topic in (index.get(base) or {}).values():
                    self._add(views, "view", coll, client, topic, i)
        groups += views.values()
        if not groups:
            return
        records = dict(evs)
        await asyncio.gather(*(self._group(coll, g, records, out, cache) for g in groups))

    def _list_plan(self, coll: Collection) -> _Plan:
        """The groups of the collection's ``/*`` topics, rebuilt only after a change."""
        plan = self._plans.get(coll.id)
        if plan is not None and plan.coll is coll and plan.version == self._version and time.time() < plan.until:
            return plan
        groups: dict[GroupKey, _Group] = {}
        until = float("inf")
        for base in (f"{coll.name}/*", f"{coll.id}/*", coll.name, coll.id):
            for client, topic in (self._index.get(base) or {}).values():
                self._add(groups, "list", coll, client, topic, None)
                if client.auth is not None and client.auth.expires:
                    until = min(until, client.auth.expires)
        plan = self._plans[coll.id] = _Plan(coll, self._version, until, list(groups.values()))
        return plan

    async def _fresh_collection(self, coll_id: str) -> Collection | None:
        """A collection another process created moments ago (this one's schema watch looks
        only once a second): reload the schema now rather than drop its events."""
        try:
            await self.eng.refresh_schema()
        except Exception:
            log.warning("realtime: schema refresh failed", exc_info=True)
            return None
        coll = self.eng.registry.get(coll_id)
        return coll if coll is not None and coll.id == coll_id else None

    def _add(
        self, groups: dict[GroupKey, _Group], kind: str, coll: Collection, client: Client, topic: Topic, i: int | None
    ) -> None:
        if client.closed:
            return
        rule = coll.listRule if kind == "list" else coll.viewRule
        auth = client.current_auth()
        req = client.request(topic)
        text = f"{rule or ''} {topic.filter}"
        if req.is_superuser:
            who: Any = "superuser"
        elif auth is not None and auth.api_key:
            who = auth.identity  # scopes are per key
        elif coll.type == "auth" or "@request.auth" in text:
            who = auth.identity if auth else None  # the rule reads the requester (or emails show)
        elif rule is None:
            who = "locked"
        else:
            who = "anyone"  # the answer does not depend on who asks
        extra: Any = None
        if "@request.query" in text or "@request.headers" in text:
            extra = (tuple(sorted(topic.query.items())), tuple(sorted(topic.headers.items())))
        key: GroupKey = (kind, who, topic.filter, extra)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(kind, rule, req)
        member: Member = (client, topic, topic.key.encode(), req, render_key(coll, req, topic.expand, topic.fields))
        if i is None:
            group.lists.append(member)
        else:
            seen = group.views.get((client.id, topic.key))
            if seen is None:
                group.views[(client.id, topic.key)] = (member, {i})
            else:
                seen[1].add(i)

    async def _group(
        self, coll: Collection, g: _Group, records: dict[int, Event], out: list[Delivery], cache: Rendered
    ) -> None:
        if g.lists:
            wanted = sorted(records)
        else:
            wanted = sorted(set().union(*(ords for _, ords in g.views.values())))
        ok = await access.passing(
            self.eng.db, self.eng.registry, coll, g.rule, g.req, g.kind, [(i, records[i].record) for i in wanted]
        )
        if not ok:
            return
        db, registry = self.eng.db, self.eng.registry
        for i in sorted(ok):
            ev = records[i]
            members = g.lists + [m for m, ords in g.views.values() if i in ords] if g.views else g.lists
            for client, topic, name, req, rkey in members:
                key = (i, rkey)
                data = cache.get(key)
                if data is None:
                    data = cache[key] = await render(
                        db, registry, coll, ev.action, ev.record, req, topic.expand, topic.fields
                    )
                out.append((i, client, name, data))

    # -- re-authorisation -------------------------------------------------------------------------
    async def _reauthorize(self, events: list[Event]) -> None:
        """Apply auth record changes before the batch is delivered (conservative: a revoked
        client loses access for the whole batch)."""
        if not self._by_auth:
            return
        updated: dict[str, dict[str, Event]] = {}
        for ev in events:
            holders = self._by_auth.get((ev.collection_id, ev.record_id))
            if not holders:
                continue
            if ev.action == "delete":
                for client in list(holders):
                    self._set_auth(client, None)
                updated.get(ev.collection_id, {}).pop(ev.record_id, None)
            else:
                updated.setdefault(ev.collection_id, {})[ev.record_id] = ev
        for coll_id, evs in updated.items():
            coll = self.eng.registry.get(coll_id)
            ids = list(evs)
            keys: dict[str, str] = {}
            if coll is not None and coll.type == "auth":
                marks = ", ".join("?" for _ in ids)
                rows = await self.eng.db.fetch(
                    f'SELECT "id", "tokenKey" FROM {q(coll.name)} WHERE "id" IN ({marks})', ids
                )
                keys = {row[0]: fingerprint(row[1] or "") for row in rows}
            for rid, ev in evs.items():
                for client in list(self._by_auth.get((coll_id, rid), ())):
                    auth = client.auth
                    if auth is None:
                        continue
                    if rid not in keys or keys[rid] != auth.fingerprint:
                        log.info("realtime: client %s lost its auth (credentials changed)", client.id[:12])
                        self._set_auth(client, None)
                    else:
                        record = {k: v for k, v in ev.record.items() if k != "password"}
                        self._set_auth(client, AuthState(record, auth.fingerprint, auth.expires))

    async def _idle(self) -> None:
        """Close clients that were sent nothing for ``idle_timeout`` seconds (PocketBase: 5 min).
        One sweep for all clients: no timer per client and message."""
        while True:
            idle = self.config.idle_timeout
            await asyncio.sleep(max(0.05, min(idle / 4, 1.0)))
            cutoff = time.monotonic() - idle
            for client in [c for c in self.clients.values() if c.last_active < cutoff and not c._chunks]:
                client.close("idle")

    async def _sweep(self) -> None:
        """Every ``SWEEP_EVERY`` seconds: API-key clients whose key was revoked or expired become
        guests (keys are no records, so no event announces it)."""
        while True:
            await asyncio.sleep(SWEEP_EVERY)
            keyed = [c for c in self.clients.values() if c.auth is not None and c.auth.api_key]
            if not keyed:
                continue
            try:
                hashes = sorted({c.auth.fingerprint for c in keyed if c.auth})
                marks = ", ".join("?" for _ in hashes)
                rows = await self.eng.db.fetch(
                    f'SELECT "hash", "revoked", "expires" FROM "_apikeys" WHERE "hash" IN ({marks})', hashes
                )
                now = now_str()
                live = {r[0] for r in rows if not r[1] and (not r[2] or r[2] > now)}
                for client in keyed:
                    if client.auth is not None and client.auth.fingerprint not in live:
                        self._set_auth(client, None)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("realtime: API key sweep failed", exc_info=True)
