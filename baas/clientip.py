"""The client's IP address, as PocketBase's ``RealIP`` decides it.

By default the socket peer. Behind a reverse proxy, the ``trustedProxy`` settings name the
headers the proxy sets (e.g. ``X-Forwarded-For``): the first of them present in the request
gives the IP, its last value line taken (the one the proxy controls), and in it the rightmost
valid address (``useLeftmostIP`` picks the leftmost instead). Only trust a header the proxy
always overwrites or appends to; a client can send any header itself.

    client_ip(request, settings)          # settings: the merged stored settings (SettingsStore)
    client_ip(scope, settings)            # an ASGI scope works too
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any


def _valid(value: str) -> str | None:
    try:
        return ipaddress.ip_address(value.strip()).exploded
    except ValueError:
        return None


def peer_ip(scope: Mapping[str, Any]) -> str:
    """The address of the socket peer ("" when the server does not know it)."""
    client = scope.get("client")
    return str(client[0]) if client and client[0] else ""


def client_ip(source: Any, settings: Mapping[str, Any] | None = None) -> str:
    """The client IP of ``source`` (a Litestar request or an ASGI scope) under ``settings``."""
    scope: Mapping[str, Any] = getattr(source, "scope", source)
    proxy = (settings or {}).get("trustedProxy") or {}
    names = proxy.get("headers") or ()
    if names:
        headers = scope.get("headers") or ()
        for name in names:
            if not isinstance(name, str) or not name:
                continue
            wanted = name.lower().encode("latin-1", "replace")
            values = [v for k, v in headers if k.lower() == wanted]
            if not values or not values[-1]:
                continue
            entries = values[-1].decode("latin-1").split(",")
            if not proxy.get("useLeftmostIP"):
                entries.reverse()
            for entry in entries:
                ip = _valid(entry)
                if ip:
                    return ip
    return peer_ip(scope)
