"""Realtime as PocketBase: SSE clients subscribe to collections or records and receive every
create, update and delete they may see under the collection's rules (docs/realtime.md).

    broker = eng.realtime    # created by the Engine, started and stopped with it

The HTTP side (``GET``/``POST /api/realtime``, the OAuth2 redirect page) is in `baas.api`; the
broker, its batched rule checks and the cross-process mailbox live here.
"""

from __future__ import annotations

from baas.realtime.broker import Broker, Config
from baas.realtime.client import AuthState, Client

__all__ = ["Broker", "Config", "AuthState", "Client"]
