"""Realtime as PocketBase: SSE clients subscribe to collections or records and receive every
create, update and delete they may see under the collection's rules (docs/realtime.md).

    broker = attach(eng)     # once per engine (create_app does it); started and stopped with it

The HTTP side (``GET``/``POST /api/realtime``) is `baas.api.realtime`; the broker, its batched
rule checks and the cross-process mailbox live here.
"""

from __future__ import annotations

from typing import Any

from baas.realtime.broker import Broker, Config
from baas.realtime.client import AuthState, Client

__all__ = ["Broker", "Config", "AuthState", "Client", "attach", "broker_of"]


def broker_of(eng: Any) -> Broker | None:
    return getattr(eng, "realtime", None)


def attach(eng: Any, config: Config | None = None) -> Broker:
    """Give ``eng`` a realtime broker that starts after the engine (``on_start``) and closes its
    connections before the engine stops (``on_stop``)."""
    broker = broker_of(eng)
    if broker is not None:
        return broker
    broker = Broker(eng, config)
    eng.realtime = broker

    async def on_start(e: Any) -> None:
        from baas.api.auth_oauth2 import set_redirect_forwarder

        await broker.start()
        set_redirect_forwarder(broker.forward_oauth2)
        await e.next()

    async def on_stop(e: Any) -> None:
        from baas.api import auth_oauth2

        if getattr(auth_oauth2, "_forwarder", None) == broker.forward_oauth2:
            auth_oauth2.set_redirect_forwarder(None)
        await broker.stop()
        await e.next()

    eng.hooks.on_start.bind(on_start, id="baas.realtime.start", priority=-1000)
    eng.hooks.on_stop.bind(on_stop, id="baas.realtime.stop", priority=-1000)
    return broker
