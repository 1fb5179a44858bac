"""In-process realtime clients: the ASGI app driven directly (httpx's ASGITransport buffers whole
responses, so it cannot read an SSE stream)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.api.conftest import SU_EMAIL, SU_PASS, Api, api  # noqa: F401  (the ``api`` fixture)

__all__ = ["SSE", "api", "Api", "SU_EMAIL", "SU_PASS", "GIVE_UP"]

# How long a wait for an event may take before the test gives up: a bound against hanging, never a
# timing assertion, so generous enough for a loaded machine (parallel workers, other jobs).
GIVE_UP = 30.0


class SSE:
    """One ``GET /api/realtime`` on the app: parsed events arrive on ``events``."""

    def __init__(self, app: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.app = app
        self.events: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self.client_id = ""
        self.ended = asyncio.Event()
        self._gone = asyncio.Event()
        self._buf = b""
        self._sent_request = False
        self.status = 0
        self.headers: dict[bytes, bytes] = {}
        self._headers = headers or []
        self.task: asyncio.Task | None = None

    async def __aenter__(self) -> SSE:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "http", "path": "/api/realtime", "raw_path": b"/api/realtime", "query_string": b"",
                 "headers": [(b"host", b"testserver"), *self._headers], "client": ("127.0.0.1", 5000),
                 "server": ("testserver", 80), "root_path": ""}
        self.task = asyncio.create_task(self._run(scope))
        first = await self.next()
        assert first["event"] == "PB_CONNECT", first
        self.client_id = json.loads(first["data"])["clientId"]
        assert first["id"] == self.client_id
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        self._gone.set()
        if self.task is not None:
            try:
                await asyncio.wait_for(self.task, GIVE_UP)
            except TimeoutError:
                self.task.cancel()

    async def _run(self, scope: dict) -> None:
        try:
            await self.app(scope, self._receive, self._send)
        finally:
            self.ended.set()

    async def _receive(self) -> dict:
        if not self._sent_request:
            self._sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = dict(message["headers"])
            return
        self._buf += message.get("body", b"")
        while b"\n\n" in self._buf:
            raw, self._buf = self._buf.split(b"\n\n", 1)
            event: dict[str, str] = {}
            for line in raw.decode().split("\n"):
                key, _, value = line.partition(":")
                event[key] = value
            self.events.put_nowait(event)

    async def next(self, timeout: float = GIVE_UP) -> dict[str, str]:
        return await asyncio.wait_for(self.events.get(), timeout)

    async def message(self, timeout: float = GIVE_UP) -> tuple[str, dict]:
        """(topic, {"action", "record"}) of the next message."""
        event = await self.next(timeout)
        return event["event"], json.loads(event["data"])

    async def nothing(self, wait: float = 0.4) -> None:
        """Assert that no message arrives within ``wait`` seconds (after the bus had time to deliver)."""
        try:
            event = await asyncio.wait_for(self.events.get(), wait)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected message: {event}")


def app_of(api: Api) -> Any:
    return api.client._transport.app  # type: ignore[attr-defined]


async def subscribe(api: Api, sse: SSE, topics: list[str], who: str | None = None,
                    token: str | None = None) -> Any:
    headers = {"Authorization": token} if token else api.headers(who)
    return await api.client.post("/api/realtime", json={"clientId": sse.client_id, "subscriptions": topics},
                                 headers=headers)


@pytest.fixture
def sse_factory(api):  # noqa: F811
    def make(headers: list[tuple[bytes, bytes]] | None = None) -> SSE:
        return SSE(app_of(api), headers)
    return make
