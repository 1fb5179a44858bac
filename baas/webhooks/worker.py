"""Sending: every server process claims due deliveries (baas/webhooks/store.py), sends them
concurrently, and records each outcome — delivered; retried later with exponential backoff and
jitter (or after the receiver's Retry-After); or dead-lettered once the retry window is over or
the failure cannot get better by retrying (a 4xx other than 429, a refused target).

Tunables (environment, read once per process): ``BAAS_WEBHOOKS_BACKOFF`` first retry delay in
seconds (default 5; doubles each attempt, up to ``BAAS_WEBHOOKS_BACKOFF_MAX``, default 3600);
``BAAS_WEBHOOKS_LEASE`` seconds a claim outlives the webhook's timeout before another process may
retake it (default 30); ``BAAS_WEBHOOKS_CONCURRENCY`` requests in flight per process (default 8:
httpcore's pool scans every connection for each request, so a bigger pool costs CPU per delivery).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx

from baas.ids import format_dt, parse_dt
from baas.webhooks import signing, store
from baas.webhooks.http import checked_client
from baas.webhooks.sender import Outcome, send

if TYPE_CHECKING:
    from baas.webhooks.service import Webhooks

log = logging.getLogger("baas.webhooks")
COALESCE = 0.01  # seconds a woken worker waits before claiming


def env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


def retry_delay(attempts: int, retry_after: float | None, backoff: float, backoff_max: float) -> float:
    """Seconds until the next attempt: the receiver's Retry-After (at most a day), else exponential
    backoff from ``backoff`` up to ``backoff_max``, with jitter (receivers that fail together are
    not hit together)."""
    if retry_after is not None:
        return min(retry_after, 86400.0)
    base = min(backoff * 2.0 ** max(0, attempts - 1), backoff_max)
    return base * random.uniform(0.5, 1.0)


class ClaimLoop:
    """The sending loop of a durable outbox, shared by webhook and push deliveries: claim what is
    due (`claim`, given the free slots), run each claimed item (`deliver`) as a task, at most
    ``concurrency`` at once, then wait for a `wake` (or ``poll`` seconds). On exit the tasks are
    cancelled and `release` hands the claims back."""

    name = "outbox"  # for the log
    poll = 0.25  # seconds between claims when nothing wakes the loop

    def __init__(self, concurrency: int) -> None:
        self.concurrency = max(1, concurrency)
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._wake.set()

    async def claim(self, free: int) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def deliver(self, item: dict[str, Any]) -> None:
        raise NotImplementedError

    async def release(self) -> None:
        """Hand back this process's claims (a server stopping normally)."""

    async def run(self) -> None:
        try:
            while True:
                self._wake.clear()
                free = self.concurrency - len(self._inflight)
                claimed: list[dict[str, Any]] = []
                try:
                    claimed = await self.claim(free)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.warning("%s: claiming deliveries failed", self.name, exc_info=True)
                for d in claimed:
                    task = asyncio.create_task(self.deliver(d))
                    self._inflight.add(task)
                    task.add_done_callback(self._done)
                if claimed and len(claimed) == free:
                    continue  # more may be due
                try:
                    async with asyncio.timeout(self.poll):
                        await self._wake.wait()
                    # Gather what else finishes or arrives meanwhile: one claim for many wake-ups
                    # (every claim is a write, and writes are what a busy SQLite server has least of).
                    await asyncio.sleep(COALESCE)
                except TimeoutError:
                    pass
        finally:
            for t in list(self._inflight):
                t.cancel()
            if self._inflight:
                await asyncio.gather(*self._inflight, return_exceptions=True)
            try:  # a server stopping normally hands its claims back at once instead of at lease end
                await self.release()
            except Exception:
                log.warning(
                    "%s: releasing claims failed; they are retaken when the lease ends", self.name, exc_info=True
                )

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()  # a slot is free, and a later delivery of the same record may now be due


class Worker(ClaimLoop):
    """Claims and sends webhook deliveries while the server runs."""

    name = "webhooks"

    def __init__(self, svc: Webhooks) -> None:
        super().__init__(int(env_float("BAAS_WEBHOOKS_CONCURRENCY", 8)))
        self.svc = svc
        self.backoff = env_float("BAAS_WEBHOOKS_BACKOFF", 5.0)
        self.backoff_max = env_float("BAAS_WEBHOOKS_BACKOFF_MAX", 3600.0)
        self.lease_margin = env_float("BAAS_WEBHOOKS_LEASE", 30.0)
        self.client: httpx.AsyncClient | None = None

    async def claim(self, free: int) -> list[dict[str, Any]]:
        if free <= 0 or not any(e.enabled for e in self.svc.catalog.entries.values()):
            return []
        return await store.claim(self.svc.engine.db, self.svc.owner, self._lease(), free)

    async def release(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None
        await store.release(self.svc.engine.db, self.svc.owner)

    def _http(self) -> httpx.AsyncClient:
        """The HTTP client, made on the first delivery: loading the CA bundle costs 0.1-0.25 s of
        CPU, which a server (or a test) that never sends a webhook should not pay at every start."""
        if self.client is None:
            self.client = checked_client(self.concurrency)
        return self.client

    def _lease(self) -> float:
        longest = max((e.hook.timeout for e in self.svc.catalog.entries.values()), default=10.0)
        return longest + self.lease_margin  # an attempt (DNS, every hop) never outlives its timeout

    async def deliver(self, d: dict[str, Any]) -> None:
        entry = self.svc.catalog.entries.get(d["webhook"])
        if entry is None:  # created by another process in the last second, or deleted meanwhile
            await self.svc.catalog.reload(self.svc.engine)
            entry = self.svc.catalog.entries.get(d["webhook"])
            if entry is None:
                return  # deleted: its deliveries went with it
        hook = entry.hook
        body = d["payload"].encode()
        try:
            keys = entry.keys()
        except (KeyError, ValueError) as exc:
            outcome = Outcome(False, error=f"the secret is unavailable: {exc}", retry=True)
        else:
            headers = {
                "content-type": "application/json",
                "user-agent": "baas-webhooks/1",
                **hook.headers,
                **signing.headers(keys, d["id"], int(time.time()), body),
            }
            outcome = await send(
                self._http(), hook.url, body, headers, timeout=hook.timeout, allow_private=hook.allowPrivate
            )
        await self._record(d, outcome, hook.window_seconds(), hook.disableAfter)

    async def _record(self, d: dict[str, Any], outcome: Outcome, window: float, disable_after: int) -> None:
        if outcome.ok:
            state, nxt = "delivered", ""
        elif not outcome.retry:
            state, nxt = "dead", ""
        else:
            created = parse_dt(d["created"]) or store.now()
            when = store.now() + timedelta(
                seconds=retry_delay(int(d["attempts"]), outcome.retry_after, self.backoff, self.backoff_max)
            )
            if when > created + timedelta(seconds=window):
                state, nxt = "dead", ""
                outcome.error += " (retry window over)"
            else:
                state, nxt = "pending", format_dt(when)
        self.svc.engine.metrics.webhook_attempts.labels("retry" if state == "pending" else state).inc()
        if not outcome.ok:
            log.info(
                "webhook %s: delivery %s attempt %s failed: %s", d["webhook"], d["id"], d["attempts"], outcome.error
            )
        try:
            recorded, disabled = await store.finish(
                self.svc.engine.db,
                d,
                self.svc.owner,
                state=state,
                next_attempt=nxt,
                status=outcome.status,
                latency_ms=round(outcome.latency_ms, 2),
                response=outcome.response,
                error=outcome.error,
                disable_after=disable_after,
            )
        except Exception:  # the lease runs out and another process sends it again (same webhook-id)
            log.warning("webhook %s: recording delivery %s failed", d["webhook"], d["id"], exc_info=True)
            return
        if state == "dead" and recorded:
            log.warning("webhook %s: delivery %s dead-lettered: %s", d["webhook"], d["id"], outcome.error)
        if disabled:
            log.warning(
                "webhook %s disabled after %d consecutive failed attempts (last: %s); re-enable it with "
                'PATCH /api/webhooks/%s {"enabled": true}',
                d["webhook"],
                disable_after,
                outcome.error,
                d["webhook"],
            )
            self.svc.catalog_changed()
