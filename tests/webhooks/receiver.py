"""A real HTTP receiver for webhook tests: ``http.server`` in a thread, on a free 127.0.0.x port.

Every request's signature is checked with PyPI's ``standardwebhooks`` (an implementation
independent of baas) against each of the receiver's secrets; what arrived is kept in order.
``answer(n, request)`` decides the reply to the n-th request (default: 204)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook

from tests.servers import free_port


@dataclass
class Received:
    n: int
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival
    verified: list[bool]  # one per secret of the receiver

    @property
    def msg_id(self) -> str:
        return self.headers.get("webhook-id", "")

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Receiver:
    secrets: list[str]
    host: str = "127.0.0.1"
    answer: Callable[[int, Received], Reply] | None = None
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Receiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request (a SIGKILL test): never delivered
                    self.close_connection = True
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = []
                for secret in owner.secrets:
                    try:
                        Webhook(secret).verify(body, headers)
                        verified.append(True)
                    except Exception:
                        verified.append(False)
                with owner._lock:
                    rec = Received(len(owner.received), self.path, headers, body, time.monotonic(), verified)
                    owner.received.append(rec)
                status, extra, reply = owner.answer(rec.n, rec) if owner.answer else (204, {}, b"")
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.port = self.port or free_port()

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # the default backlog of 5 refuses a burst of new connections

        self._server = Server((self.host, self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)


def wait_until(check: Callable[[], Any], what: str, tries: int = 1200, step: float = 0.1) -> Any:
    """Poll ``check()`` until truthy (a bounded number of tries: a hung server fails, a slow one waits)."""
    for _ in range(tries):
        found = check()
        if found:
            return found
        time.sleep(step)
    raise AssertionError(f"gave up waiting for {what}")


async def await_until(check: Callable[[], Any], what: str, tries: int = 1200, step: float = 0.1) -> Any:
    """`wait_until` for tests whose server runs on the test's own event loop."""
    for _ in range(tries):
        found = check()
        if hasattr(found, "__await__"):
            found = await found
        if found:
            return found
        await asyncio.sleep(step)
    raise AssertionError(f"gave up waiting for {what}")
