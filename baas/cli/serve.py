"""What ``baas serve`` needs around granian: the app factory its workers import (settings come
from ``BAAS_*`` variables), the listen-address check and the logging of master and workers."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from baas.api.asgi import Message, Receive, Scope, Send
from baas.api.observe import ObserveMiddleware
from baas.app import create_app
from baas.realtime import Broker
from baas.settings import Settings

# How long a worker may take to stop after SIGTERM/SIGINT before the master SIGKILLs it. A worker
# signalled during its ASGI lifespan start-up can miss the signal (granian 2.8) and would
# otherwise keep the master waiting for ever; 5 s leaves in-flight requests time to finish.
SHUTDOWN_GRACE_SECONDS = 5

# The --dev request log: method, path, status and time only. The path never carries the query
# string, which is where file tokens travel (`?token=`), and headers are never logged.
DEV_ACCESS_LOG_FORMAT = "%(method)s %(path)s %(status)d %(dt_ms).1fms"


def browser_url(host: str, port: int) -> tuple[str, str]:
    """The ``http://HOST:PORT`` a browser can open for a server listening on ``host``, and a note
    when it is not the listen address: a wildcard (``0.0.0.0``, ``::``) is where the server listens,
    not an address to visit, so the link names the loopback address and the note the machine's name."""
    bare = host.strip("[]")
    if bare not in ("0.0.0.0", "::", ""):
        return f"http://{host}:{port}", ""
    name = socket.gethostname()
    local = "127.0.0.1" if bare != "::" else "[::1]"
    return f"http://{local}:{port}", f" (listening on all addresses: from another machine use http://{name}:{port})"


class AddressInUse(Exception):
    """The listen address is taken by another process (or can't be bound at all)."""


def check_address(host: str, port: int) -> None:
    """Bind HOST:PORT once, without SO_REUSEPORT, and let it go.

    granian's workers bind with SO_REUSEPORT so that they can share the port; any other server
    doing the same on the port would silently share (and split) its traffic. A plain bind fails
    while anyone listens there, so a taken port becomes a start-up error instead."""
    host = host.strip("[]")
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise AddressInUse(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as sock:
        # SO_REUSEADDR only lets us past connections in TIME_WAIT (a server just restarted);
        # on Linux it never allows a second listener.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(addr)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise AddressInUse(
                    f"address {host}:{port} is already in use (is another server "
                    "running? choose another with --http HOST:PORT)"
                ) from None
            raise AddressInUse(f"cannot listen on {host}:{port}: {exc.strerror}") from None


class _Migrations(logging.Filter):
    """Only the migrations actually run, not Alembic's per-connection chatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage().startswith("Running upgrade")


def log_migrations_here() -> None:
    """In the master: print each migration it runs (the workers find nothing left to do)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("migration: %(message)s"))
    handler.addFilter(_Migrations())
    log = logging.getLogger("alembic.runtime.migration")
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    log.propagate = False


def make_app() -> WorkerApp:
    """granian's factory, run in every worker."""
    # Migrations ran in the master before any worker started; a worker's check finds nothing to
    # do, and its Alembic INFO lines would only repeat once per worker.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return WorkerApp(create_app(Settings.from_env(dev=os.environ.get("BAAS_DEV") == "1")))


class WorkerApp:
    """The app as a granian worker runs it: once started, a stop signal first ends the realtime
    streams (with a reconnect hint), then reaches granian. granian stops by waiting for the open
    requests to finish before the ASGI lifespan's shutdown, and a stream never finishes by
    itself: without this every stop with a subscriber connected took the whole grace period
    and ended in SIGKILL."""

    def __init__(self, app: ObserveMiddleware) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            return await self.app(scope, receive, send)

        async def started(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                # granian set its own handlers before the lifespan started: ours go in front of them.
                _end_streams_first(asyncio.get_running_loop(), self.app.engine.realtime)
            await send(message)

        return await self.app(scope, receive, started)


def _end_streams_first(loop: asyncio.AbstractEventLoop, broker: Broker) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        then = signal.getsignal(sig)
        if not callable(then):  # not granian's (a test's app, another server): leave it alone
            continue

        def handler(signum: int, frame: FrameType | None, then: Callable[[int, FrameType | None], Any] = then) -> None:
            loop.call_soon_threadsafe(broker.end_streams)
            then(signum, frame)

        signal.signal(sig, handler)
