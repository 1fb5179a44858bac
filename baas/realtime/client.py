"""One SSE connection: its id, auth, topics, and a bounded outgoing buffer.

Back-pressure: messages wait in the client's buffer only while the connection's writer is busy
sending earlier ones (the ASGI server's ``send`` waits when the peer stops reading). A client
whose buffer would pass ``limit`` bytes is dropped — its connection closed — so a slow or stalled
reader costs the server at most ``limit`` bytes (or one message, if larger), never unbounded
memory. The writer sends all
waiting messages in one write.
"""

from __future__ import annotations

import asyncio
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any

from baas.realtime.topics import Topic
from baas.rules.context import RequestInfo

_ALPHABET = string.ascii_letters + string.digits


def random_id(n: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


@dataclass
class AuthState:
    """The auth a client subscribed with (set by ``POST /api/realtime``).

    ``record`` is ``@request.auth`` (hidden fields included, never the password or tokenKey).
    ``fingerprint`` is a hash of the token's tokenKey (JWTs) or of the API key (API keys): enough to
    tell later that the credential was revoked, never enough to forge one. ``expires`` is the
    token's ``exp`` (unix seconds); past it the client counts as a guest."""

    record: dict[str, Any]
    fingerprint: str = ""
    expires: float = 0.0
    api_key: bool = False

    @property
    def identity(self) -> tuple[str, str]:
        return (self.record.get("collectionId", ""), self.record.get("id", ""))

    @property
    def is_superuser(self) -> bool:
        return self.record.get("collectionName") == "_superusers"

    def to_json(self) -> dict[str, Any]:
        return {
            "record": self.record,
            "fingerprint": self.fingerprint,
            "expires": self.expires,
            "api_key": self.api_key,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> AuthState | None:
        if not data:
            return None
        return cls(
            dict(data["record"]),
            str(data.get("fingerprint", "")),
            float(data.get("expires", 0.0)),
            bool(data.get("api_key", False)),
        )


@dataclass
class Client:
    """A connected SSE client. Only the broker's event loop touches it."""

    id: str
    limit: int  # bytes that may wait in the buffer before the client is dropped
    auth: AuthState | None = None
    topics: dict[str, Topic] = field(default_factory=dict)
    closed: bool = False
    reason: str = ""
    _chunks: list[bytes] = field(default_factory=list)
    _size: int = 0
    _waiter: asyncio.Future[None] | None = None
    _requests: dict[tuple[int, int], RequestInfo] = field(default_factory=dict)  # by (topic, auth) identity
    # The connection's task while it waits in ``send``: closing the client cancels that wait
    # (a stalled peer would otherwise hold the task and its buffers forever).
    on_drop: asyncio.Task[Any] | None = None
    interrupted: bool = False
    indexed: tuple[str, str] | None = None  # the identity the broker lists this client under
    last_active: float = field(default_factory=time.monotonic)  # connected or last written to

    def __post_init__(self) -> None:
        self.prefix = b"id:" + self.id.encode() + b"\nevent:"

    def __hash__(self) -> int:
        return hash(self.id)

    def __eq__(self, other: object) -> bool:
        return self is other

    # -- auth ---------------------------------------------------------------------------------
    def current_auth(self) -> AuthState | None:
        """The auth, or None once its token has expired (the client is a guest from then on)."""
        auth = self.auth
        if auth is not None and auth.expires and auth.expires < time.time():
            self.auth = None  # the broker's index still lists it under ``indexed``: cleaned on change
            self._requests.clear()
            return None
        return auth

    def set_auth(self, auth: AuthState | None) -> None:
        self.auth = auth
        self._requests.clear()

    def request(self, topic: Topic) -> RequestInfo:
        """``@request.*`` for rules evaluated for ``topic``: method GET, context ``realtime``."""
        key = (id(topic), id(self.auth))
        req = self._requests.get(key)
        if req is None:
            auth = self.current_auth()
            req = RequestInfo(
                auth=auth.record if auth else None,
                query=topic.query,
                headers=topic.headers,
                method="GET",
                context="realtime",
            )
            if len(self._requests) > 64:
                self._requests.clear()
            self._requests[key] = req
        return req

    # -- outgoing -----------------------------------------------------------------------------
    def push(self, event: bytes, data: bytes) -> bool:
        """Queue one SSE message (``event`` is the topic); False if the client is gone or just got
        dropped for being too slow."""
        if self.closed:
            return False
        frame = self.prefix + event + b"\ndata:" + data + b"\n\n"
        self._size += len(frame)
        # Too slow means: the buffer passed the limit while the connection was still writing
        # earlier messages (``on_drop`` is set only during a write). A burst queued while the stream
        # waits for work goes out as one write; dropping for it dropped healthy clients whenever one
        # read of the event stream brought many events (seen on PostgreSQL). One message always fits.
        if self._size > self.limit and self._chunks and self.on_drop is not None:
            self.close("slow")
            return False
        self._chunks.append(frame)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        return True

    def close(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.reason = reason
        self._chunks.clear()
        self._size = 0
        if self.on_drop is not None:
            self.interrupted = True
            self.on_drop.cancel()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def next_chunk(self) -> bytes | None:
        """Everything queued, as one write; None once the client is closed (by the broker: idle,
        too slow, shut down; or by its peer)."""
        if not self._chunks and not self.closed:
            self._waiter = waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        if self.closed:
            return None
        data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        self._chunks.clear()
        self._size = 0
        self.last_active = time.monotonic()
        return data
