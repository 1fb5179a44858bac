"""Realtime state shared by the thread (sync) and task (async) implementations: the subscriptions,
the messages' dispatch and the wire details of PocketBase's realtime API."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, TypeAlias, cast

from ._core import R, RecordEvent, SSEMessage

log = logging.getLogger("baas_client.realtime")

RecordCallback: TypeAlias = Callable[[RecordEvent[R]], object]
"""Called with each change of a record subscription (an async client also awaits a coroutine)."""
MessageCallback: TypeAlias = Callable[[Any], object]
"""Called with the decoded data of each message of a raw topic."""


def record_adapter(callback: RecordCallback[Any]) -> MessageCallback:
    def adapt(data: Any) -> object:
        body = cast(dict[str, Any], data) if isinstance(data, dict) else {}
        return callback(RecordEvent(action=str(body.get("action", "")), record=body.get("record")))

    return adapt


class RealtimeState:
    """The subscriptions (subscription string -> callbacks) and the connection's identity."""

    def __init__(self) -> None:
        self._subs: dict[str, list[MessageCallback]] = {}
        self.client_id = ""
        self.connects = 0
        """How many times a stream was opened (so a reconnect can be observed)."""

    @property
    def topics(self) -> list[str]:
        """The subscription strings sent to the server."""
        return sorted(self._subs)

    def _add_sub(self, key: str, fn: MessageCallback) -> bool:
        """Register ``fn``; True when ``key`` is new (the server must be told)."""
        fns = self._subs.setdefault(key, [])
        fns.append(fn)
        return len(fns) == 1

    def _remove_sub(self, key: str, fn: MessageCallback) -> bool:
        """Drop ``fn``; True when ``key`` has no callback left."""
        fns = self._subs.get(key)
        if not fns or fn not in fns:
            return False
        fns.remove(fn)
        if not fns:
            del self._subs[key]
            return True
        return False

    def _remove_matching(self, match: Callable[[str], bool]) -> bool:
        keys = [key for key in self._subs if match(key)]
        for key in keys:
            del self._subs[key]
        return bool(keys)

    def _callbacks(self, msg: SSEMessage) -> tuple[list[MessageCallback], Any]:
        try:
            data = json.loads(msg.data) if msg.data else None
        except ValueError:
            log.debug("realtime: a message for %s is not JSON; ignored", msg.event.split("?", 1)[0])
            return [], None
        return list(self._subs.get(msg.event, [])), data

    @staticmethod
    def _client_id_of(msg: SSEMessage) -> str:
        try:
            data = json.loads(msg.data)
        except ValueError:
            data = {}
        client_id = cast(dict[str, Any], data).get("clientId") if isinstance(data, dict) else None
        return client_id if isinstance(client_id, str) and client_id else msg.id


def topic_matches(topic: str) -> Callable[[str], bool]:
    """A subscription string is ``topic`` itself or ``topic`` with options."""
    return lambda key: key == topic or key.startswith(topic + "?")
