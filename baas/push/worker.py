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
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from baas.ids import format_dt, parse_dt
from baas.push import store
from baas.push.providers import Message, Outcome, Subscription
from baas.webhooks.worker import ClaimLoop, env_float, retry_delay

if TYPE_CHECKING:
    from baas.push import Push

log = logging.getLogger("baas.push")
POLL = 1.0  # seconds between checks for work other processes queued (this process's notify wakes it at once)
TTL_GRACE = 60  # seconds past its TTL a message may still go out the first time (ttl 0: "now or never")
MAX_ATTEMPTS = 30  # a delivery claimed this often (crashes, unrecordable outcomes) is given up


def _checked(outcome: Any) -> Outcome:
    """A provider's answer as an `Outcome` with sane fields (plugins may return odd values; an
    outcome that cannot be recorded would leave the delivery to be sent again at every lease end)."""
    if not isinstance(outcome, Outcome):
        return Outcome(False, error=f"the provider answered {type(outcome).__name__}, not an Outcome")
    try:
        after = None if outcome.retry_after is None else max(0.0, float(outcome.retry_after))
    except (TypeError, ValueError):
        after = None
    status = outcome.status if isinstance(outcome.status, int) and not isinstance(outcome.status, bool) else 0
    return Outcome(
        bool(outcome.ok),
        status,
        str(outcome.error or "")[:500],
        gone=bool(outcome.gone),
        retry=bool(outcome.retry),
        retry_after=after,
    )


class Worker(ClaimLoop):
    """Claims and sends push deliveries while the server runs."""

    name = "push"
    poll = POLL

    def __init__(self, push: Push) -> None:
        super().__init__(int(env_float("BAAS_PUSH_CONCURRENCY", 8)))
        self.push = push
        self.backoff = env_float("BAAS_PUSH_BACKOFF", 5.0)
        self.backoff_max = env_float("BAAS_PUSH_BACKOFF_MAX", 3600.0)
        self.lease_margin = env_float("BAAS_PUSH_LEASE", 30.0)
        self._pruned: float | None = None

    async def claim(self, free: int) -> list[dict[str, Any]]:
        db = self.push.engine.db
        clock = asyncio.get_running_loop().time()
        if self._pruned is None or clock - self._pruned > 3600:
            self._pruned = clock
            await store.prune(db, self.push.log_days)
        if free <= 0 or not await store.due(db):  # a read: polling costs no write when nothing waits
            return []
        return await store.claim(db, self.push.owner, self._lease(), free)

    async def release(self) -> None:
        await store.release(self.push.engine.db, self.push.owner)

    def _lease(self) -> float:
        longest = max((float(getattr(p, "timeout", 10.0)) for p in self.push.providers.values()), default=10.0)
        return longest + self.lease_margin

    async def deliver(self, d: dict[str, Any]) -> None:
        row = await store.subscription(self.push.engine.db, d["subscription"])
        provider = self.push.providers.get(d["provider"])
        age = (store.now() - (parse_dt(d["created"]) or store.now())).total_seconds()
        if row is None:
            await self._record(d, Outcome(False, error="the subscription was removed"), final="expired")
            return
        if (row["collectionRef"], row["recordRef"]) != (d["collectionRef"], d["recordRef"]):
            # The device was registered by another user after this was queued (and claimed).
            await self._record(d, Outcome(False, error="the device was registered by another user"), final="expired")
            return
        if age > int(d["ttl"]) + TTL_GRACE:
            # Queued too long (workers were down, a lease ran out): the push service would drop it anyway.
            await self._record(d, Outcome(False, error="the TTL was over before it could be sent"), final="failed")
            return
        if int(d["attempts"]) > MAX_ATTEMPTS:
            await self._record(d, Outcome(False, error=f"gave up after {MAX_ATTEMPTS} attempts"), final="failed")
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
            # What is left of the TTL: a retry must not make the message live longer than asked.
            ttl = max(0, int(d["ttl"]) - int(age))
            msg = Message(d["payload"].encode(), ttl, d["urgency"], d["topic"], d["collapse"])
            timeout = float(getattr(provider, "timeout", 10.0))
            try:
                # Bounded: a provider that hangs past its lease would have another process send again.
                async with asyncio.timeout(timeout):
                    outcome = _checked(await provider.send(sub, msg))
            except asyncio.CancelledError:
                raise
            except TimeoutError:
                outcome = Outcome(False, error=f"the provider took longer than {timeout:g}s", retry=True)
            except Exception as exc:  # a plugin's bug must not stop the worker
                log.warning("push: provider %s failed on delivery %s", d["provider"], d["id"], exc_info=True)
                outcome = Outcome(False, error=f"{type(exc).__name__}: {exc}"[:300], retry=True)
        await self._record(d, outcome)

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
            # Never sooner than the first backoff: "Retry-After: 0" is no licence to spin.
            after = None if outcome.retry_after is None else max(outcome.retry_after, self.backoff)
            delay = retry_delay(int(d["attempts"]), after, self.backoff, self.backoff_max)
            when = store.now() + timedelta(seconds=delay)
            # A push service drops a message older than its TTL anyway: retrying past it is pointless.
            if when > created + timedelta(seconds=int(d["ttl"])):
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
