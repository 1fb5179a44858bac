"""Realtime for the async client: one SSE stream read by an asyncio task that reconnects (with
backoff) and re-subscribes every topic under the new client id by itself."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

import httpx

from ._core import RECONNECT_DELAYS, ClientError, Plan, SSEMessage, SSEParser, topic_key
from ._realtime_base import MessageCallback, RealtimeState, RecordCallback, log, record_adapter, topic_matches

if TYPE_CHECKING:
    from ._async_client import AsyncClient

Unsubscribe: TypeAlias = Callable[[], Awaitable[None]]
"""Ends one subscription."""

__all__ = ["AsyncRealtime", "RecordCallback", "Unsubscribe"]


class AsyncRealtime(RealtimeState):
    """``client.realtime``: raw topics (``subscribe``) and the record subscriptions behind
    ``collection(...).subscribe``. Callbacks run on the event loop; a coroutine is awaited."""

    def __init__(self, client: AsyncClient) -> None:
        super().__init__()
        self.client = client
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._token_used = ""

    @property
    def is_connected(self) -> bool:
        return self._connected.is_set()

    async def subscribe(
        self,
        topic: str,
        callback: MessageCallback,
        *,
        filter: str | None = None,  # noqa: A002
        fields: str | None = None,
        expand: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Unsubscribe:
        """Call ``callback(data)`` for each message of ``topic``; answers a function that ends it."""
        key = topic_key(topic, filter=filter, fields=fields, expand=expand, headers=headers)
        return await self._add(key, callback)

    async def subscribe_records(
        self,
        topic: str,
        callback: RecordCallback[Any],
        *,
        filter: str | None = None,  # noqa: A002
        fields: str | None = None,
        expand: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Unsubscribe:
        key = topic_key(topic, filter=filter, fields=fields, expand=expand, headers=headers)
        return await self._add(key, record_adapter(callback))

    async def unsubscribe(self, topic: str | None = None) -> None:
        """End every subscription to ``topic`` (all option variants), or all of them."""
        if topic is None:
            self._subs.clear()
            await self._changed()
        elif self._remove_matching(topic_matches(topic)):
            await self._changed()

    async def unsubscribe_by_prefix(self, prefix: str) -> None:
        if self._remove_matching(lambda key: key.startswith(prefix)):
            await self._changed()

    async def disconnect(self) -> None:
        """Close the stream (the subscriptions are forgotten)."""
        self._subs.clear()
        await self._stop()

    async def _add(self, key: str, fn: MessageCallback) -> Unsubscribe:
        if self._token_used and self.client.auth_store.token != self._token_used:
            # The server binds a client to its first auth: a new one needs a new connection
            # (whose connect handler sends every subscription with the new auth).
            await self._stop()
        self._add_sub(key, fn)
        try:
            await self._ensure_connected()
            await self._submit()
        except BaseException:
            self._remove_sub(key, fn)
            if not self._subs:
                await self._stop()
            raise

        async def remove() -> None:
            if self._remove_sub(key, fn):
                await self._changed()

        return remove

    async def _changed(self) -> None:
        if not self._subs:
            await self._stop()
        elif self._connected.is_set():
            try:
                await self._submit()
            except ClientError as exc:  # e.g. the auth changed: a new connection subscribes afresh
                log.debug("realtime: submitting failed with status %d; reconnecting", exc.status)
                await self._stop()
                await self._ensure_connected()

    async def _ensure_connected(self) -> None:
        if self._task is None or self._task.done():
            self._connected.clear()
            self._task = asyncio.create_task(self._run(), name="baas-realtime")
        try:
            await asyncio.wait_for(self._connected.wait(), self.client.timeout)
        except TimeoutError:
            url = self.client.build_url("/api/realtime")
            raise ClientError(0, "Could not open the realtime connection.", url=url) from None

    async def _stop(self) -> None:
        task, self._task = self._task, None
        self._connected.clear()
        self.client_id = ""
        self._token_used = ""
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _submit(self) -> None:
        token = self.client.auth_store.token
        body = {"clientId": self.client_id, "subscriptions": self.topics}
        await self.client.execute(Plan("POST", "/api/realtime", json=body))
        self._token_used = token

    async def _run(self) -> None:
        attempt = 0
        url = self.client.build_url("/api/realtime")
        headers = {"Accept": "text/event-stream", "Accept-Language": self.client.lang}
        async with httpx.AsyncClient(timeout=httpx.Timeout(self.client.timeout, read=None)) as http:
            while self._subs:
                try:
                    async with http.stream("GET", url, headers=headers) as resp:
                        if resp.status_code != 200:
                            raise ClientError(resp.status_code, "The realtime connection was refused.", url=url)
                        self.connects += 1
                        parser = SSEParser()
                        async for line in resp.aiter_lines():
                            msg = parser.feed(line)
                            if msg is not None and await self._handle(msg):
                                attempt = 0
                except (httpx.HTTPError, ClientError) as exc:
                    log.debug("realtime connection lost: %s", type(exc).__name__)
                finally:
                    self._connected.clear()
                    self.client_id = ""
                    self._token_used = ""
                if not self._subs:
                    return
                await asyncio.sleep(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
                attempt += 1

    async def _handle(self, msg: SSEMessage) -> bool:
        """Dispatch one message; True on a (re)connect."""
        if msg.event == "PB_CONNECT":
            self.client_id = self._client_id_of(msg)
            self._token_used = ""
            try:
                await self._submit()
            except ClientError as exc:
                log.warning("realtime: re-subscribing failed with status %d", exc.status)
                raise
            self._connected.set()
            return True
        fns, data = self._callbacks(msg)
        for fn in fns:
            try:
                result = fn(data)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("realtime: a subscription callback failed")
        return False
