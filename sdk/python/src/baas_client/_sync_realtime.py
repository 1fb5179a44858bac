"""Realtime for the sync client: one SSE stream read by a background thread that reconnects (with
backoff) and re-subscribes every topic under the new client id by itself. Callbacks run on that
thread."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

import httpx

from ._core import RECONNECT_DELAYS, ClientError, Plan, SSEMessage, SSEParser, topic_key
from ._realtime_base import MessageCallback, RealtimeState, RecordCallback, log, record_adapter, topic_matches

if TYPE_CHECKING:
    from ._sync_client import Client

Unsubscribe: TypeAlias = Callable[[], None]
"""Ends one subscription."""

__all__ = ["Realtime", "RecordCallback", "Unsubscribe"]


class Realtime(RealtimeState):
    """``client.realtime``: raw topics (``subscribe``) and the record subscriptions behind
    ``collection(...).subscribe``."""

    def __init__(self, client: Client) -> None:
        super().__init__()
        self.client = client
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._response: httpx.Response | None = None
        self._token_used = ""

    @property
    def is_connected(self) -> bool:
        return self._connected.is_set()

    def subscribe(
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
        return self._add(key, callback)

    def subscribe_records(
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
        return self._add(key, record_adapter(callback))

    def unsubscribe(self, topic: str | None = None) -> None:
        """End every subscription to ``topic`` (all option variants), or all of them."""
        with self._lock:
            if topic is None:
                self._subs.clear()
                self._changed()
            elif self._remove_matching(topic_matches(topic)):
                self._changed()

    def unsubscribe_by_prefix(self, prefix: str) -> None:
        with self._lock:
            if self._remove_matching(lambda key: key.startswith(prefix)):
                self._changed()

    def disconnect(self) -> None:
        """Close the stream (the subscriptions are forgotten)."""
        with self._lock:
            self._subs.clear()
            thread = self._stop()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _add(self, key: str, fn: MessageCallback) -> Unsubscribe:
        with self._lock:
            if self._token_used and self.client.auth_store.token != self._token_used:
                # The server binds a client to its first auth: a new one needs a new connection
                # (whose connect handler sends every subscription with the new auth).
                self._stop()
            self._add_sub(key, fn)
            self._start()
        try:
            if not self._connected.wait(self.client.timeout):
                url = self.client.build_url("/api/realtime")
                raise ClientError(0, "Could not open the realtime connection.", url=url)
            with self._lock:
                self._submit()
        except BaseException:
            with self._lock:
                self._remove_sub(key, fn)
                if not self._subs:
                    self._stop()
            raise

        def remove() -> None:
            with self._lock:
                if self._remove_sub(key, fn):
                    self._changed()

        return remove

    def _changed(self) -> None:
        if not self._subs:
            self._stop()
        elif self._connected.is_set():
            try:
                self._submit()
            except ClientError as exc:  # e.g. the auth changed: a new connection subscribes afresh
                log.debug("realtime: submitting failed with status %d; reconnecting", exc.status)
                self._stop()
                self._start()

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._connected.clear()
            self._stopping = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(self._stopping,), name="baas-realtime", daemon=True)
            self._thread.start()

    def _stop(self) -> threading.Thread | None:
        """Tell the reader to stop and interrupt it; answers its thread (join it without the lock)."""
        thread, self._thread = self._thread, None
        self._stopping.set()
        self._connected.clear()
        self.client_id = ""
        self._token_used = ""
        self._close_stream()
        return thread

    def _close_stream(self) -> None:
        """Interrupt the reader: shut the socket down (closing it alone does not wake a blocked
        ``recv`` on every platform)."""
        resp = self._response
        if resp is None:
            return
        stream = resp.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            resp.close()

    def _submit(self) -> None:
        token = self.client.auth_store.token
        body = {"clientId": self.client_id, "subscriptions": self.topics}
        self.client.execute(Plan("POST", "/api/realtime", json=body))
        self._token_used = token

    def _run(self, stopping: threading.Event) -> None:
        attempt = 0
        url = self.client.build_url("/api/realtime")
        headers = {"Accept": "text/event-stream", "Accept-Language": self.client.lang}
        with httpx.Client(timeout=httpx.Timeout(self.client.timeout, read=None)) as http:
            while self._subs and not stopping.is_set():
                try:
                    with http.stream("GET", url, headers=headers) as resp:
                        with self._lock:
                            if stopping.is_set():
                                return
                            self._response = resp
                        if resp.status_code != 200:
                            raise ClientError(resp.status_code, "The realtime connection was refused.", url=url)
                        self.connects += 1
                        parser = SSEParser()
                        for line in resp.iter_lines():
                            msg = parser.feed(line)
                            if msg is not None and self._handle(msg, stopping):
                                attempt = 0
                            if stopping.is_set():
                                return
                except (httpx.HTTPError, ClientError, OSError) as exc:
                    log.debug("realtime connection lost: %s", type(exc).__name__)
                finally:
                    with self._lock:
                        if self._response is not None and not stopping.is_set():
                            self._response = None
                    if not stopping.is_set():
                        self._connected.clear()
                        self.client_id = ""
                        self._token_used = ""
                if stopping.wait(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]):
                    return
                attempt += 1

    def _handle(self, msg: SSEMessage, stopping: threading.Event) -> bool:
        """Dispatch one message; True on a (re)connect."""
        if msg.event == "PB_CONNECT":
            with self._lock:
                if stopping.is_set():
                    return False
                self.client_id = self._client_id_of(msg)
                self._token_used = ""
                try:
                    self._submit()
                except ClientError as exc:
                    log.warning("realtime: re-subscribing failed with status %d", exc.status)
                    raise
                self._connected.set()
            return True
        fns, data = self._callbacks(msg)
        for fn in fns:
            if stopping.is_set():
                break
            try:
                fn(data)
            except Exception:
                log.exception("realtime: a subscription callback failed")
        return False
