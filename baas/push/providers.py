"""Who carries a push message to a device: the built-in Web Push provider, and the interface a
plugin implements to add another (FCM, APNs …; docs/push.md#providers).

A provider has a ``name`` (a subscription's ``provider``), ``check(endpoint, keys)`` (raise
``ValueError`` with a message for a subscription it cannot use: the API answers 400 with it) and
``send(subscription, message)`` returning an `Outcome`. The engine owns retries, the log and
removal: a provider only says what one attempt came to (``gone`` when the device is no longer
subscribed, ``retry`` when trying again later may work).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import http_ece
import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from baas.push.vapid import Vapid, unb64url
from baas.webhooks.http import RedirectRefused, pinned_request
from baas.webhooks.sender import retry_after_seconds
from baas.webhooks.targets import TargetRefused, server_allowance

MAX_PAYLOAD = 3993  # bytes: one 4096-byte aes128gcm record less its header (86) and tag and padding (17)
URGENCIES = ("very-low", "low", "normal", "high")


@dataclass(frozen=True)
class Message:
    """What to deliver: the payload bytes, how long a push service may hold it (``ttl`` seconds),
    its ``urgency``, its ``topic`` (the category users may mute) and ``collapse`` (Web Push's
    ``Topic`` header: a newer message with the same key replaces one not yet delivered)."""

    payload: bytes
    ttl: int
    urgency: str
    topic: str = ""
    collapse: str = ""


@dataclass(frozen=True)
class Subscription:
    """A device: its id, provider, endpoint (or token) and keys, and its owner."""

    id: str
    provider: str
    endpoint: str
    keys: dict[str, Any]
    collection_id: str = ""
    record_id: str = ""


@dataclass
class Outcome:
    """One attempt: ``ok``; else ``gone`` (remove the subscription), ``retry`` (try later, after
    ``retry_after`` seconds if the service said), and what to log (``status``, ``error``)."""

    ok: bool
    status: int = 0
    error: str = ""
    gone: bool = False
    retry: bool = False
    retry_after: float | None = None
    latency_ms: float = field(default=0.0)


class Provider(Protocol):
    """What a push provider plugin implements (registered with ``app.push.provider(p)``)."""

    name: str

    def check(self, endpoint: str, keys: dict[str, Any]) -> None: ...

    async def send(self, subscription: Subscription, message: Message) -> Outcome: ...


def _private_allowed() -> bool:
    return server_allowance() is not False


class WebPush:
    """Web Push (RFC 8030) with aes128gcm payload encryption (RFC 8291) and VAPID (RFC 8292).

    The request goes through the webhooks' checked HTTP client: the endpoint's address must be
    public unless ``BAAS_WEBHOOKS_ALLOW_PRIVATE`` allows it, and only same-origin redirects are followed."""

    name = "webpush"

    def __init__(self, vapid: Any, subject: Any, client: Any, timeout: float = 10.0) -> None:
        self._vapid = vapid  # async () -> Vapid
        self._subject = subject  # async () -> str
        self._client = client  # () -> httpx.AsyncClient
        self.timeout = timeout

    def check(self, endpoint: str, keys: dict[str, Any]) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme != "https" and not (parts.scheme == "http" and _private_allowed()):
            raise ValueError("endpoint must be an https URL")
        if not parts.hostname or parts.username or parts.password or parts.fragment:
            raise ValueError("endpoint must be an https URL with a host (no user info or fragment)")
        try:
            p256dh = unb64url(keys.get("p256dh", ""))
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), p256dh)
            if len(p256dh) != 65:
                raise ValueError
        except (ValueError, TypeError):
            raise ValueError("keys.p256dh must be a P-256 public key (65 bytes, base64url)") from None
        try:
            if len(unb64url(keys.get("auth", ""))) != 16:
                raise ValueError
        except (ValueError, TypeError):
            raise ValueError("keys.auth must be 16 bytes, base64url") from None

    @staticmethod
    def encrypt(payload: bytes, keys: dict[str, Any]) -> bytes:
        """``payload`` as an aes128gcm body for the subscription's ``keys`` (a new sender key each time)."""
        sender = ec.generate_private_key(ec.SECP256R1())
        return bytes(
            http_ece.encrypt(
                payload,
                private_key=sender,
                dh=unb64url(keys["p256dh"]),
                auth_secret=unb64url(keys["auth"]),
                version="aes128gcm",  # the header's keyid is then the sender's public key (RFC 8291 §4)
            )
        )

    async def send(self, subscription: Subscription, message: Message) -> Outcome:
        vapid: Vapid = await self._vapid()
        headers = {
            "ttl": str(message.ttl),
            "urgency": message.urgency,
            "authorization": vapid.header(subscription.endpoint, await self._subject()),
            "user-agent": "baas-push/1",
        }
        if message.collapse:  # RFC 8030's Topic: at most 32 base64url characters
            headers["topic"] = message.collapse
        body = b""
        if message.payload:
            body = self.encrypt(message.payload, subscription.keys)
            headers["content-encoding"] = "aes128gcm"
            headers["content-type"] = "application/octet-stream"
        start = time.perf_counter()

        def took() -> float:
            return (time.perf_counter() - start) * 1000

        try:
            answer = await pinned_request(
                self._client(),
                "POST",
                subscription.endpoint,
                content=body,
                headers=headers,
                timeout=self.timeout,
                allow_private=False,
            )
        except (TargetRefused, RedirectRefused) as exc:
            return Outcome(False, error=f"refused: {exc}", latency_ms=took())
        except (TimeoutError, httpx.TimeoutException):
            return Outcome(False, error=f"timed out after {self.timeout:g}s", retry=True, latency_ms=took())
        except httpx.HTTPError as exc:
            return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:500], retry=True, latency_ms=took())
        status = answer.status
        text = answer.excerpt.decode("utf-8", "replace")[:300]
        if 200 <= status < 300:
            return Outcome(True, status, latency_ms=took())
        if status in (404, 410):  # RFC 8030 §7.3: the subscription expired or was removed
            return Outcome(False, status, f"HTTP {status}: subscription gone", gone=True, latency_ms=took())
        retry = status >= 500 or status == 429
        after = retry_after_seconds(answer.headers.get("retry-after")) if retry else None
        return Outcome(
            False, status, f"HTTP {status}: {text}".strip(), retry=retry, retry_after=after, latency_ms=took()
        )


def collapse_ok(key: str) -> bool:
    """A Web Push ``Topic`` header value: 1-32 base64url characters."""
    return 0 < len(key) <= 32 and all(c.isascii() and (c.isalnum() or c in "-_") for c in key)


__all__ = [
    "MAX_PAYLOAD",
    "URGENCIES",
    "Message",
    "Outcome",
    "Provider",
    "Subscription",
    "WebPush",
    "collapse_ok",
]
