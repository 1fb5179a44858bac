"""The engine's auth throttles (``Engine.throttle``): failed sign-ins per identity, and the resend
guard of the auth mails.

Failed-login slowdown per identity (beyond PocketBase, whose limits are per client only).

Password guessing spread over many addresses gets past a per-IP rate limit; this counts failed
password sign-ins per collection and identity (lower-cased), whoever sends them. The first
``free_failures`` cost nothing; each failure after that locks the identity for a doubling time
(1 s, 2 s, 4 s, … up to ``max_lock``), during which a sign-in for it answers 429 without looking
at the password. A success clears the count; ``forget_after`` seconds without a failure do too.

Identities that do not exist are counted exactly like those that do, and the lock is checked
before any lookup, so neither the status, the message nor the timing tells them apart.

The cost: anyone can keep an account locked for ``max_lock`` at a time by failing on purpose;
the cap keeps that a nuisance rather than a denial of service. Counts are per process (with N
workers an identity gets N × the free failures), which still bounds guessing to a trickle.

Resend guard (`ResendGuard`, ``Engine.throttle.resend``): a second request for the same auth mail
(verification, password reset) of the same record within ``RESEND_AFTER`` seconds sends nothing,
as PocketBase. Per engine, per process, like the sign-in counts.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from baas.errors import TooManyRequests

security = logging.getLogger("baas.security")

LOCKED_MESSAGE = "Too many failed sign-in attempts. Try again later."
RESEND_AFTER = 120.0  # seconds during which the same mail for the same record is not sent again


@dataclass
class _Entry:
    failures: int = 0
    last: float = 0.0
    locked_until: float = 0.0
    warned: bool = False


class ResendGuard:
    """Auth mails sent recently, by (kind, collection id, record id): ``Engine.throttle.resend``."""

    def __init__(self, after: float = RESEND_AFTER) -> None:
        self.after = after
        self._until: dict[tuple[str, str, str], float] = {}  # key -> monotonic time it may be sent again

    def claim(self, kind: str, collection_id: str, record_id: str) -> bool:
        """Whether this mail may be sent now; if so, the next one waits ``after`` seconds."""
        now = time.monotonic()
        for k in [k for k, until in self._until.items() if until <= now]:
            del self._until[k]
        key = (kind, collection_id, record_id)
        if key in self._until:
            return False
        self._until[key] = now + self.after
        return True

    def release(self, kind: str, collection_id: str, record_id: str) -> None:
        """Allow the mail again at once (its token was used: a new request is a new need)."""
        self._until.pop((kind, collection_id, record_id), None)

    def clear(self) -> None:
        self._until.clear()


@dataclass
class LoginThrottle:
    """Failed sign-in counts and locks by (collection id, identity): ``Engine.throttle``; its
    ``resend`` guards the auth mails."""

    free_failures: int = 5
    base_lock: float = 1.0
    max_lock: float = 300.0
    forget_after: float = 900.0
    max_entries: int = 100_000
    resend: ResendGuard = field(default_factory=ResendGuard)
    _entries: dict[tuple[str, str], _Entry] = field(default_factory=dict)

    @staticmethod
    def _key(collection_id: str, identity: str) -> tuple[str, str]:
        return collection_id, identity.strip().lower()

    def check(self, collection_id: str, identity: str) -> None:
        """Raise 429 while ``identity`` is locked (before any lookup or password check)."""
        key = self._key(collection_id, identity)
        entry = self._entries.get(key)
        if entry is None:
            return
        now = time.monotonic()
        if entry.locked_until > now:
            if not entry.warned:  # one line per lock, not per refused attempt
                entry.warned = True
                security.warning(
                    "sign-in locked: collection %s identity %r after %d failures (%.0fs left)",
                    collection_id,
                    key[1][:200],
                    entry.failures,
                    entry.locked_until - now,
                )
            raise TooManyRequests(LOCKED_MESSAGE)
        if now - entry.last > self.forget_after:
            del self._entries[key]

    def failed(self, collection_id: str, identity: str, ip: str = "") -> None:
        """Count a failed sign-in (and log it): past the free ones, lock for a doubling time."""
        key = self._key(collection_id, identity)
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is None or now - entry.last > self.forget_after:
            if len(self._entries) >= self.max_entries:
                self._sweep(now)
            entry = self._entries[key] = _Entry()
        entry.failures += 1
        entry.last = now
        over = entry.failures - self.free_failures
        if over >= 0:
            entry.locked_until = now + min(self.max_lock, self.base_lock * 2 ** min(over, 32))
            entry.warned = False
        security.warning(
            "failed sign-in: collection %s identity %r from %s (failure %d)",
            collection_id,
            key[1][:200],
            ip or "?",
            entry.failures,
        )

    def succeeded(self, collection_id: str, identity: str) -> None:
        self._entries.pop(self._key(collection_id, identity), None)

    def _sweep(self, now: float) -> None:
        self._entries = {
            k: e for k, e in self._entries.items() if e.locked_until > now or now - e.last <= self.forget_after
        }
        if len(self._entries) >= self.max_entries:  # a flood of distinct identities: keep the newest
            keep = sorted(self._entries.items(), key=lambda kv: kv[1].last)[-self.max_entries // 2 :]
            self._entries = dict(keep)
