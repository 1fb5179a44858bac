"""Sending push deliveries: every server process claims due deliveries (`baas.push.store.claim`),
sends them concurrently through their provider, and records each outcome — delivered; expired (the
push service says the device is gone: the subscription is removed); retried later with exponential
backoff and jitter (or after the service's Retry-After) while the message's TTL lasts; or failed.

Tunables (environment): ``BAAS_PUSH_BACKOFF`` first retry delay in seconds (default 5, doubling up to
``BAAS_PUSH_BACKOFF_MAX``, default 3600); ``BAAS_PUSH_CONCURRENCY`` sends in flight per process
(default 8); ``BAAS_PUSH_LEASE`` seconds a claim outlives the provider's timeout (default 30).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from baas.ids import format_dt, parse_dt
from baas.push import store
from baas.push.providers import Message, Outcome, Subscription, env_float

if TYPE_CHECKING:
    from baas.push import Push

log = logging.getLogger("baas.push")
POLL = 1.0  # seconds between checks for work other processes queued (this process's notify wakes it at once)
COALESCE = 0.01  # seconds a woken worker waits before claiming: one claim for a burst of messages


class Worker:
    """Claims and sends push deliveries while the server runs."""

    def __init__(self, push: Push) -> None:
        self.push = push
        self.backoff = env_float("BAAS_PUSH_BACKOFF", 5.0)
        self.backoff_max = env_float("BAAS_PUSH_BACKOFF_MAX", 3600.0)
        self.lease_margin = env_float("BAAS_PUSH_LEASE", 30.0)
        self.concurrency = max(1, int(env_float("BAAS_PUSH_CONCURRENCY", 8)))
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        db = self.push.engine.db
        loop = asyncio.get_running_loop()
        pruned = 0.0
        try:
            while True:
                self._wake.clear()
                free = self.concurrency - len(self._inflight)
                claimed: list[dict[str, Any]] = []
                try:
                    if loop.time() - pruned > 3600:
                        pruned = loop.time()
                        await store.prune(db, self.push.log_days)
                    if free > 0 and await store.due(db):
                        claimed = await store.claim(db, self.push.owner, self._lease(), free)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.warning("push: claiming deliveries failed", exc_info=True)
                for d in claimed:
                    task = asyncio.create_task(self._deliver(d))
                    self._inflight.add(task)
                    task.add_done_callback(self._done)
                if claimed and len(claimed) == free:
                    continue  # more may be due
                try:
                    async with asyncio.timeout(POLL):
                        await self._wake.wait()
                    await asyncio.sleep(COALESCE)
                except TimeoutError:
                    pass
        finally:
            for t in list(self._inflight):
                t.cancel()
            if self._inflight:
                await asyncio.gather(*self._inflight, return_exceptions=True)
            try:  # a server stopping normally hands its claims back at once instead of at lease end
                await store.release(db, self.push.owner)
            except Exception:
                log.warning("push: releasing claims failed; they are retaken when the lease ends", exc_info=True)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()

    def _lease(self) -> float:
        longest = max((float(getattr(p, "timeout", 10.0)) for p in self.push.providers.values()), default=10.0)
        return longest + self.lease_margin

    async def _deliver(self, d: dict[str, Any]) -> None:
        row = await store.subscription(self.push.engine.db, d["subscription"])
        provider = self.push.providers.get(d["provider"])
        if row is None:
            outcome = Outcome(False, error="the subscription was removed", gone=False)
            await self._record(d, outcome, final="expired")
            return
        if provider is None:
            outcome = Outcome(False, error=f"no provider {d['provider']!r} in this server", retry=True)
        else:
            sub = Subscription(
                id=row["id"],
                provider=row["provider"],
                endpoint=row["endpoint"],
                keys=json.loads(row["keys"]),
                collection_id=row["collectionRef"],
                record_id=row["recordRef"],
            )
            msg = Message(d["payload"].encode(), int(d["ttl"]), d["urgency"], d["topic"], d["collapse"])
            try:
                outcome = await provider.send(sub, msg)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a plugin's bug must not stop the worker
                log.warning("push: provider %s failed on delivery %s", d["provider"], d["id"], exc_info=True)
                outcome = Outcome(False, error=f"{type(exc).__name__}: {exc}"[:300], retry=True)
        await self._record(d, outcome)

    def _delay(self, attempts: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, 86400.0)
        base = min(self.backoff * 2.0 ** max(0, attempts - 1), self.backoff_max)
        return base * random.uniform(0.5, 1.0)

    async def _record(self, d: dict[str, Any], outcome: Outcome, final: str = "") -> None:
        nxt = ""
        if final:
            state = final
        elif outcome.ok:
            state = "delivered"
        elif outcome.gone:
            state = "expired"
        elif not outcome.retry:
            state = "failed"
        else:
            created = parse_dt(d["created"]) or store.now()
            when = store.now() + timedelta(seconds=self._delay(int(d["attempts"]), outcome.retry_after))
            # A push service drops a message older than its TTL anyway: retrying past it is pointless.
            if when > created + timedelta(seconds=max(int(d["ttl"]), 60)):
                state = "failed"
                outcome.error += " (TTL over)"
            else:
                state, nxt = "pending", format_dt(when)
        self.push.engine.metrics.push_attempts.labels("retry" if state == "pending" else state).inc()
        if not outcome.ok:
            log.info("push: delivery %s attempt %s: %s", d["id"], d["attempts"], outcome.error)
        try:
            await store.finish(
                self.push.engine.db,
                d,
                self.push.owner,
                state=state,
                next_attempt=nxt,
                status=outcome.status,
                error=outcome.error,
                gone=outcome.gone,
            )
        except Exception:  # the lease runs out and another process sends it again
            log.warning("push: recording delivery %s failed", d["id"], exc_info=True)
